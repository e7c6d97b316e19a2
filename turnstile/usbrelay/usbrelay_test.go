package usbrelay_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/internal/testkit"
	"github.com/admitgate/admit/internal/usbdev"
	"github.com/admitgate/admit/internal/usbemu"
	"github.com/admitgate/admit/turnstile"
	"github.com/admitgate/admit/turnstile/usbrelay"
)

var _ turnstile.RelayBoard = (*usbrelay.Board)(nil)

func TestMain(m *testing.M) { usbemu.Main(m) }

func testLogger() zerolog.Logger { return testkit.Logger(nil) }

type fixture struct {
	t   *testing.T
	emu *usbemu.Bus
	bus *usbdev.Bus
	ctx context.Context
	wg  sync.WaitGroup
}

func start(t *testing.T) *fixture {
	emu := usbemu.Start(t)
	f := &fixture{t: t, emu: emu, bus: usbdev.NewBus(0, testLogger())}
	ctx, cancel := context.WithCancel(context.Background())
	f.ctx = ctx
	t.Cleanup(func() {
		cancel()
		f.wg.Wait()
		if err := f.bus.Close(); err != nil {
			t.Errorf("close bus: %v", err)
		}
	})
	return f
}

// run starts a board driver and waits until it is connected, unless the
// board is expected missing.
func (f *fixture) run(cfg usbrelay.Config, wait bool) *usbrelay.Board {
	f.t.Helper()
	cfg.Backoff.Min, cfg.Backoff.Max = 10*time.Millisecond, 50*time.Millisecond
	if cfg.ProbeInterval == 0 {
		cfg.ProbeInterval = 20 * time.Millisecond
	}
	b, err := usbrelay.New(f.bus, cfg, testLogger())
	if err != nil {
		f.t.Fatal(err)
	}
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		if err := b.Run(f.ctx); !errors.Is(err, context.Canceled) {
			f.t.Errorf("Run = %v", err)
		}
	}()
	if wait {
		waitFor(f.t, "the board to connect", b.Connected)
	}
	return b
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	testkit.WaitFor(t, 10*time.Second, what, ok)
}

func relayState(t *testing.T, d *usbemu.Device) uint8 {
	t.Helper()
	st, err := d.State()
	if err != nil {
		t.Fatal(err)
	}
	return st.RelayState
}

func TestSwitchReadsBackAfterEverySwitch(t *testing.T) {
	f := start(t)
	dev, err := f.emu.AddRelay(usbemu.RelayOptions{Serial: "QWERT", Channels: 2})
	if err != nil {
		t.Fatal(err)
	}
	b := f.run(usbrelay.Config{Board: "QWERT", ProbeInterval: time.Hour}, true)
	if b.Channels() != 2 {
		t.Errorf("channels %d", b.Channels())
	}
	one, two := b.Channel(1), b.Channel(2)
	if one.String() != "usbrelay QWERT/1" {
		t.Errorf("name %q", one)
	}
	before, _ := dev.Requests()
	steps := []struct {
		ch   turnstile.Channel
		on   bool
		want uint8
	}{
		{one, true, 0b01}, {two, true, 0b11}, {one, false, 0b10}, {two, false, 0b00},
	}
	for _, s := range steps {
		if err := s.ch.Set(s.on); err != nil {
			t.Fatalf("%s.Set(%v): %v", s.ch, s.on, err)
		}
		if got := relayState(t, dev); got != s.want {
			t.Errorf("after %s.Set(%v) the board is %02b, want %02b", s.ch, s.on, got, s.want)
		}
		if b.State() != s.want {
			t.Errorf("driver state %02b, want %02b", b.State(), s.want)
		}
	}
	// Every SET_REPORT is followed by its GET_REPORT.
	all, _ := dev.Requests()
	var seq []string
	for _, r := range all[len(before):] {
		switch {
		case r.IsSetReport():
			seq = append(seq, "set:"+r.Data[:4])
		case r.IsGetReport():
			seq = append(seq, "get")
		}
	}
	want := "set:ff01 get set:ff02 get set:fd01 get set:fd02 get"
	if strings.Join(seq, " ") != want {
		t.Errorf("requests %v, want %s", seq, want)
	}
	if err := b.Set(3, true); gate.ErrorCode(err) != gate.EINVALID {
		t.Errorf("relay 3 of a 2-relay board: %v", err)
	}
}

