//go:build linux

package gpio

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/admitgate/admit/turnstile"
)

// fakeChip hands out fake lines and fails to open while missing, as a
// chip that is not there yet.
type fakeChip struct {
	missing bool
	opened  []*fakeLine
}

var errNoChip = errors.New("no such chip")

func (c *fakeChip) lines() *Lines {
	ls := NewLines()
	ls.openOutput = func(chip string, offset int, cfg OutputConfig) (*Output, error) {
		if c.missing {
			return nil, errNoChip
		}
		l := newFakeLine()
		c.opened = append(c.opened, l)
		return newOutput(lineName(chip, offset), l), nil
	}
	ls.openInput = func(chip string, offset int, cfg InputConfig) (*Input, error) {
		if c.missing {
			return nil, errNoChip
		}
		l := newFakeLine()
		c.opened = append(c.opened, l)
		in := newInput(lineName(chip, offset), 4)
		in.l = l
		return in, nil
	}
	return ls
}

// An output line is requested when first switched, again after a failure,
// switched off by Halt, and released by Run's end; afterwards it refuses.
func TestLinesOutput(t *testing.T) {
	chip := &fakeChip{missing: true}
	ls := chip.lines()
	o := ls.Output("gpiochip0", 17, OutputConfig{})
	if o.String() != "gpio:gpiochip0/17" || ls.String() != "gpio" || !ls.Connected() {
		t.Fatalf("names: %s, %s", o, ls)
	}
	if err := ls.Halt(); err != nil || len(chip.opened) != 0 {
		t.Fatalf("Halt before any switch = %v, %d lines requested", err, len(chip.opened))
	}
	if err := o.Set(false); !errors.Is(err, errNoChip) {
		t.Fatalf("Set on a missing chip = %v", err)
	}
	chip.missing = false
	if err := o.Set(true); err != nil || len(chip.opened) != 1 || chip.opened[0].value != 1 {
		t.Fatalf("Set once the chip is there = %v", err)
	}
	chip.opened[0].err = errors.New("line taken")
	if err := o.Set(false); err == nil || !chip.opened[0].closed {
		t.Fatalf("a failing line: err %v, released %v", err, chip.opened[0].closed)
	}
	if err := o.Set(true); err != nil || len(chip.opened) != 2 {
		t.Fatalf("the line is requested again: err %v, %d requests", err, len(chip.opened))
	}
	if err := ls.Halt(); err != nil || chip.opened[1].value != 0 {
		t.Fatalf("Halt = %v, line at %d", err, chip.opened[1].value)
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- ls.Run(ctx) }()
	cancel()
	if err := <-done; err != context.Canceled || !chip.opened[1].closed {
		t.Fatalf("Run = %v, line released %v", err, chip.opened[1].closed)
	}
	if err := o.Set(false); !errors.Is(err, ErrClosed) || !errors.Is(err, turnstile.ErrNotConnected) {
		t.Fatalf("Set after the release = %v", err)
	}
}

// An input line is requested when watched and again after its watch
// failed; Close ends a running watch.
func TestLinesInput(t *testing.T) {
	chip := &fakeChip{missing: true}
	ls := chip.lines()
	in := ls.Input("gpiochip0", 27, InputConfig{})
	if ls.Input("gpiochip0", 27, InputConfig{}) != in || ls.Input("gpiochip0", 28, InputConfig{}) == in {
		t.Fatal("a line asked for twice is not the same line")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := in.Watch(ctx, func(turnstile.Edge) {}); !errors.Is(err, errNoChip) {
		t.Fatalf("Watch on a missing chip = %v", err)
	}
	chip.missing = false
	edges := make(chan turnstile.Edge, 4)
	done := make(chan error)
	go func() { done <- in.Watch(ctx, func(e turnstile.Edge) { edges <- e }) }()
	if e := <-edges; !e.Initial {
		t.Fatalf("first edge %+v", e)
	}
	if err := ls.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err == nil || !chip.opened[0].closed {
		t.Fatalf("Watch after Close = %v", err)
	}
	if err := in.Watch(ctx, func(turnstile.Edge) {}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Watch after Close = %v", err)
	}
}
