package index

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/cockroachdb/pebble/v2/vfs"
)

func override(ix *Index, lane, why string, at time.Time) (gate.Decision, error) {
	return ix.Override(context.Background(), gate.OverrideRequest{Lane: lane, By: "kim", Why: why, At: at, Source: "http:kim"})
}

// TestOverrideLastRefusal: a supervisor lets the guest a lane refused last
// through, once: journaled with who, why and what was refused, the ticket
// redeemed as an entry, listed for the report, undone by an annulment.
func TestOverrideLastRefusal(t *testing.T) {
	ctx := context.Background()
	fs := vfs.NewMem()
	ix := openZones(t, fs, gate.Zone{ID: "north"})
	load(t, ix, tk("O1", "derby"), tk("O2", "derby"))
	if _, err := override(ix, "north-in", "why", during); gate.ErrorCode(err) != gate.ECONFLICT {
		t.Fatalf("nothing refused yet: %v", err)
	}
	laneScan(ix, northIn, "O1", during)
	if _, err := override(ix, "north-in", "why", during); gate.ErrorCode(err) != gate.ECONFLICT {
		t.Fatalf("the last scan was admitted: %v", err)
	}
	refused := laneScan(ix, northIn, "O1", during.Add(time.Minute))
	if refused.Reason != gate.ReasonAlreadyUsed {
		t.Fatal(refused)
	}
	if _, err := override(ix, "north-in", "", during); gate.ErrorCode(err) != gate.EINVALID {
		t.Fatalf("no reason: %v", err)
	}
	at := during.Add(2 * time.Minute)
	d, err := override(ix, "north-in", "lost wristband, checked by hand", at)
	if err != nil {
		t.Fatal(err)
	}
	want := gate.Override{By: "kim", Why: "lost wristband, checked by hand", Refused: gate.ReasonAlreadyUsed, RefusedSeq: refused.Seq}
	if !d.Admit || d.Reason != gate.ReasonOverride || d.Override == nil || *d.Override != want || d.Barcode != "O1" ||
		d.Event != "derby" || d.Lane != "north-in" || !d.At.Equal(at) {
		t.Fatalf("override %+v %+v", d, d.Override)
	}
	if _, err := override(ix, "north-in", "again", at); gate.ErrorCode(err) != gate.ECONFLICT {
		t.Fatalf("a second override of one refusal: %v", err)
	}
	v, _ := ix.Ticket(ctx, "O1")
	if r := v.Redemptions[0]; r.Admissions != 2 || len(r.Entries) != 2 {
		t.Fatalf("redemption %+v", r)
	}
	es := allEntries(t, ix)
	last := es[len(es)-1]
	if last.Seq != d.Seq || last.Decision.Override == nil || *last.Decision.Override != want || last.Source != "http:kim" {
		t.Fatalf("journal %+v", last)
	}
	os, err := ix.Overrides(ctx, "derby")
	if err != nil || len(os) != 1 || os[0].Seq != d.Seq {
		t.Fatalf("overrides %+v %v", os, err)
	}
	// The annulment (the guest did not pass) takes the entry back.
	if _, err := ix.Annul(ctx, d.Seq, "lane:north-in"); err != nil {
		t.Fatal(err)
	}
	if v, _ := ix.Ticket(ctx, "O1"); v.Redemptions[0].Admissions != 1 {
		t.Fatalf("after the annulment %+v", v.Redemptions[0])
	}
	checkCounters(t, ix)
	// The list survives a restart.
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	ix = openFS(t, fs)
	if os, _ := ix.Overrides(ctx, ""); len(os) != 1 || os[0].Annulled == 0 {
		t.Fatalf("overrides after a restart %+v", os)
	}
}

func TestOverrideRefusesWhatItMustNot(t *testing.T) {
	ix := openZones(t, vfs.NewMem(), gate.Zone{ID: "north", Capacity: 1}, gate.Zone{ID: "south", Capacity: 1, OverrideFull: true})
	southIn := gate.Lane{ID: "south-in", Direction: gate.In, From: gate.Outside, To: "south"}
	load(t, ix, tk("F1", "derby"), tk("F2", "derby"), tk("F3", "derby"), tk("F4", "derby"))
	laneScan(ix, northIn, "F1", during)
	if d := laneScan(ix, northIn, "F2", during); d.Reason != gate.ReasonZoneFull {
		t.Fatal(d)
	}
	_, err := override(ix, "north-in", "VIP", during)
	if gate.ErrorCode(err) != gate.ECONFLICT || !strings.Contains(gate.ErrorMessage(err), "full") {
		t.Fatalf("an override into a full zone: %v", err)
	}
	wantOccupancy(t, ix, "north", 1)
	// A zone that lets overrides pass zone_full.
	laneScan(ix, southIn, "F3", during)
	laneScan(ix, southIn, "F4", during)
	if d, err := override(ix, "south-in", "VIP", during); err != nil || d.Reason != gate.ReasonOverride {
		t.Fatalf("override_zone_full: %+v %v", d, err)
	}
	wantOccupancy(t, ix, "south", 2)
	// lane_busy and error refusals are not a supervisor's to override.
	busy := gate.Scan{Barcode: "F1", Lane: "door", Direction: gate.In, At: during, Deny: gate.ReasonLaneBusy}
	ix.Scan(context.Background(), busy)
	if _, err := override(ix, "door", "why", during); gate.ErrorCode(err) != gate.ECONFLICT {
		t.Fatalf("lane_busy: %v", err)
	}
	// Too late.
	laneScan(ix, northIn, "F2", during)
	if _, err := override(ix, "north-in", "why", during.Add(gate.OverrideWindow+time.Second)); gate.ErrorCode(err) != gate.ECONFLICT {
		t.Fatalf("older than the window: %v", err)
	}
}

