package usbrelay

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/internal/defaults"
	"github.com/admitgate/admit/internal/usbdev"
	"github.com/admitgate/admit/internal/usbdev/reconnect"
	"github.com/admitgate/admit/turnstile"
)

// ID is the USB id every "USBRelay" board shares (a V-USB id): boards are
// told apart by the serial in their feature report, not by USB.
var ID = usbdev.ID{Vendor: 0x16c0, Product: 0x05df}

// The board protocol: an 8-byte feature report, report ID 0, on interface 0.
const (
	cmdOn     = 0xFF // close relay n (data[1] = n)
	cmdOff    = 0xFD // open relay n
	cmdAllOff = 0xFC // open every relay
	reportLen = 8
	serialLen = 5 // bytes 0-4 of the report: the board's serial
	stateByte = 7 // bit n-1: relay n closed
)

// Defaults of Config's zero fields.
const (
	DefaultControlTimeout = 500 * time.Millisecond
	DefaultProbeInterval  = time.Second
)

// ErrMismatch is wrapped by the error of a switch the board did not make:
// it acknowledged the request but reads back another state. The board is
// faulty (or a second program drives it); the lane must treat the relay as
// failed.
var ErrMismatch = errors.New("usbrelay: board reads back another state than commanded")

// ErrNotConnected is wrapped by the errors of requests made while the board
// is not attached (or not yet found); it wraps turnstile.ErrNotConnected.
var ErrNotConnected = fmt.Errorf("usbrelay: board %w", turnstile.ErrNotConnected)

// Config is one USBRelay board.
type Config struct {
	// Board is the board's serial (5 characters, from its feature report).
	// Empty: the one board attached, or the one on Port.
	Board string `toml:"board"`
	// Port pins the board to a USB port path ("1-2"); optional.
	Port string `toml:"port"`
	// ControlTimeout bounds each request to the board. Default 500ms.
	ControlTimeout time.Duration `toml:"control_timeout"`
	// ProbeInterval is how often Run reads the board's state to notice an
	// unplugged board before a lane needs it. Default 1s.
	ProbeInterval time.Duration `toml:"probe_interval"`
	// Backoff is the wait between attempts to reach a missing board.
	Backoff reconnect.Backoff `toml:"-"`
}

// Validate checks the config; errors carry gate.EINVALID.
func (c Config) Validate() error {
	if len(c.Board) > serialLen {
		return gate.Errorf(gate.EINVALID, "board serial %q: boards have %d-character serials", c.Board, serialLen)
	}
	if c.Port != "" {
		if _, _, err := usbdev.ParsePort(c.Port); err != nil {
			return err
		}
	}
	if c.ControlTimeout < 0 || c.ProbeInterval < 0 {
		return gate.Errorf(gate.EINVALID, "negative timeout")
	}
	return nil
}

var _ turnstile.RelayBoard = (*Board)(nil)

// Board drives one USBRelay HID board: it switches relays with SET_REPORT
// and reads the state back with GET_REPORT after every switch, a mismatch
// being a fault. All requests to the board are serialised, so lanes can
// share a board (one Channel each). Run keeps the board connected; without
// it every request fails with ErrNotConnected.
type Board struct {
	bus  *usbdev.Bus
	cfg  Config
	log  zerolog.Logger
	link *reconnect.Link // a request that finds the board gone drops its session

	mu       sync.Mutex
	dev      *usbdev.Device // nil while not connected
	release  func()         // gives the claimed interface back
	serial   string
	channels int
	state    uint8 // as last read back
}

// New returns a driver for the board cfg names; nothing is opened until Run.
func New(bus *usbdev.Bus, cfg Config, log zerolog.Logger) (*Board, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	defaults.Set(&cfg.ControlTimeout, DefaultControlTimeout)
	defaults.Set(&cfg.ProbeInterval, DefaultProbeInterval)
	defaults.Set(&cfg.Backoff.Max, time.Second)
	b := &Board{bus: bus, cfg: cfg, serial: cfg.Board}
	b.log = log.With().Str("component", "usbrelay").Str("board", b.name()).Logger()
	b.link = reconnect.New(b.String(), &reconnect.Options{Backoff: cfg.Backoff}, b.log)
	return b, nil
}

