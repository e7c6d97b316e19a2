package usbdev

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/gousb"
	"github.com/rs/zerolog"

	"github.com/admitgate/admit/gate"
)

// DefaultControlTimeout bounds every control transfer on devices the Bus
// opens. Without it a device that never answers blocks its caller forever.
const DefaultControlTimeout = time.Second

// Bus is the process's access to USB through libusb: one gousb.Context,
// created on first use (and again after a failed attempt), shared by every
// scanner source and relay driver. Its methods are safe for concurrent use.
type Bus struct {
	log            zerolog.Logger
	controlTimeout time.Duration

	mu  sync.Mutex
	ctx *gousb.Context
}

// NewBus returns a Bus; nothing is opened until it is used.
// controlTimeout is set on every device it opens (0: DefaultControlTimeout).
func NewBus(controlTimeout time.Duration, log zerolog.Logger) *Bus {
	if controlTimeout <= 0 {
		controlTimeout = DefaultControlTimeout
	}
	return &Bus{log: log.With().Str("component", "usbdev").Logger(), controlTimeout: controlTimeout}
}

// ErrNoUSB is returned, wrapped, when libusb cannot start: no usbfs, as in a
// container without /dev/bus/usb.
var ErrNoUSB = errors.New("usbdev: USB is not available")

// Context returns the libusb context, creating it if needed.
func (b *Bus) Context() (*gousb.Context, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ctx != nil {
		return b.ctx, nil
	}
	ctx, err := newContext()
	if err != nil {
		return nil, err
	}
	b.ctx = ctx
	return ctx, nil
}

// newContext returns gousb.NewContext, which panics when libusb_init fails,
// as an error.
func newContext() (ctx *gousb.Context, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w (libusb: %v): is /dev/bus/usb there?", ErrNoUSB, r)
		}
	}()
	return gousb.NewContext(), nil
}

// Close releases the libusb context. Close every device first (sources
// and relay drivers before the bus, in the shutdown order).
func (b *Bus) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ctx == nil {
		return nil
	}
	if err := b.ctx.Close(); err != nil {
		return fmt.Errorf("usbdev: close: %w", err)
	}
	b.ctx = nil
	return nil
}

// Info identifies an attached device.
type Info struct {
	ID           ID     `json:"usb"`
	Serial       string `json:"serial,omitempty"`
	Manufacturer string `json:"manufacturer,omitempty"`
	Product      string `json:"product,omitempty"`
	Port         string `json:"port"`    // port path, "1-2"
	Bus          int    `json:"bus"`     // bus number
	Address      int    `json:"address"` // device address on the bus; changes on every replug
}

// String describes the device for logs and lane status:
// "0c2e:0b61 port 1-2 serial X (Honeywell Voyager 1250g)".
func (i Info) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s port %s", i.ID, i.Port)
	if i.Serial != "" {
		fmt.Fprintf(&b, " serial %s", i.Serial)
	}
	if name := strings.TrimSpace(i.Manufacturer + " " + i.Product); name != "" {
		fmt.Fprintf(&b, " (%s)", name)
	}
	return b.String()
}

func descInfo(d *gousb.DeviceDesc) Info {
	ports := make([]int, len(d.Path))
	copy(ports, d.Path)
	if len(ports) == 0 && d.Port > 0 {
		ports = []int{d.Port}
	}
	return Info{
		ID:      ID{uint16(d.Vendor), uint16(d.Product)},
		Port:    PortPath(d.Bus, ports),
		Bus:     d.Bus,
		Address: d.Address,
	}
}

// readStrings fills in the serial number, manufacturer and product strings;
// a device that fails to answer keeps them empty.
func readStrings(d *gousb.Device, info *Info) error {
	var err error
	if info.Serial, err = d.SerialNumber(); err != nil {
		return fmt.Errorf("usbdev: %s: serial number: %w", info.Port, err)
	}
	info.Manufacturer, _ = d.Manufacturer()
	info.Product, _ = d.Product()
	return nil
}

