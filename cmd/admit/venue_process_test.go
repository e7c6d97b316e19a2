package main

import (
	"testing"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/httpapi"
	"github.com/admitgate/admit/internal/testkit"
	"github.com/admitgate/admit/internal/venuetest"
)

// TestVenueProcesses is the venue as it runs: an admit hub process and two
// admit serve processes (internal/venuetest), each appliance reaching the
// hub through a fault proxy. An import at north reaches south; a ticket
// admitted at north is refused at south, already used, from south's own
// store; a cancel at north is applied at south; each lists both. North cut
// off refuses a first use on its deny lane; the hub stopped (TERM) and
// started again: south refuses meanwhile and admits once it is back.
func TestVenueProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs three processes")
	}
	bin := testkit.BuildAdmit(t, testkit.Race)
	v := venuetest.Start(t, venuetest.Options{Bin: bin, Proxies: true})
	north, south := v.Appliance("north"), v.Appliance("south")

	if r := north.Import("P-1\nP-2\nP-3\nP-4\n"); r.Added != 4 || !r.Applied {
		t.Fatalf("import at north: %+v", r)
	}
	testkit.WaitFor(t, venuetest.WaitTimeout, "the import at south", func() bool { return south.Has("P-4") })
	if d := north.Scan("P-1", "north-1"); !d.Admit || d.Offline {
		t.Fatalf("north admits P-1: %+v", d)
	}
	south.WaitCheck("P-1", "south-1", gate.ReasonAlreadyUsed)
	lost := south.Venue().Redemptions.Lost
	if d := south.Scan("P-1", "south-1"); d.Admit || d.FirstUsed == nil || d.FirstUsed.Appliance != "north" {
		t.Fatalf("south on P-1: %+v", d)
	}
	if st := south.Venue(); st.Redemptions.Lost != lost {
		t.Errorf("south asked the hub about P-1 (claims lost %d -> %d)", lost, st.Redemptions.Lost)
	}
	north.Must(200, "POST", "/v1/tickets/P-2/cancel", nil, nil)
	south.WaitCheck("P-2", "south-1", gate.ReasonCancelled)
	for _, a := range []*venuetest.Appliance{north, south} {
		testkit.WaitFor(t, venuetest.WaitTimeout, a.ID+" lists both appliances up", func() bool {
			up := 0
			for _, x := range a.Venue().Appliances {
				if x.Up {
					up++
				}
			}
			return up == 2
		})
	}

	north.Cut()
	testkit.WaitFor(t, venuetest.WaitTimeout, "north cut off", func() bool { return !north.Venue().Link.HubReachable })
	if d := north.Scan("P-3", "north-1"); d.Admit || d.Reason != gate.ReasonOffline {
		t.Errorf("north-1 cut off: %+v", d)
	}
	north.Heal()
	testkit.WaitFor(t, venuetest.WaitTimeout, "north back", func() bool { return north.Venue().Link.HubReachable })

	v.Hub(0).Stop()
	testkit.WaitFor(t, venuetest.WaitTimeout, "south sees the hub stopped", func() bool { return !south.Venue().Link.HubReachable })
	if d := south.Scan("P-3", "south-1"); d.Admit || d.Reason != gate.ReasonOffline {
		t.Errorf("south-1 with the hub stopped: %+v", d)
	}
	v.Hub(0).Start()
	v.Hub(0).WaitHealthy()
	testkit.WaitFor(t, venuetest.WaitTimeout, "south sees the hub back", func() bool { return south.Venue().Link.HubReachable })
	if d := south.Scan("P-3", "south-1"); !d.Admit || d.Offline {
		t.Errorf("south-1 with the hub back: %+v", d)
	}
	north.WaitCheck("P-3", "north-1", gate.ReasonAlreadyUsed)
	var st httpapi.VenueStatus = north.Venue()
	if st.Doubles.Total != 0 || st.Changes.Stopped != nil || st.Redemptions.Failing != "" {
		t.Errorf("north's venue at the end: %+v", st)
	}
}
