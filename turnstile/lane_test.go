package turnstile_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/turnstile"
	"github.com/admitgate/admit/turnstile/turnstiletest"
)

// step is one action or check of a lane script.
type step struct {
	desc string
	do   func(r *rig) error
}

func scan(code string, want gate.Reason) step {
	return step{fmt.Sprintf("scan %s → %s", code, want), func(r *rig) error {
		d := r.scan(code)
		if d.Reason != want || d.Admit != want.Admits() {
			return fmt.Errorf("decision = %v admit=%v (%s), want %v", d.Reason, d.Admit, d.Detail, want)
		}
		return nil
	}}
}

func pass() step {
	return step{"passage", func(r *rig) error { r.pass(); return nil }}
}

func advance(d time.Duration) step {
	return step{"advance " + d.String(), func(r *rig) error { r.clock.Advance(d); return nil }}
}

// expect checks the lane state and whether the unlock relay is on.
func expect(state string, unlocked bool) step {
	return step{fmt.Sprintf("expect %s, relay on=%v", state, unlocked), func(r *rig) error {
		if got := r.state(); got != state {
			return fmt.Errorf("state = %s, want %s", got, state)
		}
		if got := r.lock.Level(); got != unlocked {
			return fmt.Errorf("relay on = %v, want %v", got, unlocked)
		}
		return nil
	}}
}

func used(code string, want bool) step {
	return step{fmt.Sprintf("%s used=%v", code, want), func(r *rig) error {
		if got := r.ledger.isUsed(code); got != want {
			return fmt.Errorf("%s used = %v, want %v", code, got, want)
		}
		return nil
	}}
}

func admits(n uint64) step {
	return step{fmt.Sprintf("admits=%d", n), func(r *rig) error {
		if got := r.lane.Status().Admits; got != n {
			return fmt.Errorf("admits = %d, want %d", got, n)
		}
		return nil
	}}
}

func annulled(n int) step {
	return step{fmt.Sprintf("%d annulled", n), func(r *rig) error {
		as := r.ledger.annulments()
		if len(as) != n {
			return fmt.Errorf("annulments = %d, want %d", len(as), n)
		}
		for _, a := range as {
			if a.By != "lane:"+laneID {
				return fmt.Errorf("annulment %d by %q, want lane:%s", a.Seq, a.By, laneID)
			}
		}
		return nil
	}}
}

func pending(seqs ...uint64) step {
	return step{fmt.Sprintf("pending %v", seqs), func(r *rig) error {
		got := r.lane.Pending()
		if fmt.Sprint(got) != fmt.Sprint(seqs) && !(len(got) == 0 && len(seqs) == 0) {
			return fmt.Errorf("pending = %v, want %v", got, seqs)
		}
		return nil
	}}
}

func relayPulses(levels ...bool) step {
	return step{fmt.Sprintf("relay levels %v", levels), func(r *rig) error {
		if got := r.lock.Levels(); fmt.Sprint(got) != fmt.Sprint(levels) {
			return fmt.Errorf("relay levels = %v, want %v", got, levels)
		}
		return nil
	}}
}

func counter(metric string, labels []string, want float64) step {
	return step{fmt.Sprintf("%s%v = %v", metric, labels, want), func(r *rig) error {
		got := metricValue(r.t, r.metrics, metric, labels...)
		if got != want {
			return fmt.Errorf("%s%v = %v, want %v", metric, labels, got, want)
		}
		return nil
	}}
}

var (
	passageCfg = turnstile.Config{UnlockTime: 5 * time.Second, Confirm: turnstile.ConfirmPassage, PassageTimeout: 8 * time.Second}
	noneCfg    = turnstile.Config{UnlockTime: 5 * time.Second}
)

func withQueue(c turnstile.Config, n int) turnstile.Config {
	c.Queue, c.MaxQueue = true, n
	return c
}