func TestFaultyBoards(t *testing.T) {
	f := start(t)
	dev, _ := f.emu.AddRelay(usbemu.RelayOptions{Serial: "FAULT"})
	b := f.run(usbrelay.Config{ControlTimeout: 100 * time.Millisecond, ProbeInterval: time.Hour}, true)
	tests := []struct {
		fault usbemu.Fault
		check func(error) bool
		what  string
	}{
		{usbemu.FaultIgnore, func(err error) bool { return errors.Is(err, usbrelay.ErrMismatch) }, "a mismatch"},
		{usbemu.FaultWrong, func(err error) bool { return errors.Is(err, usbrelay.ErrMismatch) }, "a mismatch"},
		{usbemu.FaultStall, func(err error) bool { return err != nil && strings.Contains(err.Error(), "SET_REPORT") }, "a failed SET_REPORT"},
		{usbemu.FaultSilent, func(err error) bool { return err != nil && strings.Contains(err.Error(), "timeout") }, "a timeout"},
	}
	for _, tt := range tests {
		t.Run(string(tt.fault), func(t *testing.T) {
			// A fault before (a stall) dropped the board; the link shows
			// it down only once Run's session has ended, so wait for a
			// switch to work again rather than for Connected.
			waitFor(t, "a working board", func() bool { return b.Connected() && b.Channel(1).Set(false) == nil })
			dev.SetFault(tt.fault)
			defer dev.SetFault(usbemu.FaultNone)
			start := time.Now()
			err := b.Channel(1).Set(true)
			if !tt.check(err) {
				t.Errorf("Set on a %s board: %v, want %s", tt.fault, err, tt.what)
			}
			if time.Since(start) > 5*time.Second {
				t.Errorf("Set took %v", time.Since(start))
			}
		})
	}
}

func TestBoardsToldApartBySerial(t *testing.T) {
	f := start(t)
	a, _ := f.emu.AddRelay(usbemu.RelayOptions{Serial: "AAAAA"})
	c, _ := f.emu.AddRelay(usbemu.RelayOptions{Serial: "CCCCC", Channels: 4})

	// Without a serial two boards are ambiguous.
	bus := usbdev.NewBus(0, testLogger())
	defer bus.Close()
	anyBoard, _ := usbrelay.New(bus, usbrelay.Config{}, testLogger())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- anyBoard.Run(ctx) }()
	waitFor(t, "an attempt", func() bool { return anyBoard.Status().Failures > 0 })
	cancel()
	<-done
	if st := anyBoard.Status(); st.Connected || !strings.Contains(st.LastError, "name one by its board serial") {
		t.Errorf("ambiguous board status %+v", st)
	}

	boardC := f.run(usbrelay.Config{Board: "CCCCC"}, true)
	boardA := f.run(usbrelay.Config{Board: "AAAAA"}, true)
	if err := boardC.Set(4, true); err != nil {
		t.Fatal(err)
	}
	if err := boardA.Set(1, true); err != nil {
		t.Fatal(err)
	}
	if sa, sc := relayState(t, a), relayState(t, c); sa != 0b0001 || sc != 0b1000 {
		t.Errorf("boards %04b %04b, want 0001 1000", sa, sc)
	}
}

