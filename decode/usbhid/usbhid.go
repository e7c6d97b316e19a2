package usbhid

import (
	"context"
	"fmt"
	"time"

	"github.com/google/gousb"
	"github.com/rs/zerolog"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/internal/defaults"
	"github.com/admitgate/admit/internal/usbdev"
	"github.com/admitgate/admit/internal/usbdev/reconnect"
)

// Protocol is how a scanner reports barcodes over HID.
type Protocol string

// Protocols.
const (
	// ProtocolKeyboard is a keyboard-wedge scanner: boot keyboard reports
	// (decode.Keyboard). The default.
	ProtocolKeyboard Protocol = "keyboard"
	// ProtocolPOS is a HID POS scanner (usage page 0x8C; decode.POS).
	ProtocolPOS Protocol = "pos"
)

// Config is one USB HID scanner. The embedded Match names the device
// (usb, serial, port in TOML).
type Config struct {
	usbdev.Match
	// Protocol is "keyboard" (default) or "pos": which HID interface to read
	// (a boot keyboard one, or another HID one) and so which decoder fits.
	Protocol Protocol `toml:"protocol"`
	// Interface picks the HID interface by number when above 0. Default:
	// the first HID interface of the protocol with an interrupt IN endpoint.
	Interface int `toml:"interface"`
	// ReadTimeout bounds one wait for a report; the source then runs the
	// decoder's timeouts and reads again. Default 1s.
	ReadTimeout time.Duration `toml:"read_timeout"`
	// Backoff is the wait between attempts to reach a missing scanner.
	// Default 100ms doubling to 1s: a replugged scanner is back within a
	// second, and looking for it costs a libusb enumeration a second.
	Backoff reconnect.Backoff `toml:"-"`
}

// Validate checks the config; errors carry gate.EINVALID.
func (c Config) Validate() error {
	if err := c.Match.Validate(); err != nil {
		return err
	}
	switch c.Protocol {
	case "", ProtocolKeyboard, ProtocolPOS:
	default:
		return gate.Errorf(gate.EINVALID, "protocol %q: want keyboard or pos", c.Protocol)
	}
	if c.Interface < 0 || c.Interface > 255 {
		return gate.Errorf(gate.EINVALID, "interface %d: want 0-255", c.Interface)
	}
	if c.ReadTimeout < 0 {
		return gate.Errorf(gate.EINVALID, "read timeout %v is negative", c.ReadTimeout)
	}
	return nil
}

// Source reads one USB HID scanner: it finds the device the config names,
// detaches usbhid and claims the HID interface, reads its interrupt IN
// endpoint with deadlines, feeds the decoder and sends the reads on. When
// the scanner goes away it says so at once (Connected, Status), looks for
// it again with backoff and resumes when it is back. One source per
// scanner; several share a usbdev.Bus.
type Source struct {
	bus  *usbdev.Bus
	cfg  Config
	pump pump
	link *reconnect.Link
	log  zerolog.Logger
}

// New returns a source for the scanner cfg names, decoding with dec (a
// decode.Keyboard for ProtocolKeyboard, a decode.POS for ProtocolPOS).
// Nothing is opened until Run.
func New(bus *usbdev.Bus, cfg Config, dec ReportDecoder, log zerolog.Logger) (*Source, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	defaults.Set(&cfg.Protocol, ProtocolKeyboard)
	defaults.Set(&cfg.ReadTimeout, DefaultReadTimeout)
	defaults.Set(&cfg.Backoff.Min, DefaultBackoffMin)
	defaults.Set(&cfg.Backoff.Max, DefaultBackoffMax)
	log = log.With().Str("component", "usbhid").Str("scanner", cfg.Match.String()).Logger()
	s := &Source{bus: bus, cfg: cfg, log: log}
	s.pump = newPump(dec, cfg.ReadTimeout, time.Now, log)
	s.link = reconnect.New(s.String(), &reconnect.Options{Backoff: cfg.Backoff}, log)
	return s, nil
}

// String names the source: "usb scanner 0c2e:0b61 port=1-2".
func (s *Source) String() string { return "usb scanner " + s.cfg.Match.String() }

// Connected reports whether the scanner is attached and being read
// (turnstile.ScannerLink).
func (s *Source) Connected() bool { return s.link.Connected() }