// TestLaneTransitions drives a lane through every transition of its state
// machine with a fake clock: each script is a sequence of scans, passages,
// clock advances and checks.
func TestLaneTransitions(t *testing.T) {
	tests := []struct {
		name  string
		cfg   turnstile.Config
		steps []step
	}{
		{"starts idle and locked", noneCfg, []step{
			expect(turnstile.StateIdle, false), relayPulses(false),
		}},
		{"confirm none: unlock for the unlock time, then lock; final at once", noneCfg, []step{
			scan("A", gate.ReasonOK), expect(turnstile.StateUnlocked, true), used("A", true), admits(1),
			advance(5*time.Second - time.Millisecond), expect(turnstile.StateUnlocked, true),
			advance(time.Millisecond), expect(turnstile.StateIdle, false), used("A", true), annulled(0),
			relayPulses(false, true, false),
		}},
		{"confirm none: passage ends the unlock early", noneCfg, []step{
			scan("A", gate.ReasonOK), advance(2 * time.Second), pass(),
			expect(turnstile.StateIdle, false), admits(1), used("A", true),
			counter("admit_lane_passages_total", []string{"lane", laneID, "kind", turnstile.PassageAdmitted}, 1),
			advance(10 * time.Second), expect(turnstile.StateIdle, false), relayPulses(false, true, false),
		}},
		{"confirm passage: passage makes it final", passageCfg, []step{
			scan("A", gate.ReasonOK), expect(turnstile.StateUnlocked, true), admits(0), used("A", true),
			advance(3 * time.Second), pass(), expect(turnstile.StateIdle, false), admits(1),
			advance(time.Minute), used("A", true), annulled(0), relayPulses(false, true, false),
		}},
		{"confirm passage: nobody passes, the admission is annulled and the ticket works again", passageCfg, []step{
			scan("A", gate.ReasonOK), advance(5 * time.Second),
			expect(turnstile.StateAwaitingPassage, false), used("A", true),
			advance(3*time.Second - time.Millisecond), expect(turnstile.StateAwaitingPassage, false),
			advance(time.Millisecond), expect(turnstile.StateIdle, false), used("A", false), annulled(1), admits(0),
			counter("admit_lane_annulments_total", []string{"lane", laneID, "cause", turnstile.CauseTimeout}, 1),
			scan("A", gate.ReasonOK), expect(turnstile.StateUnlocked, true), pass(), admits(1), used("A", true),
		}},
		{"confirm passage: a rotation begun in time completes after the arm locked", passageCfg, []step{
			scan("A", gate.ReasonOK), advance(6 * time.Second), expect(turnstile.StateAwaitingPassage, false),
			pass(), expect(turnstile.StateIdle, false), admits(1), advance(time.Minute), annulled(0), used("A", true),
			relayPulses(false, true, false),
		}},
		{"confirm passage with the timeout equal to the unlock time", turnstile.Config{Confirm: turnstile.ConfirmPassage, UnlockTime: 4 * time.Second, PassageTimeout: 4 * time.Second}, []step{
			scan("A", gate.ReasonOK), advance(4 * time.Second), expect(turnstile.StateIdle, false), annulled(1), used("A", false),
		}},
		{"a scan while the lane is unlocked is lane_busy and redeems nothing", passageCfg, []step{
			scan("A", gate.ReasonOK), scan("B", gate.ReasonLaneBusy), used("B", false), pending(1),
			advance(6 * time.Second), scan("B", gate.ReasonLaneBusy), used("B", false),
			pass(), scan("B", gate.ReasonOK), used("B", true),
			counter("admit_lane_decisions_total", []string{"lane", laneID, "reason", "lane_busy"}, 2),
		}},
		{"lane_busy also with confirm none while unlocked", noneCfg, []step{
			scan("A", gate.ReasonOK), scan("B", gate.ReasonLaneBusy), used("B", false),
			advance(5 * time.Second), scan("B", gate.ReasonOK),
		}},
		{"queue: admissions wait their turn, each gets its own unlock", withQueue(passageCfg, 2), []step{
			scan("A", gate.ReasonOK), scan("B", gate.ReasonOK), scan("C", gate.ReasonOK),
			scan("D", gate.ReasonLaneBusy), used("D", false), pending(1, 2, 3),
			pass(), expect(turnstile.StateUnlocked, true), pending(2, 3),
			advance(8 * time.Second), expect(turnstile.StateUnlocked, true), used("B", false), pending(3),
			pass(), expect(turnstile.StateIdle, false), admits(2), used("A", true), used("C", true),
			relayPulses(false, true, false, true, false, true, false),
		}},
		{"queue with confirm none: the next unlock starts when the first ends", withQueue(noneCfg, 3), []step{
			scan("A", gate.ReasonOK), advance(time.Second), scan("B", gate.ReasonOK), admits(1),
			advance(4 * time.Second), expect(turnstile.StateUnlocked, true), admits(2), pending(2),
			advance(5 * time.Second), expect(turnstile.StateIdle, false),
		}},
		{"malformed read is refused and journaled, the relay never moves", noneCfg, []step{
			{"malformed read", func(r *rig) error {
				d := r.lane.Handle(r.ctx, gate.Read{Text: "40123455", Malformed: "ean8 check digit is 5, want 4", At: r.clock.Now()})
				if d.Reason != gate.ReasonMalformed || d.Detail != "ean8 check digit is 5, want 4" || d.Seq == 0 {
					return fmt.Errorf("decision = %+v", d)
				}
				return nil
			}},
			expect(turnstile.StateIdle, false), relayPulses(false),
		}},
		{"refusals move no relay", noneCfg, []step{
			scan("nope", gate.ReasonUnknown), expect(turnstile.StateIdle, false),
			scan("A", gate.ReasonOK), advance(5 * time.Second), scan("A", gate.ReasonAlreadyUsed),
			expect(turnstile.StateIdle, false), relayPulses(false, true, false),
		}},
		{"a passage with nobody admitted is counted, nothing changes", passageCfg, []step{
			pass(), expect(turnstile.StateIdle, false), relayPulses(false),
			counter("admit_lane_passages_total", []string{"lane", laneID, "kind", turnstile.PassageUnexpected}, 1),
		}},
		{"a passage after the timeout is late: the annulment stands", passageCfg, []step{
			scan("A", gate.ReasonOK), advance(8 * time.Second), used("A", false), pass(),
			used("A", false), admits(0), expect(turnstile.StateIdle, false),
			counter("admit_lane_passages_total", []string{"lane", laneID, "kind", turnstile.PassageLate}, 1),
		}},
		{"an edge stamped before the unlock does not confirm it", passageCfg, []step{
			advance(time.Second), scan("A", gate.ReasonOK),
			{"stale edge", func(r *rig) error {
				r.lane.Passage(turnstile.Edge{Active: true, At: r.clock.Now().Add(-time.Millisecond)})
				return nil
			}},
			expect(turnstile.StateUnlocked, true), admits(0),
			{"inactive and initial edges are not passages", func(r *rig) error {
				r.lane.Passage(turnstile.Edge{Active: false, At: r.clock.Now()})
				r.lane.Passage(turnstile.Edge{Active: true, Initial: true, At: r.clock.Now()})
				return nil
			}},
			expect(turnstile.StateUnlocked, true), pass(), admits(1),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, tt.cfg)
			for i, st := range tt.steps {
				if err := st.do(r); err != nil {
					t.Fatalf("step %d (%s): %v", i+1, st.desc, err)
				}
			}
		})
	}
}

