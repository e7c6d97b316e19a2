package serialrelay

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"go.bug.st/serial"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/internal/defaults"
	"github.com/admitgate/admit/internal/usbdev/reconnect"
	"github.com/admitgate/admit/turnstile"
)

// Frame is one LCUS command: A0, the relay (1-based), the state (1 closed,
// 0 open), and the checksum, the low byte of the sum of the other three.
type Frame [4]byte

// header starts every LCUS frame.
const header = 0xA0

// MaxChannels is the most relays an LCUS board has (LCUS-1/2/4/8).
const MaxChannels = 8

// NewFrame returns the command that closes (on) or opens relay n.
func NewFrame(n int, on bool) Frame {
	var state byte
	if on {
		state = 1
	}
	return Frame{header, byte(n), state, header + byte(n) + state}
}

// ParseFrame reads a command back: the relay and its state. The error
// carries gate.EINVALID for a frame that is not an LCUS command.
func ParseFrame(b []byte) (n int, on bool, err error) {
	if len(b) != 4 || b[0] != header {
		return 0, false, gate.Errorf(gate.EINVALID, "% x is not an LCUS frame (A0 relay state checksum)", b)
	}
	if b[3] != b[0]+b[1]+b[2] {
		return 0, false, gate.Errorf(gate.EINVALID, "frame % x: checksum %02X, want %02X", b, b[3], b[0]+b[1]+b[2])
	}
	if b[1] < 1 || b[1] > MaxChannels || b[2] > 1 {
		return 0, false, gate.Errorf(gate.EINVALID, "frame % x: relay %d state %d", b, b[1], b[2])
	}
	return int(b[1]), b[2] == 1, nil
}

// Port is an open serial port; go.bug.st/serial's Port implements it.
type Port interface {
	Read(p []byte) (int, error)
	Write(p []byte) (int, error)
	Drain() error
	Close() error
}

// Opener opens a serial port; nil in New means go.bug.st/serial.
type Opener func(path string, mode *serial.Mode) (Port, error)

// DefaultBaud is the LCUS boards' speed.
const DefaultBaud = 9600

// Config is one LCUS board.
type Config struct {
	// Device is the board's port, best its /dev/serial/by-id link.
	Device string `toml:"device"`
	// Baud is the line speed; default 9600.
	Baud int `toml:"baud"`
	// Channels is the board's relay count, 1 (default) to 8: Halt opens
	// them all.
	Channels int `toml:"channels"`
	// Backoff is the wait between attempts to open a missing port.
	Backoff reconnect.Backoff `toml:"-"`
}

// Validate checks the config; errors carry gate.EINVALID.
func (c Config) Validate() error {
	if c.Device == "" {
		return gate.Errorf(gate.EINVALID, "an LCUS board needs its device (/dev/ttyUSB0 or a /dev/serial/by-id link)")
	}
	if c.Channels < 0 || c.Channels > MaxChannels {
		return gate.Errorf(gate.EINVALID, "%d channels: LCUS boards have 1 to %d", c.Channels, MaxChannels)
	}
	if c.Baud < 0 {
		return gate.Errorf(gate.EINVALID, "baud %d", c.Baud)
	}
	return nil
}

// ErrNotConnected is wrapped by the errors of requests made while the
// board's port is not open; it wraps turnstile.ErrNotConnected.
var ErrNotConnected = fmt.Errorf("serialrelay: board %w", turnstile.ErrNotConnected)

var _ turnstile.RelayBoard = (*Board)(nil)

// Board drives one LCUS serial relay board (a CH340 USB-serial chip and a
// microcontroller that switches its relays on "A0 n state sum" frames). The
// boards answer nothing, so a switch is done when its frame is written and
// drained to the device; a write that fails is a fault. Requests are
// serialised, so lanes can share a board. Run keeps the port open.
type Board struct {
	cfg  Config
	mode *serial.Mode
	open Opener
	log  zerolog.Logger
	link *reconnect.Link // a write that finds the port gone drops its session

	mu    sync.Mutex
	port  Port
	state uint8 // as last commanded: bit n-1 set when relay n is closed
}

// New returns a driver for the board cfg names; open is nil for real
// ports. Nothing is opened until Run.
func New(cfg Config, open Opener, log zerolog.Logger) (*Board, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	defaults.Set(&cfg.Baud, DefaultBaud)
	defaults.Set(&cfg.Channels, 1)
	defaults.Set(&cfg.Backoff.Max, time.Second)
	if open == nil {
		open = func(path string, mode *serial.Mode) (Port, error) { return serial.Open(path, mode) }
	}
	b := &Board{
		cfg:  cfg,
		mode: &serial.Mode{BaudRate: cfg.Baud, DataBits: 8, Parity: serial.NoParity, StopBits: serial.OneStopBit},
		open: open,
		log:  log.With().Str("component", "serialrelay").Str("board", cfg.Device).Logger(),
	}
	b.link = reconnect.New(b.String(), &reconnect.Options{Backoff: cfg.Backoff}, b.log)
	return b, nil
}

