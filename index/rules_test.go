package index

import (
	"context"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// The index's side of entry rules, with a compiler of its own: what the
// index hands a rule (its facts), when it compiles it, and what a rule's
// answer does to the decision. The rules themselves (package rules) are
// held against pretix's variables through the index in cmd/admit
// (rules_wiring_test.go), which wires the two.

// fakeRule is a gate.Rule calling a function.
type fakeRule func(f *gate.RuleFacts) (bool, string)

func (r fakeRule) Eval(f *gate.RuleFacts) (bool, string) { return r(f) }

// ruleKit compiles the rules "true", "false" and "record" (true, keeping
// the facts it was evaluated against); anything else does not compile.
type ruleKit struct {
	mu       sync.Mutex
	facts    []gate.RuleFacts
	compiled int
}

func (k *ruleKit) compile(src []byte) (gate.Rule, error) {
	k.mu.Lock()
	k.compiled++
	k.mu.Unlock()
	switch string(src) {
	case "true":
		return fakeRule(func(*gate.RuleFacts) (bool, string) { return true, "" }), nil
	case "false":
		return fakeRule(func(*gate.RuleFacts) (bool, string) { return false, "false was false" }), nil
	case "record":
		return fakeRule(func(f *gate.RuleFacts) (bool, string) {
			k.mu.Lock()
			defer k.mu.Unlock()
			c := *f
			c.Entries = append([]time.Time(nil), f.Entries...)
			k.facts = append(k.facts, c)
			return true, ""
		}), nil
	}
	return nil, gate.Errorf(gate.EINVALID, "unknown rule %q (at byte 0, $)", src)
}

func (k *ruleKit) recorded() []gate.RuleFacts {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]gate.RuleFacts(nil), k.facts...)
}

func openRules(t *testing.T, fs vfs.FS, k *ruleKit) *Index {
	t.Helper()
	o := testOptions(fs)
	o.CompileRule = k.compile
	o.Location = time.UTC
	ix, err := Open("data", o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ix.Close() })
	return ix
}

func putEvent(t *testing.T, ix *Index, e gate.Event) {
	t.Helper()
	if _, err := ix.PutEvent(context.Background(), e); err != nil {
		t.Fatalf("put %s: %v", e.ID, err)
	}
}

func TestEventRuleIsCompiledWhenPut(t *testing.T) {
	ctx := context.Background()
	// Without a compiler, an event with a rule is refused.
	plain := openFS(t, vfs.NewMem())
	e := derby
	e.Rule = "true"
	if _, err := plain.PutEvent(ctx, e); gate.ErrorCode(err) != gate.EINVALID {
		t.Fatalf("no compiler: %v", err)
	}

	k := &ruleKit{}
	fs := vfs.NewMem()
	ix := openRules(t, fs, k)
	bad := derby
	bad.Rule = `{"<": [{"var": "entries_todya"}, 1]}`
	_, err := ix.PutEvent(ctx, bad)
	if gate.ErrorCode(err) != gate.EINVALID || !strings.Contains(gate.ErrorMessage(err), "at byte 0") {
		t.Fatalf("a rule that does not compile: %v", err)
	}
	if es, _ := ix.Events(ctx); len(es) != 0 {
		t.Fatalf("a refused event was stored: %+v", es)
	}
	zoneless := derby
	zoneless.TimeZone = "Mars/Olympus"
	if _, err := ix.PutEvent(ctx, zoneless); gate.ErrorCode(err) != gate.EINVALID {
		t.Fatalf("an unknown time zone: %v", err)
	}
	e.TimeZone = "Europe/Zurich"
	putEvent(t, ix, e)
	es, _ := ix.Events(ctx)
	if len(es) != 1 || es[0].Rule != "true" || es[0].TimeZone != "Europe/Zurich" {
		t.Fatalf("events %+v", es)
	}
	if k.compiled != 2 {
		t.Fatalf("compiled %d times, want 2 (the refused rule and the stored one)", k.compiled)
	}
	// Open compiles the stored rule again, once.
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	ix = openRules(t, fs, k)
	if k.compiled != 3 {
		t.Fatalf("compiled %d times after open, want 3", k.compiled)
	}
	load(t, ix, tk("R1", "derby"))
	if d := scanAt(ix, "R1", during); d.Reason != gate.ReasonOK {
		t.Fatalf("%+v", d)
	}
}

