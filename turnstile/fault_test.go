package turnstile_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/turnstile"
	"github.com/admitgate/admit/turnstile/turnstiletest"
)

// A relay that fails to unlock annuls the admission at once, faults the
// lane, and the lane refuses with error until a retest finds the relay
// answering again.
func TestRelayFaultOnUnlock(t *testing.T) {
	r := newRig(t, passageCfg)
	r.lock.Fail(errUSB)
	d := r.scan("A")
	if d.Admit || d.Reason != gate.ReasonError || !strings.Contains(d.Detail, "annulled") || !strings.Contains(d.Detail, "relay") {
		t.Fatalf("decision = %+v, want an error refusal saying the admission was annulled", d)
	}
	if r.ledger.isUsed("A") || len(r.ledger.annulments()) != 1 {
		t.Fatalf("A used=%v annulments=%d: the admission must be annulled at once", r.ledger.isUsed("A"), len(r.ledger.annulments()))
	}
	st := r.lane.Status()
	if st.State != turnstile.StateFaulted || st.RelayOK || !strings.Contains(st.Fault, "failed to unlock") {
		t.Fatalf("status = %+v", st)
	}
	if st.Last == nil || st.Last.Reason != gate.ReasonError {
		t.Errorf("last decision = %+v, want the error the guest saw", st.Last)
	}

	// Faulted: scans are refused with error, journaled, nothing redeemed.
	d = r.scan("B")
	if d.Reason != gate.ReasonError || !strings.Contains(d.Detail, "faulted") || r.ledger.isUsed("B") {
		t.Fatalf("scan while faulted = %+v (B used=%v)", d, r.ledger.isUsed("B"))
	}
	if e := r.ledger.entries()[d.Seq-1]; e.Decision.Reason != gate.ReasonError {
		t.Errorf("journal has %+v, want the error refusal", e)
	}

	// The retest keeps failing while the relay is dead.
	r.clock.Advance(turnstile.DefaultRetestInterval)
	if r.state() != turnstile.StateFaulted {
		t.Fatalf("state = %s after a failed retest", r.state())
	}
	// Plugged back: the next retest clears the fault.
	r.lock.Fail(nil)
	r.clock.Advance(turnstile.DefaultRetestInterval)
	if st := r.lane.Status(); st.State != turnstile.StateIdle || !st.RelayOK || st.Fault != "" {
		t.Fatalf("status after recovery = %+v", st)
	}
	if r.lock.Level() {
		t.Fatal("relay left on after recovery")
	}
	if d := r.scan("A"); d.Reason != gate.ReasonOK || !r.lock.Level() {
		t.Fatalf("scan after recovery = %+v, relay on=%v", d, r.lock.Level())
	}
	if got := metricValue(t, r.metrics, "admit_lane_relay_faults_total", "lane", laneID); got != 1 {
		t.Errorf("relay faults = %v, want 1", got)
	}
	if got := metricValue(t, r.metrics, "admit_lane_annulments_total", "lane", laneID, "cause", turnstile.CauseRelay); got != 1 {
		t.Errorf("relay annulments = %v, want 1", got)
	}
}

// A relay that fails to lock again faults the lane; what was not final is
// annulled (with every queued admission), what was final stays.
func TestRelayFaultOnLock(t *testing.T) {
	t.Run("at the end of the unlock, unconfirmed", func(t *testing.T) {
		r := newRig(t, withQueue(passageCfg, 3))
		r.scan("A")
		r.scan("B") // queued
		r.lock.Fail(errUSB)
		r.clock.Advance(5 * time.Second)
		if r.state() != turnstile.StateFaulted || r.ledger.isUsed("A") || r.ledger.isUsed("B") {
			t.Fatalf("state %s, A used %v, B used %v: both must be annulled", r.state(), r.ledger.isUsed("A"), r.ledger.isUsed("B"))
		}
		if p := r.lane.Pending(); len(p) != 0 {
			t.Fatalf("pending = %v after the fault", p)
		}
	})
	t.Run("after the passage", func(t *testing.T) {
		r := newRig(t, passageCfg)
		r.scan("A")
		r.lock.Fail(errUSB)
		r.pass()
		if r.state() != turnstile.StateFaulted || !r.ledger.isUsed("A") || len(r.ledger.annulments()) != 0 {
			t.Fatalf("state %s, A used %v: a confirmed passage stays final", r.state(), r.ledger.isUsed("A"))
		}
		if r.lane.Status().Admits != 1 {
			t.Errorf("admits = %d", r.lane.Status().Admits)
		}
	})
	t.Run("confirm none: final at the unlock", func(t *testing.T) {
		r := newRig(t, noneCfg)
		r.scan("A")
		r.lock.Fail(errUSB)
		r.clock.Advance(5 * time.Second)
		if r.state() != turnstile.StateFaulted || !r.ledger.isUsed("A") {
			t.Fatalf("state %s, A used %v", r.state(), r.ledger.isUsed("A"))
		}
	})
}

