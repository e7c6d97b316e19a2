package index

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/admitgate/admit/gate"
)

// The venue's claim, learning and replay are tested against real hub nodes
// in package venue (redeem*_test.go); here, what needs no hub.

func TestMergeMovement(t *testing.T) {
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	mv := func(m int, app string) gate.Movement {
		return gate.Movement{At: at(m), Lane: app + "-1", Seq: uint64(m), Appliance: app}
	}
	for _, tc := range []struct {
		name string
		r    gate.Redemption
		kind gate.Reason
		m    gate.Movement
		want gate.Redemption
	}{
		{"first entry", gate.Redemption{Event: "e"}, gate.ReasonOK, mv(1, "a"),
			gate.Redemption{Event: "e", Admissions: 1, Inside: true, First: mv(1, "a"), Last: mv(1, "a"), Entries: []time.Time{at(1)}}},
		{"an entry before the hub's: first, but not last", gate.Redemption{Event: "e", Admissions: 1, Inside: true, First: mv(5, "b"), Last: mv(5, "b"), Entries: []time.Time{at(5)}},
			gate.ReasonOK, mv(2, "a"),
			gate.Redemption{Event: "e", Admissions: 2, Inside: true, First: mv(2, "a"), Last: mv(5, "b"), Entries: []time.Time{at(2), at(5)}}},
		{"an exit after the entry", gate.Redemption{Event: "e", Admissions: 1, Inside: true, First: mv(1, "b"), Last: mv(1, "b"), Entries: []time.Time{at(1)}},
			gate.ReasonExit, mv(3, "a"),
			gate.Redemption{Event: "e", Admissions: 1, Exits: 1, First: mv(1, "b"), Last: mv(3, "a"), Entries: []time.Time{at(1)}}},
		{"an exit older than the hub's last entry leaves it inside", gate.Redemption{Event: "e", Admissions: 1, Reentries: 1, Exits: 1, Inside: true, First: mv(1, "b"), Last: mv(9, "b"), Entries: []time.Time{at(1), at(9)}},
			gate.ReasonExit, mv(4, "a"),
			gate.Redemption{Event: "e", Admissions: 1, Reentries: 1, Exits: 2, Inside: true, First: mv(1, "b"), Last: mv(9, "b"), Entries: []time.Time{at(1), at(9)}}},
		{"a re-entry", gate.Redemption{Event: "e", Admissions: 1, Exits: 1, First: mv(1, "b"), Last: mv(2, "b"), Entries: []time.Time{at(1)}},
			gate.ReasonReentry, mv(3, "a"),
			gate.Redemption{Event: "e", Admissions: 1, Reentries: 1, Exits: 1, Inside: true, First: mv(1, "b"), Last: mv(3, "a"), Entries: []time.Time{at(1), at(3)}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := mergeMovement(tc.r, tc.kind, tc.m); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got\n%+v\nwant\n%+v", got, tc.want)
			}
		})
	}
}

