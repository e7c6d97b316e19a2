package usbemu

import (
	"bufio"
	"context"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/admitgate/admit/decode"
)

//go:embed testdata/scanner.umockdev
var scannerTemplate string

//go:embed testdata/relay.umockdev
var relayTemplate string

// Default identities of the emulated devices (those of the recorded ones).
const (
	ScannerVendor  = 0x0c2e // Honeywell (Metrologic)
	ScannerProduct = 0x0b61
	RelayVendor    = 0x16c0 // the "USBRelay" boards (V-USB shared id)
	RelayProduct   = 0x05df
)

// keyboardReportDescriptor is the boot keyboard report descriptor of the HID
// specification (appendix B.1), what keyboard-wedge scanners present.
var keyboardReportDescriptor = "05010906a101050719e029e71500250175019508810295017508810395057501050819012905910295017503910395067508150025650507190029658100c0"

// posReportDescriptor is a HID POS barcode scanner (usage page 0x8C) with
// one 64-byte input report: what scanners in "HID POS" mode present.
var posReportDescriptor = "058c0902a101850209fe150026ff00750895408102c0"

// relayReportDescriptor is the vendor-defined 8-byte feature report of the
// "USBRelay" boards.
var relayReportDescriptor = "0600ff0901a101150026ff0075089508090100b102c0"

// Bus is the emulated USB bus of this test binary: one libumockdev testbed
// shared by the package's tests. Tests that use it run one at a time.
type Bus struct {
	mu      sync.Mutex
	devnum  int
	devices map[string]*Device
}

var theBus = &Bus{devnum: 1, devices: map[string]*Device{}}

// Start returns the emulated bus, empty, and removes every device when t
// ends. Outside CI it skips t when the emulation is unavailable here (see
// [Main]); under CI [Main] has already failed in that case.
func Start(t testing.TB) *Bus {
	t.Helper()
	if err := Available(); err != nil {
		t.Skipf("%v (install the Debian packages with scripts/deps.sh test)", err)
	}
	if err := theBus.Reset(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := theBus.Reset(); err != nil {
			t.Errorf("usbemu: cleanup: %v", err)
		}
	})
	return theBus
}

// Reset unplugs and forgets every device and clears the request log.
func (b *Bus) Reset() error {
	b.mu.Lock()
	b.devices = map[string]*Device{}
	b.mu.Unlock()
	return call(map[string]any{"op": "reset"}, nil)
}

var portRE = regexp.MustCompile(`^1-[1-9][0-9]?$`)

// ScannerOptions describe an emulated HID barcode scanner.
type ScannerOptions struct {
	Port         string // root-hub port "1-N"; the first free one when empty
	Vendor       uint16 // default ScannerVendor
	Product      uint16 // default ScannerProduct
	Serial       string // the USB serial number; none when empty
	Manufacturer string // default "Honeywell"
	Name         string // the product string; default "Voyager 1250g"
	// POS presents a HID POS scanner (usage page 0x8C, 64-byte reports)
	// instead of a boot keyboard.
	POS bool
}

// RelayOptions describe an emulated "USBRelay" HID relay board.
type RelayOptions struct {
	Port     string // root-hub port "1-N"; the first free one when empty
	Serial   string // the 5-character board serial in its feature report; default "QWERT"
	Channels int    // 1, 2, 4 or 8; default 2
}

// Device is an emulated device on one port of the bus. Its methods are safe
// for concurrent use.
type Device struct {
	bus     *Bus
	Port    string // "1-N"
	Kind    string // "scanner" or "relay"
	Vendor  uint16
	Product uint16
	Serial  string // USB serial (scanner) or report serial (relay)
	text    string // the umockdev description, with devnum placeholders
	mu      sync.Mutex
	devnum  int
}

