package index

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/admitgate/admit/gate"
)

// TestScanReasons drives every reason of DESIGN.md through the real store:
// each case loads its tickets, runs a sequence of scans and checks the last
// decision.
func TestScanReasons(t *testing.T) {
	ctx := context.Background()
	type step struct {
		barcode string
		dir     gate.Direction
		at      time.Time
		lane    []string
		deny    gate.Reason
	}
	in := func(b string) step { return step{barcode: b, dir: gate.In} }
	out := func(b string) step { return step{barcode: b, dir: gate.Out} }
	tests := []struct {
		name    string
		tickets []gate.Ticket
		setup   func(t *testing.T, ix *Index)
		steps   []step
		want    []gate.Reason // one per step
		check   func(t *testing.T, ix *Index, last gate.Decision)
	}{
		{name: "ok then already_used", tickets: []gate.Ticket{tk("A", "derby")},
			steps: []step{in("A"), in("A")}, want: []gate.Reason{gate.ReasonOK, gate.ReasonAlreadyUsed},
			check: func(t *testing.T, ix *Index, d gate.Decision) {
				if d.FirstUsed == nil || d.FirstUsed.Lane != "north-1" || d.FirstUsed.Seq == 0 || d.FirstUsed.Appliance != "test" {
					t.Errorf("first used = %+v", d.FirstUsed)
				}
			}},
		{name: "malformed never reaches the store", steps: []step{in("bad\x01code"), in(""), in(strings.Repeat("x", 257))},
			want: []gate.Reason{gate.ReasonMalformed, gate.ReasonMalformed, gate.ReasonMalformed}},
		{name: "deny from the decoder is journaled as is", tickets: []gate.Ticket{tk("A", "derby")},
			steps: []step{{barcode: "A", dir: gate.In, deny: gate.ReasonMalformed}, in("A")},
			want:  []gate.Reason{gate.ReasonMalformed, gate.ReasonOK}},
		{name: "lane busy from the lane", tickets: []gate.Ticket{tk("A", "derby")},
			steps: []step{{barcode: "A", dir: gate.In, deny: gate.ReasonLaneBusy}}, want: []gate.Reason{gate.ReasonLaneBusy}},
		{name: "unknown", tickets: []gate.Ticket{tk("A", "derby")}, steps: []step{in("B")}, want: []gate.Reason{gate.ReasonUnknown}},
		{name: "cancelled upstream", tickets: []gate.Ticket{func() gate.Ticket { x := tk("A", "derby"); x.State = gate.StateCancelled; return x }()},
			steps: []step{in("A")}, want: []gate.Reason{gate.ReasonCancelled}},
		{name: "invalidated upstream", tickets: []gate.Ticket{func() gate.Ticket { x := tk("A", "derby"); x.State = gate.StateInvalidated; return x }()},
			steps: []step{in("A")}, want: []gate.Reason{gate.ReasonInvalidated}},
		{name: "cancelled by an admin", tickets: []gate.Ticket{tk("A", "derby")},
			setup: func(t *testing.T, ix *Index) { must(t)(ix.Cancel(ctx, "A", "admin")) },
			steps: []step{in("A")}, want: []gate.Reason{gate.ReasonCancelled}},
		{name: "invalidated by an admin", tickets: []gate.Ticket{tk("A", "derby")},
			setup: func(t *testing.T, ix *Index) { must(t)(ix.Invalidate(ctx, "A", "admin")) },
			steps: []step{in("A")}, want: []gate.Reason{gate.ReasonInvalidated}},
		{name: "blocked then unblocked", tickets: []gate.Ticket{tk("A", "derby")},
			setup: func(t *testing.T, ix *Index) { must(t)(ix.Block(ctx, "A", "admin")) },
			steps: []step{in("A")}, want: []gate.Reason{gate.ReasonBlocked},
			check: func(t *testing.T, ix *Index, _ gate.Decision) {
				must(t)(ix.Unblock(ctx, "A", "admin"))
				if d := scanAt(ix, "A", during); d.Reason != gate.ReasonOK {
					t.Errorf("after unblock: %s", d.Reason)
				}
			}},
		{name: "revoked after reissue", tickets: []gate.Ticket{tk("A", "derby")},
			setup: func(t *testing.T, ix *Index) { must(t)(ix.Reissue(ctx, "A", "A2", "admin")) },
			steps: []step{in("A"), in("A2"), in("A2")}, want: []gate.Reason{gate.ReasonRevoked, gate.ReasonOK, gate.ReasonAlreadyUsed}},
		{name: "reissue after entry: the new barcode is already used", tickets: []gate.Ticket{tk("A", "derby")},
			steps: []step{in("A")}, want: []gate.Reason{gate.ReasonOK},
			check: func(t *testing.T, ix *Index, first gate.Decision) {
				must(t)(ix.Reissue(ctx, "A", "A2", "admin"))
				d := scanAt(ix, "A2", during)
				if d.Reason != gate.ReasonAlreadyUsed || d.FirstUsed == nil || d.FirstUsed.Seq != first.Seq {
					t.Errorf("reprint: %s first %+v, want already_used from seq %d", d.Reason, d.FirstUsed, first.Seq)
				}
				// The exit through the old barcode and the new one share redemptions.
				if d := exitAt(ix, "A", during); d.Reason != gate.ReasonExit || d.Event != "derby" {
					t.Errorf("exit with the old barcode: %s %q", d.Reason, d.Event)
				}
			}},
		{name: "wrong event at a configured lane", tickets: []gate.Ticket{tk("A", "cup")},
			steps: []step{{barcode: "A", dir: gate.In, lane: []string{"derby"}}}, want: []gate.Reason{gate.ReasonWrongEvent}},
		{name: "not yet valid", tickets: []gate.Ticket{tk("A", "cup")}, steps: []step{in("A")}, want: []gate.Reason{gate.ReasonNotYetValid}},
		{name: "expired", tickets: []gate.Ticket{tk("A", "past")}, steps: []step{in("A")}, want: []gate.Reason{gate.ReasonExpired}},
		{name: "pass over two events: once per event", tickets: []gate.Ticket{tk("P", "derby", "double")},
			steps: []step{in("P"), in("P"), in("P"), in("P")},
			want:  []gate.Reason{gate.ReasonOK, gate.ReasonOK, gate.ReasonOK, gate.ReasonAlreadyUsed}},
		{name: "pass: each event at its own lane", tickets: []gate.Ticket{tk("P", "derby", "fest")},
			steps: []step{{barcode: "P", dir: gate.In, lane: []string{"fest"}}, {barcode: "P", dir: gate.In, lane: []string{"derby"}},
				{barcode: "P", dir: gate.In, lane: []string{"derby"}}},
			want: []gate.Reason{gate.ReasonOK, gate.ReasonOK, gate.ReasonAlreadyUsed}},
		{name: "re-entry after exit", tickets: []gate.Ticket{tk("F", "fest")},
			steps: []step{in("F"), in("F"), out("F"), in("F"), out("F"), in("F")},
			want: []gate.Reason{gate.ReasonOK, gate.ReasonAlreadyUsed, gate.ReasonExit, gate.ReasonReentry,
				gate.ReasonExit, gate.ReasonReentry}},
		{name: "no re-entry without the event allowing it", tickets: []gate.Ticket{tk("A", "derby")},
			steps: []step{in("A"), out("A"), in("A")}, want: []gate.Reason{gate.ReasonOK, gate.ReasonExit, gate.ReasonAlreadyUsed},
			check: func(t *testing.T, ix *Index, _ gate.Decision) {
				v, err := ix.Ticket(ctx, "A")
				if err != nil {
					t.Fatal(err)
				}
				if len(v.Redemptions) != 1 || v.Redemptions[0].Exits != 1 || v.Redemptions[0].Inside {
					t.Errorf("redemptions = %+v", v.Redemptions)
				}
			}},
		{name: "exit of a cancelled ticket", tickets: []gate.Ticket{tk("A", "derby")},
			setup: func(t *testing.T, ix *Index) { must(t)(ix.Cancel(ctx, "A", "admin")) },
			steps: []step{out("A")}, want: []gate.Reason{gate.ReasonExit}},
		{name: "used upstream", tickets: []gate.Ticket{func() gate.Ticket { x := tk("A", "derby"); x.UsedUpstream = true; return x }()},
			steps: []step{in("A")}, want: []gate.Reason{gate.ReasonAlreadyUsed},
			check: func(t *testing.T, ix *Index, d gate.Decision) {
				if d.FirstUsed == nil || d.FirstUsed.Lane != gate.UpstreamLane {
					t.Errorf("first used = %+v", d.FirstUsed)
				}
			}},
		{name: "two entries", tickets: []gate.Ticket{tk("D", "double")},
			steps: []step{in("D"), in("D"), in("D")}, want: []gate.Reason{gate.ReasonOK, gate.ReasonOK, gate.ReasonAlreadyUsed}},
		{name: "annul gives the entry back", tickets: []gate.Ticket{tk("A", "derby")},
			steps: []step{in("A")}, want: []gate.Reason{gate.ReasonOK},
			check: func(t *testing.T, ix *Index, d gate.Decision) {
				ann, err := ix.Annul(ctx, d.Seq, "lane:north-1")
				if err != nil {
					t.Fatal(err)
				}
				if ann.Kind != gate.KindAnnulment || ann.Decision.Seq != d.Seq || ann.Seq <= d.Seq || ann.By != "lane:north-1" {
					t.Errorf("annulment = %+v", ann)
				}
				if _, err := ix.Annul(ctx, d.Seq, "x"); gate.ErrorCode(err) != gate.ECONFLICT {
					t.Errorf("second annul: %v", err)
				}
				again := scanAt(ix, "A", during)
				if again.Reason != gate.ReasonOK {
					t.Errorf("after annul: %s", again.Reason)
				}
				refused := scanAt(ix, "A", during)
				if _, err := ix.Annul(ctx, refused.Seq, "x"); gate.ErrorCode(err) != gate.ECONFLICT {
					t.Errorf("annul of a refusal: %v", err)
				}
				if _, err := ix.Annul(ctx, 999999, "x"); gate.ErrorCode(err) != gate.ENOTFOUND {
					t.Errorf("annul of an unknown seq: %v", err)
				}
				waitWritten(t, ix)
				es, err := ix.Entries(ctx, d.Seq-1, 1)
				if err != nil || len(es) != 1 || es[0].Annulled != ann.Seq {
					t.Errorf("annulled entry = %+v, %v", es, err)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ix, _ := openMem(t)
			if len(tt.tickets) > 0 {
				load(t, ix, tt.tickets...)
			}
			if tt.setup != nil {
				tt.setup(t, ix)
			}
			var last gate.Decision
			for i, st := range tt.steps {
				at := st.at
				if at.IsZero() {
					at = during.Add(time.Duration(i) * time.Second)
				}
				s := gate.Scan{Barcode: st.barcode, Lane: "north-1", Direction: st.dir, At: at, LaneEvents: st.lane, Deny: st.deny}
				last = ix.Scan(ctx, s)
				if last.Reason != tt.want[i] {
					t.Fatalf("step %d (%s %s): reason %s (%s), want %s", i, st.barcode, st.dir, last.Reason, last.Detail, tt.want[i])
				}
				if last.Admit != tt.want[i].Admits() || last.Seq == 0 {
					t.Fatalf("step %d: admit %v seq %d", i, last.Admit, last.Seq)
				}
				if chk := ix.Check(ctx, s); chk.Seq != 0 {
					t.Fatalf("check carries seq %d", chk.Seq)
				}
			}
			if tt.check != nil {
				tt.check(t, ix, last)
			}
			waitWritten(t, ix)
			es, err := ix.Entries(ctx, 0, 0)
			if err != nil {
				t.Fatal(err)
			}
			for i, e := range es {
				if e.Seq != uint64(i+1) {
					t.Fatalf("journal gap: entry %d has seq %d", i, e.Seq)
				}
			}
			if uint64(len(es)) != ix.seq.Load() {
				t.Fatalf("journal has %d entries, %d numbers assigned", len(es), ix.seq.Load())
			}
		})
	}
}

func must(t *testing.T) func(gate.Ticket, error) {
	return func(_ gate.Ticket, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestCheckRedeemsNothing(t *testing.T) {
	ix, _ := openMem(t)
	load(t, ix, tk("A", "derby"))
	s := gate.Scan{Barcode: "A", Lane: "l", Direction: gate.In, At: during}
	for range 3 {
		if d := ix.Check(context.Background(), s); d.Reason != gate.ReasonOK || d.Seq != 0 {
			t.Fatalf("check: %+v", d)
		}
	}
	if ix.seq.Load() != 0 {
		t.Fatalf("check journaled %d entries", ix.seq.Load())
	}
	if d := ix.Scan(context.Background(), s); d.Reason != gate.ReasonOK {
		t.Fatalf("scan after checks: %s", d.Reason)
	}
}

func TestNonce(t *testing.T) {
	ctx := context.Background()
	ix, fs := openMem(t)
	load(t, ix, tk("A", "derby"), tk("B", "derby"))
	s := gate.Scan{Barcode: "A", Lane: "l", Direction: gate.In, At: during, Nonce: "n-1"}
	first := ix.Scan(ctx, s)
	if first.Reason != gate.ReasonOK || first.Replayed {
		t.Fatalf("first: %+v", first)
	}
	s.At = during.Add(14 * time.Minute)
	again := ix.Scan(ctx, s)
	if !again.Replayed || again.Seq != first.Seq || again.Reason != gate.ReasonOK {
		t.Fatalf("retry: %+v", again)
	}
	// A refusal is replayed too, and a nonce on another barcode is its own.
	r := gate.Scan{Barcode: "nope", Lane: "l", Direction: gate.In, At: during, Nonce: "n-2"}
	d1, d2 := ix.Scan(ctx, r), ix.Scan(ctx, r)
	if d1.Reason != gate.ReasonUnknown || !d2.Replayed || d2.Seq != d1.Seq {
		t.Fatalf("refusal replay: %+v %+v", d1, d2)
	}
	// After the window the nonce decides again.
	s.At = during.Add(16 * time.Minute)
	if d := ix.Scan(ctx, s); d.Replayed || d.Reason != gate.ReasonAlreadyUsed {
		t.Fatalf("after the window: %+v", d)
	}
	// After a restart the nonce is remembered.
	now := time.Now()
	if _, err := ix.PutEvent(ctx, gate.Event{ID: "tonight", OpensAt: now.Add(-time.Hour), ClosesAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, err := ix.UpdateEvents(ctx, "B", []string{"tonight"}, nil, "admin"); err != nil {
		t.Fatal(err)
	}
	b := gate.Scan{Barcode: "B", Lane: "l", Direction: gate.In, At: time.Now(), Nonce: "n-3"}
	firstB := ix.Scan(ctx, b)
	waitWritten(t, ix)
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	ix2 := openFS(t, fs)
	if d := ix2.Scan(ctx, b); !d.Replayed || d.Seq != firstB.Seq || d.Reason != gate.ReasonOK {
		t.Fatalf("after restart: %+v (first %+v)", d, firstB)
	}
	if v, _ := ix2.Ticket(ctx, "B"); len(v.Redemptions) != 1 || v.Redemptions[0].Admissions != 1 {
		t.Fatalf("replay redeemed: %+v", v.Redemptions)
	}
}

// TestOpenEventsCache: the cached list of open events equals a fresh count
// at every instant around the windows' edges.
func TestOpenEventsCache(t *testing.T) {
	ix, _ := openMem(t)
	set := ix.events.Load()
	var times []time.Time
	for _, e := range set.All() {
		for _, b := range []time.Time{e.OpensAt, e.ClosesAt} {
			times = append(times, b.Add(-time.Nanosecond), b, b.Add(time.Nanosecond))
		}
	}
	for round := range 2 { // forwards, then backwards: the cache must not stick
		for i := range times {
			at := times[i]
			if round == 1 {
				at = times[len(times)-1-i]
			}
			var want []string
			for _, e := range set.All() {
				if e.WindowAt(at) == gate.WindowOpen {
					want = append(want, e.ID)
				}
			}
			if got := ix.openEvents(set, at); strings.Join(got, ",") != strings.Join(want, ",") {
				t.Fatalf("at %v: %v, want %v", at, got, want)
			}
		}
	}
}