// A nonce replay returns the first decision again; it must not unlock twice.
func TestLaneReplayMovesNothing(t *testing.T) {
	r := newRig(t, noneCfg)
	r.index.ScanFunc = func(_ context.Context, s gate.Scan) gate.Decision {
		d := s.Refusal(0, "")
		d.Admit, d.Reason, d.Seq, d.Replayed = true, gate.ReasonOK, 7, true
		return d
	}
	d := r.lane.Scan(r.ctx, gate.Scan{Barcode: "A", Nonce: "n-1", At: r.clock.Now()})
	if !d.Admit || !d.Replayed {
		t.Fatalf("decision = %+v", d)
	}
	if got := r.lock.Levels(); fmt.Sprint(got) != "[false]" {
		t.Fatalf("relay levels = %v; a replay must not unlock", got)
	}
	if got := r.state(); got != turnstile.StateIdle {
		t.Fatalf("state = %s", got)
	}
}

// Scan fills the lane's id and direction and refuses a scan meant for another lane.
func TestLaneScanFillsAndChecksTheLane(t *testing.T) {
	r := newRig(t, noneCfg)
	var seen []gate.Scan
	r.ledger.scanHook = func(s gate.Scan) { seen = append(seen, s) }
	if d := r.lane.Scan(r.ctx, gate.Scan{Barcode: "A", At: r.clock.Now()}); d.Reason != gate.ReasonOK {
		t.Fatalf("decision = %+v", d)
	}
	if d := r.lane.Scan(r.ctx, gate.Scan{Barcode: "B", Lane: "south-2", At: r.clock.Now()}); d.Reason != gate.ReasonError {
		t.Fatalf("scan for another lane: %+v", d)
	}
	if seen[0].Lane != laneID || seen[0].Direction != gate.In {
		t.Errorf("scan = %+v, want lane and direction filled", seen[0])
	}
	if seen[1].Deny != gate.ReasonError || !strings.Contains(seen[1].Detail, "south-2") {
		t.Errorf("wrong-lane scan reached the index as %+v", seen[1])
	}
	if r.ledger.isUsed("B") {
		t.Error("B was redeemed by a scan for another lane")
	}
}

