package usbdev

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/google/gousb"
	"go.bug.st/serial/enumerator"
)

// Kind is what an attached device looks like to admit.
type Kind string

// Kinds of candidate devices.
const (
	// KindKeyboardScanner is a HID boot keyboard: a keyboard-wedge scanner
	// (or a plain keyboard: the name tells). Driver decode/usbhid.
	KindKeyboardScanner Kind = "hid-keyboard"
	// KindPOSScanner is a HID device from a scanner maker that is not a
	// boot keyboard: a scanner in HID POS mode. Driver decode/usbhid.
	KindPOSScanner Kind = "hid-pos"
	// KindUSBRelay is a "USBRelay" HID relay board. Driver turnstile/usbrelay.
	KindUSBRelay Kind = "usbrelay"
	// KindSerial is a serial port: a CDC ACM scanner (/dev/ttyACM*), or a
	// USB-serial adapter (/dev/ttyUSB*) such as the CH340 of the LCUS
	// relay boards. Drivers decode/serialscan, turnstile/serialrelay.
	KindSerial Kind = "serial"
)

// Candidate is an attached device that looks like a scanner or a relay
// board, with what a config needs to name it.
type Candidate struct {
	Kind Kind   `json:"kind"`
	Info Info   `json:"info"`           // the USB identity; Port empty for a serial port libusb did not see
	Path string `json:"path,omitempty"` // serial ports: the device path, its stable /dev/serial/by-id link when there is one
	// RelaySerial is a USBRelay board's own serial (from its feature
	// report), which tells boards apart; Channels its relay count.
	RelaySerial string `json:"relay_serial,omitempty"`
	Channels    int    `json:"channels,omitempty"`
	Note        string `json:"note,omitempty"` // what to check, or why something is missing
	Config      string `json:"config"`         // a TOML snippet, ready to paste
}

// ListOptions are List's optional parts.
type ListOptions struct {
	// SerialPorts lists the serial ports; nil means go.bug.st/serial's
	// enumerator (sysfs).
	SerialPorts func() ([]*enumerator.PortDetails, error)
	// ByIDDir holds the stable links to serial ports; default
	// /dev/serial/by-id.
	ByIDDir string
	// SkipRelaySerials leaves USBRelay boards closed: reading their serial
	// detaches usbhid from them for a moment, and fails while admit itself
	// drives the board.
	SkipRelaySerials bool
}

// scannerVendors are the USB vendor ids of barcode scanner makers, for
// telling a HID POS scanner from other HID devices.
var scannerVendors = map[uint16]string{
	0x0536: "Hand Held Products",
	0x05e0: "Symbol/Zebra",
	0x05f9: "Datalogic",
	0x065a: "Opticon",
	0x0c2e: "Honeywell",
	0x1eab: "Newland",
	0x2dd6: "Zebra",
}

// serialBridges are USB-serial adapter chips: their ports are listed from
// /dev, not from USB.
var serialBridges = map[ID]string{
	{0x1a86, 0x7523}: "CH340 (LCUS relay boards use it)",
	{0x1a86, 0x5523}: "CH341",
	{0x0403, 0x6001}: "FTDI FT232R",
	{0x0403, 0x6015}: "FTDI FT231X",
	{0x10c4, 0xea60}: "Silicon Labs CP210x",
	{0x067b, 0x2303}: "Prolific PL2303",
}

// List returns the attached devices that look like scanners (HID keyboard
// or POS, CDC serial) or relay boards (USBRelay HID, serial adapters), each
// with its VID:PID, serial and port path and a config snippet: what
// `admit devices` prints. It lists what it can: an error (no USB, a serial
// enumeration failure) comes with whatever the other sources found.
func List(ctx context.Context, b *Bus, opts *ListOptions) ([]Candidate, error) {
	if opts == nil {
		opts = &ListOptions{}
	}
	var errs []error
	usb, err := listUSB(ctx, b, opts)
	if err != nil {
		errs = append(errs, err)
	}
	ports, err := listSerial(opts)
	if err != nil {
		errs = append(errs, err)
	}
	out := mergeSerial(usb, ports)
	for i := range out {
		out[i].Config = snippet(out[i])
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Kind != out[j].Kind {
			return kindOrder(out[i].Kind) < kindOrder(out[j].Kind)
		}
		if out[i].Info.Port != out[j].Info.Port {
			return out[i].Info.Port < out[j].Info.Port
		}
		return out[i].Path < out[j].Path
	})
	return out, errors.Join(errs...)
}

func kindOrder(k Kind) int {
	switch k {
	case KindKeyboardScanner:
		return 0
	case KindPOSScanner:
		return 1
	case KindSerial:
		return 2
	}
	return 3
}