// A relay that does not answer when the lane starts leaves it faulted, not
// failed, so an unplugged board does not keep the appliance down.
func TestRelayDeadAtStart(t *testing.T) {
	clock := turnstiletest.NewClock(t0)
	lock := turnstiletest.NewOutput("relay", clock)
	lock.Fail(errUSB)
	_, idx := newLedger("A")
	cfg := turnstile.Config{Clock: clock}
	lane, err := turnstile.NewLane(gate.Lane{ID: "l1"}, idx, turnstile.Parts{Lock: lock}, &cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if st := lane.Status(); st.State != turnstile.StateFaulted || st.RelayOK {
		t.Fatalf("status = %+v", st)
	}
	lock.Fail(nil)
	clock.Advance(turnstile.DefaultRetestInterval)
	if st := lane.Status(); st.State != turnstile.StateIdle {
		t.Fatalf("status after the board came back = %+v", st)
	}
}

// Passage racing the timeout: whichever the lane handles first wins, and the
// outcome is always consistent — confirmed and kept, or annulled with the
// passage counted late — never both, never neither.
func TestPassageRacesTimeout(t *testing.T) {
	t.Run("passage at the last instant wins", func(t *testing.T) {
		r := newRig(t, passageCfg)
		r.scan("A")
		r.clock.Advance(8*time.Second - time.Nanosecond)
		r.pass()
		r.clock.Advance(time.Hour)
		if !r.ledger.isUsed("A") || len(r.ledger.annulments()) != 0 || r.lane.Status().Admits != 1 {
			t.Fatal("a passage before the deadline must make the admission final")
		}
	})
	t.Run("timeout first, then the passage", func(t *testing.T) {
		r := newRig(t, passageCfg)
		r.scan("A")
		r.clock.Advance(8 * time.Second)
		r.pass()
		if r.ledger.isUsed("A") || r.lane.Status().Admits != 0 {
			t.Fatal("the annulment must stand")
		}
		if got := metricValue(t, r.metrics, "admit_lane_passages_total", "lane", laneID, "kind", turnstile.PassageLate); got != 1 {
			t.Errorf("late passages = %v", got)
		}
	})
	t.Run("concurrently", func(t *testing.T) {
		n := 200
		if testing.Short() {
			n = 20
		}
		var confirmed, annulled int
		for i := range n {
			r := newRig(t, passageCfg)
			r.scan("A")
			r.clock.Advance(8*time.Second - time.Millisecond)
			var wg sync.WaitGroup
			wg.Add(2)
			go func() { defer wg.Done(); r.clock.Advance(time.Millisecond) }()
			go func() { defer wg.Done(); r.lane.Passage(turnstile.Edge{Active: true, At: t0.Add(8 * time.Second)}) }()
			wg.Wait()
			used, annuls, admits := r.ledger.isUsed("A"), len(r.ledger.annulments()), r.lane.Status().Admits
			late := metricValue(t, r.metrics, "admit_lane_passages_total", "lane", laneID, "kind", turnstile.PassageLate)
			switch {
			case used && annuls == 0 && admits == 1 && late == 0:
				confirmed++
			case !used && annuls == 1 && admits == 0 && late == 1:
				annulled++
			default:
				t.Fatalf("run %d: inconsistent outcome: used=%v annulments=%d admits=%d late=%v", i, used, annuls, admits, late)
			}
			if r.lock.Level() || r.state() != turnstile.StateIdle {
				t.Fatalf("run %d: relay on=%v state=%s", i, r.lock.Level(), r.state())
			}
		}
		t.Logf("%d runs: %d confirmed, %d annulled", n, confirmed, annulled)
	})
}

// An emergency release during an unlock annuls what is not final, holds the
// lane open (or locked) and refuses scans until cleared.
func TestEmergencyDuringUnlock(t *testing.T) {
	tests := []struct {
		name      string
		cfg       turnstile.Config
		state     string
		relay     bool
		keptFinal bool // confirm none: the unlocked admission was already final
	}{
		{"open, confirm passage", passageCfg, turnstile.StateEmergencyOpen, true, false},
		{"hold, confirm passage", func() turnstile.Config { c := passageCfg; c.Emergency = turnstile.EmergencyHold; return c }(), turnstile.StateEmergencyHold, false, false},
		{"open, confirm none", noneCfg, turnstile.StateEmergencyOpen, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, withQueue(tt.cfg, 3))
			set, err := turnstile.NewSet(r.clock, testLogger(t), r.lane)
			if err != nil {
				t.Fatal(err)
			}
			r.scan("A")
			r.scan("B") // queued: never unlocked, so always given back
			r.clock.Advance(time.Second)
			em := set.Release("operator:alice")
			if !em.Active || em.By != "operator:alice" || !em.Since.Equal(t0.Add(time.Second)) {
				t.Fatalf("emergency = %+v", em)
			}
			st := r.lane.Status()
			if st.State != tt.state || !st.Emergency || r.lock.Level() != tt.relay {
				t.Fatalf("status = %+v, relay on=%v", st, r.lock.Level())
			}
			if r.ledger.isUsed("A") != tt.keptFinal || r.ledger.isUsed("B") {
				t.Fatalf("A used=%v (want %v), B used=%v (want false)", r.ledger.isUsed("A"), tt.keptFinal, r.ledger.isUsed("B"))
			}
			d := r.scan("C")
			if d.Reason != gate.ReasonError || !strings.Contains(d.Detail, "emergency") || r.ledger.isUsed("C") {
				t.Fatalf("scan during emergency = %+v", d)
			}
			r.pass() // people leaving: counted, nothing else
			if got := metricValue(t, r.metrics, "admit_lane_passages_total", "lane", laneID, "kind", turnstile.PassageEmergency); got != 1 {
				t.Errorf("emergency passages = %v", got)
			}
			r.clock.Advance(time.Hour) // no stale timer may relock the lane
			if r.state() != tt.state || r.lock.Level() != tt.relay {
				t.Fatalf("after an hour: state %s relay on=%v", r.state(), r.lock.Level())
			}
			if _, err := set.Clear("operator:alice"); err != nil {
				t.Fatal(err)
			}
			if st := r.lane.Status(); st.State != turnstile.StateIdle || st.Emergency || r.lock.Level() {
				t.Fatalf("after clear: %+v relay on=%v", st, r.lock.Level())
			}
			if d := r.scan("C"); d.Reason != gate.ReasonOK {
				t.Fatalf("scan after clear = %+v", d)
			}
		})
	}
}

