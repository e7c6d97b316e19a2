package usbemu_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/gousb"

	"github.com/admitgate/admit/decode"
	"github.com/admitgate/admit/internal/usbemu"
)

func TestMain(m *testing.M) { usbemu.Main(m) }

// open opens the one device with vid:pid, with a control timeout set.
func open(t *testing.T, ctx *gousb.Context, vid, pid uint16) *gousb.Device {
	t.Helper()
	d, err := ctx.OpenDeviceWithVIDPID(gousb.ID(vid), gousb.ID(pid))
	if err != nil || d == nil {
		t.Fatalf("open %04x:%04x: %v, %v", vid, pid, d, err)
	}
	d.ControlTimeout = time.Second
	t.Cleanup(func() { d.Close() })
	return d
}

func newContext(t *testing.T) *gousb.Context {
	ctx := gousb.NewContext()
	t.Cleanup(func() {
		if err := ctx.Close(); err != nil {
			t.Errorf("close context: %v", err)
		}
	})
	return ctx
}

func ops(t *testing.T, d *usbemu.Device) []string {
	t.Helper()
	reqs, err := d.Requests()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range reqs {
		s := r.Op
		if r.Result != "" {
			s += ":" + r.Result
		}
		out = append(out, s)
	}
	return out
}

func TestEnumerate(t *testing.T) {
	bus := usbemu.Start(t)
	if _, err := bus.AddScanner(usbemu.ScannerOptions{Port: "1-3", Serial: "17011B0C29"}); err != nil {
		t.Fatal(err)
	}
	if _, err := bus.AddRelay(usbemu.RelayOptions{Port: "1-4", Serial: "AB12C", Channels: 8}); err != nil {
		t.Fatal(err)
	}
	ctx := newContext(t)
	type seen struct {
		id, port, serial, product string
		class                     gousb.Class
		protocol                  gousb.Protocol
	}
	var got []seen
	devs, err := ctx.OpenDevices(func(desc *gousb.DeviceDesc) bool { return true })
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range devs {
		d.ControlTimeout = time.Second
		serial, _ := d.SerialNumber()
		product, err := d.Product()
		if err != nil {
			t.Errorf("%s: product: %v", d, err)
		}
		intf := d.Desc.Configs[1].Interfaces[0].AltSettings[0]
		got = append(got, seen{
			id:       d.Desc.Vendor.String() + ":" + d.Desc.Product.String(),
			port:     portPath(d.Desc),
			serial:   serial,
			product:  product,
			class:    intf.Class,
			protocol: intf.Protocol,
		})
		d.Close()
	}
	want := map[string]seen{
		"0c2e:0b61": {"0c2e:0b61", "1-3", "17011B0C29", "Voyager 1250g", gousb.ClassHID, 1},
		"16c0:05df": {"16c0:05df", "1-4", "", "USBRelay8", gousb.ClassHID, 0},
	}
	if len(got) != len(want) {
		t.Fatalf("found %d devices %+v, want %d", len(got), got, len(want))
	}
	for _, g := range got {
		if w := want[g.id]; g != w {
			t.Errorf("device %s = %+v, want %+v", g.id, g, w)
		}
	}
}

func portPath(d *gousb.DeviceDesc) string {
	var b strings.Builder
	b.WriteString("1-")
	for i, p := range d.Path {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteByte(byte('0' + p))
	}
	return b.String()
}

func TestAutoDetachClaimsAndReattaches(t *testing.T) {
	bus := usbemu.Start(t)
	sc, err := bus.AddScanner(usbemu.ScannerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d := open(t, newContext(t), usbemu.ScannerVendor, usbemu.ScannerProduct)
	if err := d.SetAutoDetach(true); err != nil {
		t.Fatal(err)
	}
	intf, done, err := d.DefaultInterface()
	if err != nil {
		t.Fatalf("claim with auto-detach: %v", err)
	}
	st, err := sc.State()
	if err != nil {
		t.Fatal(err)
	}
	if st.Driver != "" || !st.Claimed {
		t.Errorf("after claim: driver %q claimed %v, want usbhid detached and the interface claimed", st.Driver, st.Claimed)
	}
	if intf.Setting.Number != 0 {
		t.Errorf("claimed interface %d", intf.Setting.Number)
	}
	done()
	st, _ = sc.State()
	if st.Driver != "usbhid" || st.Claimed {
		t.Errorf("after release: driver %q claimed %v, want usbhid bound again", st.Driver, st.Claimed)
	}
	want := []string{"plug", "open", "getdriver", "detach:ok", "claim:ok", "release", "attach"}
	if got := ops(t, sc); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("requests %v, want %v", got, want)
	}
}

