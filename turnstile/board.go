package turnstile

import (
	"context"
	"errors"
	"fmt"
)

// ErrNotConnected is wrapped by the errors of a device that is not attached
// (a relay board unplugged or not yet found, a line already released). A
// relay without power is open, so a Halt that fails with it has nothing
// left to do: Set.Stop logs it instead of failing.
var ErrNotConnected = errors.New("not connected")

// Board is a device that drives the outputs (or reads the inputs) of one or
// more lanes and has to be kept: a USB or serial relay board, the GPIO lines
// of the appliance, the simulated turnstile. A [Set] runs its boards before
// it starts its lanes and halts them after the lanes.
type Board interface {
	// Run keeps the board connected until ctx is done, finding it again
	// whenever it goes away, then switches every output off, lets the
	// device go and returns ctx.Err().
	Run(ctx context.Context) error
	// Connected reports whether the board answers now.
	Connected() bool
	// Halt switches every output of the board off (the safe state). It
	// wraps ErrNotConnected when the board is not attached.
	Halt() error
	// String names the board for logs: "usbrelay QWERT".
	String() string
}

// RelayBoard is a Board whose relays switch one at a time, numbered from 1:
// turnstile/usbrelay and turnstile/serialrelay. Lanes share a board through
// its channels.
type RelayBoard interface {
	Board
	// Set closes (on) or opens relay n and returns an error when the board
	// did not do it.
	Set(n int, on bool) error
}

// Channel is relay N of a board as an [Output]: one lane's unlock relay,
// light or buzzer. The board serialises its channels' switches.
type Channel struct {
	Board RelayBoard
	N     int
}

var _ Output = Channel{}

// Set closes (on) or opens the relay; see RelayBoard.Set.
func (c Channel) Set(on bool) error { return c.Board.Set(c.N, on) }

// String names the relay: "usbrelay QWERT/1".
func (c Channel) String() string { return fmt.Sprintf("%s/%d", c.Board, c.N) }
