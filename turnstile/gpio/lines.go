package gpio

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/admitgate/admit/turnstile"
)

// ErrClosed is returned by the lines of a [Lines] used after it let them go.
// It wraps turnstile.ErrNotConnected: a released line is not driven.
var ErrClosed = fmt.Errorf("gpio: line released: %w", turnstile.ErrNotConnected)

// Lines are the GPIO lines of an appliance's lanes, kept as one
// turnstile.Board. A line is requested when it is first used and requested
// again after it failed, so a chip that is missing at start faults the lane
// that uses it (which retests it) instead of stopping the appliance. Run
// holds the lines until its context is done and then releases them; Halt
// switches every output line off. Safe for concurrent use.
type Lines struct {
	openOutput func(chip string, offset int, cfg OutputConfig) (*Output, error)
	openInput  func(chip string, offset int, cfg InputConfig) (*Input, error)

	mu     sync.Mutex
	outs   []*outputLine
	ins    []*inputLine
	closed bool
}

var _ turnstile.Board = (*Lines)(nil)

// NewLines returns an empty set of lines; nothing is requested until a line
// is used.
func NewLines() *Lines { return &Lines{openOutput: OpenOutput, openInput: OpenInput} }

// Output returns line offset of chip as an output, requested when first
// switched. Asked for again, the line is the same (with its first config).
func (ls *Lines) Output(chip string, offset int, cfg OutputConfig) turnstile.Output {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	for _, o := range ls.outs {
		if o.chip == chip && o.offset == offset {
			return o
		}
	}
	o := &outputLine{ls: ls, chip: chip, offset: offset, cfg: cfg}
	ls.outs = append(ls.outs, o)
	return o
}

// Input returns line offset of chip as an input, requested when watched.
// Asked for again (an emergency input several lanes name), the line is the
// same (with its first config).
func (ls *Lines) Input(chip string, offset int, cfg InputConfig) turnstile.Input {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	for _, in := range ls.ins {
		if in.chip == chip && in.offset == offset {
			return in
		}
	}
	in := &inputLine{ls: ls, chip: chip, offset: offset, cfg: cfg}
	ls.ins = append(ls.ins, in)
	return in
}

// Run holds the lines until ctx is done, then switches the outputs off,
// releases every line and returns ctx.Err().
func (ls *Lines) Run(ctx context.Context) error {
	<-ctx.Done()
	_ = ls.Close()
	return ctx.Err()
}

// Connected reports true: a line is requested when a lane uses it, and one
// that cannot be is that lane's fault, not the board's.
func (ls *Lines) Connected() bool { return true }

// Halt switches every output line that is requested off.
func (ls *Lines) Halt() error {
	ls.mu.Lock()
	outs := ls.outs
	ls.mu.Unlock()
	var errs []error
	for _, o := range outs {
		errs = append(errs, o.halt())
	}
	return errors.Join(errs...)
}

// Close switches the outputs off and releases every line; lines used
// afterwards fail with ErrClosed.
func (ls *Lines) Close() error {
	ls.mu.Lock()
	ls.closed = true
	outs, ins := ls.outs, ls.ins
	ls.mu.Unlock()
	var errs []error
	for _, o := range outs {
		errs = append(errs, o.close())
	}
	for _, in := range ins {
		errs = append(errs, in.close())
	}
	return errors.Join(errs...)
}

// String names the board: "gpio".
func (ls *Lines) String() string { return "gpio" }

func (ls *Lines) isClosed() bool {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	return ls.closed
}

// outputLine is an output requested when first switched and requested again
// after a switch failed.
type outputLine struct {
	ls     *Lines
	chip   string
	offset int
	cfg    OutputConfig

	mu  sync.Mutex
	out *Output // nil until requested, and after a failure
}

// Set implements turnstile.Output.
func (o *outputLine) Set(on bool) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.ls.isClosed() {
		return ErrClosed
	}
	if o.out == nil {
		out, err := o.ls.openOutput(o.chip, o.offset, o.cfg)
		if err != nil {
			return err
		}
		o.out = out
	}
	if err := o.out.Set(on); err != nil {
		_ = o.out.Close()
		o.out = nil
		return err
	}
	return nil
}

// String names the line: "gpio:gpiochip0/17".
func (o *outputLine) String() string { return lineName(o.chip, o.offset) }

// halt switches the line off if it is requested.
func (o *outputLine) halt() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.out == nil {
		return nil
	}
	return o.out.Halt()
}

// close switches the line off and releases it.
func (o *outputLine) close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.out == nil {
		return nil
	}
	err := o.out.Close()
	o.out = nil
	return err
}

// inputLine is an input requested when watched and requested again after
// a watch failed (the lane shows the sensor faulted meanwhile).
type inputLine struct {
	ls     *Lines
	chip   string
	offset int
	cfg    InputConfig

	mu sync.Mutex
	in *Input // nil until requested, and after a failure
}

// Watch implements turnstile.Input.
func (l *inputLine) Watch(ctx context.Context, fn func(turnstile.Edge)) error {
	l.mu.Lock()
	if l.ls.isClosed() {
		l.mu.Unlock()
		return ErrClosed
	}
	if l.in == nil {
		in, err := l.ls.openInput(l.chip, l.offset, l.cfg)
		if err != nil {
			l.mu.Unlock()
			return err
		}
		l.in = in
	}
	in := l.in
	l.mu.Unlock()
	err := in.Watch(ctx, fn)
	if ctx.Err() == nil { // the line failed: request it afresh next time
		l.mu.Lock()
		if l.in == in {
			_ = in.Close()
			l.in = nil
		}
		l.mu.Unlock()
	}
	return err
}

// String names the line: "gpio:gpiochip0/27".
func (l *inputLine) String() string { return lineName(l.chip, l.offset) }

// close releases the line, ending a running Watch.
func (l *inputLine) close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.in == nil {
		return nil
	}
	err := l.in.Close()
	l.in = nil
	return err
}