func TestClaimRefusedWhileKernelDriverBound(t *testing.T) {
	bus := usbemu.Start(t)
	sc, err := bus.AddScanner(usbemu.ScannerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := newContext(t)
	d := open(t, ctx, usbemu.ScannerVendor, usbemu.ScannerProduct)
	// Without auto-detach the claim meets usbhid.
	cfg, err := d.Config(1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cfg.Interface(0, 0); !errors.Is(err, gousb.ErrorBusy) && !strings.Contains(fmtErr(err), "busy") {
		t.Fatalf("claim with usbhid bound: %v, want busy", err)
	}
	cfg.Close()
	// With auto-detach but a kernel that refuses to let go.
	if err := sc.HoldDriver(true); err != nil {
		t.Fatal(err)
	}
	d.SetAutoDetach(true)
	if _, err := d.Config(1); err == nil {
		t.Fatal("claim with a driver that refuses to detach succeeded")
	}
	st, _ := sc.State()
	if st.Driver != "usbhid" || st.Claimed {
		t.Errorf("state %+v, want usbhid bound and nothing claimed", st)
	}
	got := strings.Join(ops(t, sc), " ")
	for _, w := range []string{"claim:busy", "detach:refused"} {
		if !strings.Contains(got, w) {
			t.Errorf("requests %s, want %s among them", got, w)
		}
	}
}

func fmtErr(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func claimScanner(t *testing.T, ctx *gousb.Context) *gousb.InEndpoint {
	t.Helper()
	d := open(t, ctx, usbemu.ScannerVendor, usbemu.ScannerProduct)
	d.SetAutoDetach(true)
	intf, done, err := d.DefaultInterface()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(done)
	ep, err := intf.InEndpoint(1)
	if err != nil {
		t.Fatal(err)
	}
	return ep
}

func TestInterruptReportsInOrder(t *testing.T) {
	bus := usbemu.Start(t)
	sc, err := bus.AddScanner(usbemu.ScannerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ep := claimScanner(t, newContext(t))
	keys, err := decode.KeyboardReports("us", "A1")
	if err != nil {
		t.Fatal(err)
	}
	want := [][]byte{keys[0][:], keys[1][:], keys[2][:], keys[3][:], {0, 0, 0x28, 0, 0, 0, 0, 0}, make([]byte, 8)}
	if err := sc.Type("us", "A1", 20*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, ep.Desc.MaxPacketSize)
	for i, w := range want {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		n, err := ep.ReadContext(ctx, buf)
		cancel()
		if err != nil || !bytes.Equal(buf[:n], w) {
			t.Fatalf("report %d: % x, %v; want % x", i, buf[:n], err, w)
		}
	}
}

func TestNoDataTimesOutInsteadOfHanging(t *testing.T) {
	bus := usbemu.Start(t)
	sc, err := bus.AddScanner(usbemu.ScannerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ep := claimScanner(t, newContext(t))
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	n, err := ep.ReadContext(ctx, make([]byte, 8))
	if n != 0 || !errors.Is(err, gousb.TransferCancelled) {
		t.Fatalf("idle read: %d, %v; want 0 and a cancelled transfer", n, err)
	}
	if ctx.Err() == nil {
		t.Fatal("idle read returned before its deadline")
	}
	st, err := sc.State()
	if err != nil {
		t.Fatal(err)
	}
	// libusb waits on the device node with poll(); an always-ready node
	// would make it reap in a loop thousands of times a second.
	if st.Reaps > 20 {
		t.Errorf("%d reap calls during one idle read: the event loop spins", st.Reaps)
	}
	if st.PendingURBs != 0 {
		t.Errorf("%d URBs still pending after the cancelled read", st.PendingURBs)
	}
}

// claimRelay opens the relay board and claims its interface, as class
// requests to an interface need.
func claimRelay(t *testing.T) *gousb.Device {
	t.Helper()
	d := open(t, newContext(t), usbemu.RelayVendor, usbemu.RelayProduct)
	d.SetAutoDetach(true)
	_, done, err := d.DefaultInterface()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(done)
	return d
}

func TestInterfaceRequestNeedsTheInterface(t *testing.T) {
	bus := usbemu.Start(t)
	relay, err := bus.AddRelay(usbemu.RelayOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d := open(t, newContext(t), usbemu.RelayVendor, usbemu.RelayProduct)
	report := make([]byte, 8)
	// usbfs refuses the URB with EBUSY; libusb reports that as an I/O error.
	if _, err := d.Control(0xa1, 0x01, 0x0300, 0, report); err == nil {
		t.Fatal("GET_REPORT with usbhid bound succeeded")
	}
	if err := d.SetAutoDetach(true); err != nil {
		t.Fatal(err)
	}
	_, done, err := d.DefaultInterface()
	if err != nil {
		t.Fatal(err)
	}
	defer done()
	if _, err := d.Control(0xa1, 0x01, 0x0300, 0, report); err != nil {
		t.Fatalf("GET_REPORT after claiming: %v", err)
	}
	got := strings.Join(ops(t, relay), " ")
	if !strings.Contains(got, "claim:busy") || !strings.Contains(got, "claim:ok") {
		t.Errorf("requests %s, want a refused implicit claim, then a claim", got)
	}
}

func TestRelaySwitchAndReadBack(t *testing.T) {
	bus := usbemu.Start(t)
	relay, err := bus.AddRelay(usbemu.RelayOptions{Serial: "HURTM", Channels: 2})
	if err != nil {
		t.Fatal(err)
	}
	d := claimRelay(t)
	steps := []struct {
		cmd  []byte
		want uint8
	}{
		{[]byte{0xff, 1, 0, 0, 0, 0, 0, 0}, 0b01},
		{[]byte{0xff, 2, 0, 0, 0, 0, 0, 0}, 0b11},
		{[]byte{0xfd, 1, 0, 0, 0, 0, 0, 0}, 0b10},
		{[]byte{0xff, 3, 0, 0, 0, 0, 0, 0}, 0b10}, // no channel 3: ignored
		{[]byte{0xfc, 0, 0, 0, 0, 0, 0, 0}, 0b00},
	}
	for _, s := range steps {
		if _, err := d.Control(0x21, 0x09, 0x0300, 0, s.cmd); err != nil {
			t.Fatalf("SET_REPORT % x: %v", s.cmd, err)
		}
		report := make([]byte, 8)
		if _, err := d.Control(0xa1, 0x01, 0x0300, 0, report); err != nil {
			t.Fatal(err)
		}
		if string(report[:5]) != "HURTM" || report[7] != s.want {
			t.Errorf("after % x: report % x, want serial HURTM and state %02b", s.cmd, report, s.want)
		}
		if st, _ := relay.State(); st.RelayState != s.want {
			t.Errorf("after % x: board state %02b, want %02b", s.cmd, st.RelayState, s.want)
		}
	}
	reqs, _ := relay.Requests()
	var sets int
	for _, r := range reqs {
		if r.IsSetReport() {
			sets++
		}
	}
	if sets != len(steps) {
		t.Errorf("%d SET_REPORTs logged, want %d", sets, len(steps))
	}
}

func TestRelayFaults(t *testing.T) {
	bus := usbemu.Start(t)
	relay, err := bus.AddRelay(usbemu.RelayOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d := claimRelay(t)
	d.ControlTimeout = 200 * time.Millisecond
	closeOne := []byte{0xff, 1, 0, 0, 0, 0, 0, 0}
	readState := func() uint8 {
		report := make([]byte, 8)
		if _, err := d.Control(0xa1, 0x01, 0x0300, 0, report); err != nil {
			t.Fatalf("GET_REPORT: %v", err)
		}
		return report[7]
	}
	relay.SetFault(usbemu.FaultIgnore)
	if _, err := d.Control(0x21, 0x09, 0x0300, 0, closeOne); err != nil {
		t.Fatal(err)
	}
	if s := readState(); s != 0 {
		t.Errorf("ignoring board reads back %02b, want 00", s)
	}
	relay.SetFault(usbemu.FaultWrong)
	if s := readState(); s != 0b01 {
		t.Errorf("lying board reads back %02b, want 01", s)
	}
	relay.SetFault(usbemu.FaultStall)
	if _, err := d.Control(0x21, 0x09, 0x0300, 0, closeOne); !errors.Is(err, gousb.ErrorPipe) {
		t.Errorf("stalling board: %v, want a pipe error", err)
	}
	relay.SetFault(usbemu.FaultSilent)
	start := time.Now()
	if _, err := d.Control(0x21, 0x09, 0x0300, 0, closeOne); !errors.Is(err, gousb.ErrorTimeout) {
		t.Errorf("silent board: %v, want a timeout", err)
	}
	if time.Since(start) > 10*time.Second {
		t.Errorf("silent board took %v", time.Since(start))
	}
	relay.SetFault(usbemu.FaultNone)
	if _, err := d.Control(0x21, 0x09, 0x0300, 0, closeOne); err != nil {
		t.Fatal(err)
	}
	if s := readState(); s != 0b01 {
		t.Errorf("healthy board reads back %02b, want 01", s)
	}
}

func TestUnplugAndReplug(t *testing.T) {
	bus := usbemu.Start(t)
	sc, err := bus.AddScanner(usbemu.ScannerOptions{Port: "1-2"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := newContext(t)
	d, err := ctx.OpenDeviceWithVIDPID(usbemu.ScannerVendor, usbemu.ScannerProduct)
	if err != nil || d == nil {
		t.Fatal(d, err)
	}
	d.ControlTimeout = time.Second
	d.SetAutoDetach(true)
	intf, done, err := d.DefaultInterface()
	if err != nil {
		t.Fatal(err)
	}
	ep, _ := intf.InEndpoint(1)
	_, addr1 := sc.Address()

	errc := make(chan error, 1)
	go func() {
		rctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := ep.ReadContext(rctx, make([]byte, 8))
		errc <- err
	}()
	if _, err := sc.WaitState(context.Background(), func(s usbemu.State) bool { return s.PendingURBs == 1 }); err != nil {
		t.Fatal(err)
	}
	if err := sc.Unplug(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; !errors.Is(err, gousb.TransferNoDevice) {
		t.Fatalf("pending read on unplug: %v, want no device", err)
	}
	if _, err := ep.ReadContext(context.Background(), make([]byte, 8)); !errors.Is(err, gousb.ErrorNoDevice) {
		t.Fatalf("read after unplug: %v, want no device", err)
	}
	done()
	d.Close()
	if devs, _ := ctx.OpenDevices(func(*gousb.DeviceDesc) bool { return true }); len(devs) != 0 {
		t.Fatalf("%d devices listed after unplug", len(devs))
	}

	if err := sc.Plug(); err != nil {
		t.Fatal(err)
	}
	d2 := open(t, ctx, usbemu.ScannerVendor, usbemu.ScannerProduct)
	_, addr2 := sc.Address()
	if d2.Desc.Address != addr2 || addr2 == addr1 {
		t.Errorf("replugged device at address %d (harness %d), first at %d: want a new address", d2.Desc.Address, addr2, addr1)
	}
	if st, _ := sc.State(); st.Driver != "usbhid" {
		t.Errorf("after replug driver %q, want usbhid bound again", st.Driver)
	}
}