// classify says what a device is from its descriptors alone.
func classify(d *gousb.DeviceDesc) (Kind, string, bool) {
	id := ID{uint16(d.Vendor), uint16(d.Product)}
	if id == (ID{0x16c0, 0x05df}) {
		return KindUSBRelay, "", true
	}
	if name, ok := serialBridges[id]; ok {
		return KindSerial, "USB-serial adapter " + name, true
	}
	for _, cfg := range d.Configs {
		for _, intf := range cfg.Interfaces {
			for _, alt := range intf.AltSettings {
				switch {
				case alt.Class == gousb.ClassHID && alt.SubClass == 1 && alt.Protocol == 1:
					return KindKeyboardScanner, "a HID keyboard: a keyboard-wedge scanner, or a keyboard (check the name)", true
				case alt.Class == gousb.ClassHID && alt.Protocol == 0 && scannerVendors[id.Vendor] != "":
					return KindPOSScanner, "a HID device of " + scannerVendors[id.Vendor] + ": a scanner in HID POS mode", true
				case alt.Class == gousb.ClassComm && alt.SubClass == 2:
					return KindSerial, "a CDC ACM serial device: a scanner in USB-serial mode", true
				}
			}
		}
	}
	return "", "", false
}

func listUSB(ctx context.Context, b *Bus, opts *ListOptions) ([]Candidate, error) {
	uctx, err := b.Context()
	if err != nil {
		return nil, err
	}
	var out []Candidate
	byAddr := map[[2]int]int{}
	devs, openErr := uctx.OpenDevices(func(d *gousb.DeviceDesc) bool {
		kind, note, ok := classify(d)
		if !ok {
			return false
		}
		byAddr[[2]int{d.Bus, d.Address}] = len(out)
		out = append(out, Candidate{Kind: kind, Info: descInfo(d), Note: note})
		return true
	})
	opened := map[int]bool{}
	for _, d := range devs {
		i := byAddr[[2]int{d.Desc.Bus, d.Desc.Address}]
		opened[i] = true
		dev := &Device{Device: d, Info: out[i].Info}
		dev.ControlTimeout = b.controlTimeout
		if err := readStrings(d, &dev.Info); err != nil {
			out[i].Note = join(out[i].Note, err.Error())
		}
		out[i].Info = dev.Info
		if out[i].Kind == KindUSBRelay {
			describeRelay(ctx, dev, &out[i], opts)
		}
		d.Close()
	}
	for i := range out {
		if !opened[i] {
			out[i].Note = join(out[i].Note, "cannot open it to read its serial"+permissionHint(openErr))
		}
	}
	if openErr != nil && len(opened) == len(out) {
		openErr = nil // every candidate opened; the error was about another device
	}
	if openErr != nil {
		return out, fmt.Errorf("usbdev: list: %w", openErr)
	}
	return out, nil
}

// describeRelay reads a USBRelay board's channel count (from its product
// name, "USBRelay2") and its own serial (bytes 0-4 of its feature report;
// see turnstile/usbrelay).
func describeRelay(ctx context.Context, d *Device, c *Candidate, opts *ListOptions) {
	if n, err := strconv.Atoi(strings.TrimPrefix(d.Info.Product, "USBRelay")); err == nil && strings.HasPrefix(d.Info.Product, "USBRelay") {
		c.Channels = n
	}
	if opts.SkipRelaySerials || ctx.Err() != nil {
		c.Note = join(c.Note, "board serial not read")
		return
	}
	_, release, err := Claim(d, 0)
	if err != nil {
		c.Note = join(c.Note, "cannot read the board serial (is admit driving it?): "+err.Error())
		return
	}
	defer release()
	report := make([]byte, 8)
	if n, err := GetFeatureReport(d, 0, 0, report); err != nil || n < 5 {
		c.Note = join(c.Note, fmt.Sprintf("cannot read the board serial: %d bytes, %v", n, err))
		return
	}
	c.RelaySerial = strings.TrimRight(string(report[:5]), "\x00 ")
}

