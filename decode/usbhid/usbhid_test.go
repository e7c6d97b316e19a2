package usbhid_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/admitgate/admit/decode"
	"github.com/admitgate/admit/decode/usbhid"
	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/internal/testkit"
	"github.com/admitgate/admit/internal/usbdev"
	"github.com/admitgate/admit/internal/usbemu"
)

func TestMain(m *testing.M) { usbemu.Main(m) }

// testLogger logs nothing unless ADMIT_TEST_LOG is set.
func testLogger() zerolog.Logger { return testkit.Logger(nil) }

var scannerID = usbdev.ID{Vendor: usbemu.ScannerVendor, Product: usbemu.ScannerProduct}

// harness is one test's bus, context and running sources.
type harness struct {
	t    *testing.T
	emu  *usbemu.Bus
	bus  *usbdev.Bus
	ctx  context.Context
	done []chan error
}

func start(t *testing.T) *harness {
	emu := usbemu.Start(t)
	bus := usbdev.NewBus(0, testLogger())
	ctx, cancel := context.WithCancel(context.Background())
	h := &harness{t: t, emu: emu, bus: bus, ctx: ctx}
	t.Cleanup(func() {
		cancel()
		for _, d := range h.done {
			if err := <-d; err != context.Canceled {
				t.Errorf("Run returned %v, want context.Canceled", err)
			}
		}
		if err := bus.Close(); err != nil {
			t.Errorf("close bus: %v", err)
		}
	})
	return h
}

// run starts a source for cfg with a decoder of its protocol.
func (h *harness) run(cfg usbhid.Config, source string) (*usbhid.Source, chan gate.Read) {
	h.t.Helper()
	cfg.Backoff.Max = 100 * time.Millisecond
	cfg.Backoff.Min = 10 * time.Millisecond
	var dec usbhid.ReportDecoder
	var err error
	dcfg := decode.Config{Source: source, DedupWindow: -1}
	if cfg.Protocol == usbhid.ProtocolPOS {
		dec, err = decode.NewPOS(dcfg, testLogger())
	} else {
		dec, err = decode.NewKeyboard(dcfg, testLogger())
	}
	if err != nil {
		h.t.Fatal(err)
	}
	src, err := usbhid.New(h.bus, cfg, dec, testLogger())
	if err != nil {
		h.t.Fatal(err)
	}
	out := make(chan gate.Read, 16)
	done := make(chan error, 1)
	h.done = append(h.done, done)
	go func() { done <- src.Run(h.ctx, out) }()
	return src, out
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	testkit.WaitFor(t, 10*time.Second, what, ok)
}

func next(t *testing.T, reads <-chan gate.Read) gate.Read {
	t.Helper()
	return testkit.Recv(t, reads, 10*time.Second, "read")
}

func TestScanEndToEnd(t *testing.T) {
	h := start(t)
	sc, err := h.emu.AddScanner(usbemu.ScannerOptions{Serial: "S1"})
	if err != nil {
		t.Fatal(err)
	}
	src, reads := h.run(usbhid.Config{Match: usbdev.Match{ID: scannerID}}, "usb:lane1")
	waitFor(t, "the scanner to connect", src.Connected)
	if st := src.Status(); !strings.Contains(st.Device, "serial S1") || !strings.Contains(st.Device, "port 1-1") {
		t.Errorf("status device %q", st.Device)
	}
	for _, barcode := range []string{"4006381333931", "TICKET-ab12/€", "0123"} {
		if err := sc.Type("us", barcode, 0); err != nil {
			t.Fatal(err)
		}
		r := next(t, reads)
		if r.Text != barcode || r.Malformed != "" || r.Source != "usb:lane1" {
			t.Errorf("scanned %q, read %+v", barcode, r)
		}
	}
	reqs, _ := sc.Requests()
	var got []string
	for _, r := range reqs {
		switch {
		case r.Op == "detach" || r.Op == "claim":
			got = append(got, r.Op+":"+r.Result)
		case r.Op == "control" && r.RequestType == 0x21:
			got = append(got, map[uint8]string{0x0a: "set_idle", 0x0b: "set_protocol"}[r.Request])
		}
	}
	if want := "detach:ok claim:ok set_protocol set_idle"; strings.Join(got, " ") != want {
		t.Errorf("requests %v, want %s", got, want)
	}
}

