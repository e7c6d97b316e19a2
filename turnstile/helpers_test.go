package turnstile_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/gate/gatetest"
	"github.com/admitgate/admit/internal/testkit"
	"github.com/admitgate/admit/turnstile"
	"github.com/admitgate/admit/turnstile/turnstiletest"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

var t0 = time.Date(2026, 12, 5, 18, 30, 0, 0, time.UTC)

// testLogger logs nothing unless ADMIT_TEST_LOG is set.
func testLogger(t testing.TB) zerolog.Logger { return testkit.Logger(t) }

// ledger is a redeem-once store behind a gatetest.Index: each known barcode
// admits once, Annul gives the entry back, and every decision and annulment
// is journaled, like the real index but in memory.
type ledger struct {
	mu       sync.Mutex
	known    map[string]bool
	used     map[string]uint64 // barcode → seq of its standing admission
	journal  []gate.JournalEntry
	annulErr []error // Annul fails with these first, one per call
	scanHook func(gate.Scan)
}

func newLedger(barcodes ...string) (*ledger, *gatetest.Index) {
	l := &ledger{known: map[string]bool{}, used: map[string]uint64{}}
	for _, b := range barcodes {
		l.known[b] = true
	}
	return l, &gatetest.Index{ScanFunc: l.scan, AnnulFunc: l.annul}
}

func (l *ledger) scan(_ context.Context, s gate.Scan) gate.Decision {
	if l.scanHook != nil {
		l.scanHook(s)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	seq := uint64(len(l.journal) + 1)
	var d gate.Decision
	switch {
	case s.Deny != 0:
		d = s.Refusal(s.Deny, s.Detail)
	case !l.known[s.Barcode]:
		d = s.Refusal(gate.ReasonUnknown, "")
	case l.used[s.Barcode] != 0:
		d = s.Refusal(gate.ReasonAlreadyUsed, "")
	default:
		d = s.Refusal(0, "")
		d.Admit, d.Reason = true, gate.ReasonOK
		l.used[s.Barcode] = seq
	}
	d.Seq = seq
	l.journal = append(l.journal, gate.JournalEntry{Seq: seq, Kind: gate.KindDecision, Decision: d, Source: s.Source})
	return d
}

func (l *ledger) annul(_ context.Context, seq uint64, by string) (gate.JournalEntry, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.annulErr) > 0 {
		err := l.annulErr[0]
		l.annulErr = l.annulErr[1:]
		return gate.JournalEntry{}, err
	}
	if seq == 0 || seq > uint64(len(l.journal)) {
		return gate.JournalEntry{}, gate.Errorf(gate.ENOTFOUND, "no scan %d", seq)
	}
	e := &l.journal[seq-1]
	if e.Kind != gate.KindDecision || !e.Decision.Admit {
		return gate.JournalEntry{}, gate.Errorf(gate.ECONFLICT, "scan %d was refused", seq)
	}
	if e.Annulled != 0 {
		return gate.JournalEntry{}, gate.Errorf(gate.ECONFLICT, "scan %d already annulled", seq)
	}
	aseq := uint64(len(l.journal) + 1)
	e.Annulled = aseq
	delete(l.used, e.Decision.Barcode)
	entry := gate.JournalEntry{Seq: aseq, Kind: gate.KindAnnulment, Decision: e.Decision, By: by}
	l.journal = append(l.journal, entry)
	return entry, nil
}

// isUsed reports whether barcode's entry is spent.
func (l *ledger) isUsed(barcode string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.used[barcode] != 0
}

// annulments returns the annulment entries.
func (l *ledger) annulments() []gate.JournalEntry {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []gate.JournalEntry
	for _, e := range l.journal {
		if e.Kind == gate.KindAnnulment {
			out = append(out, e)
		}
	}
	return out
}

func (l *ledger) entries() []gate.JournalEntry {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]gate.JournalEntry(nil), l.journal...)
}

// rig is one lane on fake hardware and a fake clock.
type rig struct {
	t                  *testing.T
	clock              *turnstiletest.Clock
	lock               *turnstiletest.Output
	green, red, buzzer *turnstiletest.Output
	sensor             *turnstiletest.Input
	scanner            *turnstiletest.Scanner
	ledger             *ledger
	index              *gatetest.Index
	lane               *turnstile.Lane
	cfg                turnstile.Config
	ctx                context.Context
	metrics            *turnstile.Metrics
}

const laneID = "north-1"

func newRig(t *testing.T, cfg turnstile.Config, barcodes ...string) *rig {
	t.Helper()
	r := &rig{t: t, clock: turnstiletest.NewClock(t0), ctx: context.Background(), metrics: turnstile.NewMetrics()}
	r.lock = turnstiletest.NewOutput("relay", r.clock)
	r.green = turnstiletest.NewOutput("green", r.clock)
	r.red = turnstiletest.NewOutput("red", r.clock)
	r.buzzer = turnstiletest.NewOutput("buzzer", r.clock)
	r.sensor = turnstiletest.NewInput("sensor")
	r.scanner = &turnstiletest.Scanner{}
	if len(barcodes) == 0 {
		barcodes = []string{"A", "B", "C", "D", "E"}
	}
	r.ledger, r.index = newLedger(barcodes...)
	cfg.Clock, cfg.Metrics = r.clock, r.metrics
	r.cfg = cfg
	lane, err := turnstile.NewLane(gate.Lane{ID: laneID, Name: "North 1", Direction: gate.In}, r.index,
		turnstile.Parts{Lock: r.lock, Passage: r.sensor, Green: r.green, Red: r.red, Buzzer: r.buzzer, Scanner: r.scanner},
		&cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	r.lane = lane
	return r
}

func (r *rig) scan(code string) gate.Decision {
	return r.lane.Handle(r.ctx, gate.Read{Text: code, At: r.clock.Now(), Source: "test"})
}

func (r *rig) pass() { r.lane.Passage(turnstile.Edge{Active: true, At: r.clock.Now()}) }

func (r *rig) state() string { return r.lane.Status().State }

// metricValue returns the value of the counter, gauge or histogram count
// named name with the given labels (name, value, name, value...), 0 if absent.
func metricValue(t testing.TB, c prometheus.Collector, name string, labels ...string) float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(c); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			if 2*len(m.GetLabel()) != len(labels) {
				continue
			}
			for i := 0; i < len(labels); i += 2 {
				found := false
				for _, lp := range m.GetLabel() {
					found = found || (lp.GetName() == labels[i] && lp.GetValue() == labels[i+1])
				}
				if !found {
					continue next
				}
			}
			switch {
			case m.Counter != nil:
				return m.Counter.GetValue()
			case m.Gauge != nil:
				return m.Gauge.GetValue()
			case m.Histogram != nil:
				return float64(m.Histogram.GetSampleCount())
			}
		}
	}
	return 0
}