// String names the board: "lcus /dev/ttyUSB0".
func (b *Board) String() string { return "lcus " + b.cfg.Device }

// Connected reports whether the port is open.
func (b *Board) Connected() bool { return b.link.Connected() }

// Status returns the connection state and the last error.
func (b *Board) Status() reconnect.Status { return b.link.Status() }

// State returns the relays as last commanded: bit n-1 set when relay n is
// closed.
func (b *Board) State() uint8 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.state
}

// Run keeps the board's port open until ctx ends, then opens every relay,
// closes the port and returns ctx.Err(). On (re)connecting it opens every
// relay. While connected it reads the port, which the boards never write
// to: a read that fails is the port hanging up (the board unplugged), shown
// at once.
func (b *Board) Run(ctx context.Context) error {
	return b.link.Run(ctx, func(ctx context.Context, up func(string)) error {
		port, err := b.open(b.cfg.Device, b.mode)
		if err != nil {
			return fmt.Errorf("serialrelay: open %s: %w", b.cfg.Device, err)
		}
		b.mu.Lock()
		b.port = port
		b.mu.Unlock()
		if err := b.Halt(); err != nil {
			b.drop(nil)
			return err
		}
		up(fmt.Sprintf("%s at %d baud, %d relays", b.cfg.Device, b.cfg.Baud, b.cfg.Channels))
		hangup := make(chan error, 1)
		go func() { hangup <- watch(port) }()
		var end error
		hungUp := false
		select {
		case <-ctx.Done():
			end = ctx.Err()
			if err := b.Halt(); err != nil {
				b.log.Warn().Err(err).Msg("could not open every relay before letting the board go")
			}
		case end = <-b.link.Dropped():
		case err := <-hangup:
			end, hungUp = fmt.Errorf("serialrelay: %s hung up: %w", b.cfg.Device, err), true
		}
		b.drop(nil) // closing the port ends the watcher's read
		if !hungUp {
			<-hangup
		}
		return end
	})
}

// watch reads the port until it fails; LCUS boards send nothing, so only a
// hang-up (or the port being closed) ends it.
func watch(p Port) error {
	buf := make([]byte, 64)
	for {
		if _, err := p.Read(buf); err != nil {
			return err
		}
	}
}

// drop closes the port; err, when set, ends Run's session with it.
func (b *Board) drop(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.dropLocked(err)
}

func (b *Board) dropLocked(err error) {
	if b.port == nil {
		return
	}
	b.port.Close()
	b.port = nil
	if err != nil {
		b.link.Drop(err)
	}
}

// write sends frames and drains them to the device.
func (b *Board) write(frames ...Frame) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.port == nil {
		return fmt.Errorf("%w: %s", ErrNotConnected, b.cfg.Device)
	}
	buf := make([]byte, 0, 4*len(frames))
	for _, f := range frames {
		buf = append(buf, f[:]...)
	}
	n, err := b.port.Write(buf)
	if err == nil && n != len(buf) {
		err = fmt.Errorf("wrote %d of %d bytes", n, len(buf))
	}
	if err == nil {
		err = b.port.Drain()
	}
	if err != nil {
		err = fmt.Errorf("serialrelay: %s: %w", b.cfg.Device, err)
		b.dropLocked(err)
		return err
	}
	for _, f := range frames {
		bit := uint8(1) << (f[1] - 1)
		if f[2] == 1 {
			b.state |= bit
		} else {
			b.state &^= bit
		}
	}
	return nil
}

// Set closes (on) or opens relay n (1-based).
func (b *Board) Set(n int, on bool) error {
	if n < 1 || n > b.cfg.Channels {
		return gate.Errorf(gate.EINVALID, "%s has no relay %d (channels = %d)", b, n, b.cfg.Channels)
	}
	return b.write(NewFrame(n, on))
}

// Halt opens every relay (the safe state). The daemon calls it on
// shutdown; Run calls it on every (re)connect.
func (b *Board) Halt() error {
	frames := make([]Frame, b.cfg.Channels)
	for i := range frames {
		frames[i] = NewFrame(i+1, false)
	}
	return b.write(frames...)
}

// Channel returns relay n (1-based) of the board as a lane's output.
func (b *Board) Channel(n int) turnstile.Channel { return turnstile.Channel{Board: b, N: n} }