// TestOverrideUnknownBarcode: a guest without a ticket let in counts in the
// zone (until it is emptied, or the override annulled).
func TestOverrideUnknownBarcode(t *testing.T) {
	ctx := context.Background()
	ix := openZones(t, vfs.NewMem(), gate.Zone{ID: "north"})
	load(t, ix, tk("K1", "derby"))
	if d := laneScan(ix, northIn, "NOT-A-TICKET", during); d.Reason != gate.ReasonUnknown {
		t.Fatal(d)
	}
	d, err := override(ix, "north-in", "ticket bought at the box office, not yet imported", during)
	if err != nil || d.Ticket != nil || d.Event != "" {
		t.Fatalf("%+v %v", d, err)
	}
	wantOccupancy(t, ix, "north", 1)
	if _, err := ix.Annul(ctx, d.Seq, "lane:north-in"); err != nil {
		t.Fatal(err)
	}
	wantOccupancy(t, ix, "north", 0)
}

// TestSupervisorCard: a card scanned after a refusal overrides it in the
// card's name; the journal never holds the card's barcode.
func TestSupervisorCard(t *testing.T) {
	const secret = "SUPERVISOR-7f3a9c2e51"
	ix := openZones(t, vfs.NewMem(), gate.Zone{ID: "north"})
	if err := ix.SetSupervisorCards([]gate.SupervisorCard{{Name: "kim", Hash: gate.CardHash(secret), Why: "checked at the door"}}); err != nil {
		t.Fatal(err)
	}
	load(t, ix, tk("C1", "derby"))
	// Nothing to override: the card scan is refused under the card's name.
	d := laneScan(ix, northIn, secret, during)
	if d.Admit || d.Barcode != "card:kim" || !strings.Contains(d.Detail, "nothing to override") {
		t.Fatalf("a card with nothing to override: %+v", d)
	}
	laneScan(ix, northIn, "C1", during)
	refused := laneScan(ix, northIn, "C1", during.Add(time.Minute))
	d = laneScan(ix, northIn, secret, during.Add(2*time.Minute))
	if !d.Admit || d.Reason != gate.ReasonOverride || d.Barcode != "C1" || d.Override.By != "kim" ||
		d.Override.Why != "checked at the door" || d.Override.RefusedSeq != refused.Seq {
		t.Fatalf("card override %+v", d)
	}
	// A second card scan overrides nothing more.
	if d := laneScan(ix, northIn, secret, during.Add(3*time.Minute)); d.Admit {
		t.Fatalf("a second card scan: %+v", d)
	}
	// A card scanned while the lane is busy is journaled under its name.
	busy := northIn.Scan(secret, during.Add(4*time.Minute))
	busy.Deny, busy.Detail = gate.ReasonLaneBusy, "busy"
	if d := ix.Scan(context.Background(), busy); d.Barcode != "card:kim" || d.Reason != gate.ReasonLaneBusy {
		t.Fatalf("a card at a busy lane: %+v", d)
	}
	// A check of a card overrides nothing.
	if d := ix.Check(context.Background(), northIn.Scan(secret, during)); d.Admit || d.Barcode != "card:kim" {
		t.Fatalf("check of a card %+v", d)
	}
	for _, e := range allEntries(t, ix) {
		if strings.Contains(e.Decision.Barcode, secret) || strings.Contains(e.Decision.Detail, secret) {
			t.Fatalf("the card's barcode is in the journal: %+v", e)
		}
	}
	if err := ix.SetSupervisorCards([]gate.SupervisorCard{{Name: "a", Hash: gate.CardHash("x")}, {Name: "b", Hash: gate.CardHash("x")}}); err == nil {
		t.Fatal("two cards with one barcode")
	}
}
