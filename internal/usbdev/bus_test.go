package usbdev_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/internal/testkit"
	"github.com/admitgate/admit/internal/usbdev"
	"github.com/admitgate/admit/internal/usbemu"
)

func TestMain(m *testing.M) { usbemu.Main(m) }

// testLogger logs nothing unless ADMIT_TEST_LOG is set.
func testLogger() zerolog.Logger { return testkit.Logger(nil) }

func newBus(t *testing.T) *usbdev.Bus {
	b := usbdev.NewBus(0, testLogger())
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("close bus: %v", err)
		}
	})
	return b
}

var scannerID = usbdev.ID{Vendor: usbemu.ScannerVendor, Product: usbemu.ScannerProduct}

func TestOpen(t *testing.T) {
	emu := usbemu.Start(t)
	for _, o := range []usbemu.ScannerOptions{
		{Port: "1-1", Serial: "AAA"},
		{Port: "1-2", Serial: "BBB"},
		{Port: "1-3", Vendor: 0x05e0, Product: 0x1200, Serial: "ZZZ"},
	} {
		if _, err := emu.AddScanner(o); err != nil {
			t.Fatal(err)
		}
	}
	b := newBus(t)
	tests := []struct {
		name string
		m    usbdev.Match
		port string // the device expected, or "" for an error
		code string
	}{
		{"by serial", usbdev.Match{ID: scannerID, Serial: "BBB"}, "1-2", ""},
		{"serial alone", usbdev.Match{Serial: "AAA"}, "1-1", ""},
		{"by port", usbdev.Match{Port: "1-1"}, "1-1", ""},
		{"id and port", usbdev.Match{ID: scannerID, Port: "1-2"}, "1-2", ""},
		{"the only one", usbdev.Match{ID: usbdev.ID{Vendor: 0x05e0, Product: 0x1200}}, "1-3", ""},
		{"two alike", usbdev.Match{ID: scannerID}, "", gate.ECONFLICT},
		{"no such serial", usbdev.Match{ID: scannerID, Serial: "CCC"}, "", gate.ENOTFOUND},
		{"empty port", usbdev.Match{Port: "1-9"}, "", gate.ENOTFOUND},
		{"nothing named", usbdev.Match{}, "", gate.EINVALID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := b.Open(context.Background(), tt.m)
			if tt.port == "" {
				if err == nil {
					d.Close()
					t.Fatalf("Open(%s) opened %s", tt.m, d.Info)
				}
				if gate.ErrorCode(err) != tt.code {
					t.Fatalf("Open(%s) = %v (code %s), want code %s", tt.m, err, gate.ErrorCode(err), tt.code)
				}
				return
			}
			if err != nil {
				t.Fatalf("Open(%s): %v", tt.m, err)
			}
			defer d.Close()
			if d.Info.Port != tt.port {
				t.Errorf("Open(%s) opened %s, want port %s", tt.m, d.Info, tt.port)
			}
			if d.ControlTimeout != usbdev.DefaultControlTimeout {
				t.Errorf("control timeout %v, want %v", d.ControlTimeout, usbdev.DefaultControlTimeout)
			}
			if d.Info.Manufacturer != "Honeywell" || d.Info.Product != "Voyager 1250g" {
				t.Errorf("strings %q %q", d.Info.Manufacturer, d.Info.Product)
			}
		})
	}
	_, err := b.Open(context.Background(), usbdev.Match{ID: scannerID})
	if err == nil || !strings.Contains(err.Error(), "1-1, 1-2") {
		t.Errorf("ambiguous error %v does not name the ports", err)
	}
}

func TestClaimDetachesAndReleases(t *testing.T) {
	emu := usbemu.Start(t)
	sc, err := emu.AddScanner(usbemu.ScannerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b := newBus(t)
	d, err := b.Open(context.Background(), usbdev.Match{ID: scannerID})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	_, release, err := usbdev.Claim(d, 0)
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := sc.State(); st.Driver != "" || !st.Claimed {
		t.Errorf("claimed: %+v", st)
	}
	release()
	if st, _ := sc.State(); st.Driver != "usbhid" || st.Claimed {
		t.Errorf("released: %+v", st)
	}
	// A kernel that refuses to detach is an error that says where.
	sc.HoldDriver(true)
	if _, _, err := usbdev.Claim(d, 0); err == nil || !strings.Contains(err.Error(), "detach the kernel driver") {
		t.Errorf("Claim with a held driver: %v", err)
	}
}

func TestFeatureReports(t *testing.T) {
	emu := usbemu.Start(t)
	relay, err := emu.AddRelay(usbemu.RelayOptions{Serial: "B0ARD"})
	if err != nil {
		t.Fatal(err)
	}
	b := newBus(t)
	d, err := b.Open(context.Background(), usbdev.Match{ID: usbdev.ID{Vendor: usbemu.RelayVendor, Product: usbemu.RelayProduct}})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	_, release, err := usbdev.Claim(d, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	if err := usbdev.SetFeatureReport(d, 0, 0, []byte{0xff, 2, 0, 0, 0, 0, 0, 0}); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 8)
	n, err := usbdev.GetFeatureReport(d, 0, 0, buf)
	if err != nil || n != 8 || string(buf[:5]) != "B0ARD" || buf[7] != 0b10 {
		t.Fatalf("GetFeatureReport = %d % x, %v", n, buf, err)
	}
	relay.SetFault(usbemu.FaultSilent)
	d.ControlTimeout = 100 * time.Millisecond
	err = usbdev.SetFeatureReport(d, 0, 0, []byte{0xff, 1, 0, 0, 0, 0, 0, 0})
	if err == nil || !strings.Contains(err.Error(), "SET_REPORT") {
		t.Fatalf("silent board: %v", err)
	}
}

func TestNoUSBIsAnError(t *testing.T) {
	// The bus has no devices; Open says so instead of failing oddly.
	usbemu.Start(t)
	b := newBus(t)
	_, err := b.Open(context.Background(), usbdev.Match{ID: scannerID})
	if gate.ErrorCode(err) != gate.ENOTFOUND {
		t.Fatalf("Open on an empty bus: %v", err)
	}
	if errors.Is(err, usbdev.ErrNoUSB) {
		t.Fatal("an empty bus is not a missing USB stack")
	}
}