// If a validator admits a scan the lane refused, the lane gives it back.
func TestLaneAnnulsAnAdmissionItRefused(t *testing.T) {
	r := newRig(t, noneCfg)
	r.scan("A")
	r.index.ScanFunc = func(_ context.Context, s gate.Scan) gate.Decision {
		d := s.Refusal(0, "")
		d.Admit, d.Reason, d.Seq = true, gate.ReasonOK, 99
		return d
	}
	var annulledSeq uint64
	r.index.AnnulFunc = func(_ context.Context, seq uint64, by string) (gate.JournalEntry, error) {
		annulledSeq = seq
		return gate.JournalEntry{}, nil
	}
	d := r.scan("B")
	if d.Admit || d.Reason != gate.ReasonLaneBusy || annulledSeq != 99 {
		t.Fatalf("decision = %+v, annulled %d", d, annulledSeq)
	}
}

func TestNewLaneRefusesBadParts(t *testing.T) {
	clock := turnstiletest.NewClock(t0)
	_, idx := newLedger()
	lock := turnstiletest.NewOutput("relay", clock)
	tests := []struct {
		name  string
		lane  gate.Lane
		v     gate.Validator
		parts turnstile.Parts
		cfg   turnstile.Config
		want  string
	}{
		{"no relay", gate.Lane{ID: "l1"}, idx, turnstile.Parts{}, turnstile.Config{}, "no unlock relay"},
		{"passage without sensor", gate.Lane{ID: "l1"}, idx, turnstile.Parts{Lock: lock}, turnstile.Config{Confirm: turnstile.ConfirmPassage}, "needs a passage sensor"},
		{"bad id", gate.Lane{ID: "north 1"}, idx, turnstile.Parts{Lock: lock}, turnstile.Config{}, "lane id"},
		{"no validator", gate.Lane{ID: "l1"}, nil, turnstile.Parts{Lock: lock}, turnstile.Config{}, "no validator"},
		{"bad config", gate.Lane{ID: "l1"}, idx, turnstile.Parts{Lock: lock}, turnstile.Config{UnlockTime: 10 * time.Second, PassageTimeout: time.Second}, "passage timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Clock = clock
			_, err := turnstile.NewLane(tt.lane, tt.v, tt.parts, &tt.cfg, testLogger(t))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

// Status never waits for a scan in progress.
func TestLaneStatusDoesNotWaitForAScan(t *testing.T) {
	r := newRig(t, noneCfg)
	entered, release := make(chan struct{}), make(chan struct{})
	r.ledger.scanHook = func(gate.Scan) { close(entered); <-release }
	done := make(chan gate.Decision)
	go func() { done <- r.scan("A") }()
	<-entered
	st := r.lane.Status() // would deadlock if Status took the operation lock
	close(release)
	if d := <-done; d.Reason != gate.ReasonOK {
		t.Fatalf("decision = %+v", d)
	}
	if st.State != turnstile.StateIdle || st.ID != laneID || st.Name != "North 1" || st.Direction != gate.In {
		t.Errorf("status during the scan = %+v", st)
	}
	st = r.lane.Status()
	if st.State != turnstile.StateUnlocked || st.Scans != 1 || st.Last == nil || st.Last.Barcode != "A" || !st.RelayOK {
		t.Errorf("status after the scan = %+v", st)
	}
	if st.ScannerConnected {
		t.Error("scanner shown connected before it was")
	}
	r.scanner.SetConnected(true)
	if !r.lane.Status().ScannerConnected {
		t.Error("scanner not shown connected")
	}
}

var errUSB = errors.New("libusb: no device")