func TestSharedBoardSerialisesLanes(t *testing.T) {
	f := start(t)
	dev, _ := f.emu.AddRelay(usbemu.RelayOptions{Serial: "SHARE", Channels: 2})
	b := f.run(usbrelay.Config{Board: "SHARE", ProbeInterval: 5 * time.Millisecond}, true)
	var wg sync.WaitGroup
	for ch := 1; ch <= 2; ch++ {
		out := b.Channel(ch)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				if err := out.Set(i%2 == 0); err != nil {
					t.Errorf("%s: %v", out, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if got := relayState(t, dev); got != 0 {
		t.Errorf("final state %02b, want both open", got)
	}
	// Each switch's read-back came right after it, not after another's.
	reqs, _ := dev.Requests()
	for i, r := range reqs {
		if r.IsSetReport() && (i+1 >= len(reqs) || !reqs[i+1].IsGetReport()) {
			t.Fatalf("SET_REPORT %d not followed by its GET_REPORT", r.Seq)
		}
	}
}

func TestUnplugShowsAndReplugStartsSafe(t *testing.T) {
	f := start(t)
	dev, _ := f.emu.AddRelay(usbemu.RelayOptions{Serial: "PLUGS"})
	b := f.run(usbrelay.Config{Board: "PLUGS"}, true)
	if err := b.Set(1, true); err != nil {
		t.Fatal(err)
	}
	dev.Unplug()
	waitFor(t, "the probe to see the board gone", func() bool { return !b.Connected() })
	if err := b.Set(1, false); !errors.Is(err, usbrelay.ErrNotConnected) && err == nil {
		t.Errorf("Set on an unplugged board: %v", err)
	}
	dev.Plug()
	waitFor(t, "the board back", b.Connected)
	if got := relayState(t, dev); got != 0 {
		t.Errorf("replugged board state %02b, want every relay open", got)
	}
	if err := b.Set(2, true); err != nil {
		t.Fatalf("Set after replug: %v", err)
	}
	// Halt opens everything.
	if err := b.Halt(); err != nil || relayState(t, dev) != 0 {
		t.Errorf("Halt: %v, state %02b", err, relayState(t, dev))
	}
}

func TestBoardMissingAtStart(t *testing.T) {
	f := start(t)
	b := f.run(usbrelay.Config{Board: "LATER"}, false)
	waitFor(t, "an attempt", func() bool { return b.Status().Failures > 0 })
	if err := b.Set(1, true); !errors.Is(err, usbrelay.ErrNotConnected) {
		t.Errorf("Set before the board is there: %v", err)
	}
	f.emu.AddRelay(usbemu.RelayOptions{Serial: "OTHER"})
	waitFor(t, "the error to name the board found", func() bool { return strings.Contains(b.Status().LastError, "OTHER") })
	if b.Connected() {
		t.Errorf("connected to another board: %+v", b.Status())
	}
	dev, _ := f.emu.AddRelay(usbemu.RelayOptions{Serial: "LATER"})
	waitFor(t, "connect", b.Connected)
	if err := b.Set(1, true); err != nil || relayState(t, dev) != 1 {
		t.Errorf("Set: %v, state %02b", err, relayState(t, dev))
	}
}

func TestShutdownOpensEveryRelay(t *testing.T) {
	emu := usbemu.Start(t)
	dev, _ := emu.AddRelay(usbemu.RelayOptions{Serial: "STOPS"})
	bus := usbdev.NewBus(0, testLogger())
	defer bus.Close()
	b, _ := usbrelay.New(bus, usbrelay.Config{Board: "STOPS"}, testLogger())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- b.Run(ctx) }()
	waitFor(t, "connect", b.Connected)
	b.Set(1, true)
	b.Set(2, true)
	cancel()
	<-done
	if got := relayState(t, dev); got != 0 {
		t.Errorf("after shutdown the board is %02b, want every relay open", got)
	}
	if st, _ := dev.State(); st.Claimed || st.Driver != "usbhid" {
		t.Errorf("after shutdown %+v, want the board given back to usbhid", st)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []usbrelay.Config{{Board: "TOOLONG"}, {Port: "x"}, {ControlTimeout: -1}} {
		if err := c.Validate(); gate.ErrorCode(err) != gate.EINVALID {
			t.Errorf("%+v: %v", c, err)
		}
	}
}
