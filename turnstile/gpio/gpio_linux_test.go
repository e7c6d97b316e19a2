//go:build linux

package gpio

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/admitgate/admit/turnstile"
	"github.com/warthog618/go-gpiocdev"
)

// fakeLine is a requested line: SetValue stores the value unless the line
// is stuck (another driver holds it at a level) or failing.
type fakeLine struct {
	mu     sync.Mutex
	value  int
	stuck  int // >= 0: Value always reads this
	err    error
	closed bool
}

func newFakeLine() *fakeLine { return &fakeLine{stuck: -1} }

func (l *fakeLine) Value() (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return 0, l.err
	}
	if l.stuck >= 0 {
		return l.stuck, nil
	}
	return l.value, nil
}

func (l *fakeLine) SetValue(v int) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return l.err
	}
	l.value = v
	return nil
}

func (l *fakeLine) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	return nil
}

func TestOutput(t *testing.T) {
	l := newFakeLine()
	o := newOutput(lineName("gpiochip0", 17), l)
	if o.String() != "gpio:gpiochip0/17" {
		t.Errorf("name = %s", o)
	}
	if err := o.Set(true); err != nil || l.value != 1 {
		t.Fatalf("Set(true) = %v, line %d", err, l.value)
	}
	if err := o.Halt(); err != nil || l.value != 0 {
		t.Fatalf("Halt = %v, line %d", err, l.value)
	}
	l.stuck = 0
	if err := o.Set(true); err == nil || !strings.Contains(err.Error(), "reads 0") {
		t.Fatalf("a line that does not follow: err = %v", err)
	}
	l.stuck, l.err = -1, gpiocdev.ErrClosed
	if err := o.Set(false); !errors.Is(err, gpiocdev.ErrClosed) {
		t.Fatalf("a failing line: err = %v", err)
	}
	l.err = nil
	if err := o.Close(); err != nil || !l.closed {
		t.Fatalf("Close = %v closed=%v", err, l.closed)
	}
}

func TestInputWatch(t *testing.T) {
	boot := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	l := newFakeLine()
	l.value = 1
	in := newInput(lineName("gpiochip0", 27), 2)
	in.l = l
	in.now = func() time.Time { return boot.Add(10 * time.Hour) }
	in.mono = func() time.Duration { return 10 * time.Hour } // booted at `boot`

	// An edge that came before anybody watched is kept.
	in.handle(gpiocdev.LineEvent{Type: gpiocdev.LineEventFallingEdge, Timestamp: 9 * time.Hour})

	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan turnstile.Edge, 10)
	done := make(chan error)
	go func() { done <- in.Watch(ctx, func(e turnstile.Edge) { got <- e }) }()
	if e := <-got; !e.Initial || !e.Active {
		t.Fatalf("first edge = %+v, want the Initial active level", e)
	}
	if e := <-got; e.Active || e.Initial || !e.At.Equal(boot.Add(9*time.Hour)) {
		t.Fatalf("queued edge = %+v", e)
	}
	in.handle(gpiocdev.LineEvent{Type: gpiocdev.LineEventRisingEdge, Timestamp: 10*time.Hour - time.Second})
	if e := <-got; !e.Active || !e.At.Equal(boot.Add(10*time.Hour-time.Second)) {
		t.Fatalf("edge = %+v", e)
	}
	// A kernel before 5.7 stamps with CLOCK_REALTIME.
	real := time.Date(2026, 12, 5, 21, 0, 0, 0, time.UTC)
	in.handle(gpiocdev.LineEvent{Type: gpiocdev.LineEventRisingEdge, Timestamp: time.Duration(real.UnixNano())})
	if e := <-got; !e.At.Equal(real) {
		t.Fatalf("realtime edge at %v, want %v", e.At, real)
	}
	if err := in.Watch(ctx, func(turnstile.Edge) {}); err == nil || !strings.Contains(err.Error(), "already watched") {
		t.Fatalf("second Watch = %v", err)
	}
	cancel()
	if err := <-done; err != context.Canceled {
		t.Fatalf("Watch = %v", err)
	}

	// Close ends a Watch and releases the line.
	go func() { done <- in.Watch(context.Background(), func(turnstile.Edge) {}) }()
	if err := in.Close(); err != nil || !l.closed {
		t.Fatalf("Close = %v", err)
	}
	if err := <-done; err == nil || !strings.Contains(err.Error(), "closed") {
		t.Fatalf("Watch after Close = %v", err)
	}
}

// The handler never blocks gpiocdev's event goroutine: a full buffer drops
// the oldest edge and counts it.
func TestInputDropsOldestWhenFull(t *testing.T) {
	in := newInput("gpio:x/1", 2)
	for i := 1; i <= 5; i++ {
		in.handle(gpiocdev.LineEvent{Timestamp: time.Duration(i), Type: gpiocdev.LineEventRisingEdge})
	}
	if in.Dropped() != 3 {
		t.Fatalf("dropped = %d", in.Dropped())
	}
	if e := <-in.edges; e.Timestamp != 4 {
		t.Fatalf("oldest kept = %v, want 4", e.Timestamp)
	}
}

func TestOpenErrors(t *testing.T) {
	if _, err := OpenOutput("gpiochip-missing", 3, OutputConfig{}); err == nil || !strings.Contains(err.Error(), "gpio: open gpiochip-missing line 3 as output") {
		t.Fatalf("OpenOutput on a missing chip: %v", err)
	}
	if _, err := OpenInput("gpiochip-missing", 3, InputConfig{}); err == nil || !strings.Contains(err.Error(), "as input") {
		t.Fatalf("OpenInput on a missing chip: %v", err)
	}
	if _, err := OpenInput("gpiochip0", 3, InputConfig{Debounce: time.Hour}); err == nil || !strings.Contains(err.Error(), "debounce") {
		t.Fatalf("bad debounce: %v", err)
	}
	var b Bias
	if err := b.UnmarshalText([]byte("pull-up")); err != nil || b != PullUp {
		t.Fatal("bias pull-up")
	}
	if err := b.UnmarshalText([]byte("up")); err == nil {
		t.Fatal("bad bias accepted")
	}
}

// On a machine with a GPIO chip (a Raspberry Pi, gpio-sim), request a real
// line: ADMIT_GPIO_TEST=gpiochip0:17 names a free line to toggle.
func TestRealChip(t *testing.T) {
	spec := os.Getenv("ADMIT_GPIO_TEST")
	if spec == "" {
		t.Skip("set ADMIT_GPIO_TEST=<chip>:<free line offset> to test against a real GPIO chip; chips here: ", Chips())
	}
	chip, off, ok := strings.Cut(spec, ":")
	offset, err := strconv.Atoi(off)
	if !ok || err != nil {
		t.Fatalf("ADMIT_GPIO_TEST=%q: want chip:offset", spec)
	}
	o, err := OpenOutput(chip, offset, OutputConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	for _, on := range []bool{true, false, true, false} {
		if err := o.Set(on); err != nil {
			t.Fatal(err)
		}
	}
}
