package turnstiletest

import (
	"fmt"
	"slices"
	"sync"

	"github.com/admitgate/admit/turnstile"
)

// Board is a fake relay board whose channels several lanes share. One mutex
// serialises every switch, as a real board serialises its control
// transfers, and one log records them all, so a test can check that lanes
// sharing the board never touch each other's channels.
type Board struct {
	Serial string
	Clock  turnstile.Clock

	sync.Mutex
	Closed []bool         // Closed[n-1]: channel n's relay is on
	Fails  map[int]error  // a channel whose switches fail with this error
	Log    []Switch       // every switch on every channel, in order
	inUse  map[int]string // which output asked for each channel
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
	name := fmt.Sprintf("board:%s/%d", b.Serial, n)
	if _, dup := b.inUse[n]; dup {
		panic(fmt.Sprintf("turnstiletest: %s handed out twice", name))
	}
	b.inUse[n] = name
	return &channel{b: b, n: n, name: name}
}

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

// Halt opens every channel, as a real board's Halt does.
func (b *Board) Halt() error {
	b.Lock()
	defer b.Unlock()
	for i := range b.Closed {
		b.Closed[i] = false
	}
	return nil
}

type channel struct {
	b    *Board
	n    int
	name string
}

// Set switches the channel under the board's lock, or fails as Fail set.
func (c *channel) Set(on bool) error {
	b := c.b
	b.Lock()
	defer b.Unlock()
	sw := Switch{Output: c.name, On: on, Err: b.Fails[c.n]}
	if b.Clock != nil {
		sw.At = b.Clock.Now()
	}
	b.Log = append(b.Log, sw)
	if sw.Err != nil {
		return fmt.Errorf("turnstiletest: %s: %w", c.name, sw.Err)
	}
	b.Closed[c.n-1] = on
	return nil
}

// String returns "board:<serial>/<n>".
func (c *channel) String() string { return c.name }