func TestScanWithAGermanScanner(t *testing.T) {
	h := start(t)
	sc, _ := h.emu.AddScanner(usbemu.ScannerOptions{})
	dec, err := decode.NewKeyboard(decode.Config{Layout: "de", DedupWindow: -1}, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	src, err := usbhid.New(h.bus, usbhid.Config{Match: usbdev.Match{Port: "1-1"}}, dec, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	reads := make(chan gate.Read, 4)
	done := make(chan error, 1)
	h.done = append(h.done, done)
	go func() { done <- src.Run(h.ctx, reads) }()
	waitFor(t, "connect", src.Connected)
	sc.Type("de", "Zy-ÄÖ", 0)
	if r := next(t, reads); r.Text != "Zy-ÄÖ" {
		t.Errorf("read %+v", r)
	}
}

func TestHIDPOSScanner(t *testing.T) {
	h := start(t)
	sc, err := h.emu.AddScanner(usbemu.ScannerOptions{Vendor: 0x05e0, Product: 0x1200, POS: true})
	if err != nil {
		t.Fatal(err)
	}
	src, reads := h.run(usbhid.Config{Match: usbdev.Match{ID: usbdev.ID{Vendor: 0x05e0, Product: 0x1200}}, Protocol: usbhid.ProtocolPOS}, "usb:pos")
	waitFor(t, "connect", src.Connected)
	long := strings.Repeat("QR-PAYLOAD-", 12) // more than one 64-byte report
	for _, tc := range []struct{ aim, data, sym string }{
		{"]E0", "4006381333931", "ean13"},
		{"]Q1", long, "qr"},
	} {
		if err := sc.SendPOS(tc.aim, []byte(tc.data), 0); err != nil {
			t.Fatal(err)
		}
		r := next(t, reads)
		if r.Text != tc.data || r.Symbology != tc.sym || r.Malformed != "" {
			t.Errorf("POS scan %s%s: read %+v", tc.aim, tc.data, r)
		}
	}
	// A keyboard config does not take a POS interface.
	if _, err := usbhid.New(h.bus, usbhid.Config{Match: usbdev.Match{Port: "1-1"}, Protocol: "serial"}, nil, testLogger()); gate.ErrorCode(err) != gate.EINVALID {
		t.Errorf("protocol serial: %v", err)
	}
}

func TestWrongProtocolSaysSo(t *testing.T) {
	h := start(t)
	h.emu.AddScanner(usbemu.ScannerOptions{POS: true})
	src, _ := h.run(usbhid.Config{Match: usbdev.Match{ID: scannerID}}, "usb:x")
	waitFor(t, "an error", func() bool { return src.Status().LastError != "" })
	if st := src.Status(); st.Connected || !strings.Contains(st.LastError, "no a boot keyboard HID interface") {
		t.Errorf("status %+v", st)
	}
}

func TestUnplugShowsAtOnceAndReplugResumes(t *testing.T) {
	h := start(t)
	sc, err := h.emu.AddScanner(usbemu.ScannerOptions{Port: "1-2"})
	if err != nil {
		t.Fatal(err)
	}
	src, reads := h.run(usbhid.Config{Match: usbdev.Match{ID: scannerID, Port: "1-2"}}, "usb:lane")
	waitFor(t, "connect", src.Connected)

	// Half a barcode, then the cable comes out.
	keys, _ := decode.KeyboardReports("us", "12345")
	half := [][]byte{keys[0][:], keys[1][:], keys[2][:], keys[3][:]}
	sc.SendReports(half, 0)
	waitFor(t, "the reports to be read", func() bool { st, _ := sc.State(); return st.QueuedReports == 0 })
	if err := sc.Unplug(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the lane to see the scanner gone", func() bool { return !src.Connected() })
	// The drop (a read pending: "disconnected"; none: "no device"), or
	// already the search for the scanner that follows it.
	st := src.Status()
	if !strings.Contains(st.LastError, "disconnected") && !strings.Contains(st.LastError, "no device") && !strings.Contains(st.LastError, "no attached device") {
		t.Errorf("status after unplug %+v", st)
	}
	if r := next(t, reads); r.Text != "12" || r.Malformed == "" {
		t.Errorf("the half read: %+v, want 12 reported malformed", r)
	}

	// Looking for it again costs a few enumerations, not a spin.
	time.Sleep(300 * time.Millisecond)
	if src.Status().Failures > 10 {
		t.Errorf("%d attempts in 300ms with backoff up to 100ms", src.Status().Failures)
	}

	if err := sc.Plug(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the scanner to come back", src.Connected)
	if st := src.Status(); st.Reconnect != 1 {
		t.Errorf("status after replug %+v", st)
	}
	sc.Type("us", "BACK1", 0)
	if r := next(t, reads); r.Text != "BACK1" || r.Malformed != "" {
		t.Errorf("after replug read %+v", r)
	}
}

func TestScannerMissingAtStart(t *testing.T) {
	h := start(t)
	src, reads := h.run(usbhid.Config{Match: usbdev.Match{ID: scannerID, Serial: "LATE"}}, "usb:late")
	waitFor(t, "a failed attempt", func() bool { return src.Status().Failures > 0 })
	if st := src.Status(); st.Connected || !strings.Contains(st.LastError, "no attached device matches") {
		t.Errorf("status %+v", st)
	}
	// Another scanner is not it.
	h.emu.AddScanner(usbemu.ScannerOptions{Serial: "OTHER"})
	time.Sleep(150 * time.Millisecond)
	if src.Connected() {
		t.Fatal("connected to the wrong scanner")
	}
	sc, _ := h.emu.AddScanner(usbemu.ScannerOptions{Serial: "LATE"})
	waitFor(t, "connect", src.Connected)
	sc.Type("us", "L8", 0)
	if r := next(t, reads); r.Text != "L8" {
		t.Errorf("read %+v", r)
	}
}

func TestSeveralScanners(t *testing.T) {
	h := start(t)
	a, _ := h.emu.AddScanner(usbemu.ScannerOptions{Serial: "A"})
	b, _ := h.emu.AddScanner(usbemu.ScannerOptions{Serial: "B"})
	srcA, readsA := h.run(usbhid.Config{Match: usbdev.Match{ID: scannerID, Serial: "A"}}, "usb:A")
	srcB, readsB := h.run(usbhid.Config{Match: usbdev.Match{ID: scannerID, Serial: "B"}}, "usb:B")
	waitFor(t, "both", func() bool { return srcA.Connected() && srcB.Connected() })
	for i := 0; i < 3; i++ {
		a.Type("us", "AAA", 0)
		b.Type("us", "BBB", 0)
		if r := next(t, readsA); r.Text != "AAA" || r.Source != "usb:A" {
			t.Errorf("scanner A read %+v", r)
		}
		if r := next(t, readsB); r.Text != "BBB" || r.Source != "usb:B" {
			t.Errorf("scanner B read %+v", r)
		}
	}
	// Unplugging one leaves the other reading.
	a.Unplug()
	waitFor(t, "A gone", func() bool { return !srcA.Connected() })
	b.Type("us", "STILL", 0)
	if r := next(t, readsB); r.Text != "STILL" || !srcB.Connected() {
		t.Errorf("scanner B after A left: %+v", r)
	}
}

func TestIdleScannerDoesNotSpin(t *testing.T) {
	h := start(t)
	sc, _ := h.emu.AddScanner(usbemu.ScannerOptions{})
	src, _ := h.run(usbhid.Config{Match: usbdev.Match{ID: scannerID}, ReadTimeout: 100 * time.Millisecond}, "usb:idle")
	waitFor(t, "connect", src.Connected)
	before, _ := sc.State()
	time.Sleep(500 * time.Millisecond)
	after, _ := sc.State()
	// About five read timeouts, each one cancel and a couple of reaps.
	if reaps := after.Reaps - before.Reaps; reaps > 60 {
		t.Errorf("%d reaps in 500ms of idle reading", reaps)
	}
	if !src.Connected() {
		t.Error("an idle scanner was dropped")
	}
}

func TestKernelDriverThatWillNotLetGo(t *testing.T) {
	h := start(t)
	sc, _ := h.emu.AddScanner(usbemu.ScannerOptions{})
	sc.HoldDriver(true)
	src, reads := h.run(usbhid.Config{Match: usbdev.Match{ID: scannerID}}, "usb:held")
	waitFor(t, "a failed claim", func() bool { return src.Status().Failures > 0 })
	if st := src.Status(); st.Connected || !strings.Contains(st.LastError, "detach the kernel driver") {
		t.Errorf("status %+v", st)
	}
	sc.HoldDriver(false)
	waitFor(t, "connect once the driver lets go", src.Connected)
	sc.Type("us", "OK", 0)
	if r := next(t, reads); r.Text != "OK" {
		t.Errorf("read %+v", r)
	}
}
