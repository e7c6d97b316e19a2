package usbdev_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.bug.st/serial/enumerator"

	"github.com/admitgate/admit/internal/usbdev"
	"github.com/admitgate/admit/internal/usbemu"
)

func TestList(t *testing.T) {
	emu := usbemu.Start(t)
	if _, err := emu.AddScanner(usbemu.ScannerOptions{Port: "1-1", Serial: "17011B0C29"}); err != nil {
		t.Fatal(err)
	}
	if _, err := emu.AddScanner(usbemu.ScannerOptions{Port: "1-2", Vendor: 0x05e0, Product: 0x1200, Manufacturer: "Zebra", Name: "DS2208", POS: true}); err != nil {
		t.Fatal(err)
	}
	relay, err := emu.AddRelay(usbemu.RelayOptions{Port: "1-3", Serial: "HURTM", Channels: 4})
	if err != nil {
		t.Fatal(err)
	}
	// A stable link for the CH340 adapter, as udev makes them.
	byID := t.TempDir()
	target := filepath.Join(t.TempDir(), "ttyUSB0")
	os.WriteFile(target, nil, 0o600)
	os.Symlink(target, filepath.Join(byID, "usb-1a86_USB_Serial-if00-port0"))
	ports := []*enumerator.PortDetails{
		{Name: "/dev/ttyS0"},
		{Name: "/dev/ttyACM0", IsUSB: true, VID: "0c2e", PID: "0b6a", SerialNumber: "S-ACM", Manufacturer: "Honeywell", Product: "Xenon"},
		{Name: target, IsUSB: true, VID: "1a86", PID: "7523"},
	}
	b := newBus(t)
	got, err := usbdev.List(context.Background(), b, &usbdev.ListOptions{
		SerialPorts: func() ([]*enumerator.PortDetails, error) { return ports, nil },
		ByIDDir:     byID,
	})
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		kind                                usbdev.Kind
		id, port, serial, path, relaySerial string
		channels                            int
	}
	var rows []row
	for _, c := range got {
		rows = append(rows, row{c.Kind, c.Info.ID.String(), c.Info.Port, c.Info.Serial, c.Path, c.RelaySerial, c.Channels})
	}
	want := []row{
		{usbdev.KindKeyboardScanner, "0c2e:0b61", "1-1", "17011B0C29", "", "", 0},
		{usbdev.KindPOSScanner, "05e0:1200", "1-2", "", "", "", 0},
	}
	relayRow := row{usbdev.KindUSBRelay, "16c0:05df", "1-3", "", "", "HURTM", 4}
	// ttyS0 is not listed; ttyACM0 is, and the CH340 port by its stable
	// link; serial ports come before relay boards.
	if len(rows) != len(want)+3 {
		t.Fatalf("listed %+v", rows)
	}
	for i, w := range want {
		if rows[i] != w {
			t.Errorf("row %d = %+v, want %+v", i, rows[i], w)
		}
	}
	if rows[4] != relayRow {
		t.Errorf("relay row %+v, want %+v", rows[4], relayRow)
	}
	if rows[2].path != "/dev/ttyACM0" || rows[2].id != "0c2e:0b6a" || rows[2].serial != "S-ACM" {
		t.Errorf("ACM row %+v", rows[2])
	}
	if rows[3].kind != usbdev.KindSerial || !strings.HasSuffix(rows[3].path, "usb-1a86_USB_Serial-if00-port0") {
		t.Errorf("CH340 row %+v, want its by-id link", rows[3])
	}
	snippets := []string{
		`driver = "usbhid"`, `protocol = "keyboard"`, `usb = "0c2e:0b61"`, `serial = "17011B0C29"`, `port = "1-1"`,
	}
	for _, s := range snippets {
		if !strings.Contains(got[0].Config, s) {
			t.Errorf("keyboard snippet lacks %s:\n%s", s, got[0].Config)
		}
	}
	if !strings.Contains(got[1].Config, `protocol = "pos"`) {
		t.Errorf("POS snippet:\n%s", got[1].Config)
	}
	if !strings.Contains(got[4].Config, `board = "HURTM"`) || !strings.Contains(got[4].Config, `driver = "usbrelay"`) {
		t.Errorf("relay snippet:\n%s", got[4].Config)
	}
	if !strings.Contains(got[3].Config, `driver = "lcus"`) {
		t.Errorf("CH340 snippet:\n%s", got[3].Config)
	}
	// Reading the board serial gave the board back to usbhid.
	if st, _ := relay.State(); st.Driver != "usbhid" || st.Claimed {
		t.Errorf("relay after listing: %+v", st)
	}
}

func TestListReportsWhatItCould(t *testing.T) {
	emu := usbemu.Start(t)
	if _, err := emu.AddScanner(usbemu.ScannerOptions{}); err != nil {
		t.Fatal(err)
	}
	relay, _ := emu.AddRelay(usbemu.RelayOptions{})
	b := newBus(t)
	// The board is busy (as when admit drives it): the listing says so and
	// goes on.
	busy, err := b.Open(context.Background(), usbdev.Match{ID: usbdev.ID{Vendor: usbemu.RelayVendor, Product: usbemu.RelayProduct}})
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	_, release, err := usbdev.Claim(busy, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	enumErr := errors.New("sysfs unreadable")
	got, err := usbdev.List(context.Background(), b, &usbdev.ListOptions{
		SerialPorts: func() ([]*enumerator.PortDetails, error) { return nil, enumErr },
	})
	if !errors.Is(err, enumErr) {
		t.Errorf("List error %v, want the serial enumeration's", err)
	}
	if len(got) != 2 {
		t.Fatalf("listed %+v", got)
	}
	if got[1].Kind != usbdev.KindUSBRelay || got[1].RelaySerial != "" || !strings.Contains(got[1].Note, "is admit driving it") {
		t.Errorf("busy relay listed as %+v", got[1])
	}
	if !strings.Contains(got[1].Config, `port = "`) {
		t.Errorf("busy relay snippet falls back to its port:\n%s", got[1].Config)
	}
	_ = relay
}