// AddScanner plugs in an emulated HID scanner with usbhid bound to it, as
// the kernel would.
func (b *Bus) AddScanner(o ScannerOptions) (*Device, error) {
	if o.Vendor == 0 {
		o.Vendor = ScannerVendor
	}
	if o.Product == 0 {
		o.Product = ScannerProduct
	}
	if o.Manufacturer == "" {
		o.Manufacturer = "Honeywell"
	}
	if o.Name == "" {
		o.Name = "Voyager 1250g"
	}
	desc, err := templateDescriptors(scannerTemplate)
	if err != nil {
		return nil, err
	}
	putID(desc, o.Vendor, o.Product)
	desc[16] = 0 // iSerialNumber
	if o.Serial != "" {
		desc[16] = 3
	}
	report := keyboardReportDescriptor
	if o.POS {
		desc[33], desc[34] = 0, 0 // interface subclass, protocol: not boot
		desc[49] = 64             // endpoint wMaxPacketSize
		report = posReportDescriptor
	}
	d := &Device{bus: b, Kind: "scanner", Vendor: o.Vendor, Product: o.Product, Serial: o.Serial}
	req := map[string]any{
		"kind":              "scanner",
		"strings":           []string{o.Manufacturer, o.Name, o.Serial},
		"report_descriptor": report,
	}
	return d, b.add(d, o.Port, scannerTemplate, desc, req)
}

// AddRelay plugs in an emulated "USBRelay" board with every relay open.
func (b *Bus) AddRelay(o RelayOptions) (*Device, error) {
	if o.Serial == "" {
		o.Serial = "QWERT"
	}
	if len(o.Serial) > 5 {
		return nil, fmt.Errorf("usbemu: relay serial %q: at most 5 characters", o.Serial)
	}
	switch o.Channels {
	case 0:
		o.Channels = 2
	case 1, 2, 4, 8:
	default:
		return nil, fmt.Errorf("usbemu: relay with %d channels: boards have 1, 2, 4 or 8", o.Channels)
	}
	desc, err := templateDescriptors(relayTemplate)
	if err != nil {
		return nil, err
	}
	d := &Device{bus: b, Kind: "relay", Vendor: RelayVendor, Product: RelayProduct, Serial: o.Serial}
	req := map[string]any{
		"kind":              "relay",
		"strings":           []string{"www.dcttech.com", fmt.Sprintf("USBRelay%d", o.Channels)},
		"report_descriptor": relayReportDescriptor,
		"relay_serial":      o.Serial,
		"relay_channels":    o.Channels,
	}
	return d, b.add(d, o.Port, relayTemplate, desc, req)
}

func (b *Bus) add(d *Device, port, template string, desc []byte, req map[string]any) error {
	b.mu.Lock()
	if port == "" {
		for i := 1; ; i++ {
			p := "1-" + strconv.Itoa(i)
			if b.devices[p] == nil {
				port = p
				break
			}
		}
	}
	if !portRE.MatchString(port) {
		b.mu.Unlock()
		return fmt.Errorf("usbemu: port %q: want a root-hub port 1-N", port)
	}
	if b.devices[port] != nil {
		b.mu.Unlock()
		return fmt.Errorf("usbemu: port %s is taken", port)
	}
	b.devnum++
	d.Port, d.devnum = port, b.devnum
	b.devices[port] = d
	b.mu.Unlock()

	d.text = describe(template, port, d.Vendor, d.Product, desc, d.Serial, d.Kind)
	req["op"] = "add"
	req["port"] = port
	req["umockdev"] = d.description(d.devnum)
	if err := call(req, nil); err != nil {
		b.mu.Lock()
		delete(b.devices, port)
		b.mu.Unlock()
		return err
	}
	return nil
}

// Devices returns the devices added since the last reset, by port.
func (b *Bus) Devices() map[string]*Device {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make(map[string]*Device, len(b.devices))
	for k, v := range b.devices {
		out[k] = v
	}
	return out
}

// Unplug pulls the device out: its pending transfers fail as "no device",
// every later request on an open handle fails with ENODEV, and libusb's
// hot-plug monitor sees a remove uevent.
func (d *Device) Unplug() error {
	return call(map[string]any{"op": "unplug", "port": d.Port}, nil)
}

// Plug puts an unplugged device back in the same port. Like a real replug
// it gets a new device address, usbhid binds to it again and a relay board
// comes up with every relay open.
func (d *Device) Plug() error {
	d.bus.mu.Lock()
	d.bus.devnum++
	n := d.bus.devnum
	d.bus.mu.Unlock()
	d.mu.Lock()
	d.devnum = n
	d.mu.Unlock()
	return call(map[string]any{"op": "plug", "port": d.Port, "umockdev": d.description(n)}, nil)
}

// Address returns the device's current bus number and address.
func (d *Device) Address() (bus, addr int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return 1, d.devnum
}

