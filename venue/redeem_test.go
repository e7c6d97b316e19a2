package venue_test

import (
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/venue/hubtest"
)

// TestVenueRaceOnce: four appliances, each with four scanners, scan the
// same barcodes in their own orders at once: every barcode is admitted
// exactly once venue-wide, and every refusal is already_used naming the
// winner's appliance, lane and time.
func TestVenueRaceOnce(t *testing.T) {
	c := hubtest.StartCluster(t, 1)
	ts := tickets("R", 120, "match")
	ids := []string{"north", "south", "east", "west"}
	var apps []*appliance
	for _, id := range ids {
		apps = append(apps, newAppliance(t, c, id, ts))
	}
	type result struct {
		app string
		d   gate.Decision
	}
	const scanners = 4
	results := make(chan result, len(ids)*scanners*len(ts))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, a := range apps {
		for s := range scanners {
			wg.Add(1)
			go func() {
				defer wg.Done()
				order := rand.New(rand.NewPCG(uint64(i), uint64(s))).Perm(len(ts))
				<-start
				for _, k := range order {
					results <- result{a.id, a.in(ts[k].Barcode)}
				}
			}()
		}
	}
	close(start)
	wg.Wait()
	close(results)
	winners := map[string]result{}
	var refusals []result
	for r := range results {
		switch r.d.Reason {
		case gate.ReasonOK:
			if w, ok := winners[r.d.Barcode]; ok {
				t.Fatalf("%s admitted twice: at %s (seq %d) and %s (seq %d)", r.d.Barcode, w.app, w.d.Seq, r.app, r.d.Seq)
			}
			winners[r.d.Barcode] = r
		case gate.ReasonAlreadyUsed:
			refusals = append(refusals, r)
		default:
			t.Fatalf("%s at %s: %s %q", r.d.Barcode, r.app, r.d.Reason, r.d.Detail)
		}
	}
	if len(winners) != len(ts) {
		t.Fatalf("%d barcodes admitted, want %d", len(winners), len(ts))
	}
	for _, r := range refusals {
		w := winners[r.d.Barcode]
		f := r.d.FirstUsed
		if f == nil || f.Appliance != w.app || f.Lane != w.d.Lane || f.Seq != w.d.Seq || !f.At.Equal(w.d.At) {
			t.Fatalf("%s refused at %s naming %+v; the winner was %s seq %d lane %s at %s", r.d.Barcode, r.app, f,
				w.app, w.d.Seq, w.d.Lane, w.d.At)
		}
	}
	_, js := c.Admin()
	for _, tk := range ts[:20] {
		rec := hubRecord(t, js, "match", tk.Barcode)
		w := winners[tk.Barcode]
		if rec == nil || rec.Redemption.Admissions != 1 || rec.Claim.Appliance != w.app || rec.Claim.Seq != w.d.Seq {
			t.Fatalf("the hub holds %+v for %s; the winner was %s seq %d", rec, tk.Barcode, w.app, w.d.Seq)
		}
	}
	var lost uint64
	for _, a := range apps {
		s := a.red.Status()
		if s.Failed != 0 || s.Offline != 0 || s.Won == 0 {
			t.Fatalf("%s: status %+v", a.id, s)
		}
		lost += s.Lost
	}
	t.Logf("claims lost to another appliance (races the hub decided): %d", lost)
}

// TestVenueEntriesAndReentry: a ticket of two entries enters once at two
// appliances and is then refused at a third; a ticket of an event that
// allows re-entry goes in at one appliance, out at another and back in at a
// third.
func TestVenueEntriesAndReentry(t *testing.T) {
	c := hubtest.StartCluster(t, 1)
	ts := []gate.Ticket{ticket("TWO", "twice"), ticket("FEST", "fest")}
	north := newAppliance(t, c, "north", ts)
	south := newAppliance(t, c, "south", ts)
	door := newAppliance(t, c, "door", ts)

	if d := north.in("TWO"); d.Reason != gate.ReasonOK {
		t.Fatalf("first entry at north: %s %s", d.Reason, d.Detail)
	}
	// South may not have learned it yet: its claim loses, learns, and
	// decides the second entry on it.
	if d := south.in("TWO"); d.Reason != gate.ReasonOK {
		t.Fatalf("second entry at south: %s %s", d.Reason, d.Detail)
	}
	d := door.in("TWO")
	if d.Reason != gate.ReasonAlreadyUsed || d.FirstUsed == nil || d.FirstUsed.Appliance != "north" {
		t.Fatalf("third entry at door: %+v", d)
	}

	if d := north.in("FEST"); d.Reason != gate.ReasonOK {
		t.Fatalf("FEST in at north: %s", d.Reason)
	}
	south.learned(c) // an exit is recorded on what the appliance knows to be inside
	if d := south.out("FEST"); d.Reason != gate.ReasonExit || d.Event != "fest" {
		t.Fatalf("FEST out at south: %+v", d)
	}
	// A refusal is decided from what an appliance has learned: door must
	// know of the exit before it lets the ticket back in.
	door.learned(c)
	if d := door.in("FEST"); d.Reason != gate.ReasonReentry {
		t.Fatalf("FEST back in at door: %s %s", d.Reason, d.Detail)
	}
	north.learned(c)
	if d := north.in("FEST"); d.Reason != gate.ReasonAlreadyUsed {
		t.Fatalf("FEST in again at north while inside: %s", d.Reason)
	}
	r := north.used("FEST", "fest")
	if r.Admissions != 1 || r.Reentries != 1 || r.Exits != 1 || !r.Inside || r.Last.Appliance != "door" || r.Revision == 0 {
		t.Fatalf("north's redemption of FEST: %+v", r)
	}
	_, js := c.Admin()
	if rec := hubRecord(t, js, "twice", "TWO"); rec.Redemption.Admissions != 2 || rec.Claim.Appliance != "south" {
		t.Fatalf("the hub holds %+v for TWO", rec)
	}
	// Reports count the movements made elsewhere.
	rep, err := north.ix.Report(t.Context(), "fest", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	entries, exits := 0, 0
	for _, m := range rep.Minutes {
		entries += m.Entries
		exits += m.Exits
	}
	if entries != 2 || exits != 1 || rep.Total.Used != 1 || rep.Total.Inside != 1 {
		t.Fatalf("north's report of fest: %d entries, %d exits, %+v", entries, exits, rep.Total)
	}
}
