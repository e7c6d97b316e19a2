package venue_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/index"
	"github.com/admitgate/admit/venue"
	"github.com/admitgate/admit/venue/hubtest"
)

// The redeem tests run several appliances in one process: each an
// index.Index on its own file system with its own link and Redeemer,
// against real hub nodes.

var (
	match       = gate.Event{ID: "match", Name: "Match"}              // one entry
	twice       = gate.Event{ID: "twice", Name: "Twice", Entries: 2}  // two entries
	fest        = gate.Event{ID: "fest", Name: "Fest", Reentry: true} // back in after an exit
	venueEvents = []gate.Event{match, twice, fest}
)

// ticket is a valid ticket for events.
func ticket(barcode string, events ...string) gate.Ticket {
	return gate.Ticket{Barcode: barcode, Provider: "p1", Events: events, State: gate.StateValid,
		PriceType: gate.Code{Code: "ADU", Name: "Adult"}}
}

// tickets returns n tickets prefix-0000... for events.
func tickets(prefix string, n int, events ...string) []gate.Ticket {
	out := make([]gate.Ticket, n)
	for i := range out {
		out[i] = ticket(fmt.Sprintf("%s%04d", prefix, i), events...)
	}
	return out
}

// appliance is one appliance of a test venue.
type appliance struct {
	t    testing.TB
	id   string
	fs   vfs.FS
	dir  string
	cfg  venue.LinkConfig
	opts *index.Options
	ix   *index.Index
	link *venue.Link
	red  *venue.Redeemer
	// hook, when set before connect, is the Redeemer's after-claim hook.
	hook func(*gate.Claim)
}

func indexOptions(id string, fs vfs.FS) *index.Options {
	return &index.Options{FS: fs, Appliance: id, Logger: testLogger().With().Str("appliance", id).Logger(),
		DisableWALWarmup: true, DisableCacheWarmup: true, MemTableSize: 4 << 20, BloomMinCapacity: 1000,
		RecoveryInterval: 20 * time.Millisecond, CommitTimeout: time.Minute}
}

// newAppliance opens appliance id of hub c (through urls, default every
// node) on a fresh in-memory store holding the venue's events and ts.
func newAppliance(t testing.TB, c *hubtest.Cluster, id string, ts []gate.Ticket, urls ...string) *appliance {
	t.Helper()
	a := prepare(t, c, id, vfs.NewMem(), ts, urls...)
	a.connect()
	return a
}

// prepare opens the store of appliance id without connecting it.
func prepare(t testing.TB, c *hubtest.Cluster, id string, fs vfs.FS, ts []gate.Ticket, urls ...string) *appliance {
	t.Helper()
	a := &appliance{t: t, id: id, fs: fs, dir: "data", cfg: c.LinkConfig(id, urls...), opts: indexOptions(id, fs)}
	a.openIndex()
	ctx := context.Background()
	for _, e := range venueEvents {
		if _, err := a.ix.PutEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	if len(ts) > 0 {
		if res, err := a.ix.Load(ctx, gate.ImportRequest{Provider: "p1", Source: "test"}, gate.Lines(ts...)); err != nil {
			t.Fatalf("%s: load: %v (%+v)", id, err, res.Errors)
		}
	}
	t.Cleanup(a.close)
	return a
}

func (a *appliance) openIndex() {
	a.t.Helper()
	ix, err := index.Open(a.dir, a.opts)
	if err != nil {
		a.t.Fatalf("%s: open: %v", a.id, err)
	}
	a.ix = ix
}

// connect opens the link, attaches a Redeemer to the store and starts it.
func (a *appliance) connect() {
	a.t.Helper()
	a.link = open(a.t, a.cfg)
	a.red = venue.NewRedeemer(a.link, a.ix, venue.RedeemerConfig{Logger: testLogger().With().Str("appliance", a.id).Logger(),
		RetryInterval: 100 * time.Millisecond, StatusInterval: 200 * time.Millisecond})
	if a.hook != nil {
		venue.SetAfterClaim(a.red, a.hook)
	}
	if err := a.ix.UseVenue(a.red); err != nil {
		a.t.Fatalf("%s: %v", a.id, err)
	}
	a.red.Start()
}

// close stops the Redeemer, the link and the store (at cleanup, or
// restart).
func (a *appliance) close() {
	if a.red != nil {
		a.red.Close()
		a.red = nil
	}
	if a.link != nil {
		a.link.Close()
		a.link = nil
	}
	if a.ix != nil {
		_ = a.ix.Close()
		a.ix = nil
	}
}

// restart closes the appliance and opens it again on the same store.
func (a *appliance) restart() {
	a.t.Helper()
	a.close()
	a.openIndex()
	a.connect()
}

// scan scans barcode in direction dir at the appliance's lane with policy.
func (a *appliance) scan(barcode string, dir gate.Direction, policy gate.OfflinePolicy) gate.Decision {
	return a.ix.Scan(context.Background(), gate.Scan{Barcode: barcode, Lane: a.id + "-1", Direction: dir, Offline: policy})
}

func (a *appliance) in(barcode string) gate.Decision {
	return a.scan(barcode, gate.In, gate.OfflineDeny)
}
func (a *appliance) out(barcode string) gate.Decision {
	return a.scan(barcode, gate.Out, gate.OfflineDeny)
}

// learned waits until the appliance has learned every write the hub holds.
func (a *appliance) learned(c *hubtest.Cluster) {
	a.t.Helper()
	last := hubLast(a.t, c)
	eventually(a.t, 30*time.Second, a.id+" learns up to revision "+fmt.Sprint(last), func() bool {
		return a.ix.VenuePosition() >= last
	})
}

// hubLast is the hub's last redemption revision.
func hubLast(t testing.TB, c *hubtest.Cluster) uint64 {
	t.Helper()
	_, js := c.Admin()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, "KV_"+venue.BucketRedemptions)
	if err != nil {
		t.Fatal(err)
	}
	return s.CachedInfo().State.LastSeq
}

// hubRecord reads (event, ticket) at the hub as an administrator: nil when
// the key has no value.
func hubRecord(t testing.TB, js jetstream.JetStream, event, ticket string) *venue.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	kv, err := js.KeyValue(ctx, venue.BucketRedemptions)
	if err != nil {
		t.Fatal(err)
	}
	key := venue.RedemptionKey(event, ticket)
	e, err := kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	rec, err := venue.DecodeRecord(key, e.Revision(), e.Value())
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// used returns the admissions of ticket at event in a's store.
func (a *appliance) used(barcode, event string) gate.Redemption {
	a.t.Helper()
	v, err := a.ix.Ticket(context.Background(), barcode)
	if err != nil {
		a.t.Fatalf("%s: ticket %s: %v", a.id, barcode, err)
	}
	for _, r := range v.Redemptions {
		if r.Event == event {
			return r
		}
	}
	return gate.Redemption{Event: event}
}