// Status returns the connection state, the device and the last error.
func (s *Source) Status() reconnect.Status { return s.link.Status() }

// Run reads the scanner and sends its reads on out until ctx ends, then
// returns ctx.Err(). It never returns because the scanner vanished or
// failed. Call it once.
func (s *Source) Run(ctx context.Context, out chan<- gate.Read) error {
	return s.link.Run(ctx, func(ctx context.Context, up func(string)) error {
		return s.session(ctx, up, out)
	})
}

// session opens, claims and reads the scanner until it fails.
func (s *Source) session(ctx context.Context, up func(string), out chan<- gate.Read) error {
	dev, err := s.bus.Open(ctx, s.cfg.Match)
	if err != nil {
		return err
	}
	defer dev.Close()
	intf, ep, err := findEndpoint(dev, s.cfg)
	if err != nil {
		return err
	}
	iface, release, err := usbdev.Claim(dev, intf.Number)
	if err != nil {
		return err
	}
	defer release()
	in, err := iface.InEndpoint(ep.Number)
	if err != nil {
		return fmt.Errorf("usbhid: %s: endpoint %s: %w", dev.Info.Port, ep.Address, err)
	}
	if s.cfg.Protocol == ProtocolKeyboard && intf.SubClass == 1 {
		s.bootProtocol(dev, intf.Number)
	}
	s.pump.reports = 0
	up(dev.Info.String())
	err = s.pump.run(ctx, in, ep.MaxPacketSize, out)
	s.pump.Flush(ctx, out)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return fmt.Errorf("usbhid: %s: read after %d reports: %w", dev.Info, s.pump.reports, err)
}

// bootProtocol asks a boot keyboard for boot reports and no repeats: the
// kernel driver, now detached, may have left it in report protocol (HID
// 1.11, 7.2.6). A scanner that stalls either request keeps its setting.
func (s *Source) bootProtocol(dev *usbdev.Device, intf int) {
	const setIdle, setProtocol = 0x0a, 0x0b
	if _, err := dev.Control(0x21, setProtocol, 0 /* boot */, uint16(intf), nil); err != nil {
		s.log.Debug().Err(err).Msg("SET_PROTOCOL boot refused")
	}
	if _, err := dev.Control(0x21, setIdle, 0 /* report on change only */, uint16(intf), nil); err != nil {
		s.log.Debug().Err(err).Msg("SET_IDLE refused")
	}
}

// findEndpoint picks the HID interface and its interrupt IN endpoint.
func findEndpoint(dev *usbdev.Device, cfg Config) (gousb.InterfaceSetting, gousb.EndpointDesc, error) {
	cfgNum, err := dev.ActiveConfigNum()
	if err != nil {
		return gousb.InterfaceSetting{}, gousb.EndpointDesc{}, fmt.Errorf("usbhid: %s: active configuration: %w", dev.Info, err)
	}
	desc, ok := dev.Desc.Configs[cfgNum]
	if !ok {
		return gousb.InterfaceSetting{}, gousb.EndpointDesc{}, fmt.Errorf("usbhid: %s: no configuration %d", dev.Info, cfgNum)
	}
	for _, i := range desc.Interfaces {
		if len(i.AltSettings) == 0 {
			continue
		}
		alt := i.AltSettings[0]
		if cfg.Interface > 0 && alt.Number != cfg.Interface {
			continue
		}
		if alt.Class != gousb.ClassHID {
			continue
		}
		boot := alt.SubClass == 1 && alt.Protocol == 1
		if cfg.Interface == 0 && (cfg.Protocol == ProtocolKeyboard) != boot {
			continue
		}
		for _, ep := range alt.Endpoints {
			if ep.Direction == gousb.EndpointDirectionIn && ep.TransferType == gousb.TransferTypeInterrupt {
				return alt, ep, nil
			}
		}
	}
	what := "a boot keyboard HID interface"
	if cfg.Protocol == ProtocolPOS {
		what = "a HID interface that is not a boot keyboard"
	}
	if cfg.Interface > 0 {
		what = fmt.Sprintf("HID interface %d", cfg.Interface)
	}
	return gousb.InterfaceSetting{}, gousb.EndpointDesc{}, gate.Errorf(gate.EINVALID, "%s has no %s with an interrupt IN endpoint (is protocol %q right?)", dev.Info, what, cfg.Protocol)
}
