package usbdev_test

import (
	"reflect"
	"testing"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/internal/usbdev"
)

func TestParseID(t *testing.T) {
	tests := []struct {
		in   string
		want usbdev.ID
		ok   bool
	}{
		{"0c2e:0b61", usbdev.ID{Vendor: 0x0c2e, Product: 0x0b61}, true},
		{"16C0:05DF", usbdev.ID{Vendor: 0x16c0, Product: 0x05df}, true},
		{" 1a86:7523 ", usbdev.ID{Vendor: 0x1a86, Product: 0x7523}, true},
		{"c2e:b61", usbdev.ID{Vendor: 0x0c2e, Product: 0x0b61}, true},
		{"0c2e", usbdev.ID{}, false},
		{"0c2e:", usbdev.ID{}, false},
		{":0b61", usbdev.ID{}, false},
		{"10000:0001", usbdev.ID{}, false},
		{"0c2e:0b61:1", usbdev.ID{}, false},
		{"xyzw:0001", usbdev.ID{}, false},
		{"+c2e:0b61", usbdev.ID{}, false},
	}
	for _, tt := range tests {
		got, err := usbdev.ParseID(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseID(%q) = %v, %v; want %v ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
		if err != nil && gate.ErrorCode(err) != gate.EINVALID {
			t.Errorf("ParseID(%q) error code %q, want invalid", tt.in, gate.ErrorCode(err))
		}
	}
}

func TestIDText(t *testing.T) {
	var id usbdev.ID
	if err := id.UnmarshalText([]byte("16c0:05df")); err != nil || id != (usbdev.ID{Vendor: 0x16c0, Product: 0x05df}) {
		t.Fatalf("UnmarshalText = %v, %v", id, err)
	}
	b, _ := id.MarshalText()
	if string(b) != "16c0:05df" {
		t.Errorf("MarshalText = %q", b)
	}
	if err := id.UnmarshalText(nil); err != nil || !id.IsZero() {
		t.Errorf("UnmarshalText(empty) = %v, %v", id, err)
	}
	if err := id.UnmarshalText([]byte("nope")); err == nil {
		t.Error("UnmarshalText(nope) succeeded")
	}
}

func TestParsePort(t *testing.T) {
	tests := []struct {
		in    string
		bus   int
		ports []int
		ok    bool
	}{
		{"1-2", 1, []int{2}, true},
		{"1-1.4", 1, []int{1, 4}, true},
		{"3-10.2.1", 3, []int{10, 2, 1}, true},
		{"1", 0, nil, false},
		{"1-", 0, nil, false},
		{"-2", 0, nil, false},
		{"0-1", 0, nil, false},
		{"1-0", 0, nil, false},
		{"1-1..2", 0, nil, false},
		{"1-a", 0, nil, false},
		{"1-+2", 0, nil, false},
		{"1-01", 0, nil, false},
		{"1-1.2.3.4.5.6.7.8", 0, nil, false},
	}
	for _, tt := range tests {
		bus, ports, err := usbdev.ParsePort(tt.in)
		if (err == nil) != tt.ok || bus != tt.bus || !reflect.DeepEqual(ports, tt.ports) {
			t.Errorf("ParsePort(%q) = %d, %v, %v; want %d, %v ok=%v", tt.in, bus, ports, err, tt.bus, tt.ports, tt.ok)
		}
		if err == nil {
			if back := usbdev.PortPath(bus, ports); back != tt.in {
				t.Errorf("PortPath(ParsePort(%q)) = %q", tt.in, back)
			}
		}
	}
}

func TestMatchValidateAndString(t *testing.T) {
	scanner := usbdev.ID{Vendor: 0x0c2e, Product: 0x0b61}
	tests := []struct {
		m    usbdev.Match
		ok   bool
		text string
	}{
		{usbdev.Match{}, false, "any USB device"},
		{usbdev.Match{ID: scanner}, true, "0c2e:0b61"},
		{usbdev.Match{Serial: "S1"}, true, "serial=S1"},
		{usbdev.Match{Port: "1-2"}, true, "port=1-2"},
		{usbdev.Match{ID: scanner, Serial: "S1", Port: "1-1.4"}, true, "0c2e:0b61 serial=S1 port=1-1.4"},
		{usbdev.Match{Port: "usb1"}, false, "port=usb1"},
	}
	for _, tt := range tests {
		err := tt.m.Validate()
		if (err == nil) != tt.ok {
			t.Errorf("%+v.Validate() = %v, want ok=%v", tt.m, err, tt.ok)
		}
		if err != nil && gate.ErrorCode(err) != gate.EINVALID {
			t.Errorf("%+v.Validate() code %q", tt.m, gate.ErrorCode(err))
		}
		if s := tt.m.String(); s != tt.text {
			t.Errorf("%+v.String() = %q, want %q", tt.m, s, tt.text)
		}
	}
}

func FuzzParsePort(f *testing.F) {
	for _, s := range []string{"1-2", "1-1.4", "2-3.1.1", "", "1-", "9-255.255"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		bus, ports, err := usbdev.ParsePort(s)
		if err != nil {
			return
		}
		back := usbdev.PortPath(bus, ports)
		bus2, ports2, err := usbdev.ParsePort(back)
		if err != nil || bus2 != bus || !reflect.DeepEqual(ports, ports2) {
			t.Fatalf("%q parsed to %d %v, formatted %q, reparsed %d %v %v", s, bus, ports, back, bus2, ports2, err)
		}
	})
}

func FuzzParseID(f *testing.F) {
	for _, s := range []string{"0c2e:0b61", "16c0:05df", "0:0", "ffff:ffff", "x", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := usbdev.ParseID(s)
		if err != nil {
			return
		}
		again, err := usbdev.ParseID(id.String())
		if err != nil || again != id {
			t.Fatalf("%q parsed to %v, which reparses to %v, %v", s, id, again, err)
		}
	})
}
