package venue_test

import (
	"context"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/venue/hubtest"
)

// claims is how many claims a appliance's Redeemer has made.
func claims(a *appliance) uint64 {
	s := a.red.Status()
	return s.Won + s.Lost + s.Offline + s.Failed
}

// TestVenueLearnedLocally: what north admitted, south refuses from its own
// store once it has learned it — with the hub blackholed, so no claim could
// have been answered — and again after south's store is reopened while the
// hub stays away.
func TestVenueLearnedLocally(t *testing.T) {
	c := hubtest.StartCluster(t, 1)
	ts := tickets("L", 40, "match")
	north := newAppliance(t, c, "north", ts)
	p := hubtest.NewProxy(t, c.Node(0).URL())
	south := prepare(t, c, "south", vfs.NewMem(), ts, p.URL())
	south.cfg.ClaimTimeout = 300 * time.Millisecond
	south.connect()
	admitted := map[string]gate.Decision{}
	for _, tk := range ts[:30] {
		d := north.in(tk.Barcode)
		if d.Reason != gate.ReasonOK {
			t.Fatalf("%s at north: %s %s", tk.Barcode, d.Reason, d.Detail)
		}
		admitted[tk.Barcode] = d
	}
	south.learned(c)
	p.Blackhole()
	before := claims(south)
	check := func(when string) {
		t.Helper()
		for bc, w := range admitted {
			d := south.in(bc)
			if d.Reason != gate.ReasonAlreadyUsed || d.FirstUsed == nil || d.FirstUsed.Appliance != "north" ||
				d.FirstUsed.Seq != w.Seq || !d.FirstUsed.At.Equal(w.At) {
				t.Fatalf("%s: %s at south: %+v", when, bc, d)
			}
		}
	}
	check("learned")
	if n := claims(south); n != before {
		t.Fatalf("south made %d claims deciding what it had learned", n-before)
	}
	// A ticket nobody used needs the hub: the lane's policy (deny) refuses.
	if d := south.in(ts[35].Barcode); d.Reason != gate.ReasonOffline || !d.Offline {
		t.Fatalf("an unused ticket with the hub away: %+v", d)
	}
	rep, err := south.ix.Report(context.Background(), "match", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Total.Used != 30 {
		t.Fatalf("south's report counts %d used, want the 30 north admitted", rep.Total.Used)
	}

	// Restarted with the hub away (cut now: a blackholed dial waits out
	// its own timeout).
	p.Cut()
	south.cfg.ConnectTimeout = 300 * time.Millisecond
	south.restart()
	check("after a restart")
	if n := south.ix.VenuePosition(); n == 0 {
		t.Fatal("the learned position was not kept")
	}
	p.Heal()
	south.learned(c)
}

// TestVenueLearnBeforeImport: a write learned before its ticket's import
// arrived is kept, and applied once the ticket is there.
func TestVenueLearnBeforeImport(t *testing.T) {
	c := hubtest.StartCluster(t, 1)
	late := ticket("LATE-1", "match")
	north := newAppliance(t, c, "north", []gate.Ticket{late})
	south := newAppliance(t, c, "south", nil)
	if d := north.in("LATE-1"); d.Reason != gate.ReasonOK {
		t.Fatalf("north: %s", d.Reason)
	}
	south.learned(c)
	eventually(t, 10*time.Second, "south counts a learned write waiting for its ticket", func() bool {
		return south.red.Status().WaitingForTicket == 1
	})
	if _, err := south.ix.Load(context.Background(), gate.ImportRequest{Provider: "p1", Source: "late"}, gate.Lines(late)); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the kept write is applied", func() bool {
		return south.used("LATE-1", "match").Admissions == 1 && south.red.Status().WaitingForTicket == 0
	})
	before := claims(south)
	if d := south.in("LATE-1"); d.Reason != gate.ReasonAlreadyUsed || d.FirstUsed.Appliance != "north" {
		t.Fatalf("south: %+v", d)
	}
	if claims(south) != before {
		t.Fatal("south asked the hub about a write it had learned")
	}
}

// TestVenueReinstalled: an appliance set up anew (an empty store, the same
// id) learns what it admitted before as anyone's: nothing of it is taken
// for a phantom and released.
func TestVenueReinstalled(t *testing.T) {
	c := hubtest.StartCluster(t, 1)
	ts := tickets("N", 3, "match")
	old := newAppliance(t, c, "north", ts)
	d := old.in("N0000")
	if d.Reason != gate.ReasonOK {
		t.Fatal(d.Reason)
	}
	old.close()
	north := newAppliance(t, c, "north", ts)
	north.learned(c)
	if s := north.red.Status(); s.Released != 0 {
		t.Fatalf("the new store released %d of the old one's admissions", s.Released)
	}
	if got := north.in("N0000"); got.Reason != gate.ReasonAlreadyUsed || got.FirstUsed.Seq != d.Seq {
		t.Fatalf("N0000 at the reinstalled north: %+v", got)
	}
}