func TestLearnedMinutes(t *testing.T) {
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	mv := func(m int) gate.Movement { return gate.Movement{At: at(m), Lane: "l"} }
	min := func(m int) int64 { return minuteOf(at(m)) }
	full := make([]time.Time, gate.MaxEntryTimes)
	for i := range full {
		full[i] = at(i)
	}
	for _, tc := range []struct {
		name          string
		before, after *gate.Redemption
		want          []minuteDelta
	}{
		{"an entry learned", nil, &gate.Redemption{Event: "e", Admissions: 1, Inside: true, Last: mv(3), Entries: []time.Time{at(3)}},
			[]minuteDelta{{event: "e", minute: min(3), entries: 1}}},
		{"an entry and an exit since", &gate.Redemption{Event: "e", Admissions: 1, Inside: true, Last: mv(3), Entries: []time.Time{at(3)}},
			&gate.Redemption{Event: "e", Admissions: 1, Reentries: 1, Exits: 1, Inside: true, Last: mv(7), Entries: []time.Time{at(3), at(7)}},
			[]minuteDelta{{event: "e", minute: min(7), entries: 1, exits: 1}}},
		{"an annulment learned", &gate.Redemption{Event: "e", Admissions: 1, Inside: true, Last: mv(3), Entries: []time.Time{at(3)}},
			&gate.Redemption{Event: "e", Last: mv(3)},
			[]minuteDelta{{event: "e", minute: min(3), entries: -1}}},
		{"a full list drops its oldest: no movement", &gate.Redemption{Event: "e", Admissions: 1, Reentries: 255, Last: mv(255), Entries: full},
			&gate.Redemption{Event: "e", Admissions: 1, Reentries: 256, Inside: true, Last: mv(300), Entries: append(append([]time.Time{}, full[1:]...), at(300))},
			[]minuteDelta{{event: "e", minute: min(300), entries: 1}}},
		{"nothing new", &gate.Redemption{Event: "e", Admissions: 1, Last: mv(3), Entries: []time.Time{at(3)}},
			&gate.Redemption{Event: "e", Admissions: 1, Last: mv(3), Entries: []time.Time{at(3)}, Revision: 9}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := learnedMinutes(tc.before, tc.after); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// claimerOf is a Claimer that names an appliance and answers nothing: it
// lets UseVenue be tested without a hub.
type claimerOf string

func (c claimerOf) Appliance() string { return string(c) }
func (c claimerOf) Claim(context.Context, *gate.Claim) gate.ClaimResult {
	return gate.ClaimResult{Outcome: gate.ClaimOffline, Detail: "no hub in this test"}
}
func (c claimerOf) Current(context.Context, string, string) (*gate.HubRedemption, error) {
	return nil, gate.Errorf(gate.EUNAVAILABLE, "no hub in this test")
}
func (c claimerOf) RecordDoubleEntry(context.Context, *gate.DoubleEntry) error {
	return gate.Errorf(gate.EUNAVAILABLE, "no hub in this test")
}

// TestUseVenue: the venue's appliance id must be the index's; a venue is
// attached once; the offline writes an index keeps are there after a
// restart, and a lane's policy decides while the hub does not answer (an
// exit goes through whatever the policy).
func TestUseVenue(t *testing.T) {
	ix, fs := openMem(t)
	if err := ix.UseVenue(claimerOf("elsewhere")); !errors.Is(err, errVenueApplianceID) {
		t.Fatalf("another appliance id: %v", err)
	}
	if err := ix.UseVenue(claimerOf("test")); err != nil {
		t.Fatal(err)
	}
	if err := ix.UseVenue(claimerOf("test")); err == nil {
		t.Fatal("attached twice")
	}
	load(t, ix, tk("V1", "derby"), tk("V2", "derby"))
	scan := func(bc string, dir gate.Direction, p gate.OfflinePolicy) gate.Decision {
		return ix.Scan(context.Background(), gate.Scan{Barcode: bc, Lane: "north-1", Direction: dir, At: during, Offline: p})
	}
	if d := scan("V1", gate.In, gate.OfflineDeny); d.Reason != gate.ReasonOffline || !d.Offline || d.Admit {
		t.Fatalf("deny: %+v", d)
	}
	if d := scan("V1", gate.In, gate.OfflineAdmit); d.Reason != gate.ReasonOK || !d.Offline {
		t.Fatalf("admit: %+v", d)
	}
	if d := scan("V1", gate.Out, gate.OfflineDeny); d.Reason != gate.ReasonExit || !d.Offline {
		t.Fatalf("an exit on a deny lane: %+v", d)
	}
	if d := scan("V2", gate.In, gate.OfflineAdmit); d.Reason != gate.ReasonOK {
		t.Fatalf("admit: %+v", d)
	}
	if n := ix.OfflineWaiting(); n != 3 {
		t.Fatalf("%d offline writes waiting, want 3", n)
	}
	waitWritten(t, ix)
	es := allEntries(t, ix)
	if !es[0].Decision.Offline || es[0].Decision.Reason != gate.ReasonOffline || !es[1].Decision.Offline {
		t.Fatalf("journal %+v", es[:2])
	}
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	ix = openFS(t, fs)
	if err := ix.UseVenue(claimerOf("test")); err != nil {
		t.Fatal(err)
	}
	if n := ix.OfflineWaiting(); n != 3 {
		t.Fatalf("after a restart %d offline writes waiting, want 3", n)
	}
	st, err := ix.ReplayOffline(context.Background())
	if err != nil || !st.Offline || st.Waiting != 3 || st.Replayed != 0 {
		t.Fatalf("replay with no hub: %+v, %v", st, err)
	}
}

func FuzzDecodeVenue(f *testing.F) {
	for _, g := range venueGoldenRecords() {
		f.Add(g.encode())
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if o, err := decodeOffline(offlineKey(7), b); err == nil {
			again, err := decodeOffline(offlineKey(7), encodeOffline(o))
			if err != nil || !reflect.DeepEqual(again, o) {
				t.Fatalf("offline round trip: %+v\n%+v %v", o, again, err)
			}
		}
		if h, err := decodeHub(b); err == nil {
			if _, err := decodeHub(encodeHub(h)); err != nil {
				t.Fatalf("learned redemption round trip: %+v: %v", h, err)
			}
		}
		if ms, err := decodeMinutes(b); err == nil {
			again, err := decodeMinutes(encodeMinutes(ms))
			if err != nil || !reflect.DeepEqual(again, ms) {
				t.Fatalf("minutes round trip: %+v\n%+v %v", ms, again, err)
			}
		}
	})
}
