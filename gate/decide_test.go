package gate_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/admitgate/admit/gate"
)

var (
	t0     = time.Date(2026, 12, 5, 18, 0, 0, 0, time.UTC)
	derby  = gate.Event{ID: "derby", OpensAt: t0, ClosesAt: t0.Add(6 * time.Hour)}
	cup    = gate.Event{ID: "cup", OpensAt: t0.Add(14 * 24 * time.Hour), ClosesAt: t0.Add(14*24*time.Hour + 6*time.Hour)}
	fest   = gate.Event{ID: "fest", OpensAt: t0, ClosesAt: t0.Add(6 * time.Hour), Reentry: true}
	double = gate.Event{ID: "double", OpensAt: t0, ClosesAt: t0.Add(6 * time.Hour), Entries: 2}
	events = gate.NewEventSet(derby, cup, fest, double)
)

func ticket(events ...string) gate.Ticket {
	return gate.Ticket{Barcode: "B1", Provider: "p", Events: events, State: gate.StateValid,
		PriceType: gate.Code{Code: "ADU", Name: "Adult"}}
}

// TestDecide: the ticket's state and the event windows. The cases that
// read and write redemptions (entries, re-entries, exits, passes) are
// scripts in testdata/decide (TestDecideScript).
func TestDecide(t *testing.T) {
	in := t0.Add(time.Hour)
	tests := []struct {
		name       string
		ticket     gate.Ticket
		at         time.Time
		laneEvents []string
		want       gate.Reason
		wantEvent  string
	}{
		{name: "cancelled", ticket: func() gate.Ticket { tk := ticket("derby"); tk.State = gate.StateCancelled; return tk }(),
			want: gate.ReasonCancelled},
		{name: "invalidated", ticket: func() gate.Ticket { tk := ticket("derby"); tk.State = gate.StateInvalidated; return tk }(),
			want: gate.ReasonInvalidated},
		{name: "revoked", ticket: func() gate.Ticket { tk := ticket("derby"); tk.State = gate.StateRevoked; return tk }(),
			want: gate.ReasonRevoked},
		{name: "blocked", ticket: func() gate.Ticket { tk := ticket("derby"); tk.State = gate.StateBlocked; return tk }(),
			want: gate.ReasonBlocked},
		{name: "wrong event at a configured lane", ticket: ticket("cup"), laneEvents: []string{"derby"},
			want: gate.ReasonWrongEvent},
		{name: "event the appliance does not know", ticket: ticket("gone"), want: gate.ReasonWrongEvent},
		{name: "not yet valid", ticket: ticket("cup"), want: gate.ReasonNotYetValid, wantEvent: "cup"},
		{name: "expired", ticket: ticket("derby"), at: t0.Add(7 * time.Hour), want: gate.ReasonExpired, wantEvent: "derby"},
		{name: "not yet valid wins over expired", ticket: ticket("derby", "cup"), at: t0.Add(7 * time.Hour),
			want: gate.ReasonNotYetValid, wantEvent: "cup"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at := tt.at
			if at.IsZero() {
				at = in
			}
			s := gate.Scan{Barcode: tt.ticket.Barcode, Lane: "south-2", Direction: gate.In, At: at, LaneEvents: tt.laneEvents}
			tk := tt.ticket
			o := gate.Decide(gate.Input{Scan: &s, Ticket: &tk, Events: events, Seq: 42})
			d := o.Decision
			if d.Reason != tt.want {
				t.Fatalf("reason = %s, want %s", d.Reason, tt.want)
			}
			if d.Admit || o.Write {
				t.Errorf("admit = %v, write = %v for %s", d.Admit, o.Write, d.Reason)
			}
			if tt.wantEvent != "" && d.Event != tt.wantEvent {
				t.Errorf("event = %q, want %q", d.Event, tt.wantEvent)
			}
			if d.Seq != 42 || d.Barcode != tk.Barcode || d.Lane != "south-2" || !d.At.Equal(at) || d.Ticket == nil {
				t.Errorf("decision identity = %+v", d)
			}
		})
	}
}