func (b *Board) name() string {
	switch {
	case b.cfg.Board != "":
		return b.cfg.Board
	case b.cfg.Port != "":
		return "port " + b.cfg.Port
	}
	return "the only board"
}

// String names the board: "usbrelay QWERT".
func (b *Board) String() string { return "usbrelay " + b.name() }

// Connected reports whether the board is attached and answering.
func (b *Board) Connected() bool { return b.link.Connected() }

// Status returns the connection state and the last error.
func (b *Board) Status() reconnect.Status { return b.link.Status() }

// Channels returns the board's relay count (from its product name,
// "USBRelay2"), 0 before it was first connected.
func (b *Board) Channels() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.channels
}

// State returns the relay state as last read back: bit n-1 set when relay
// n is closed.
func (b *Board) State() uint8 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.state
}

// Run keeps the board connected until ctx ends, then opens every relay,
// releases the board and returns ctx.Err(). On (re)connecting it opens
// every relay: a replugged board starts from the safe state. While
// connected it reads the board's state every ProbeInterval, so an
// unplugged board shows at once even when no lane is switching.
func (b *Board) Run(ctx context.Context) error {
	return b.link.Run(ctx, func(ctx context.Context, up func(string)) error {
		info, err := b.connect(ctx)
		if err != nil {
			return err
		}
		up(info)
		defer b.disconnect(true)
		t := time.NewTicker(b.cfg.ProbeInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case err := <-b.link.Dropped():
				return err
			case <-t.C:
			}
			b.mu.Lock()
			_, err := b.readLocked()
			b.mu.Unlock()
			if err != nil {
				return err
			}
		}
	})
}

// connect finds the board, claims it and opens every relay.
func (b *Board) connect(ctx context.Context) (string, error) {
	devs, err := b.bus.OpenAll(ctx, usbdev.Match{ID: ID, Port: b.cfg.Port})
	if err != nil {
		return "", err
	}
	var (
		chosen   *usbdev.Device
		release  func()
		serials  []string
		problems []string
	)
	for _, d := range devs {
		d.ControlTimeout = b.cfg.ControlTimeout
		if chosen != nil && b.cfg.Board != "" {
			d.Close()
			continue
		}
		_, rel, err := usbdev.Claim(d, 0)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", d.Info.Port, err))
			d.Close()
			continue
		}
		report := make([]byte, reportLen)
		n, err := usbdev.GetFeatureReport(d, 0, 0, report)
		if err != nil || n < reportLen {
			problems = append(problems, fmt.Sprintf("%s: read serial: %d bytes, %v", d.Info.Port, n, err))
			rel()
			d.Close()
			continue
		}
		serial := strings.TrimRight(string(report[:serialLen]), "\x00 ")
		serials = append(serials, serial+" at "+d.Info.Port)
		if chosen != nil || (b.cfg.Board != "" && serial != b.cfg.Board) {
			rel()
			d.Close()
			continue
		}
		chosen, release = d, rel
		b.mu.Lock()
		b.serial = serial
		b.state = report[stateByte]
		b.mu.Unlock()
	}
	if chosen == nil {
		what := "usbrelay: no board attached"
		if b.cfg.Board != "" || b.cfg.Port != "" {
			what = fmt.Sprintf("usbrelay: board %s not attached", b.name())
		}
		if len(serials) > 0 {
			what += " (boards found: " + strings.Join(serials, ", ") + ")"
		}
		if len(problems) > 0 {
			what += " (" + strings.Join(problems, "; ") + ")"
		}
		return "", gate.Errorf(gate.ENOTFOUND, "%s", what)
	}
	if b.cfg.Board == "" && len(serials) > 1 {
		release()
		chosen.Close()
		return "", gate.Errorf(gate.ECONFLICT, "%d boards attached (%s): name one by its board serial", len(serials), strings.Join(serials, ", "))
	}
	channels := 0
	if n, err := strconv.Atoi(strings.TrimPrefix(chosen.Info.Product, "USBRelay")); err == nil && strings.HasPrefix(chosen.Info.Product, "USBRelay") && n > 0 && n <= 8 {
		channels = n
	}
	b.mu.Lock()
	b.dev, b.release = chosen, release
	b.channels = channels
	b.mu.Unlock()
	if err := b.Halt(); err != nil {
		b.disconnect(false)
		return "", err
	}
	return fmt.Sprintf("board %s, %d relays, %s", b.serial, channels, chosen.Info), nil
}

