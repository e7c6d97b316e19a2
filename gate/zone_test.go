package gate_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/admitgate/admit/gate"
)

func TestParseClock(t *testing.T) {
	for _, c := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"04:00", 4 * time.Hour, true},
		{"23:30:15", 23*time.Hour + 30*time.Minute + 15*time.Second, true},
		{"00:00", 0, true},
		{"24:00", 0, false},
		{"4:00", 0, false},
		{"04:60", 0, false},
		{"04", 0, false},
		{"04:00:00:00", 0, false},
		{"", 0, false},
		{"ab:cd", 0, false},
	} {
		got, err := gate.ParseClock(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("ParseClock(%q) = %v, %v", c.in, got, err)
		}
	}
}

func TestZoneValidate(t *testing.T) {
	for _, c := range []struct {
		z  gate.Zone
		ok bool
	}{
		{gate.Zone{ID: "north-stand", Name: "North stand", Capacity: 2400, ExitAllAt: "04:00"}, true},
		{gate.Zone{ID: "outside"}, false},
		{gate.Zone{ID: "a b"}, false},
		{gate.Zone{ID: "z", Capacity: -1}, false},
		{gate.Zone{ID: "z", Capacity: gate.MaxZoneCapacity + 1}, false},
		{gate.Zone{ID: "z", ExitAllAt: "25:00"}, false},
	} {
		if err := c.z.Validate(); (err == nil) != c.ok {
			t.Errorf("%+v: %v", c.z, err)
		}
	}
}

// TestMoves: a lane's move for a scan in is its from and to, an exit
// lane's the reverse of its own; a scan against the lane's direction makes
// the reverse move.
func TestMoves(t *testing.T) {
	entry := gate.Lane{ID: "n-1", Direction: gate.In, From: gate.Outside, To: "north"}
	exit := gate.Lane{ID: "n-x", Direction: gate.Out, From: "north", To: gate.Outside}
	inner := gate.Lane{ID: "s-1", Direction: gate.In, From: "north", To: "stand"}
	none := gate.Lane{ID: "d-1", Direction: gate.In}
	at := time.Now()
	for _, c := range []struct {
		l     gate.Lane
		dir   gate.Direction
		want  gate.Move
		inner bool
	}{
		{entry, gate.In, gate.Move{From: gate.Outside, To: "north"}, false},
		{entry, gate.Out, gate.Move{From: "north", To: gate.Outside}, false},
		{exit, gate.Out, gate.Move{From: "north", To: gate.Outside}, false},
		{exit, gate.In, gate.Move{From: gate.Outside, To: "north"}, false},
		{inner, gate.In, gate.Move{From: "north", To: "stand"}, true},
		{inner, gate.Out, gate.Move{From: "stand", To: "north"}, true},
		{none, gate.In, gate.Move{}, false},
	} {
		s := c.l.Scan("B", at)
		s.Direction = c.dir
		if got := s.Move(); got != c.want || got.Inner() != c.inner {
			t.Errorf("%s %s: %v (inner %v), want %v", c.l.ID, c.dir, got, got.Inner(), c.want)
		}
	}
}

// TestDecideMove: a move inside the venue spends nothing; going out is
// always let through; going in needs a valid ticket for an open event.
func TestDecideMove(t *testing.T) {
	now := time.Date(2026, 12, 5, 19, 0, 0, 0, time.UTC)
	open := gate.Event{ID: "derby", OpensAt: now.Add(-time.Hour), ClosesAt: now.Add(time.Hour)}
	later := gate.Event{ID: "cup", OpensAt: now.Add(24 * time.Hour)}
	done := gate.Event{ID: "old", ClosesAt: now.Add(-time.Hour)}
	events := gate.NewEventSet(open, later, done)
	ticket := func(state gate.State, evs ...string) *gate.Ticket {
		return &gate.Ticket{Barcode: "B", Provider: "p", Events: evs, State: state}
	}
	lane := gate.Lane{ID: "s-1", Direction: gate.In, From: "north", To: "stand"}
	for _, c := range []struct {
		name  string
		t     *gate.Ticket
		dir   gate.Direction
		want  gate.Reason
		event string
	}{
		{"in", ticket(gate.StateValid, "derby"), gate.In, gate.ReasonOK, ""},
		{"out", ticket(gate.StateCancelled, "old"), gate.Out, gate.ReasonExit, ""},
		{"cancelled", ticket(gate.StateCancelled, "derby"), gate.In, gate.ReasonCancelled, ""},
		{"not yet", ticket(gate.StateValid, "cup"), gate.In, gate.ReasonNotYetValid, "cup"},
		{"closed", ticket(gate.StateValid, "old"), gate.In, gate.ReasonExpired, "old"},
		{"another event", ticket(gate.StateValid, "nope"), gate.In, gate.ReasonWrongEvent, ""},
	} {
		s := lane.Scan("B", now)
		s.Direction = c.dir
		out := gate.DecideMove(gate.Input{Scan: &s, Ticket: c.t, Events: events, Seq: 7})
		d := out.Decision
		if d.Reason != c.want || d.Event != c.event || out.Write || d.Seq != 7 {
			t.Errorf("%s: %+v", c.name, out)
		}
		if c.want == gate.ReasonOK && out.Redemption.Event != "derby" {
			t.Errorf("%s: checked against %q", c.name, out.Redemption.Event)
		}
	}
}

