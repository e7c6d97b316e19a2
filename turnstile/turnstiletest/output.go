package turnstiletest

import (
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/admitgate/admit/turnstile"
)

var _ turnstile.Output = (*Output)(nil)

// Switch is one call to an output's Set.
type Switch struct {
	Output string    // the output's name
	On     bool      // the level asked for
	At     time.Time // the Clock's time, zero without a Clock
	Err    error     // what Set returned
}

// Output is a fake relay channel or line. Lock the embedded mutex to read or
// change the public fields while a lane may be using it.
type Output struct {
	N     string          // the name String returns
	Clock turnstile.Clock // stamps the log; may be nil

	sync.Mutex
	On  bool     // the level the output is at
	Err error    // when set, Set fails with it and the level stays
	Log []Switch // every call to Set, failed ones too
}

// NewOutput returns an off output named name, stamping its log with clock.
func NewOutput(name string, clock turnstile.Clock) *Output {
	return &Output{N: name, Clock: clock}
}

// Set switches the output, or fails with Err.
func (o *Output) Set(on bool) error {
	o.Lock()
	defer o.Unlock()
	sw := Switch{Output: o.N, On: on, Err: o.Err}
	if o.Clock != nil {
		sw.At = o.Clock.Now()
	}
	o.Log = append(o.Log, sw)
	if o.Err != nil {
		return fmt.Errorf("turnstiletest: %s: %w", o.N, o.Err)
	}
	o.On = on
	return nil
}

// String returns the name.
func (o *Output) String() string { return o.N }

// Level returns the level the output is at.
func (o *Output) Level() bool {
	o.Lock()
	defer o.Unlock()
	return o.On
}

// Fail makes every later Set fail with err; nil makes them work again.
func (o *Output) Fail(err error) {
	o.Lock()
	defer o.Unlock()
	o.Err = err
}

// Switches returns a copy of the log.
func (o *Output) Switches() []Switch {
	o.Lock()
	defer o.Unlock()
	return slices.Clone(o.Log)
}

// Levels returns the levels of the successful switches that changed the
// output, in order: the pulses a person would have seen. Repeated sets of
// the same level are left out.
func (o *Output) Levels() []bool {
	o.Lock()
	defer o.Unlock()
	var out []bool
	level, known := false, false
	for _, sw := range o.Log {
		if sw.Err != nil || (known && sw.On == level) {
			continue
		}
		out = append(out, sw.On)
		level, known = sw.On, true
	}
	return out
}

// Reset empties the log.
func (o *Output) Reset() {
	o.Lock()
	defer o.Unlock()
	o.Log = nil
}