func join(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

func listSerial(opts *ListOptions) ([]*enumerator.PortDetails, error) {
	list := opts.SerialPorts
	if list == nil {
		list = func() ([]*enumerator.PortDetails, error) { return enumerator.GetDetailedPortsList() }
	}
	ports, err := list()
	if err != nil {
		return nil, fmt.Errorf("usbdev: list serial ports: %w", err)
	}
	byID := stableLinks(opts.ByIDDir)
	var out []*enumerator.PortDetails
	for _, p := range ports {
		if base := filepath.Base(p.Name); !strings.HasPrefix(base, "ttyACM") && !strings.HasPrefix(base, "ttyUSB") {
			continue
		}
		q := *p
		if link, ok := byID[p.Name]; ok {
			q.Name = link
		}
		out = append(out, &q)
	}
	return out, nil
}

// stableLinks maps /dev/ttyXXX to its /dev/serial/by-id link, which keeps
// its name across replugs where ttyACM0 may come back as ttyACM1.
func stableLinks(dir string) map[string]string {
	if dir == "" {
		dir = "/dev/serial/by-id"
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	out := map[string]string{}
	for _, e := range entries {
		link := filepath.Join(dir, e.Name())
		target, err := filepath.EvalSymlinks(link)
		if err != nil {
			continue
		}
		out[target] = link
	}
	return out
}

// mergeSerial attaches serial ports to the USB devices they belong to and
// lists the others on their own.
func mergeSerial(usb []Candidate, ports []*enumerator.PortDetails) []Candidate {
	out := usb
	for _, p := range ports {
		var id ID
		if p.IsUSB {
			id, _ = ParseID(p.VID + ":" + p.PID)
		}
		matched := false
		for i := range out {
			c := &out[i]
			if c.Kind == KindSerial && c.Path == "" && !id.IsZero() && c.Info.ID == id && (p.SerialNumber == "" || c.Info.Serial == p.SerialNumber) {
				c.Path = p.Name
				matched = true
				break
			}
		}
		if matched {
			continue
		}
		c := Candidate{Kind: KindSerial, Path: p.Name, Info: Info{ID: id, Serial: p.SerialNumber, Manufacturer: p.Manufacturer, Product: p.Product}}
		if name, ok := serialBridges[id]; ok {
			c.Note = "USB-serial adapter " + name
		} else if strings.Contains(p.Name, "ACM") {
			c.Note = "a CDC ACM serial device: a scanner in USB-serial mode"
		}
		out = append(out, c)
	}
	for i := range out {
		if out[i].Kind == KindSerial && out[i].Path == "" {
			out[i].Note = join(out[i].Note, "no /dev/ttyACM* or /dev/ttyUSB* found for it (is its kernel driver loaded?)")
		}
	}
	return out
}

// snippet returns the config lines that select c. The keys are those of
// usbdev.Match, usbhid.Config, serialscan.Config, usbrelay and serialrelay.
func snippet(c Candidate) string {
	var b strings.Builder
	name := strings.TrimSpace(c.Info.Manufacturer + " " + c.Info.Product)
	if name == "" {
		name = "unnamed device"
	}
	switch c.Kind {
	case KindKeyboardScanner, KindPOSScanner:
		protocol := "keyboard"
		if c.Kind == KindPOSScanner {
			protocol = "pos"
		}
		fmt.Fprintf(&b, "[lanes.scanner] # %s\n", name)
		fmt.Fprintf(&b, "driver = \"usbhid\"\nprotocol = %q\nusb = %q\n", protocol, c.Info.ID.String())
		if c.Info.Serial != "" {
			fmt.Fprintf(&b, "serial = %q\n", c.Info.Serial)
		}
		fmt.Fprintf(&b, "port = %q # drop to follow the scanner to any socket\n", c.Info.Port)
	case KindUSBRelay:
		fmt.Fprintf(&b, "[lanes.relay] # %s, %d relays\n", name, c.Channels)
		fmt.Fprintf(&b, "driver = \"usbrelay\"\n")
		if c.RelaySerial != "" {
			fmt.Fprintf(&b, "board = %q\n", c.RelaySerial)
		} else {
			fmt.Fprintf(&b, "port = %q\n", c.Info.Port)
		}
		fmt.Fprintf(&b, "channel = 1\n")
	case KindSerial:
		path := c.Path
		if path == "" {
			path = "/dev/ttyACM0"
		}
		if serialBridges[c.Info.ID] != "" {
			fmt.Fprintf(&b, "# %s: a serial scanner, or an LCUS relay board\n", name)
			fmt.Fprintf(&b, "[lanes.relay]\ndriver = \"lcus\"\ndevice = %q\nchannel = 1\n", path)
			fmt.Fprintf(&b, "# or\n[lanes.scanner]\ndriver = \"serial\"\ndevice = %q\nbaud = 9600\n", path)
		} else {
			fmt.Fprintf(&b, "[lanes.scanner] # %s\n", name)
			fmt.Fprintf(&b, "driver = \"serial\"\ndevice = %q\nbaud = 9600\n", path)
		}
	}
	return b.String()
}
