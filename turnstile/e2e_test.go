package turnstile_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/admitgate/admit/decode"
	"github.com/admitgate/admit/decode/usbhid"
	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/internal/testkit"
	"github.com/admitgate/admit/internal/usbdev"
	"github.com/admitgate/admit/internal/usbemu"
	"github.com/admitgate/admit/turnstile"
	"github.com/admitgate/admit/turnstile/usbrelay"
)

// TestMain runs this package's tests on the emulated USB bus (see
// internal/usbemu): the harness re-executes the test binary under
// libumockdev. Tests that do not call usbemu.Start are unaffected.
func TestMain(m *testing.M) { usbemu.Main(m) }

// The product's own end-to-end test: a barcode scanned on the emulated
// scanner is decoded, admitted by the real index, and the emulated relay
// channel closes for the pulse and opens again; the journal shows it. The
// same barcode scanned again is refused and the relay never moves.
//
//	go test -race -run TestEndToEndOnEmulatedUSB ./turnstile/
func TestEndToEndOnEmulatedUSB(t *testing.T) {
	emu := usbemu.Start(t)
	scanner, err := emu.AddScanner(usbemu.ScannerOptions{Serial: "LANE1"})
	if err != nil {
		t.Fatal(err)
	}
	board, err := emu.AddRelay(usbemu.RelayOptions{Serial: "QWERT", Channels: 2})
	if err != nil {
		t.Fatal(err)
	}
	ix := openIndex(t, "4006381333931")
	bus := usbdev.NewBus(0, testLogger(t))
	ctx, cancel := context.WithCancel(context.Background())
	var stops []chan error
	t.Cleanup(func() {
		cancel()
		for _, s := range stops {
			<-s
		}
		_ = bus.Close()
	})
	run := func(f func() error) {
		done := make(chan error, 1)
		stops = append(stops, done)
		go func() { done <- f() }()
	}

	// The scanner: usbhid reads the emulated keyboard, decode turns reports into reads.
	dec, err := decode.NewKeyboard(decode.Config{Source: "usb:LANE1", DedupWindow: -1}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	src, err := usbhid.New(bus, usbhid.Config{Match: usbdev.Match{ID: usbdev.ID{Vendor: usbemu.ScannerVendor, Product: usbemu.ScannerProduct}, Serial: "LANE1"}}, dec, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	reads := make(chan gate.Read, 4)
	run(func() error { return src.Run(ctx, reads) })

	// The relay board: the driver keeps it connected; channel 1 unlocks the turnstile.
	relayBoard, err := usbrelay.New(bus, usbrelay.Config{Board: "QWERT"}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	run(func() error { return relayBoard.Run(ctx) })
	waitFor(t, "the relay board to connect", relayBoard.Connected)
	channel := relayBoard.Channel(1)

	const unlock = 300 * time.Millisecond
	lane, err := turnstile.NewLane(gate.Lane{ID: "north-1", Direction: gate.In}, ix,
		turnstile.Parts{Lock: channel, Scanner: src}, &turnstile.Config{UnlockTime: unlock}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	decisions := make(chan gate.Decision, 4)
	run(func() error {
		for {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case r := <-reads:
				decisions <- lane.Handle(ctx, r)
			}
		}
	})
	next := func() gate.Decision {
		t.Helper()
		select {
		case d := <-decisions:
			return d
		case <-time.After(15 * time.Second):
			t.Fatal("no decision within 15s")
			return gate.Decision{}
		}
	}
	waitCtx := func() context.Context {
		c, cancel := context.WithTimeout(ctx, 15*time.Second)
		t.Cleanup(cancel)
		return c
	}
	if _, err := scanner.WaitState(waitCtx(), func(s usbemu.State) bool { return s.Claimed }); err != nil {
		t.Fatalf("the scanner source never claimed the scanner: %v", err)
	}

	before, err := board.Requests()
	if err != nil {
		t.Fatal(err)
	}

	// First scan: admitted; the relay closes for the pulse and opens again.
	if err := scanner.Type("us", "4006381333931", 0); err != nil {
		t.Fatal(err)
	}
	d := next()
	if !d.Admit || d.Reason != gate.ReasonOK || d.Lane != "north-1" || d.Barcode != "4006381333931" {
		t.Fatalf("first scan = %+v", d)
	}
	if _, err := board.WaitState(waitCtx(), func(s usbemu.State) bool { return s.RelayState&1 == 0 && lane.Status().State == turnstile.StateIdle }); err != nil {
		t.Fatalf("relay 1 never opened again: %v", err)
	}
	reqs, err := board.Requests()
	if err != nil {
		t.Fatal(err)
	}
	var sets []usbemu.Request
	for _, r := range reqs[len(before):] {
		if r.IsSetReport() {
			sets = append(sets, r)
		}
	}
	// Close relay 1 (FF 01), then open it (FD 01) once the unlock time is up.
	if len(sets) != 2 || !strings.HasPrefix(sets[0].Data, "ff01") || !strings.HasPrefix(sets[1].Data, "fd01") {
		t.Fatalf("relay SET_REPORTs for the admission = %+v, want close relay 1 then open it", sets)
	}
	if held := time.Duration(sets[1].MS-sets[0].MS) * time.Millisecond; held < unlock-20*time.Millisecond {
		t.Errorf("relay 1 closed for %v, want the unlock time %v", held, unlock)
	}

	es := journal(t, ix, d.Seq)
	last := es[d.Seq-1]
	if last.Seq != d.Seq || last.Kind != gate.KindDecision || !last.Decision.Admit || last.Source != "usb:LANE1" || last.Annulled != 0 {
		t.Fatalf("journal entry %d = %+v, want the admission from usb:LANE1", d.Seq, last)
	}

	// Second scan of the same barcode: refused, the relay never moves.
	if err := scanner.Type("us", "4006381333931", 0); err != nil {
		t.Fatal(err)
	}
	d2 := next()
	if d2.Admit || d2.Reason != gate.ReasonAlreadyUsed || d2.FirstUsed == nil || d2.FirstUsed.Lane != "north-1" {
		t.Fatalf("second scan = %+v", d2)
	}
	again, err := board.Requests()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range again[len(reqs):] {
		if r.IsSetReport() {
			t.Fatalf("the relay moved on a refusal: %+v", r)
		}
	}
	if e := journal(t, ix, d2.Seq)[d2.Seq-1]; e.Decision.Reason != gate.ReasonAlreadyUsed || e.Source != "usb:LANE1" {
		t.Fatalf("journal entry %d = %+v, want the already_used refusal", d2.Seq, e)
	}
	if st, err := board.State(); err != nil || st.RelayState != 0 {
		t.Fatalf("relays closed after the refusal: %08b", st.RelayState)
	}
	if !lane.Status().ScannerConnected {
		t.Error("lane status does not show the scanner connected")
	}
	if err := lane.Halt(); err != nil {
		t.Fatal(err)
	}
}

// waitFor polls ok: the emulated devices answer in real time, through the
// drivers' own goroutines.
func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	testkit.WaitFor(t, 15*time.Second, what, ok)
}
