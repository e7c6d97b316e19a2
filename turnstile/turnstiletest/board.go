package turnstiletest

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/admitgate/admit/turnstile"
)

var _ turnstile.RelayBoard = (*Board)(nil)

// Board is a fake relay board whose channels several lanes share. One mutex
// serialises every switch, as a real board serialises its control
// transfers, and one log records them all, so a test can check that lanes
// sharing the board never touch each other's channels.
type Board struct {
	Serial string
	Clock  turnstile.Clock

	sync.Mutex
	Closed    []bool         // Closed[n-1]: channel n's relay is on
	Fails     map[int]error  // a channel whose switches fail with this error
	Log       []Switch       // every switch on every channel, in order
	Unplugged bool           // Connected reports false, every switch and Halt fail
	Running   bool           // a Run is under way
	Halts     int            // how many times Halt was called
	inUse     map[int]string // which output asked for each channel
}

// NewBoard returns a board with n channels, all open.
func NewBoard(serial string, n int, clock turnstile.Clock) *Board {
	return &Board{Serial: serial, Clock: clock, Closed: make([]bool, n), Fails: map[int]error{}, inUse: map[int]string{}}
}

// Channel returns channel n (1-based) as an Output; it panics for a channel
// the board does not have or one handed out twice.
func (b *Board) Channel(n int) turnstile.Output {
	b.Lock()
	defer b.Unlock()
	if n < 1 || n > len(b.Closed) {
		panic(fmt.Sprintf("turnstiletest: board %s has no channel %d", b.Serial, n))
	}
	c := turnstile.Channel{Board: b, N: n}
	if _, dup := b.inUse[n]; dup {
		panic(fmt.Sprintf("turnstiletest: %s handed out twice", c))
	}
	b.inUse[n] = c.String()
	return c
}

// Set switches channel n under the board's lock, or fails as Fail (or
// Unplugged) says.
func (b *Board) Set(n int, on bool) error {
	b.Lock()
	defer b.Unlock()
	name := fmt.Sprintf("%s/%d", b, n)
	sw := Switch{Output: name, On: on, Err: b.Fails[n]}
	if b.Unplugged {
		sw.Err = turnstile.ErrNotConnected
	}
	if b.Clock != nil {
		sw.At = b.Clock.Now()
	}
	b.Log = append(b.Log, sw)
	if sw.Err != nil {
		return fmt.Errorf("turnstiletest: %s: %w", name, sw.Err)
	}
	b.Closed[n-1] = on
	return nil
}

// Run marks the board running until ctx is done, then opens every channel.
func (b *Board) Run(ctx context.Context) error {
	b.Lock()
	b.Running = true
	b.Unlock()
	<-ctx.Done()
	b.Lock()
	defer b.Unlock()
	b.Running = false
	for i := range b.Closed {
		b.Closed[i] = false
	}
	return ctx.Err()
}

// Connected reports whether the board is plugged in (see Unplugged).
func (b *Board) Connected() bool {
	b.Lock()
	defer b.Unlock()
	return !b.Unplugged
}

// String returns "board:<serial>".
func (b *Board) String() string { return "board:" + b.Serial }

// Fail makes channel n's switches fail with err; nil makes them work again.
func (b *Board) Fail(n int, err error) {
	b.Lock()
	defer b.Unlock()
	if err == nil {
		delete(b.Fails, n)
		return
	}
	b.Fails[n] = err
}

// Switches returns a copy of the log.
func (b *Board) Switches() []Switch {
	b.Lock()
	defer b.Unlock()
	return slices.Clone(b.Log)
}

// Halt opens every channel, as a real board's Halt does; an unplugged
// board fails with turnstile.ErrNotConnected.
func (b *Board) Halt() error {
	b.Lock()
	defer b.Unlock()
	b.Halts++
	if b.Unplugged {
		return fmt.Errorf("turnstiletest: %s: %w", b, turnstile.ErrNotConnected)
	}
	for i := range b.Closed {
		b.Closed[i] = false
	}
	return nil
}
