package serialscan

import (
	"context"
	"fmt"
	"time"

	"github.com/rs/zerolog"
	"go.bug.st/serial"

	"github.com/admitgate/admit/decode"
	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/internal/defaults"
	"github.com/admitgate/admit/internal/usbdev/reconnect"
)

// StreamDecoder frames a scanner's byte stream into reads; decode.Serial
// implements it.
type StreamDecoder = decode.StreamDecoder

// Port is an open serial port; go.bug.st/serial's Port implements it.
// Read returns (0, nil) when the read timeout passes with no data.
type Port interface {
	Read(p []byte) (int, error)
	SetReadTimeout(t time.Duration) error
	Close() error
}

// Opener opens a serial port; serial.Open wrapped by [OpenSerial] is the
// real one, tests pass fakes.
type Opener func(path string, mode *serial.Mode) (Port, error)

// OpenSerial opens a real serial port with go.bug.st/serial.
func OpenSerial(path string, mode *serial.Mode) (Port, error) {
	return serial.Open(path, mode)
}

// Defaults of Config's zero fields.
const (
	DefaultBaud        = 9600
	DefaultReadTimeout = time.Second
)

// Config is one serial scanner.
type Config struct {
	// Device is the port: /dev/ttyACM0, /dev/ttyUSB0, or better its stable
	// /dev/serial/by-id/... link (see admit devices), which keeps its name
	// when the scanner is replugged.
	Device string `toml:"device"`
	// Baud is the line speed; default 9600. CDC ACM scanners ignore it.
	Baud int `toml:"baud"`
	// Parity is "none" (default), "odd" or "even"; 8 data bits, 1 stop bit.
	Parity string `toml:"parity"`
	// ReadTimeout bounds one wait for bytes; the source then runs the
	// decoder's timeouts and reads again. Default 1s.
	ReadTimeout time.Duration `toml:"read_timeout"`
	// Backoff is the wait between attempts to open a missing port.
	// Default 100ms doubling to 1s.
	Backoff reconnect.Backoff `toml:"-"`
}

// Validate checks the config; errors carry gate.EINVALID.
func (c Config) Validate() error {
	if c.Device == "" {
		return gate.Errorf(gate.EINVALID, "a serial scanner needs its device (/dev/ttyACM0 or a /dev/serial/by-id link)")
	}
	if c.Baud < 0 || c.Baud > 4_000_000 {
		return gate.Errorf(gate.EINVALID, "baud %d out of range", c.Baud)
	}
	if _, err := parity(c.Parity); err != nil {
		return err
	}
	if c.ReadTimeout < 0 {
		return gate.Errorf(gate.EINVALID, "read timeout %v is negative", c.ReadTimeout)
	}
	return nil
}

func parity(s string) (serial.Parity, error) {
	switch s {
	case "", "none":
		return serial.NoParity, nil
	case "odd":
		return serial.OddParity, nil
	case "even":
		return serial.EvenParity, nil
	}
	return 0, gate.Errorf(gate.EINVALID, "parity %q: want none, odd or even", s)
}

// Source reads one serial scanner: it opens the port, reads it with
// timeouts that follow the decoder's, and sends the reads on. When the port
// goes away (unplugged, hung up) it says so at once, reopens it with
// backoff, and resumes. One source per scanner.
type Source struct {
	cfg  Config
	mode *serial.Mode
	open Opener
	dec  StreamDecoder
	pump decode.Pump
	link *reconnect.Link
	log  zerolog.Logger
	now  func() time.Time
}

// New returns a source for the scanner cfg names, framing with dec (a
// decode.Serial). open is nil for real ports.
func New(cfg Config, dec StreamDecoder, open Opener, log zerolog.Logger) (*Source, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	defaults.Set(&cfg.Baud, DefaultBaud)
	defaults.Set(&cfg.ReadTimeout, DefaultReadTimeout)
	defaults.Set(&cfg.Backoff.Max, time.Second)
	if open == nil {
		open = OpenSerial
	}
	p, _ := parity(cfg.Parity)
	s := &Source{
		cfg:  cfg,
		mode: &serial.Mode{BaudRate: cfg.Baud, DataBits: 8, Parity: p, StopBits: serial.OneStopBit},
		open: open,
		dec:  dec,
		log:  log.With().Str("component", "serialscan").Str("scanner", cfg.Device).Logger(),
		now:  time.Now,
	}
	s.pump = decode.Pump{Decoder: dec, Now: s.now, Log: s.log}
	s.link = reconnect.New(s.String(), &reconnect.Options{Backoff: cfg.Backoff}, s.log)
	return s, nil
}

// String names the source: "serial scanner /dev/ttyACM0".
func (s *Source) String() string { return "serial scanner " + s.cfg.Device }

// Connected reports whether the port is open and being read
// (turnstile.ScannerLink).
func (s *Source) Connected() bool { return s.link.Connected() }

// Status returns the connection state and the last error.
func (s *Source) Status() reconnect.Status { return s.link.Status() }

// Run reads the scanner and sends its reads on out until ctx ends, then
// returns ctx.Err(). It never returns because the port vanished.
func (s *Source) Run(ctx context.Context, out chan<- gate.Read) error {
	return s.link.Run(ctx, func(ctx context.Context, up func(string)) error {
		port, err := s.open(s.cfg.Device, s.mode)
		if err != nil {
			return fmt.Errorf("serialscan: open %s: %w", s.cfg.Device, err)
		}
		// Close the port when ctx ends, which ends a pending Read.
		stop := context.AfterFunc(ctx, func() { port.Close() })
		defer func() {
			stop()
			port.Close()
		}()
		up(fmt.Sprintf("%s at %d baud", s.cfg.Device, s.cfg.Baud))
		err = s.read(ctx, port, out)
		s.pump.Flush(ctx, out)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("serialscan: read %s: %w", s.cfg.Device, err)
	})
}

// read feeds the decoder until the port fails or ctx ends.
func (s *Source) read(ctx context.Context, port Port, out chan<- gate.Read) error {
	buf := make([]byte, 512)
	var reads []gate.Read
	for {
		if err := s.pump.Due(ctx, out); err != nil {
			return err
		}
		_, wait := s.pump.ReadDeadline(s.cfg.ReadTimeout)
		wait = max(wait, time.Millisecond) // a deadline just passed: poll, never block
		if err := port.SetReadTimeout(wait); err != nil {
			return err
		}
		n, err := port.Read(buf)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if n > 0 {
			reads = s.dec.Feed(buf[:n], s.now(), reads[:0])
			for _, r := range reads {
				if err := s.pump.Send(ctx, out, r); err != nil {
					return err
				}
			}
		}
		if err != nil {
			return err
		}
	}
}
