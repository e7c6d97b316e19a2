package turnstile

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/admitgate/admit/gate"
)

// Output is one relay channel or GPIO line: the turnstile's unlock relay, a
// light or a buzzer. On means energised (a closed relay contact, an active
// line). Set returns an error when the hardware did not do it: drivers that
// can read the state back (the USB relay board) do, and report a mismatch.
// Outputs may be shared between lanes (two channels of one board); drivers
// serialise access themselves.
type Output interface {
	Set(on bool) error
	String() string
}

// Edge is one change of an input's level, stamped with when the hardware saw it.
type Edge struct {
	// Active is the input's new level: true when the passage sensor is
	// interrupted (or the arm has turned) and while an emergency release is
	// asserted. Polarity (active-low wiring) is the driver's business.
	Active bool
	// At is when the change happened, as close to the hardware as the
	// driver can tell (the kernel's timestamp for GPIO).
	At time.Time
	// Initial marks the first edge a Watch delivers: the level the input
	// had when watching started, not a change. A lane does not count it as a
	// passage; an emergency input that is already asserted releases at once.
	Initial bool
}

// Input is a line to watch: a passage sensor or an emergency-release input.
type Input interface {
	// Watch calls fn with the input's level (an Initial edge) and then with
	// every change, in order, one call at a time, until ctx is done (it then
	// returns ctx.Err()) or the input fails (it returns why). fn must not
	// block for long: it runs on the driver's event path.
	Watch(ctx context.Context, fn func(Edge)) error
	String() string
}

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

// ScannerLink tells a lane whether its scanner is attached, for lane status.
// The USB and serial scanner sources implement it; [ConnectedFunc] adapts a
// function.
type ScannerLink interface {
	Connected() bool
}

// Scanner is a lane's scanner as a [Set] runs it: the decode/usbhid and
// decode/serialscan sources, the simulated turnstile's scanner.
type Scanner interface {
	ScannerLink
	// Run delivers the scanner's reads to out until ctx is done, finding
	// the device again whenever it goes away; it returns ctx.Err().
	Run(ctx context.Context, out chan<- gate.Read) error
}

// ConnectedFunc adapts a function to [ScannerLink].
type ConnectedFunc func() bool

// Connected calls f.
func (f ConnectedFunc) Connected() bool { return f() }

// Clock is the time source of lanes and signal patterns. Tests inject a fake
// one (turnstiletest.Clock) so that every timeout fires without sleeping.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f in its own goroutine (or, for a fake clock, in the
	// goroutine that advances it) once d has passed, unless stopped first.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a pending AfterFunc call. *time.Timer implements it.
type Timer interface {
	// Stop prevents the call if it has not started; it reports whether it did.
	Stop() bool
}

// SystemClock returns the wall clock: time.Now and time.AfterFunc.
func SystemClock() Clock { return systemClock{} }

type systemClock struct{}

// Now returns time.Now().
func (systemClock) Now() time.Time { return time.Now() }

// AfterFunc calls time.AfterFunc.
func (systemClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

// sleep waits d on clock c, or until ctx is done; it reports whether d passed.
func sleep(ctx context.Context, c Clock, d time.Duration) bool {
	done := make(chan struct{})
	t := c.AfterFunc(d, func() { close(done) })
	select {
	case <-done:
		return true
	case <-ctx.Done():
		t.Stop()
		return false
	}
}