// SendReports queues interrupt-IN reports: the device answers the host's
// pending reads with them in order, the first at once and each later one
// gap after the one before.
func (d *Device) SendReports(reports [][]byte, gap time.Duration) error {
	hexes := make([]string, len(reports))
	for i, r := range reports {
		hexes[i] = hex.EncodeToString(r)
	}
	return call(map[string]any{"op": "send", "port": d.Port, "reports": hexes, "gap_ms": gap.Milliseconds()}, nil)
}

// Type queues what a keyboard-wedge scanner set to layout ("us", "de",
// ... see decode.KeyboardReports) sends for one scan of text: its key
// reports, then Enter, gap apart.
func (d *Device) Type(layout, text string, gap time.Duration) error {
	keys, err := decode.KeyboardReports(layout, text)
	if err != nil {
		return fmt.Errorf("usbemu: %w", err)
	}
	keys = append(keys, [8]byte{2: enterKey}, [8]byte{})
	reports := make([][]byte, len(keys))
	for i := range keys {
		reports[i] = keys[i][:]
	}
	return d.SendReports(reports, gap)
}

// enterKey is the HID usage of the Enter key.
const enterKey = 0x28

// SendPOS queues the HID POS reports of one scan of data with the AIM
// identifier aim ("]E0"), as decode.POSReports builds them, gap apart.
func (d *Device) SendPOS(aim string, data []byte, gap time.Duration) error {
	pos, err := decode.POSReports(aim, data)
	if err != nil {
		return fmt.Errorf("usbemu: %w", err)
	}
	reports := make([][]byte, len(pos))
	for i := range pos {
		reports[i] = pos[i][:]
	}
	return d.SendReports(reports, gap)
}

// Fault is how an emulated relay board misbehaves.
type Fault string

// Faults of a relay board.
const (
	FaultNone   Fault = "none"   // a working board
	FaultIgnore Fault = "ignore" // accepts SET_REPORT but never switches
	FaultWrong  Fault = "wrong"  // reports relay 1 inverted in GET_REPORT
	FaultStall  Fault = "stall"  // stalls SET_REPORT
	FaultSilent Fault = "silent" // never answers class requests (times out)
)

// SetFault makes a relay board misbehave from now on.
func (d *Device) SetFault(f Fault) error {
	return call(map[string]any{"op": "fault", "port": d.Port, "mode": string(f)}, nil)
}

// HoldDriver makes the kernel refuse to detach usbhid (EPERM), as for a
// process without the right to.
func (d *Device) HoldDriver(hold bool) error {
	return call(map[string]any{"op": "hold_driver", "port": d.Port, "hold": hold}, nil)
}

// BindDriver binds usbhid to the device again, as udev or a replug would.
func (d *Device) BindDriver() error {
	return call(map[string]any{"op": "bind", "port": d.Port}, nil)
}

// State is what the emulated device looks like now.
type State struct {
	Plugged       bool   `json:"plugged"`
	Devnode       string `json:"devnode"`
	Driver        string `json:"driver"`  // the bound kernel driver ("usbhid"), "" when detached
	Claimed       bool   `json:"claimed"` // a program claimed the interface
	Open          int    `json:"open"`    // open handles
	PendingURBs   int    `json:"pending_urbs"`
	QueuedReports int    `json:"queued_reports"`
	Reaps         int    `json:"reaps"` // reap ioctls the program made: a spinning event loop shows here
	RelaySerial   string `json:"relay_serial"`
	RelayState    uint8  `json:"relay_state"` // bit n-1 set: relay n closed
	Fault         Fault  `json:"fault"`
}

// State returns the device's state.
func (d *Device) State() (State, error) {
	var s State
	err := call(map[string]any{"op": "state", "port": d.Port}, &s)
	return s, err
}