// The emergency input releases every lane; the release latches until the
// input drops and someone clears it.
func TestEmergencyInput(t *testing.T) {
	clock := turnstiletest.NewClock(t0)
	_, idx := newLedger("A")
	var lanes []*turnstile.Lane
	var relays []*turnstiletest.Output
	for _, id := range []string{"n1", "n2"} {
		lock := turnstiletest.NewOutput(id+"-relay", clock)
		cfg := turnstile.Config{Clock: clock}
		l, err := turnstile.NewLane(gate.Lane{ID: id}, idx, turnstile.Parts{Lock: lock}, &cfg, testLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		lanes, relays = append(lanes, l), append(relays, lock)
	}
	set, err := turnstile.NewSet(clock, testLogger(t), lanes...)
	if err != nil {
		t.Fatal(err)
	}
	in := turnstiletest.NewInput("fire-alarm")
	in.Active = true // already asserted when the appliance starts
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- set.WatchEmergency(ctx, in, time.Second) }()
	<-in.Watched()
	// The Initial edge was handled before Watched's watcher could Send.
	if err := in.Send(true, clock.Now()); err != nil {
		t.Fatal(err)
	}
	for i, l := range lanes {
		if st := l.Status(); st.State != turnstile.StateEmergencyOpen || !relays[i].Level() {
			t.Fatalf("lane %s: %+v relay on=%v", l.ID(), st, relays[i].Level())
		}
	}
	em := set.Emergency()
	if !em.Active || !em.InputActive || em.By != "input:fire-alarm" {
		t.Fatalf("emergency = %+v", em)
	}
	if _, err := set.Clear("operator"); gate.ErrorCode(err) != gate.ECONFLICT {
		t.Fatalf("clear while the input is active: err = %v, want conflict", err)
	}
	if err := in.Send(false, clock.Now()); err != nil {
		t.Fatal(err)
	}
	if em := set.Emergency(); !em.Active || em.InputActive {
		t.Fatalf("emergency after the input dropped = %+v: it must latch", em)
	}
	if _, err := set.Clear("operator"); err != nil {
		t.Fatal(err)
	}
	for i, l := range lanes {
		if st := l.Status(); st.State != turnstile.StateIdle || relays[i].Level() {
			t.Fatalf("lane %s after clear: %+v", l.ID(), st)
		}
	}

	// An input that fails is shown, watched again, and cleared once it runs.
	timers := clock.Pending()
	in.Fail(errUSB)
	clock.BlockUntil(timers + 1) // the watcher waits to retry
	if em := set.Emergency(); !strings.Contains(em.InputFault, "fire-alarm") {
		t.Fatalf("input fault not shown: %+v", em)
	}
	clock.Advance(time.Second)
	<-in.Watched()
	if em := set.Emergency(); em.InputFault != "" {
		t.Fatalf("input fault not cleared by the Initial edge: %+v", em)
	}
	cancel()
	if err := <-done; err != context.Canceled {
		t.Fatalf("WatchEmergency = %v", err)
	}
}