func TestForce(t *testing.T) {
	now := time.Date(2026, 12, 5, 19, 0, 0, 0, time.UTC)
	events := gate.NewEventSet(gate.Event{ID: "derby"}, gate.Event{ID: "cup"})
	tk := &gate.Ticket{Barcode: "B", Provider: "p", Events: []string{"derby"}, State: gate.StateValid}
	lane := gate.Lane{ID: "n-1", Direction: gate.In}
	s := lane.Scan("B", now)
	used := gate.Redemption{Event: "derby", Admissions: 1, Inside: true, Entries: []time.Time{now.Add(-time.Hour)},
		First: gate.Movement{At: now.Add(-time.Hour), Lane: "n-1"}}
	refused := gate.Decision{Reason: gate.ReasonAlreadyUsed, Seq: 4, Barcode: "B", Lane: "n-1", Direction: gate.In, Event: "derby"}
	o := gate.Override{By: "kim", Why: "checked"}
	out := gate.Force(gate.Input{Scan: &s, Ticket: tk, Redemptions: []gate.Redemption{used}, Events: events, Seq: 9}, &refused, o, true)
	d := out.Decision
	if !d.Admit || d.Reason != gate.ReasonOverride || d.Seq != 9 || d.Override.Refused != gate.ReasonAlreadyUsed ||
		d.Override.RefusedSeq != 4 || d.Override.By != "kim" || !out.Write {
		t.Fatalf("%+v %+v", out, d.Override)
	}
	if r := out.Redemption; r.Admissions != 2 || len(r.Entries) != 2 || !r.First.At.Equal(used.First.At) || r.Last.Seq != 9 {
		t.Fatalf("redemption %+v", r)
	}
	// The annulment gives the entry back.
	if r, err := gate.Annul(out.Redemption, d); err != nil || r.Admissions != 1 || len(r.Entries) != 1 {
		t.Fatalf("annul %+v %v", r, err)
	}
	// An unknown barcode, or a move that redeems nothing: nothing written.
	for _, c := range []struct {
		in     gate.Input
		redeem bool
	}{{gate.Input{Scan: &s, Events: events}, true}, {gate.Input{Scan: &s, Ticket: tk, Events: events}, false}} {
		if out := gate.Force(c.in, &refused, o, c.redeem); out.Write || !out.Decision.Admit {
			t.Errorf("%+v", out)
		}
	}
	wrong := refused
	wrong.Event, wrong.Reason = "", gate.ReasonWrongEvent
	if out := gate.Force(gate.Input{Scan: &s, Ticket: &gate.Ticket{Barcode: "B", Events: []string{"cup"}, State: gate.StateValid},
		Events: events}, &wrong, o, true); !out.Write || out.Decision.Event != "cup" {
		t.Errorf("an override of wrong_event redeems the ticket's own event: %+v", out)
	}
	for _, r := range []gate.Reason{gate.ReasonLaneBusy, gate.ReasonError, gate.ReasonOK, gate.ReasonOverride} {
		if r.Overridable() {
			t.Errorf("%s is overridable", r)
		}
	}
	if !gate.ReasonZoneFull.Overridable() || !gate.ReasonRule.Overridable() {
		t.Error("zone_full and rule refusals are overridable (zone_full as the zone allows)")
	}
}

func TestRuleSourceJSON(t *testing.T) {
	var e gate.Event
	if err := json.Unmarshal([]byte(`{"id":"x","rule": {"<": [1, 2]} }`), &e); err != nil || e.Rule != `{"<": [1, 2]}` {
		t.Fatalf("%q %v", e.Rule, err)
	}
	b, err := json.Marshal(e)
	if err != nil || !json.Valid(b) || string(b) == "" {
		t.Fatalf("%s %v", b, err)
	}
	// encoding/json compacts it and escapes < as \u003c: the same JSON.
	var back gate.Event
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	var got, want any
	if json.Unmarshal([]byte(back.Rule), &got) != nil || json.Unmarshal([]byte(e.Rule), &want) != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("round trip %q (%s)", back.Rule, b)
	}
	if err := json.Unmarshal([]byte(`{"id":"x","rule":null}`), &e); err != nil || e.Rule != "" {
		t.Fatalf("null: %q %v", e.Rule, err)
	}
	if b, _ := json.Marshal(gate.Event{ID: "x"}); string(b) != `{"id":"x","name":"","opens_at":"0001-01-01T00:00:00Z","closes_at":"0001-01-01T00:00:00Z","reentry":false,"entries":0}` {
		t.Fatalf("an event without a rule: %s", b)
	}
}

func TestEventDatesAndTimeZone(t *testing.T) {
	t0 := time.Date(2026, 12, 5, 18, 0, 0, 0, time.UTC)
	e := gate.Event{ID: "e", OpensAt: t0, ClosesAt: t0.Add(6 * time.Hour)}
	if from, to, adm := e.Dates(); !from.Equal(t0) || !to.Equal(t0.Add(6*time.Hour)) || !adm.Equal(t0) {
		t.Errorf("dates %v %v %v", from, to, adm)
	}
	e.StartsAt, e.EndsAt = t0.Add(time.Hour), t0.Add(3*time.Hour)
	if from, to, _ := e.Dates(); !from.Equal(e.StartsAt) || !to.Equal(e.EndsAt) {
		t.Errorf("dates %v %v", from, to)
	}
	for _, c := range []struct {
		tz string
		ok bool
	}{{"Europe/Zurich", true}, {"UTC", true}, {"Local", false}, {"Mars/Olympus", false}, {"../../etc/passwd", false}} {
		e.TimeZone = c.tz
		if err := e.Validate(); (err == nil) != c.ok {
			t.Errorf("time zone %q: %v", c.tz, err)
		}
	}
	e.TimeZone, e.EndsAt = "", t0
	if err := e.Validate(); err == nil {
		t.Error("ends_at before starts_at")
	}
}
