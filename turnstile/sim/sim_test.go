package sim_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/gate/gatetest"
	"github.com/admitgate/admit/turnstile"
	"github.com/admitgate/admit/turnstile/sim"
	"github.com/admitgate/admit/turnstile/turnstiletest"
	"github.com/rs/zerolog"
)

var t0 = time.Date(2026, 12, 5, 18, 30, 0, 0, time.UTC)

// onceIndex admits each barcode once and gives annulled entries back.
func onceIndex() (*gatetest.Index, func(string) bool) {
	var mu sync.Mutex
	used := map[string]uint64{}
	byseq := map[uint64]string{}
	seq := uint64(0)
	idx := &gatetest.Index{
		ScanFunc: func(_ context.Context, s gate.Scan) gate.Decision {
			mu.Lock()
			defer mu.Unlock()
			seq++
			if s.Deny != 0 {
				d := s.Refusal(s.Deny, s.Detail)
				d.Seq = seq
				return d
			}
			if used[s.Barcode] != 0 {
				d := s.Refusal(gate.ReasonAlreadyUsed, "")
				d.Seq = seq
				return d
			}
			used[s.Barcode], byseq[seq] = seq, s.Barcode
			d := s.Refusal(0, "")
			d.Admit, d.Reason, d.Seq = true, gate.ReasonOK, seq
			return d
		},
		AnnulFunc: func(_ context.Context, n uint64, by string) (gate.JournalEntry, error) {
			mu.Lock()
			defer mu.Unlock()
			b, ok := byseq[n]
			if !ok {
				return gate.JournalEntry{}, gate.Errorf(gate.ENOTFOUND, "no scan %d", n)
			}
			delete(byseq, n)
			delete(used, b)
			return gate.JournalEntry{}, nil
		},
	}
	return idx, func(b string) bool { mu.Lock(); defer mu.Unlock(); return used[b] != 0 }
}

type simRig struct {
	clock *turnstiletest.Clock
	tt    *sim.Turnstile
	lane  *turnstile.Lane
	set   *turnstile.Set
	used  func(string) bool
	stop  func()
}

func newSimRig(t *testing.T) *simRig {
	t.Helper()
	r := &simRig{clock: turnstiletest.NewClock(t0)}
	r.tt = sim.New(sim.Config{ID: "demo-1", Clock: r.clock})
	idx, used := onceIndex()
	r.used = used
	cfg := turnstile.Config{Confirm: turnstile.ConfirmPassage, Clock: r.clock}
	var err error
	r.lane, err = turnstile.NewLane(gate.Lane{ID: "demo-1", Direction: gate.In}, idx, r.tt.Parts(), &cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	r.set, _ = turnstile.NewSet(r.clock, zerolog.Nop(), r.lane)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); _ = r.lane.Run(ctx, nil) }()
	go func() { defer wg.Done(); _ = r.set.WatchEmergency(ctx, r.tt.Emergency, 0) }()
	r.stop = func() { cancel(); wg.Wait() }
	t.Cleanup(r.stop)
	<-r.tt.Passage.Watched()
	<-r.tt.Emergency.Watched()
	return r
}

func (r *simRig) scan(code string) gate.Decision {
	return r.lane.Handle(context.Background(), gate.Read{Text: code, At: r.clock.Now(), Source: "sim"})
}

func TestSimulatedGuestPasses(t *testing.T) {
	r := newSimRig(t)
	if d := r.scan("A"); d.Reason != gate.ReasonOK || !r.tt.Lock.On() || !r.tt.Green.On() {
		t.Fatalf("decision %+v, relay %v", d, r.tt.Lock.On())
	}
	r.clock.Advance(sim.DefaultWalkAfter)
	if r.tt.Lock.On() || r.tt.Passages() != 1 || r.lane.Status().Admits != 1 || !r.used("A") {
		t.Fatalf("after the walk: relay %v passages %d status %+v", r.tt.Lock.On(), r.tt.Passages(), r.lane.Status())
	}
	if !r.lane.Status().ScannerConnected {
		t.Error("sim scanner not connected")
	}
	r.tt.Unplug(true)
	if r.lane.Status().ScannerConnected || r.tt.Scan("B") == nil {
		t.Error("unplugged scanner still connected")
	}
}

func TestSimulatedGuestWalksAway(t *testing.T) {
	r := newSimRig(t)
	r.tt.WalkAway()
	r.scan("A")
	r.clock.Advance(time.Minute)
	if r.used("A") || r.tt.Passages() != 0 || r.lane.Status().State != turnstile.StateIdle {
		t.Fatalf("walk-away: used %v passages %d", r.used("A"), r.tt.Passages())
	}
	r.scan("A") // the next guest passes again
	r.clock.Advance(time.Minute)
	if !r.used("A") {
		t.Fatal("second try not admitted")
	}
}

func TestSimulatedJamAndEmergency(t *testing.T) {
	r := newSimRig(t)
	r.tt.Jam(errors.New("board unplugged"))
	if d := r.scan("A"); d.Reason != gate.ReasonError || r.used("A") {
		t.Fatalf("jammed: %+v", d)
	}
	if st := r.lane.Status(); st.State != turnstile.StateFaulted || !r.tt.Red.On() {
		t.Fatalf("jammed status %+v red %v", st, r.tt.Red.On())
	}
	r.tt.Jam(nil)
	r.clock.Advance(turnstile.DefaultRetestInterval)
	if st := r.lane.Status(); st.State != turnstile.StateIdle {
		t.Fatalf("after repair %+v", st)
	}

	r.tt.PressEmergency(true)
	if st := r.lane.Status(); st.State != turnstile.StateEmergencyOpen || !r.tt.Lock.On() {
		t.Fatalf("emergency %+v relay %v", st, r.tt.Lock.On())
	}
	r.clock.Advance(time.Minute) // the simulated crowd walks through an open arm
	r.tt.PressEmergency(false)
	if _, err := r.set.Clear("test"); err != nil {
		t.Fatal(err)
	}
	if st := r.lane.Status(); st.State != turnstile.StateIdle || r.tt.Lock.On() {
		t.Fatalf("cleared %+v relay %v", st, r.tt.Lock.On())
	}
	if err := r.tt.Halt(); err != nil {
		t.Fatal(err)
	}
}

func TestSimulatedScannerFeedsRun(t *testing.T) {
	clock := turnstiletest.NewClock(t0)
	tt := sim.New(sim.Config{ID: "demo-2", Clock: clock})
	idx, used := onceIndex()
	decided := make(chan gate.Decision, 1)
	scan := idx.ScanFunc
	idx.ScanFunc = func(ctx context.Context, s gate.Scan) gate.Decision {
		d := scan(ctx, s)
		decided <- d
		return d
	}
	lane, err := turnstile.NewLane(gate.Lane{ID: "demo-2"}, idx, tt.Parts(), &turnstile.Config{Clock: clock}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = lane.Run(ctx, tt.Reads()) }()
	if err := tt.Scan("A"); err != nil {
		t.Fatal(err)
	}
	if d := <-decided; d.Reason != gate.ReasonOK || d.Barcode != "A" || d.Lane != "demo-2" || !used("A") {
		t.Fatalf("decision = %+v", d)
	}
	cancel()
	<-done
}
