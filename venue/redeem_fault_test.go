package venue_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/venue"
	"github.com/admitgate/admit/venue/hubtest"
)

// walWrites fails every write and sync of Pebble's WAL files while on.
func walWrites() *errorfs.Toggle {
	return &errorfs.Toggle{Injector: errorfs.InjectorFunc(func(op errorfs.Op) error {
		if !strings.HasSuffix(op.Path, ".log") {
			return nil
		}
		switch op.Kind {
		case errorfs.OpFileWrite, errorfs.OpFileWriteAt, errorfs.OpFileSync, errorfs.OpFileSyncData,
			errorfs.OpFileSyncTo, errorfs.OpCreate, errorfs.OpReuseForWrite, errorfs.OpFilePreallocate:
			return errorfs.ErrInjected
		}
		return nil
	})}
}

// TestVenueFailedCommitReleased: a claim the hub acknowledged whose local
// commit then fails is answered with error, and, once the store has
// recovered, released at the hub: the guest can enter at another appliance.
func TestVenueFailedCommitReleased(t *testing.T) {
	c := hubtest.StartCluster(t, 1)
	ts := tickets("F", 3, "match")
	toggle := walWrites()
	north := prepare(t, c, "north", errorfs.Wrap(vfs.NewMem(), toggle), ts)
	var once sync.Once
	north.hook = func(cl *gate.Claim) {
		if cl.Ticket == "F0001" {
			once.Do(toggle.On) // between the hub's acknowledgement and the local commit
		}
	}
	north.connect()
	south := newAppliance(t, c, "south", ts)
	if d := north.in("F0000"); d.Reason != gate.ReasonOK {
		t.Fatal(d.Reason)
	}
	d := north.in("F0001")
	toggle.Off()
	if d.Reason != gate.ReasonError || d.Admit {
		t.Fatalf("a scan whose commit failed: %+v", d)
	}
	eventually(t, 30*time.Second, "the phantom claim is released", func() bool {
		return north.red.Status().Released == 1
	})
	_, js := c.Admin()
	if rec := hubRecord(t, js, "match", "F0001"); rec.Redemption.Admissions != 0 || rec.Claim.Appliance != "north" || rec.Claim.Seq != 0 {
		t.Fatalf("the hub holds %+v after the release", rec)
	}
	if d := south.in("F0001"); d.Reason != gate.ReasonOK {
		t.Fatalf("the refused guest at south: %s %s", d.Reason, d.Detail)
	}
	north.learned(c)
	if d := north.in("F0001"); d.Reason != gate.ReasonAlreadyUsed || d.FirstUsed.Appliance != "south" {
		t.Fatalf("north after learning south's admission: %+v", d)
	}
	if r := north.used("F0000", "match"); r.Admissions != 1 {
		t.Fatalf("north's admission before the fault: %+v", r)
	}
}

// TestVenueBadValue: a value at the hub that does not decode stops
// learning there; scans that need the hub fail closed with reason error
// (whatever the lane's policy) while those decided locally go on, until an
// operator skips the revision.
func TestVenueBadValue(t *testing.T) {
	c := hubtest.StartCluster(t, 1)
	ts := tickets("B", 4, "match")
	north := newAppliance(t, c, "north", ts)
	if d := north.in("B0000"); d.Reason != gate.ReasonOK {
		t.Fatal(d.Reason)
	}
	_, js := c.Admin()
	ctx := context.Background()
	kv, err := js.KeyValue(ctx, venue.BucketRedemptions)
	if err != nil {
		t.Fatal(err)
	}
	bad, err := kv.Put(ctx, venue.RedemptionKey("match", "B0001"), []byte(`{"v":1,"event":"match","ticket":"B0001","surprise":1}`))
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "north stops learning at the bad value", func() bool {
		return north.red.Status().Failing != ""
	})
	s := north.red.Status()
	if !strings.Contains(s.Failing, venue.RedemptionKey("match", "B0001")) || s.Learned >= bad {
		t.Fatalf("status %+v", s)
	}
	for _, bc := range []string{"B0001", "B0002"} {
		d := north.scan(bc, gate.In, gate.OfflineAdmit)
		if d.Reason != gate.ReasonError || d.Admit || !strings.Contains(d.Detail, "does not decode") {
			t.Fatalf("%s with the hub holding a bad value: %+v", bc, d)
		}
	}
	if d := north.in("B0000"); d.Reason != gate.ReasonAlreadyUsed {
		t.Fatalf("a local refusal: %s", d.Reason)
	}
	if err := north.red.SkipBadValue(ctx, bad+1); gate.ErrorCode(err) != gate.ECONFLICT {
		t.Fatalf("skipping a revision the watch is not stopped at: %v", err)
	}
	if err := north.red.SkipBadValue(ctx, bad); err != nil {
		t.Fatal(err)
	}
	if d := north.in("B0002"); d.Reason != gate.ReasonOK {
		t.Fatalf("after the skip: %s %s", d.Reason, d.Detail)
	}
	// The key itself still holds the bad value: its ticket fails closed.
	if d := north.scan("B0001", gate.In, gate.OfflineAdmit); d.Reason != gate.ReasonError {
		t.Fatalf("the bad key's ticket: %+v", d)
	}
	if north.ix.VenuePosition() < bad {
		t.Fatal("the skipped revision is not behind the position")
	}
}

// TestVenueWrongBucket: a redemptions bucket whose settings are not the
// venue's refuses the link at its next connect, and scans that need the hub
// fail closed with reason error saying why (an exit goes through).
func TestVenueWrongBucket(t *testing.T) {
	c := hubtest.StartCluster(t, 1)
	ts := tickets("W", 2, "match")
	p := hubtest.NewProxy(t, c.Node(0).URL())
	north := prepare(t, c, "north", vfs.NewMem(), ts, p.URL())
	north.connect()
	if d := north.in("W0001"); d.Reason != gate.ReasonOK {
		t.Fatal(d.Reason)
	}
	_, js := c.Admin()
	ctx := context.Background()
	st, err := js.Stream(ctx, "KV_"+venue.BucketRedemptions)
	if err != nil {
		t.Fatal(err)
	}
	cfg := st.CachedInfo().Config
	cfg.MaxMsgsPerSubject = 2
	if _, err := js.UpdateStream(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	p.Cut() // the next connect checks the buckets again
	eventually(t, 10*time.Second, "the link goes down", func() bool { return !north.red.Status().Link.Connected })
	p.Heal()
	eventually(t, 30*time.Second, "the link is refused", func() bool { return north.red.Status().Link.State == venue.StateRefused })
	d := north.scan("W0000", gate.In, gate.OfflineAdmit)
	if d.Reason != gate.ReasonError || !strings.Contains(d.Detail, "history") {
		t.Fatalf("a scan over a refused link: %+v", d)
	}
	if s := north.red.Status(); !strings.Contains(s.Failing, "refused") {
		t.Fatalf("status %+v", s)
	}
	// Nobody is kept in: an exit goes through, to be replayed.
	if d := north.out("W0001"); d.Reason != gate.ReasonExit || !d.Offline {
		t.Fatalf("an exit over a refused link: %+v", d)
	}
	if s := north.red.Status(); s.OfflineWaiting != 1 {
		t.Fatalf("status %+v", s)
	}
}