// Two lanes share one relay board and scan at the same time: each switches
// only its own channel, every unlock is followed by a lock, nothing is lost.
func TestTwoLanesShareOneBoard(t *testing.T) {
	clock := turnstiletest.NewClock(t0)
	board := turnstiletest.NewBoard("ABCDE", 4, clock)
	n := 100
	if testing.Short() {
		n = 20
	}
	var codes []string
	for i := range 2 * n {
		codes = append(codes, fmt.Sprintf("T%04d", i))
	}
	ledger, idx := newLedger(codes...)
	lanes := make([]*turnstile.Lane, 2)
	for i := range lanes {
		cfg := passageCfg
		cfg.Clock = clock
		var err error
		lanes[i], err = turnstile.NewLane(gate.Lane{ID: fmt.Sprintf("lane-%d", i+1)}, idx,
			turnstile.Parts{Lock: board.Channel(i + 1), Passage: turnstiletest.NewInput("s"), Green: board.Channel(i + 3)}, &cfg, testLogger(t))
		if err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for i, l := range lanes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range n {
				code := codes[i*n+j]
				if d := l.Handle(context.Background(), gate.Read{Text: code, At: clock.Now()}); d.Reason != gate.ReasonOK {
					t.Errorf("%s %s: %+v", l.ID(), code, d)
					return
				}
				l.Passage(turnstile.Edge{Active: true, At: clock.Now()})
			}
		}()
	}
	wg.Wait()
	log := board.Switches()
	for ch := 1; ch <= 4; ch++ {
		name := fmt.Sprintf("board:ABCDE/%d", ch)
		var levels []bool
		for _, sw := range log {
			if sw.Output == name {
				levels = append(levels, sw.On)
			}
		}
		// Each lane's relay and green light: off at start, then on/off per admission.
		if len(levels) != 1+2*n {
			t.Fatalf("%s switched %d times, want %d", name, len(levels), 1+2*n)
		}
		for k, on := range levels {
			if want := k%2 == 1; on != want {
				t.Fatalf("%s switch %d = %v, want %v", name, k, on, want)
			}
		}
	}
	for _, l := range lanes {
		if st := l.Status(); st.Admits != uint64(n) || st.State != turnstile.StateIdle {
			t.Errorf("%s: %+v", l.ID(), st)
		}
	}
	for _, c := range codes {
		if !ledger.isUsed(c) {
			t.Fatalf("%s not redeemed", c)
		}
	}
	if len(ledger.annulments()) != 0 {
		t.Fatalf("%d annulments", len(ledger.annulments()))
	}
}