// TestRuleFactsFromTheIndex: the facts a rule reads are the ticket's, the
// scan's, the event's dates and time zone and the earlier entries of the
// ticket into the event, as they were before the scan.
func TestRuleFactsFromTheIndex(t *testing.T) {
	k := &ruleKit{}
	ix := openRules(t, vfs.NewMem(), k)
	e := fest // re-entry allowed
	e.Rule = "record"
	e.TimeZone = "America/New_York"
	e.StartsAt = t0.Add(30 * time.Minute)
	putEvent(t, ix, e)
	other := derby
	other.ID, other.Rule = "other", "record" // no time zone: the venue's
	putEvent(t, ix, other)
	ticket := tk("F1", "fest", "other")
	ticket.Provider = "secutix-main"
	ticket.Product = gate.Code{Code: "DAY", Name: "Day pass"}
	ticket.PriceType = gate.Code{Code: "CHILD"}
	if _, err := ix.Load(context.Background(), gate.ImportRequest{Provider: "secutix-main"}, gate.Lines(ticket)); err != nil {
		t.Fatal(err)
	}
	lane := gate.Lane{ID: "north-1", Direction: gate.In, Events: []string{"fest"}, From: gate.Outside, To: "north-stand"}
	scan := func(at time.Time, dir gate.Direction) gate.Decision {
		s := lane.Scan("F1", at)
		s.Direction = dir
		return ix.Scan(context.Background(), s)
	}
	at1, at2 := t0.Add(40*time.Minute), t0.Add(2*time.Hour)
	for _, step := range []struct {
		at  time.Time
		dir gate.Direction
		rsn gate.Reason
	}{{at1, gate.In, gate.ReasonOK}, {at1.Add(time.Hour), gate.Out, gate.ReasonExit}, {at2, gate.In, gate.ReasonReentry}} {
		if d := scan(step.at, step.dir); d.Reason != step.rsn {
			t.Fatalf("at %v: %+v", step.at, d)
		}
	}
	got := k.recorded()
	if len(got) != 2 {
		t.Fatalf("the rule ran %d times, want 2 (entries only, never an exit): %+v", len(got), got)
	}
	ny, _ := time.LoadLocation("America/New_York")
	want := gate.RuleFacts{Product: "DAY", PriceType: "CHILD", Provider: "secutix-main", At: at1, Lane: "north-1",
		Direction: gate.In, Zone: "north-stand", Location: ny, DateFrom: e.StartsAt, DateTo: e.ClosesAt, DateAdmission: e.OpensAt}
	first := got[0]
	first.Entries = nil
	if first.Location.String() != ny.String() {
		t.Fatalf("location %v", first.Location)
	}
	first.Location = ny
	if !reflect.DeepEqual(first, want) {
		t.Fatalf("facts\n%+v\nwant\n%+v", first, want)
	}
	if len(got[0].Entries) != 0 {
		t.Fatalf("first entry saw entries %v", got[0].Entries)
	}
	if len(got[1].Entries) != 1 || !got[1].Entries[0].Equal(at1) || !got[1].At.Equal(at2) {
		t.Fatalf("re-entry saw entries %v at %v, want [%v]", got[1].Entries, got[1].At, at1)
	}
	// A check asks the rule too.
	if d := ix.Check(context.Background(), gate.Scan{Barcode: "F1", Lane: "x", Direction: gate.In, At: at2, LaneEvents: []string{"other"}}); !d.Admit {
		t.Fatalf("check: %+v", d)
	}
	if got := k.recorded(); len(got) != 3 || got[2].Location != time.UTC || got[2].Zone != "" {
		t.Fatalf("the check's facts: %+v", got[len(got)-1])
	}
}

func TestRuleRefusesWithItsDetail(t *testing.T) {
	ctx := context.Background()
	k := &ruleKit{}
	ix := openRules(t, vfs.NewMem(), k)
	e := derby
	e.Rule = "false"
	putEvent(t, ix, e)
	load(t, ix, tk("N1", "derby"))
	d := scanAt(ix, "N1", during)
	if d.Admit || d.Reason != gate.ReasonRule || d.Detail != "event rule: false was false" || d.Event != "derby" || d.Seq == 0 {
		t.Fatalf("%+v", d)
	}
	// The refusal spent nothing: with the rule gone the ticket enters.
	e.Rule = ""
	putEvent(t, ix, e)
	if d := scanAt(ix, "N1", during); d.Reason != gate.ReasonOK {
		t.Fatalf("after the rule went: %+v", d)
	}
	// A lane's rule.
	load(t, ix, tk("N2", "derby"))
	lane := gate.Lane{ID: "vip-1", Direction: gate.In, Rule: fakeRule(func(f *gate.RuleFacts) (bool, string) { return f.PriceType == "VIP", "price_type == VIP was false" })}
	d = ix.Scan(ctx, lane.Scan("N2", during))
	if d.Reason != gate.ReasonRule || d.Detail != "lane vip-1 rule: price_type == VIP was false" {
		t.Fatalf("lane rule: %+v", d)
	}
	// Exits are never refused by a rule.
	if d := exitAt(ix, "N1", during.Add(time.Minute)); d.Reason != gate.ReasonExit {
		t.Fatalf("exit: %+v", d)
	}
	rep, err := ix.Report(ctx, "derby", during)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Denials[gate.ReasonRule] != 2 {
		t.Fatalf("denials %v, want 2 for rule", rep.Denials)
	}
	checkCounters(t, ix)
}

// TestStoredRuleThatNoLongerCompiles: a store opened with a compiler that
// refuses a stored rule refuses that event's scans (fail closed), and the
// event can be put again.
func TestStoredRuleThatNoLongerCompiles(t *testing.T) {
	fs := vfs.NewMem()
	k := &ruleKit{}
	ix := openRules(t, fs, k)
	e := derby
	e.Rule = "true"
	putEvent(t, ix, e)
	load(t, ix, tk("S1", "derby"), tk("S2", "derby"))
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	o := testOptions(fs)
	o.CompileRule = func([]byte) (gate.Rule, error) { return nil, gate.Errorf(gate.EINVALID, "no longer") }
	ix2, err := Open("data", o)
	if err != nil {
		t.Fatal(err)
	}
	defer ix2.Close()
	d := scanAt(ix2, "S1", during)
	if d.Reason != gate.ReasonRule || !strings.Contains(d.Detail, "does not compile") {
		t.Fatalf("%+v", d)
	}
	e.Rule = ""
	if _, err := ix2.PutEvent(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	if d := scanAt(ix2, "S1", during); d.Reason != gate.ReasonOK {
		t.Fatalf("%+v", d)
	}
}
