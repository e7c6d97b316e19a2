package venue_test

import (
	"context"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/venue"
	"github.com/admitgate/admit/venue/hubtest"
)

// offlineAppliance is appliance id of c through a fault proxy of its own,
// with a short claim timeout.
func offlineAppliance(t *testing.T, c *hubtest.Cluster, id string, ts []gate.Ticket) (*appliance, *hubtest.Proxy) {
	t.Helper()
	p := hubtest.NewProxy(t, c.Node(0).URL())
	a := prepare(t, c, id, vfs.NewMem(), ts, p.URL())
	a.cfg.ClaimTimeout = 300 * time.Millisecond
	a.connect()
	return a, p
}

// TestVenueOffline: with its link blackholed (then cut), south's deny lane
// refuses with reason offline and its admit lane admits offline; north,
// meanwhile, admits some of the same tickets. Once the link heals, south
// replays its offline admissions in journal order: a ticket both admitted
// is a double entry recorded once, with both sides, also when the replay is
// run again after a restart; the others are at the hub as south's, and
// north learns them.
func TestVenueOffline(t *testing.T) {
	c := hubtest.StartCluster(t, 1)
	ts := tickets("O", 8, "match")
	north := newAppliance(t, c, "north", ts)
	south, p := offlineAppliance(t, c, "south", ts)

	p.Blackhole()
	refused := south.scan("O0000", gate.In, gate.OfflineDeny)
	if refused.Reason != gate.ReasonOffline || refused.Admit || !refused.Offline || refused.Seq == 0 {
		t.Fatalf("deny lane, hub blackholed: %+v", refused)
	}
	both := south.scan("O0001", gate.In, gate.OfflineAdmit)
	if both.Reason != gate.ReasonOK || !both.Offline {
		t.Fatalf("admit lane, hub blackholed: %+v", both)
	}
	eventually(t, 15*time.Second, "south's link notices the silence", func() bool { return !south.red.Status().Link.Connected })
	p.Cut()
	alone := south.scan("O0002", gate.In, gate.OfflineAdmit)
	if alone.Reason != gate.ReasonOK || !alone.Offline {
		t.Fatalf("admit lane, link cut: %+v", alone)
	}
	// Offline, south still knows what it admitted itself.
	if d := south.scan("O0002", gate.In, gate.OfflineAdmit); d.Reason != gate.ReasonAlreadyUsed || d.FirstUsed.Seq != alone.Seq {
		t.Fatalf("O0002 again at south: %+v", d)
	}
	if s := south.red.Status(); s.OfflineWaiting != 2 {
		t.Fatalf("south's status while cut: %+v", s)
	}
	// North, which knows nothing of it, admits O0001 too, and O0000 (whose
	// guest south refused).
	for _, bc := range []string{"O0000", "O0001"} {
		if d := north.in(bc); d.Reason != gate.ReasonOK {
			t.Fatalf("%s at north: %s", bc, d.Reason)
		}
	}

	p.Heal()
	eventually(t, 30*time.Second, "south replays its offline admissions", func() bool { return south.red.Status().OfflineWaiting == 0 })
	s := south.red.Status()
	if s.Replayed != 2 || s.DoubleEntriesHere != 1 || s.ReplayError != "" {
		t.Fatalf("south's status after the replay: %+v", s)
	}
	checkDoubles := func(a *appliance) {
		t.Helper()
		des, err := a.red.DoubleEntries(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(des) != 1 {
			t.Fatalf("%d double entries: %+v", len(des), des)
		}
		de := des[0]
		if de.Event != "match" || de.Ticket != "O0001" || de.Hub.Appliance != "north" || de.Offline.Appliance != "south" ||
			de.Offline.Seq != both.Seq || !de.Offline.At.Equal(both.At) || de.Offline.Lane != "south-1" || de.Reason != gate.ReasonOK {
			t.Fatalf("double entry %+v", de)
		}
	}
	checkDoubles(north)
	_, js := c.Admin()
	if rec := hubRecord(t, js, "match", "O0001"); rec.Redemption.Admissions != 2 || rec.Claim.Appliance != "south" {
		t.Fatalf("the hub holds %+v for O0001: both admissions stand", rec)
	}
	if rec := hubRecord(t, js, "match", "O0002"); rec.Redemption.Admissions != 1 || rec.Claim.Seq != alone.Seq ||
		rec.Redemption.First.Appliance != "south" {
		t.Fatalf("the hub holds %+v for O0002", rec)
	}
	north.learned(c)
	if d := north.in("O0002"); d.Reason != gate.ReasonAlreadyUsed || d.FirstUsed.Appliance != "south" || d.FirstUsed.Seq != alone.Seq {
		t.Fatalf("O0002 at north after the replay: %+v", d)
	}
	// Both journals agree with the hub: one admission each at north, the
	// offline ones at south.
	if r := south.used("O0001", "match"); r.Admissions != 2 || r.Revision == 0 {
		t.Fatalf("south's O0001 after the replay: %+v", r)
	}

	// Replayed and restarted: nothing is replayed again, no double entry
	// is recorded twice.
	south.restart()
	south.learned(c)
	if s := south.red.Status(); s.OfflineWaiting != 0 {
		t.Fatalf("after a restart: %+v", s)
	}
	checkDoubles(south)
	eventually(t, 10*time.Second, "the venue-wide count of double entries", func() bool { return north.red.Status().DoubleEntries == 1 })
}

// TestVenueAnnul: an annulment goes through the hub, so the ticket can be
// used at another appliance at once; one made while the hub is away is
// committed and replayed.
func TestVenueAnnul(t *testing.T) {
	c := hubtest.StartCluster(t, 1)
	ts := tickets("A", 4, "match")
	north, p := offlineAppliance(t, c, "north", ts)
	south := newAppliance(t, c, "south", ts)
	ctx := context.Background()

	d := north.in("A0000")
	if d.Reason != gate.ReasonOK {
		t.Fatal(d.Reason)
	}
	if _, err := north.ix.Annul(ctx, d.Seq, "lane:north-1"); err != nil {
		t.Fatal(err)
	}
	_, js := c.Admin()
	if rec := hubRecord(t, js, "match", "A0000"); rec.Redemption.Admissions != 0 || rec.Claim.Appliance != "north" {
		t.Fatalf("the hub holds %+v after the annulment", rec)
	}
	south.learned(c) // south may have learned the admission; it must learn its annulment too
	if d := south.in("A0000"); d.Reason != gate.ReasonOK {
		t.Fatalf("A0000 at south after north annulled it: %s", d.Reason)
	}

	d = north.in("A0001")
	if d.Reason != gate.ReasonOK {
		t.Fatal(d.Reason)
	}
	p.Cut()
	eventually(t, 10*time.Second, "north's link goes down", func() bool { return !north.red.Status().Link.Connected })
	ann, err := north.ix.Annul(ctx, d.Seq, "lane:north-1")
	if err != nil {
		t.Fatalf("annul with the hub away: %v", err)
	}
	if ann.Kind != gate.KindAnnulment || north.red.Status().OfflineWaiting != 1 {
		t.Fatalf("annulment %+v, status %+v", ann, north.red.Status())
	}
	if d := north.in("A0001"); d.Reason != gate.ReasonOffline {
		t.Fatalf("A0001 at north, annulled, hub away, deny lane: %s", d.Reason)
	}
	p.Heal()
	eventually(t, 30*time.Second, "north replays the annulment", func() bool { return north.red.Status().OfflineWaiting == 0 })
	if rec := hubRecord(t, js, "match", "A0001"); rec.Redemption.Admissions != 0 || rec.Claim.Seq != ann.Seq {
		t.Fatalf("the hub holds %+v after the replayed annulment", rec)
	}
	south.learned(c)
	if d := south.in("A0001"); d.Reason != gate.ReasonOK {
		t.Fatalf("A0001 at south after the replayed annulment: %s", d.Reason)
	}
	_ = venue.BucketDoubleEntries
}

// TestVenueLateClaimReleased: a claim that timed out (the lane denied the
// guest) but landed at the hub later is released once the appliance learns
// it, so the guest can enter elsewhere; one whose lane admitted offline is
// recognised as the appliance's own and not replayed again.
func TestVenueLateClaimReleased(t *testing.T) {
	c := hubtest.StartCluster(t, 1)
	ts := tickets("S", 2, "match")
	north := newAppliance(t, c, "north", ts)
	south, p := offlineAppliance(t, c, "south", ts)
	p.Slow(350 * time.Millisecond) // a round trip of 700ms: past the 300ms claim timeout
	denied := south.scan("S0000", gate.In, gate.OfflineDeny)
	admitted := south.scan("S0001", gate.In, gate.OfflineAdmit)
	if denied.Reason != gate.ReasonOffline || admitted.Reason != gate.ReasonOK || !admitted.Offline {
		t.Fatalf("through a slow link: %+v, %+v", denied, admitted)
	}
	_, js := c.Admin()
	eventually(t, 10*time.Second, "the late claims land", func() bool {
		return hubRecord(t, js, "match", "S0000") != nil && hubRecord(t, js, "match", "S0001") != nil
	})
	p.Heal()
	eventually(t, 30*time.Second, "the denied guest's claim is released", func() bool {
		rec := hubRecord(t, js, "match", "S0000")
		return rec.Redemption.Admissions == 0 && south.red.Status().Released == 1
	})
	eventually(t, 30*time.Second, "the admitted guest's claim is taken as south's own", func() bool {
		return south.red.Status().OfflineWaiting == 0
	})
	if rec := hubRecord(t, js, "match", "S0001"); rec.Redemption.Admissions != 1 || rec.Claim.Seq != admitted.Seq {
		t.Fatalf("the hub holds %+v for the guest admitted offline", rec)
	}
	north.learned(c)
	if d := north.in("S0000"); d.Reason != gate.ReasonOK {
		t.Fatalf("the denied guest at north: %s %s", d.Reason, d.Detail)
	}
	if d := north.in("S0001"); d.Reason != gate.ReasonAlreadyUsed || d.FirstUsed.Appliance != "south" {
		t.Fatalf("the guest admitted offline, at north: %+v", d)
	}
	if s := south.red.Status(); s.DoubleEntriesHere != 0 {
		t.Fatalf("south's status: %+v", s)
	}
}