// Device is an opened USB device and what identifies it. Close it when
// done; it is not safe for concurrent use beyond what gousb allows.
type Device struct {
	*gousb.Device
	Info Info
}

// Open opens the one attached device m selects, with the control timeout
// set. The error carries gate.ENOTFOUND when no device matches (unplugged,
// or not yet enumerated) and gate.ECONFLICT when several do (name a port or
// serial to tell them apart); other errors (permissions) are internal.
func (b *Bus) Open(ctx context.Context, m Match) (*Device, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	uctx, err := b.Context()
	if err != nil {
		return nil, err
	}
	var candidates []Info
	devs, openErr := uctx.OpenDevices(func(d *gousb.DeviceDesc) bool {
		info := descInfo(d)
		if !m.matchesDesc(info.ID, info.Port) {
			return false
		}
		candidates = append(candidates, info)
		return true
	})
	var found []*Device
	for _, d := range devs {
		d.ControlTimeout = b.controlTimeout
		info := descInfo(d.Desc)
		if ctx.Err() != nil {
			d.Close()
			continue
		}
		if err := readStrings(d, &info); err != nil && m.Serial != "" {
			d.Close()
			openErr = err
			continue
		}
		if m.Serial != "" && info.Serial != m.Serial {
			d.Close()
			continue
		}
		found = append(found, &Device{Device: d, Info: info})
	}
	if err := ctx.Err(); err != nil {
		closeAll(found)
		return nil, err
	}
	switch {
	case len(found) == 1:
		return found[0], nil
	case len(found) > 1:
		ports := make([]string, len(found))
		for i, d := range found {
			ports[i] = d.Info.Port
		}
		sort.Strings(ports)
		closeAll(found)
		return nil, gate.Errorf(gate.ECONFLICT, "%d devices match %s (ports %s): add a port or serial to tell them apart", len(found), m, strings.Join(ports, ", "))
	case len(candidates) > len(devs) && openErr != nil:
		return nil, fmt.Errorf("usbdev: open %s: %w%s", m, openErr, permissionHint(openErr))
	case openErr != nil && m.Serial != "":
		return nil, fmt.Errorf("usbdev: open %s: %w", m, openErr)
	}
	return nil, gate.Errorf(gate.ENOTFOUND, "no attached device matches %s", m)
}

// OpenAll opens every attached device m selects (by id and port; a
// serial in m is checked too), for callers that tell devices apart by
// something only they can read, such as a relay board's own serial. Close
// each one. No device is not an error: the slice is empty.
func (b *Bus) OpenAll(ctx context.Context, m Match) ([]*Device, error) {
	if m.ID.IsZero() && m.Serial == "" && m.Port == "" {
		return nil, gate.Errorf(gate.EINVALID, "a USB device needs usb (vendor:product), serial or port")
	}
	uctx, err := b.Context()
	if err != nil {
		return nil, err
	}
	devs, openErr := uctx.OpenDevices(func(d *gousb.DeviceDesc) bool {
		info := descInfo(d)
		return m.matchesDesc(info.ID, info.Port)
	})
	var out []*Device
	for _, d := range devs {
		d.ControlTimeout = b.controlTimeout
		info := descInfo(d.Desc)
		readStrings(d, &info)
		if (m.Serial != "" && info.Serial != m.Serial) || ctx.Err() != nil {
			d.Close()
			continue
		}
		out = append(out, &Device{Device: d, Info: info})
	}
	if err := ctx.Err(); err != nil {
		closeAll(out)
		return nil, err
	}
	if openErr != nil && len(out) == 0 {
		return nil, fmt.Errorf("usbdev: open %s: %w%s", m, openErr, permissionHint(openErr))
	}
	return out, nil
}

func closeAll(devs []*Device) {
	for _, d := range devs {
		d.Close()
	}
}

func permissionHint(err error) string {
	if errors.Is(err, gousb.ErrorAccess) {
		return " (install deploy/udev/70-admit.rules so the admit user may open scanners and relay boards)"
	}
	return ""
}
