package usbdev

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/admitgate/admit/gate"
)

// ID is a USB vendor and product id, "0c2e:0b61" in text and config.
type ID struct {
	Vendor  uint16
	Product uint16
}

// ParseID parses "vvvv:pppp" (hexadecimal, as lsusb prints them).
func ParseID(s string) (ID, error) {
	v, p, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok {
		return ID{}, gate.Errorf(gate.EINVALID, "USB id %q: want vendor:product in hexadecimal, like 0c2e:0b61", s)
	}
	vendor, err1 := strconv.ParseUint(v, 16, 16)
	product, err2 := strconv.ParseUint(p, 16, 16)
	if err1 != nil || err2 != nil || v == "" || p == "" || len(v) > 4 || len(p) > 4 {
		return ID{}, gate.Errorf(gate.EINVALID, "USB id %q: want vendor:product in hexadecimal, like 0c2e:0b61", s)
	}
	return ID{uint16(vendor), uint16(product)}, nil
}

// IsZero reports whether id is unset.
func (id ID) IsZero() bool { return id == ID{} }

// String returns "vvvv:pppp".
func (id ID) String() string { return fmt.Sprintf("%04x:%04x", id.Vendor, id.Product) }

// MarshalText returns the text form, for TOML and JSON.
func (id ID) MarshalText() ([]byte, error) {
	if id.IsZero() {
		return nil, nil
	}
	return []byte(id.String()), nil
}

// UnmarshalText parses the text form; empty text is the zero ID.
func (id *ID) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*id = ID{}
		return nil
	}
	v, err := ParseID(string(b))
	if err != nil {
		return err
	}
	*id = v
	return nil
}

// Match selects one USB device, as a config names it. Every set field must
// agree; set at least one. A port path pins a device to a socket (stable
// across replugs and identical devices); a serial number follows the device
// to any socket; the id alone is enough when only one such device is
// attached.
type Match struct {
	ID     ID     `toml:"usb" json:"usb,omitempty"`       // "0c2e:0b61"
	Serial string `toml:"serial" json:"serial,omitempty"` // the USB serial number
	Port   string `toml:"port" json:"port,omitempty"`     // the port path, "1-2" or "1-1.4" (bus-port[.port...])
}

// Validate checks that m selects something and that its port path is well
// formed. Errors carry gate.EINVALID.
func (m Match) Validate() error {
	if m.ID.IsZero() && m.Serial == "" && m.Port == "" {
		return gate.Errorf(gate.EINVALID, "a USB device needs usb (vendor:product), serial or port")
	}
	if m.Port != "" {
		if _, _, err := ParsePort(m.Port); err != nil {
			return err
		}
	}
	return nil
}

// String describes m for logs and errors: "0c2e:0b61 serial=X port=1-2".
func (m Match) String() string {
	var parts []string
	if !m.ID.IsZero() {
		parts = append(parts, m.ID.String())
	}
	if m.Serial != "" {
		parts = append(parts, "serial="+m.Serial)
	}
	if m.Port != "" {
		parts = append(parts, "port="+m.Port)
	}
	if len(parts) == 0 {
		return "any USB device"
	}
	return strings.Join(parts, " ")
}

// matchesDesc reports whether a device with this id on this port can match
// (the serial needs the device opened).
func (m Match) matchesDesc(id ID, port string) bool {
	if !m.ID.IsZero() && m.ID != id {
		return false
	}
	return m.Port == "" || m.Port == port
}

// ParsePort parses a Linux port path, "1-2" or "1-1.4": the bus number, a
// dash, and the port numbers from the root hub down, dot-separated.
func ParsePort(s string) (bus int, ports []int, err error) {
	bad := func() (int, []int, error) {
		return 0, nil, gate.Errorf(gate.EINVALID, "port path %q: want bus-port[.port...], like 1-2 or 1-1.4 (see admit devices)", s)
	}
	b, rest, ok := strings.Cut(s, "-")
	if !ok || b == "" || rest == "" {
		return bad()
	}
	bus, err = strconv.Atoi(b)
	if err != nil || bus < 1 || bus > 255 || b[0] < '1' || b[0] > '9' {
		return bad()
	}
	for _, p := range strings.Split(rest, ".") {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 255 || p[0] < '1' || p[0] > '9' {
			return bad()
		}
		ports = append(ports, n)
	}
	if len(ports) > 7 {
		return bad()
	}
	return bus, ports, nil
}

// PortPath formats a bus number and port numbers as a Linux port path.
func PortPath(bus int, ports []int) string {
	var b strings.Builder
	b.WriteString(strconv.Itoa(bus))
	b.WriteByte('-')
	for i, p := range ports {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(strconv.Itoa(p))
	}
	if len(ports) == 0 {
		b.WriteByte('0')
	}
	return b.String()
}