// Halt switches every output off, annuls what is pending and refuses scans.
func TestHalt(t *testing.T) {
	r := newRig(t, passageCfg)
	r.scan("A")
	if !r.lock.Level() || !r.green.Level() {
		t.Fatal("not unlocked")
	}
	if err := r.lane.Halt(); err != nil {
		t.Fatal(err)
	}
	for _, o := range []*turnstiletest.Output{r.lock, r.green, r.red, r.buzzer} {
		if o.Level() {
			t.Errorf("%s left on", o)
		}
	}
	if r.ledger.isUsed("A") {
		t.Error("pending admission not annulled on halt")
	}
	if d := r.scan("B"); d.Reason != gate.ReasonError || !strings.Contains(d.Detail, "halted") {
		t.Fatalf("scan after halt = %+v", d)
	}
	if r.state() != turnstile.StateHalted {
		t.Fatalf("state = %s", r.state())
	}
	r.clock.Advance(time.Hour)
	if r.lock.Level() {
		t.Fatal("a timer switched the relay after halt")
	}
	// Halting again still switches off, and reports a relay that fails.
	r.lock.Fail(errUSB)
	if err := r.lane.Halt(); err == nil || !strings.Contains(err.Error(), "relay") {
		t.Fatalf("halt with a dead relay: err = %v", err)
	}
}

// An annulment the index cannot write is retried, doubling, until it
// succeeds; one the index refuses is not.
func TestAnnulRetries(t *testing.T) {
	r := newRig(t, passageCfg)
	internal := fmt.Errorf("index: pebble: disk full")
	r.ledger.annulErr = []error{internal, internal}
	r.scan("A")
	r.clock.Advance(8 * time.Second) // timeout: first attempt fails
	if !r.ledger.isUsed("A") {
		t.Fatal("annulled despite the failure")
	}
	r.clock.Advance(2 * time.Second) // second attempt fails
	if !r.ledger.isUsed("A") {
		t.Fatal("annulled on the second attempt")
	}
	r.clock.Advance(4*time.Second - time.Millisecond)
	if !r.ledger.isUsed("A") {
		t.Fatal("retried before its time")
	}
	r.clock.Advance(time.Millisecond)
	if r.ledger.isUsed("A") {
		t.Fatal("not annulled on the third attempt")
	}
	if got := metricValue(t, r.metrics, "admit_lane_annul_errors_total", "lane", laneID); got != 2 {
		t.Errorf("annul errors = %v", got)
	}

	t.Run("halt flushes retries", func(t *testing.T) {
		r := newRig(t, passageCfg)
		r.ledger.annulErr = []error{internal}
		r.scan("A")
		r.clock.Advance(8 * time.Second)
		if err := r.lane.Halt(); err != nil {
			t.Fatal(err)
		}
		if r.ledger.isUsed("A") {
			t.Fatal("halt did not retry the pending annulment")
		}
	})
	t.Run("a refusal is not retried", func(t *testing.T) {
		r := newRig(t, passageCfg)
		calls := 0
		r.index.AnnulFunc = func(context.Context, uint64, string) (gate.JournalEntry, error) {
			calls++
			return gate.JournalEntry{}, gate.Errorf(gate.ECONFLICT, "already annulled")
		}
		r.scan("A")
		r.clock.Advance(time.Hour)
		if calls != 1 {
			t.Fatalf("annul called %d times", calls)
		}
	})
}