// WaitState polls the device's state until ok accepts it or ctx ends.
func (d *Device) WaitState(ctx context.Context, ok func(State) bool) (State, error) {
	for {
		s, err := d.State()
		if err != nil {
			return s, err
		}
		if ok(s) {
			return s, nil
		}
		select {
		case <-ctx.Done():
			return s, fmt.Errorf("usbemu: %s: waiting for state (last %+v): %w", d.Port, s, ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// Request is one entry of the harness's log of what the program asked of a
// device, and of what happened to it.
type Request struct {
	Seq  int    `json:"seq"`
	MS   int    `json:"ms"` // milliseconds since the harness started
	US   int64  `json:"us"` // the same in microseconds, for latencies
	Port string `json:"port"`
	// Op is one of plug, unplug, open, close, getdriver, detach, attach,
	// claim, release, setconfig, reset, control, in, out, discard,
	// unsupported.
	Op        string `json:"op"`
	Interface int    `json:"interface"`
	Implicit  bool   `json:"implicit,omitempty"` // a claim usbfs made for an interface request
	Driver    string `json:"driver,omitempty"`
	Result    string `json:"result,omitempty"` // ok, busy, stall, refused, no answer, ...
	// Control requests.
	RequestType uint8  `json:"request_type"`
	Request     uint8  `json:"request"`
	Value       uint16 `json:"value"`
	Index       uint16 `json:"index"`
	Length      uint16 `json:"length"`
	Data        string `json:"data,omitempty"`   // hex: OUT data, or the IN report delivered
	Answer      string `json:"answer,omitempty"` // hex: what an IN control request returned
}

// IsSetReport reports whether r is a HID SET_REPORT for a feature report.
func (r Request) IsSetReport() bool {
	return r.Op == "control" && r.RequestType == 0x21 && r.Request == 0x09 && r.Value == 0x0300
}

// IsGetReport reports whether r is a HID GET_REPORT for a feature report.
func (r Request) IsGetReport() bool {
	return r.Op == "control" && r.RequestType == 0xA1 && r.Request == 0x01 && r.Value == 0x0300
}

// Requests returns the log of every device since the last reset.
func (b *Bus) Requests() ([]Request, error) {
	var out struct {
		Entries []Request `json:"entries"`
	}
	err := call(map[string]any{"op": "log"}, &out)
	return out.Entries, err
}

// Requests returns this device's part of the log.
func (d *Device) Requests() ([]Request, error) {
	all, err := d.bus.Requests()
	if err != nil {
		return nil, err
	}
	var mine []Request
	for _, r := range all {
		if r.Port == d.Port {
			mine = append(mine, r)
		}
	}
	return mine, nil
}

// description returns the device's umockdev text at address devnum.
func (d *Device) description(devnum int) string {
	r := strings.NewReplacer("{DEVNUM}", fmt.Sprintf("%03d", devnum), "{devnum}", strconv.Itoa(devnum))
	return r.Replace(d.text)
}

// templateDescriptors returns the descriptors of a recorded device.
func templateDescriptors(template string) ([]byte, error) {
	sc := bufio.NewScanner(strings.NewReader(template))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "H: descriptors="); ok {
			return hex.DecodeString(strings.TrimSpace(v))
		}
	}
	return nil, errors.New("usbemu: device template without descriptors")
}

func putID(desc []byte, vendor, product uint16) {
	desc[8], desc[9] = byte(vendor), byte(vendor>>8)
	desc[10], desc[11] = byte(product), byte(product>>8)
}

// describe rewrites a recorded umockdev description for another port and
// identity; the device number is left as {DEVNUM}/{devnum} placeholders.
func describe(template, port string, vendor, product uint16, desc []byte, serial, kind string) string {
	var b strings.Builder
	sc := bufio.NewScanner(strings.NewReader(template))
	for sc.Scan() {
		line := sc.Text()
		key, _, _ := strings.Cut(line, "=")
		switch {
		case strings.HasPrefix(line, "P: "):
			line = "P: /devices/pci0000:00/0000:00:14.0/usb1/" + port
		case strings.HasPrefix(line, "N: "):
			line = "N: bus/usb/001/{DEVNUM}"
		case key == "E: DEVNAME":
			line = "E: DEVNAME=/dev/bus/usb/001/{DEVNUM}"
		case key == "E: DEVNUM":
			line = "E: DEVNUM={DEVNUM}"
		case key == "E: PRODUCT":
			line = fmt.Sprintf("E: PRODUCT=%x/%x/100", vendor, product)
		case key == "A: devnum":
			line = `A: devnum={devnum}\n`
		case key == "A: idVendor":
			line = fmt.Sprintf(`A: idVendor=%04x\n`, vendor)
		case key == "A: idProduct":
			line = fmt.Sprintf(`A: idProduct=%04x\n`, product)
		case key == "H: descriptors":
			line = "H: descriptors=" + strings.ToUpper(hex.EncodeToString(desc))
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	if serial != "" && kind == "scanner" {
		fmt.Fprintf(&b, "A: serial=%s\\n\n", serial)
	}
	return b.String()
}
