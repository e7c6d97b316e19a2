package venue_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/admitgate/admit/venue"
	"github.com/admitgate/admit/venue/hubtest"
)

// TestDuplicateApplianceRefused: a second process with a live appliance's id
// is refused at connect, naming the id; the first goes on.
func TestDuplicateApplianceRefused(t *testing.T) {
	c := hubtest.StartCluster(t, 1)
	first := openUp(t, c, "north")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := venue.Open(ctx, c.LinkConfig("north"), testLogger())
	if !errors.Is(err, venue.ErrRefused) ||
		!strings.Contains(err.Error(), "appliance id north is already used by a live appliance (last heard") {
		t.Fatalf("second north: %v", err)
	}
	rec := admission("MATCH", "T-1", "north", 1, nil)
	if _, err := first.Claim(ctx, rec.Key(), rec, 0); err != nil {
		t.Fatalf("the first north after the second was refused: %v", err)
	}
	// Once the first closes (its key given back), the id is free.
	first.Close()
	openUp(t, c, "north")
}

// TestPresenceTakeover: a presence key left by a process that died (no more
// heartbeats) is taken over by the restarted appliance, without waiting for
// the key to expire.
func TestPresenceTakeover(t *testing.T) {
	c := hubtest.StartCluster(t, 1)
	c.Init()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, js := c.Admin()
	kv, err := js.KeyValue(ctx, venue.BucketAppliances)
	if err != nil {
		t.Fatal(err)
	}
	dead, _ := json.Marshal(venue.Presence{ID: "north", Instance: "dead0000", Lanes: []string{}, Version: "old",
		Started: time.Now(), Heartbeat: time.Now()})
	if _, err := kv.Put(ctx, "north", dead); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	north := openUp(t, c, "north")
	if took := time.Since(start); took > venue.PresenceTTL {
		t.Fatalf("takeover took %s, longer than the key's life", took)
	}
	apps, err := north.Appliances(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(apps) != 1 || apps[0].Instance != north.Instance() {
		t.Fatalf("appliances %+v, want north's new instance", apps)
	}
}

// TestAppliances lists every live appliance with its lanes and when it was
// last heard, and follows heartbeats.
func TestAppliances(t *testing.T) {
	c := hubtest.StartCluster(t, 1)
	north := openUp(t, c, "north")
	openUp(t, c, "south")
	ctx := context.Background()
	apps, err := north.Appliances(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, a := range apps {
		ids = append(ids, a.ID)
		if a.Err != nil || a.Version != "test" || !slices.Equal(a.Lanes, []string{a.ID + "-1"}) || a.LastHeard.IsZero() {
			t.Errorf("appliance %+v", a)
		}
	}
	if !slices.Equal(ids, []string{"north", "south"}) {
		t.Fatalf("appliances %v", ids)
	}
	firstRev := apps[0].Rev
	eventually(t, 10*time.Second, "a heartbeat", func() bool {
		apps, err := north.Appliances(ctx)
		return err == nil && len(apps) == 2 && apps[0].Rev > firstRev
	})
}

// TestPermissions: appliance north may do what an appliance does (claims,
// reads, watches, presence, its own changes, files, double entries), and
// the hub refuses it another appliance's change subject and presence key.
func TestPermissions(t *testing.T) {
	c := hubtest.StartCluster(t, 1)
	north := openUp(t, c, "north")
	openUp(t, c, "south")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	nc, js := north.Conn(), north.JetStream()

	// What it needs.
	rec := admission("MATCH", "T-1", "north", 1, nil)
	if _, err := north.Claim(ctx, rec.Key(), rec, 0); err != nil {
		t.Fatalf("claim: %v", err)
	}
	if _, err := north.Get(ctx, rec.Key()); err != nil {
		t.Fatalf("get: %v", err)
	}
	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	err := north.Watch(wctx, 0, func(venue.Entry) error { return errStop })
	wcancel()
	if !errors.Is(err, errStop) {
		t.Fatalf("watch: %v", err)
	}
	if _, err := north.Appliances(ctx); err != nil {
		t.Fatalf("appliances: %v", err)
	}
	ack, err := js.Publish(ctx, venue.ChangeSubject("north"), []byte(`{"change":1}`))
	if err != nil || ack.Stream != venue.StreamChanges {
		t.Fatalf("publish own change: %v", err)
	}
	changes, err := js.Stream(ctx, venue.StreamChanges)
	if err != nil {
		t.Fatalf("changes stream: %v", err)
	}
	cons, err := changes.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatalf("changes consumer: %v", err)
	}
	if m, err := cons.Next(); err != nil || string(m.Data()) != `{"change":1}` {
		t.Fatalf("read own change: %v", err)
	}
	files, err := js.ObjectStore(ctx, venue.BucketFiles)
	if err != nil {
		t.Fatalf("file store: %v", err)
	}
	if _, err := files.PutBytes(ctx, "abc123", []byte("barcode\n")); err != nil {
		t.Fatalf("put file: %v", err)
	}
	if b, err := files.GetBytes(ctx, "abc123"); err != nil || string(b) != "barcode\n" {
		t.Fatalf("get file: %q, %v", b, err)
	}
	doubles, err := js.KeyValue(ctx, venue.BucketDoubleEntries)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := doubles.Create(ctx, rec.Key(), []byte(`{}`)); err != nil {
		t.Fatalf("double entry: %v", err)
	}

	// What it may not: the server answers with a permissions violation and
	// stores nothing.
	violations := make(chan error, 8)
	nc.SetErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { violations <- err })
	expectViolationFor := func(what string) {
		t.Helper()
		select {
		case err := <-violations:
			if !strings.Contains(strings.ToLower(err.Error()), "permissions violation") || !strings.Contains(err.Error(), what) {
				t.Fatalf("%s: %v, want a permissions violation", what, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: the hub did not refuse it", what)
		}
	}
	expectViolation := func(subject string) {
		t.Helper()
		if err := nc.Publish(subject, []byte(`{}`)); err != nil {
			t.Fatalf("publish %s: %v", subject, err)
		}
		expectViolationFor(subject)
	}
	expectViolation(venue.ChangeSubject("south"))
	expectViolation(venue.ChangeSubject("south") + ".x")
	expectViolation("$KV." + venue.BucketAppliances + ".south")
	expectViolation("$JS.API.STREAM.DELETE." + venue.StreamChanges)
	expectViolation("$JS.API.STREAM.PURGE.KV_" + venue.BucketRedemptions)
	// Through JetStream, too: no acknowledgement, nothing stored.
	pctx, pcancel := context.WithTimeout(ctx, 500*time.Millisecond)
	_, err = js.Publish(pctx, venue.ChangeSubject("south"), []byte(`{}`))
	pcancel()
	if err == nil {
		t.Fatal("north published a change as south")
	}
	expectViolationFor(venue.ChangeSubject("south"))
	info, err := changes.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 1 {
		t.Fatalf("changes stream holds %d messages, want north's one", info.State.Msgs)
	}
	apps, err := js.KeyValue(ctx, venue.BucketAppliances)
	if err != nil {
		t.Fatal(err)
	}
	e, err := apps.Get(ctx, "south")
	if err != nil {
		t.Fatal(err)
	}
	var p venue.Presence
	if err := json.Unmarshal(e.Value(), &p); err != nil || p.ID != "south" {
		t.Fatalf("south's presence was overwritten: %s", e.Value())
	}
	// Nor may it read another appliance's inbox.
	if _, err := nc.SubscribeSync("_INBOX_south.>"); err != nil {
		t.Fatal(err)
	}
	expectViolationFor("_INBOX_south.>")
}

var errStop = errors.New("stop")