// Run feeds reads to the lane and watches the passage sensor; a sensor that
// fails faults a confirm-passage lane until it is watched again.
func TestRunWithSensor(t *testing.T) {
	r := newRig(t, passageCfg)
	ctx, cancel := context.WithCancel(context.Background())
	reads := make(chan gate.Read)
	done := make(chan error)
	go func() { done <- r.lane.Run(ctx, reads) }()
	<-r.sensor.Watched()

	reads <- gate.Read{Text: "A", At: r.clock.Now(), Source: "usb:test"}
	reads <- gate.Read{Text: "B", At: r.clock.Now()} // handled after A: busy
	if err := r.sensor.Pulse(r.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if !r.ledger.isUsed("A") || r.ledger.isUsed("B") || r.lane.Status().Admits != 1 {
		t.Fatalf("A used %v, B used %v, admits %d", r.ledger.isUsed("A"), r.ledger.isUsed("B"), r.lane.Status().Admits)
	}
	if src := r.ledger.entries()[0].Source; src != "usb:test" {
		t.Errorf("journal source = %q", src)
	}

	timers := r.clock.Pending() // light patterns still playing
	r.sensor.Fail(fmt.Errorf("gpio: line released"))
	r.clock.BlockUntil(timers + 1) // the watcher waits to retry
	if st := r.lane.Status(); st.State != turnstile.StateFaulted || !strings.Contains(st.Fault, "passage sensor") {
		t.Fatalf("status with a failed sensor = %+v", st)
	}
	if d := r.lane.Handle(ctx, gate.Read{Text: "C", At: r.clock.Now()}); d.Reason != gate.ReasonError {
		t.Fatalf("scan with a failed sensor = %+v", d)
	}
	r.clock.Advance(passageCfg.RetestInterval + turnstile.DefaultRetestInterval)
	<-r.sensor.Watched()
	if st := r.lane.Status(); st.State != turnstile.StateIdle || st.Fault != "" {
		t.Fatalf("status after the sensor came back = %+v", st)
	}
	close(reads) // the scanner source ended: Run keeps watching until ctx ends
	cancel()
	if err := <-done; err != context.Canceled {
		t.Fatalf("Run = %v", err)
	}
}

func TestSet(t *testing.T) {
	r1 := newRig(t, noneCfg)
	if _, err := turnstile.NewSet(nil, testLogger(t), r1.lane, r1.lane); err == nil {
		t.Fatal("duplicate lanes accepted")
	}
	set, err := turnstile.NewSet(r1.clock, testLogger(t), r1.lane)
	if err != nil {
		t.Fatal(err)
	}
	var _ gate.LaneMonitor = set
	r1.scan("A")
	st := set.Lanes()
	if len(st) != 1 || st[0].ID != laneID || st[0].State != turnstile.StateUnlocked || st[0].Admits != 1 {
		t.Fatalf("lanes = %+v", st)
	}
	if set.Lane(laneID) != r1.lane || set.Lane("nope") != nil || len(set.All()) != 1 {
		t.Fatal("lookup")
	}
	if got := metricValue(t, set, "admit_lane_state", "lane", laneID, "state", turnstile.StateUnlocked); got != 1 {
		t.Errorf("state gauge = %v", got)
	}
	if got := metricValue(t, set, "admit_lane_state", "lane", laneID, "state", turnstile.StateIdle); got != 0 {
		t.Errorf("idle gauge = %v", got)
	}
	if got := metricValue(t, set, "admit_lane_admits_total", "lane", laneID); got != 1 {
		t.Errorf("admits = %v", got)
	}
	if _, err := set.Clear("nobody"); err != nil {
		t.Errorf("clearing no emergency: %v", err)
	}
	if err := set.Halt(); err != nil {
		t.Fatal(err)
	}
	if set.Lanes()[0].State != turnstile.StateHalted {
		t.Fatal("not halted")
	}
}

// Any of several emergency inputs holds the release; it clears only when
// none is active.
func TestEmergencyTwoInputs(t *testing.T) {
	r := newRig(t, noneCfg)
	set, err := turnstile.NewSet(r.clock, testLogger(t), r.lane)
	if err != nil {
		t.Fatal(err)
	}
	alarm, button := turnstiletest.NewInput("fire-alarm"), turnstiletest.NewInput("button-north")
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, in := range []*turnstiletest.Input{alarm, button} {
		wg.Add(1)
		go func() { defer wg.Done(); _ = set.WatchEmergency(ctx, in, 0) }()
		<-in.Watched()
	}
	defer func() { cancel(); wg.Wait() }()
	_ = alarm.Send(true, r.clock.Now())
	_ = button.Send(true, r.clock.Now())
	_ = alarm.Send(false, r.clock.Now())
	if em := set.Emergency(); !em.Active || !em.InputActive || em.By != "input:fire-alarm" {
		t.Fatalf("emergency = %+v", em)
	}
	if _, err := set.Clear("op"); gate.ErrorCode(err) != gate.ECONFLICT || !strings.Contains(err.Error(), "button-north") {
		t.Fatalf("clear with the button still pressed: %v", err)
	}
	_ = button.Send(false, r.clock.Now())
	if _, err := set.Clear("op"); err != nil {
		t.Fatal(err)
	}
	if r.state() != turnstile.StateIdle {
		t.Fatalf("state = %s", r.state())
	}
}