// disconnect gives the board back; halt first opens every relay if it can.
func (b *Board) disconnect(halt bool) {
	if halt {
		if err := b.Halt(); err != nil && !errors.Is(err, ErrNotConnected) {
			b.log.Warn().Err(err).Msg("could not open every relay before letting the board go")
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.dropLocked(nil)
}

// dropLocked lets the board go; err, when set, ends Run's session with it
// so the link shows the board down at once and looks for it again.
func (b *Board) dropLocked(err error) {
	if b.dev == nil {
		return
	}
	b.release()
	b.dev.Close()
	b.dev, b.release = nil, nil
	if err != nil {
		b.link.Drop(err)
	}
}

// readLocked reads the board's report and records its state.
func (b *Board) readLocked() (uint8, error) {
	if b.dev == nil {
		return 0, fmt.Errorf("%w: %s", ErrNotConnected, b.name())
	}
	report := make([]byte, reportLen)
	n, err := usbdev.GetFeatureReport(b.dev, 0, 0, report)
	if err == nil && n < reportLen {
		err = fmt.Errorf("usbrelay: board %s: short report of %d bytes", b.serial, n)
	}
	if err != nil {
		err = fmt.Errorf("usbrelay: board %s: %w", b.serial, err)
		b.dropLocked(err)
		return 0, err
	}
	if got := strings.TrimRight(string(report[:serialLen]), "\x00 "); got != b.serial {
		err := fmt.Errorf("usbrelay: board %s now reports serial %q: another board took its place", b.serial, got)
		b.dropLocked(err)
		return 0, err
	}
	b.state = report[stateByte]
	return b.state, nil
}

// command sends one switch command and reads the state back; want is the
// state bits that must read back (mask selects them).
func (b *Board) command(cmd, arg byte, mask, want uint8) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.dev == nil {
		return fmt.Errorf("%w: %s", ErrNotConnected, b.name())
	}
	report := [reportLen]byte{cmd, arg}
	if err := usbdev.SetFeatureReport(b.dev, 0, 0, report[:]); err != nil {
		err = fmt.Errorf("usbrelay: board %s: %w", b.serial, err)
		b.dropLocked(err)
		return err
	}
	state, err := b.readLocked()
	if err != nil {
		return err
	}
	if state&mask != want&mask {
		return fmt.Errorf("%w: board %s, command %02X %d, state %08b, want %08b in %08b", ErrMismatch, b.serial, cmd, arg, state, want, mask)
	}
	return nil
}

// Set closes (on) or opens relay n (1-based) and checks the read-back.
func (b *Board) Set(n int, on bool) error {
	b.mu.Lock()
	channels := b.channels
	b.mu.Unlock()
	if n < 1 || n > 8 || (channels > 0 && n > channels) {
		return gate.Errorf(gate.EINVALID, "board %s has no relay %d", b.name(), n)
	}
	bit := uint8(1) << (n - 1)
	cmd, want := byte(cmdOff), uint8(0)
	if on {
		cmd, want = cmdOn, bit
	}
	return b.command(cmd, byte(n), bit, want)
}

// Halt opens every relay (the safe state) and checks the read-back. The
// daemon calls it on shutdown; Run calls it on every (re)connect.
func (b *Board) Halt() error {
	return b.command(cmdAllOff, 0, 0xFF, 0)
}

// Channel returns relay n (1-based) of the board as a lane's output.
func (b *Board) Channel(n int) turnstile.Channel { return turnstile.Channel{Board: b, N: n} }