func TestAnnul(t *testing.T) {
	m := gate.Movement{At: t0, Lane: "l", Seq: 1}
	tests := []struct {
		name    string
		r       gate.Redemption
		reason  gate.Reason
		want    gate.Redemption
		wantErr string
	}{
		{"ok gives the entry back", gate.Redemption{Event: "e", Admissions: 1, Inside: true, First: m, Last: m},
			gate.ReasonOK, gate.Redemption{Event: "e", Last: m}, ""},
		{"reentry", gate.Redemption{Event: "e", Admissions: 1, Reentries: 1, Exits: 1, Inside: true, First: m, Last: m},
			gate.ReasonReentry, gate.Redemption{Event: "e", Admissions: 1, Exits: 1, First: m, Last: m}, ""},
		{"exit", gate.Redemption{Event: "e", Admissions: 1, Exits: 1, First: m, Last: m},
			gate.ReasonExit, gate.Redemption{Event: "e", Admissions: 1, Inside: true, First: m, Last: m}, ""},
		{"refusal", gate.Redemption{Event: "e"}, gate.ReasonAlreadyUsed, gate.Redemption{}, "nothing to annul"},
		{"nothing left", gate.Redemption{Event: "e"}, gate.ReasonOK, gate.Redemption{}, "no admission left"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := gate.Annul(tt.r, gate.Decision{Seq: 9, Reason: tt.reason})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || gate.ErrorCode(err) != gate.ECONFLICT {
					t.Fatalf("err = %v, want conflict %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestCheckBarcode(t *testing.T) {
	tests := []struct {
		barcode string
		problem string
		offset  int
	}{
		{"9836900602677354", "", 0},
		{"BO-WTekurHSvCp4", "", 0},
		{"with space and / ? %", "", 0},
		{"Müller-ÄÖÜ-票", "", 0},
		{"]C1" + "01" + "\x1d" + "10ABC", "", 0}, // GS1 group separator
		{strings.Repeat("x", 256), "", 0},
		{"", "empty", 0},
		{strings.Repeat("x", 257), "too_long", 0},
		{"ab\x00c", "control_character", 2},
		{"ab\tc", "control_character", 2},
		{"abc\x7f", "control_character", 3},
		{"a\u0085b", "control_character", 1},
		{"ab\xffc", "invalid_utf8", 2},
		{"ab\xc3", "invalid_utf8", 2},
	}
	for _, tt := range tests {
		err := gate.CheckBarcode(tt.barcode)
		if tt.problem == "" {
			if err != nil {
				t.Errorf("CheckBarcode(%q) = %v", tt.barcode, err)
			}
			continue
		}
		be, ok := err.(*gate.BarcodeError)
		if !ok || be.Problem != tt.problem || be.Offset != tt.offset {
			t.Errorf("CheckBarcode(%q) = %v, want %s at %d", tt.barcode, err, tt.problem, tt.offset)
		}
	}
}

func TestReasonsRoundTrip(t *testing.T) {
	if n := len(gate.Reasons()); n != 21 {
		t.Fatalf("%d reasons, want the 15 of DESIGN.md plus lane_busy, stale_code, offline, rule, zone_full, stale_data and override", n)
	}
	// The numbers are stored in the journal: new reasons are appended.
	for r, want := range map[gate.Reason]int{gate.ReasonError: 15, gate.ReasonStaleCode: 16, gate.ReasonOffline: 17,
		gate.ReasonRule: 18, gate.ReasonZoneFull: 19, gate.ReasonStaleData: 20, gate.ReasonOverride: 21} {
		if int(r) != want {
			t.Errorf("%s = %d, want %d: a reason was inserted, not appended", r, r, want)
		}
	}
	if !gate.ReasonOverride.Admits() || gate.ReasonOffline.Admits() || gate.ReasonZoneFull.Admits() {
		t.Error("override admits; offline and zone_full refuse")
	}
	for _, r := range gate.Reasons() {
		b, err := r.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back gate.Reason
		if err := back.UnmarshalText(b); err != nil || back != r {
			t.Errorf("%s: round trip gave %v, %v", r, back, err)
		}
	}
	if _, err := gate.ParseReason("maybe"); gate.ErrorCode(err) != gate.EINVALID {
		t.Errorf("unknown reason: %v", err)
	}
}

func TestCheckID(t *testing.T) {
	for _, ok := range []string{"MATCH-2026-12-05", "secutix-main", "a.b_c:d@e+f"} {
		if err := gate.CheckID("event", ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "with space", "a/b", strings.Repeat("a", 129), "é"} {
		if err := gate.CheckID("event", bad); gate.ErrorCode(err) != gate.EINVALID {
			t.Errorf("%q: %v, want invalid", bad, err)
		}
	}
}

func TestZeroValuesMarshal(t *testing.T) {
	// A lost journal entry carries an empty decision: it must still encode.
	b, err := json.Marshal(gate.JournalEntry{Seq: 3, Kind: gate.KindLost})
	if err != nil {
		t.Fatal(err)
	}
	var back gate.JournalEntry
	if err := json.Unmarshal(b, &back); err != nil || back.Seq != 3 || back.Kind != gate.KindLost || back.Decision.Reason != 0 {
		t.Fatalf("round trip of %s: %+v, %v", b, back, err)
	}
	if _, err := json.Marshal(gate.Decision{Reason: gate.Reason(200)}); err == nil {
		t.Error("an undeclared reason marshalled")
	}
}
