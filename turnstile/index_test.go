package turnstile_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/importfile"
	"github.com/admitgate/admit/index"
	"github.com/admitgate/admit/turnstile"
	"github.com/admitgate/admit/turnstile/turnstiletest"
)

// openIndex opens a real Pebble index in a temporary directory with one
// event, "derby" (always open), and the given barcodes loaded for it.
func openIndex(t *testing.T, barcodes ...string) *index.Index {
	t.Helper()
	ix, err := index.Open(t.TempDir(), &index.Options{BloomMinCapacity: 1000, DisableWALWarmup: true, Appliance: "test", Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ix.Close() })
	ctx := context.Background()
	if _, err := ix.PutEvent(ctx, gate.Event{ID: "derby", Name: "Derby"}); err != nil {
		t.Fatal(err)
	}
	svc := importfile.NewService(ix, testLogger(t), nil)
	res, err := svc.Import(ctx, gate.ImportRequest{Provider: "box-office", Event: "derby", PriceType: "ADU", Source: "test", By: "test"},
		strings.NewReader(strings.Join(barcodes, "\n")+"\n"))
	if err != nil || res.Added != len(barcodes) {
		t.Fatalf("import: %+v, %v", res, err)
	}
	return ix
}

// journal returns the index's journal once it holds entry seq. Refusals are
// journaled by a background writer and Entries returns only a gapless
// prefix, so a test waits (boundedly) for the writer to catch up.
func journal(t *testing.T, ix *index.Index, seq uint64) []gate.JournalEntry {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		es, err := ix.Entries(context.Background(), 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if uint64(len(es)) >= seq {
			return es
		}
		if time.Now().After(deadline) {
			t.Fatalf("the journal holds %d entries, not %d, after 10s", len(es), seq)
		}
		time.Sleep(time.Millisecond)
	}
}

// A lane on the real index: a passage makes the admission final, a walk-away
// is annulled in the journal and the ticket works again, lane_busy and relay
// faults are journaled as refusals and redeem nothing.
func TestLaneWithTheRealIndex(t *testing.T) {
	ix := openIndex(t, "4006381333931", "9836900602677354", "9836900602677361")
	clock := turnstiletest.NewClock(t0)
	relay := turnstiletest.NewOutput("relay", clock)
	sensor := turnstiletest.NewInput("sensor")
	cfg := passageCfg
	cfg.Clock = clock
	lane, err := turnstile.NewLane(gate.Lane{ID: "north-1", Direction: gate.In}, ix,
		turnstile.Parts{Lock: relay, Passage: sensor}, &cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	scan := func(code string) gate.Decision {
		t.Helper()
		return lane.Handle(ctx, gate.Read{Text: code, At: clock.Now(), Source: "test"})
	}
	pass := func() { lane.Passage(turnstile.Edge{Active: true, At: clock.Now()}) }

	// 1. Admitted and passed: final.
	first := scan("4006381333931")
	if first.Reason != gate.ReasonOK || first.Event != "derby" || !relay.Level() {
		t.Fatalf("first scan = %+v", first)
	}
	clock.Advance(time.Second)
	pass()
	again := scan("4006381333931")
	if again.Reason != gate.ReasonAlreadyUsed || again.FirstUsed == nil || again.FirstUsed.Lane != "north-1" {
		t.Fatalf("second scan = %+v", again)
	}

	// 2. Walked away: annulled, usable again.
	walk := scan("9836900602677354")
	if walk.Reason != gate.ReasonOK {
		t.Fatalf("walk-away scan = %+v", walk)
	}
	busy := scan("9836900602677361") // 3. while the lane is open: lane_busy
	if busy.Reason != gate.ReasonLaneBusy {
		t.Fatalf("busy scan = %+v", busy)
	}
	clock.Advance(cfg.PassageTimeout)
	if relay.Level() || lane.Status().State != turnstile.StateIdle {
		t.Fatalf("after the timeout: relay %v, %+v", relay.Level(), lane.Status())
	}
	// The journal: ok (1), already_used (2), ok (3), lane_busy (4), annulment (5).
	es := journal(t, ix, busy.Seq+1)
	annul := es[busy.Seq]
	if annul.Kind != gate.KindAnnulment || annul.By != "lane:north-1" || annul.Decision.Seq != walk.Seq {
		t.Fatalf("journal entry %d = %+v, want the annulment of %d by lane:north-1", busy.Seq+1, annul, walk.Seq)
	}
	if e := es[walk.Seq-1]; e.Annulled != annul.Seq {
		t.Fatalf("the walk-away admission %+v is not marked annulled by %d", e, annul.Seq)
	}
	if e := es[busy.Seq-1]; e.Decision.Reason != gate.ReasonLaneBusy || e.Decision.Admit {
		t.Fatalf("the busy refusal journaled as %+v", e)
	}
	if d := scan("9836900602677354"); d.Reason != gate.ReasonOK {
		t.Fatalf("the walked-away ticket again = %+v", d)
	}
	pass()

	// 4. Relay fault: the admission is annulled at once, the ticket stays usable.
	relay.Fail(errUSB)
	fault := scan("9836900602677361")
	if fault.Admit || fault.Reason != gate.ReasonError {
		t.Fatalf("scan with a dead relay = %+v", fault)
	}
	es = journal(t, ix, fault.Seq+1)
	if e := es[fault.Seq-1]; e.Decision.Reason != gate.ReasonOK || e.Annulled == 0 {
		t.Fatalf("the admission the relay could not open: %+v, want an annulled ok", e)
	}
	relay.Fail(nil)
	clock.Advance(lane.Config().RetestInterval)
	if d := scan("9836900602677361"); d.Reason != gate.ReasonOK {
		t.Fatalf("after the relay came back = %+v", d)
	}
	if err := lane.Halt(); err != nil { // pending: annulled on the way down
		t.Fatal(err)
	}
	tv, err := ix.Ticket(ctx, "9836900602677361")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range tv.Redemptions {
		if r.Admissions != 0 {
			t.Fatalf("halt left %+v spent", r)
		}
	}
}
