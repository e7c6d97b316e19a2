package turnstiletest_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/turnstile"
	"github.com/admitgate/admit/turnstile/turnstiletest"
)

var t0 = time.Date(2026, 12, 5, 18, 30, 0, 0, time.UTC)

func TestClock(t *testing.T) {
	c := turnstiletest.NewClock(t0)
	var got []string
	record := func(name string) func() {
		return func() { got = append(got, fmt.Sprintf("%s@%v", name, c.Now().Sub(t0))) }
	}
	c.AfterFunc(2*time.Second, record("b"))
	c.AfterFunc(time.Second, record("a"))
	c.AfterFunc(2*time.Second, record("b2")) // same deadline: after b
	stopped := c.AfterFunc(1500*time.Millisecond, record("never"))
	c.AfterFunc(0, func() {
		record("zero")()
		c.AfterFunc(time.Second, record("chained")) // due within the same advance
	})
	if !stopped.Stop() || stopped.Stop() {
		t.Fatal("Stop must report true once")
	}
	if c.Pending() != 4 {
		t.Fatalf("pending = %d", c.Pending())
	}
	if next, ok := c.Next(); !ok || !next.Equal(t0) {
		t.Fatalf("next = %v %v", next, ok)
	}
	if n := c.Advance(3 * time.Second); n != 5 {
		t.Fatalf("fired %d", n)
	}
	want := "[zero@0s a@1s chained@1s b@2s b2@2s]"
	if fmt.Sprint(got) != want {
		t.Fatalf("fired %v, want %v", got, want)
	}
	if !c.Now().Equal(t0.Add(3 * time.Second)) {
		t.Fatalf("now = %v", c.Now())
	}
	if _, ok := c.Next(); ok || c.Pending() != 0 {
		t.Fatal("timers left")
	}
	c.AdvanceTo(t0) // never backwards
	if !c.Now().Equal(t0.Add(3 * time.Second)) {
		t.Fatal("clock went backwards")
	}
}

func TestClockBlockUntil(t *testing.T) {
	c := turnstiletest.NewClock(t0)
	done := make(chan struct{})
	go func() {
		c.AfterFunc(time.Second, func() { close(done) })
	}()
	c.BlockUntil(1)
	c.Advance(time.Second)
	<-done
}

func TestOutput(t *testing.T) {
	c := turnstiletest.NewClock(t0)
	o := turnstiletest.NewOutput("relay", c)
	_ = o.Set(true)
	c.Advance(time.Second)
	_ = o.Set(true)
	o.Fail(errors.New("unplugged"))
	if err := o.Set(false); err == nil || !o.Level() {
		t.Fatalf("failing Set = %v, level %v", err, o.Level())
	}
	o.Fail(nil)
	_ = o.Set(false)
	if got := fmt.Sprint(o.Levels()); got != "[true false]" {
		t.Fatalf("levels %s", got)
	}
	sw := o.Switches()
	if len(sw) != 4 || sw[1].At != t0.Add(time.Second) || sw[2].Err == nil || o.String() != "relay" {
		t.Fatalf("switches %+v", sw)
	}
	o.Reset()
	if len(o.Switches()) != 0 {
		t.Fatal("reset")
	}
}

func TestInput(t *testing.T) {
	in := turnstiletest.NewInput("sensor")
	if err := in.Send(true, t0); err != turnstiletest.ErrNotWatched {
		t.Fatalf("Send unwatched = %v", err)
	}
	var edges []turnstile.Edge
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- in.Watch(ctx, func(e turnstile.Edge) { edges = append(edges, e) }) }()
	<-in.Watched()
	if err := in.Pulse(t0); err != nil {
		t.Fatal(err)
	}
	in.Fail(errors.New("line gone"))
	if err := <-done; err == nil || err.Error() != "line gone" {
		t.Fatalf("Watch = %v", err)
	}
	go func() { done <- in.Watch(ctx, func(turnstile.Edge) {}) }()
	<-in.Watched()
	cancel()
	if err := <-done; err != context.Canceled {
		t.Fatalf("Watch = %v", err)
	}
	// The Initial level (the unwatched Send left it active), then the pulse.
	want := []turnstile.Edge{{Active: true, Initial: true}, {Active: true, At: t0}, {Active: false, At: t0}}
	if fmt.Sprint(edges) != fmt.Sprint(want) {
		t.Fatalf("edges %+v, want %+v", edges, want)
	}
	if in.Watches != 2 {
		t.Fatalf("watches = %d", in.Watches)
	}
}

func TestBoard(t *testing.T) {
	b := turnstiletest.NewBoard("ABCDE", 2, nil)
	ch1, ch2 := b.Channel(1), b.Channel(2)
	_ = ch1.Set(true)
	b.Fail(2, errors.New("no answer"))
	if err := ch2.Set(true); err == nil {
		t.Fatal("failing channel switched")
	}
	b.Fail(2, nil)
	_ = ch2.Set(true)
	if !b.Closed[0] || !b.Closed[1] || len(b.Switches()) != 3 || ch1.String() != "board:ABCDE/1" {
		t.Fatalf("board %+v", b.Closed)
	}
	_ = b.Halt()
	if b.Closed[0] || b.Closed[1] || b.Halts != 1 {
		t.Fatal("halt left channels closed")
	}
	b.Unplugged = true
	if err := ch1.Set(true); !errors.Is(err, turnstile.ErrNotConnected) || b.Connected() {
		t.Fatalf("unplugged board: %v", err)
	}
	if err := b.Halt(); !errors.Is(err, turnstile.ErrNotConnected) {
		t.Fatalf("halt of an unplugged board: %v", err)
	}
	for _, n := range []int{0, 3, 1} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Channel(%d) did not panic", n)
				}
			}()
			b.Channel(n)
		}()
	}
}

func TestScanner(t *testing.T) {
	var s turnstiletest.Scanner
	if s.Connected() {
		t.Fatal("connected at start")
	}
	s.SetConnected(true)
	if !s.Connected() {
		t.Fatal("not connected")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out := make(chan gate.Read, 1)
	done := make(chan error)
	go func() { done <- s.Run(ctx, out) }()
	if err := s.Send(ctx, gate.Read{Text: "A"}); err != nil {
		t.Fatal(err)
	}
	if r := <-out; r.Text != "A" || !s.Running() {
		t.Fatalf("read %+v, running %v", r, s.Running())
	}
	cancel()
	if err := <-done; err != context.Canceled || s.Running() {
		t.Fatalf("Run = %v, running %v", err, s.Running())
	}
}

// A fake clock fires a timeout without sleeping.
func ExampleClock() {
	clock := turnstiletest.NewClock(time.Date(2026, 12, 5, 18, 30, 0, 0, time.UTC))
	relay := turnstiletest.NewOutput("relay", clock)
	_ = relay.Set(true)
	clock.AfterFunc(5*time.Second, func() { _ = relay.Set(false) })
	clock.Advance(5 * time.Second)
	for _, sw := range relay.Switches() {
		fmt.Println(sw.At.Format("15:04:05"), sw.On)
	}
	// Output:
	// 18:30:00 true
	// 18:30:05 false
}
