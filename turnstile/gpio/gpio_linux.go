//go:build linux

package gpio

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/admitgate/admit/turnstile"
	"github.com/warthog618/go-gpiocdev"
	"golang.org/x/sys/unix"
)

var (
	_ turnstile.Output = (*Output)(nil)
	_ turnstile.Input  = (*Input)(nil)
)

// line is what the driver uses of a requested gpiocdev line; *gpiocdev.Line
// implements it, and the tests fake it.
type line interface {
	Value() (int, error)
	SetValue(value int) error
	Close() error
}

// Chips returns the GPIO chips present (gpiochip0, gpiochip1, ...).
func Chips() []string { return gpiocdev.Chips() }

// Output is a GPIO line driving a relay, a light or a buzzer. Safe for
// concurrent use.
type Output struct {
	name string
	mu   sync.Mutex
	l    line
}

// OpenOutput requests line offset of chip ("gpiochip0" or "/dev/gpiochip0")
// as an output, initially off.
func OpenOutput(chip string, offset int, cfg OutputConfig) (*Output, error) {
	opts := []gpiocdev.LineReqOption{gpiocdev.WithConsumer(Consumer), gpiocdev.AsOutput(0)}
	if cfg.ActiveLow {
		opts = append(opts, gpiocdev.AsActiveLow)
	}
	l, err := gpiocdev.RequestLine(chip, offset, opts...)
	if err != nil {
		return nil, fmt.Errorf("gpio: open %s line %d as output: %w", chip, offset, err)
	}
	return newOutput(lineName(chip, offset), l), nil
}

func newOutput(name string, l line) *Output { return &Output{name: name, l: l} }

// Set drives the line active (on) or inactive and reads it back.
func (o *Output) Set(on bool) error {
	want := 0
	if on {
		want = 1
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if err := o.l.SetValue(want); err != nil {
		return fmt.Errorf("gpio: %s: set %d: %w", o.name, want, err)
	}
	got, err := o.l.Value()
	if err != nil {
		return fmt.Errorf("gpio: %s: read back: %w", o.name, err)
	}
	if got != want {
		return fmt.Errorf("gpio: %s: set %d but the line reads %d", o.name, want, got)
	}
	return nil
}

// String returns "gpio:<chip>/<offset>".
func (o *Output) String() string { return o.name }

// Halt switches the line off (its safe state).
func (o *Output) Halt() error { return o.Set(false) }

// Close switches the line off and releases it.
func (o *Output) Close() error {
	herr := o.Halt()
	o.mu.Lock()
	defer o.mu.Unlock()
	if err := o.l.Close(); err != nil {
		return fmt.Errorf("gpio: %s: close: %w", o.name, err)
	}
	return herr
}

// Input is a GPIO line watched for edges: a passage sensor or an emergency
// input. One Watch runs at a time. Safe for concurrent use.
type Input struct {
	name    string
	l       line
	edges   chan gpiocdev.LineEvent
	dropped atomic.Uint64
	mono    func() time.Duration // CLOCK_MONOTONIC now; replaced in tests
	now     func() time.Time

	mu       sync.Mutex
	watching bool
	closed   chan struct{}
	once     sync.Once
}

// OpenInput requests line offset of chip as an input with edge detection on
// both edges.
func OpenInput(chip string, offset int, cfg InputConfig) (*Input, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	in := newInput(lineName(chip, offset), cfg.Buffer)
	opts := []gpiocdev.LineReqOption{gpiocdev.WithConsumer(Consumer), gpiocdev.AsInput,
		gpiocdev.WithBothEdges, gpiocdev.WithEventHandler(in.handle)}
	if cfg.ActiveLow {
		opts = append(opts, gpiocdev.AsActiveLow)
	}
	switch cfg.Bias {
	case PullUp:
		opts = append(opts, gpiocdev.WithPullUp)
	case PullDown:
		opts = append(opts, gpiocdev.WithPullDown)
	case NoBias:
		opts = append(opts, gpiocdev.WithBiasDisabled)
	}
	if cfg.Debounce > 0 {
		opts = append(opts, gpiocdev.WithDebounce(cfg.Debounce))
	}
	l, err := gpiocdev.RequestLine(chip, offset, opts...)
	if err != nil {
		return nil, fmt.Errorf("gpio: open %s line %d as input: %w", chip, offset, err)
	}
	in.l = l
	return in, nil
}

func newInput(name string, buffer int) *Input {
	return &Input{name: name, edges: make(chan gpiocdev.LineEvent, buffer), closed: make(chan struct{}),
		mono: monotonicNow, now: time.Now}
}

// handle is gpiocdev's event handler: it hands the event to the watcher
// without blocking, dropping the oldest when the buffer is full.
func (in *Input) handle(e gpiocdev.LineEvent) {
	for {
		select {
		case in.edges <- e:
			return
		default:
		}
		select {
		case <-in.edges:
			in.dropped.Add(1)
		default:
		}
	}
}

// Watch delivers the line's level, then its edges, until ctx is done or the
// input is closed. Edges that arrived while nobody watched are delivered
// first, in order.
func (in *Input) Watch(ctx context.Context, fn func(turnstile.Edge)) error {
	in.mu.Lock()
	if in.watching {
		in.mu.Unlock()
		return fmt.Errorf("gpio: %s: already watched", in.name)
	}
	in.watching = true
	in.mu.Unlock()
	defer func() {
		in.mu.Lock()
		in.watching = false
		in.mu.Unlock()
	}()
	select {
	case <-in.closed:
		return fmt.Errorf("gpio: %s: closed", in.name)
	default:
	}
	v, err := in.l.Value()
	if err != nil {
		return fmt.Errorf("gpio: %s: read: %w", in.name, err)
	}
	fn(turnstile.Edge{Active: v == 1, At: in.now(), Initial: true})
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-in.closed:
			return fmt.Errorf("gpio: %s: closed", in.name)
		case e := <-in.edges:
			fn(turnstile.Edge{Active: e.Type == gpiocdev.LineEventRisingEdge, At: in.wallTime(e.Timestamp)})
		}
	}
}

// Dropped returns how many edges were dropped because the watcher fell behind.
func (in *Input) Dropped() uint64 { return in.dropped.Load() }

// String returns "gpio:<chip>/<offset>".
func (in *Input) String() string { return in.name }

// Close releases the line and ends a running Watch.
func (in *Input) Close() error {
	var err error
	in.once.Do(func() {
		close(in.closed)
		if in.l != nil {
			err = in.l.Close()
		}
	})
	if err != nil {
		return fmt.Errorf("gpio: %s: close: %w", in.name, err)
	}
	return nil
}

// realtimeFloor tells the two kernel clocks apart: since Linux 5.7 event
// timestamps are CLOCK_MONOTONIC (time since boot), before that
// CLOCK_REALTIME (since 1970). No machine has been up for 20 years.
const realtimeFloor = 20 * 365 * 24 * time.Hour

// wallTime converts a kernel event timestamp to wall-clock time.
func (in *Input) wallTime(ts time.Duration) time.Time {
	if ts > realtimeFloor {
		return time.Unix(0, int64(ts))
	}
	age := in.mono() - ts
	if age < 0 {
		age = 0
	}
	return in.now().Add(-age)
}

func monotonicNow() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}
