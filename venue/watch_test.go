package venue_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/admitgate/admit/venue"
	"github.com/admitgate/admit/venue/hubtest"
)

// collector gathers what a Watch delivers.
type collector struct {
	mu      sync.Mutex
	entries []venue.Entry
}

func (c *collector) add(e venue.Entry) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries = append(c.entries, e)
	return nil
}

func (c *collector) snapshot() []venue.Entry {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]venue.Entry(nil), c.entries...)
}

// watch runs l.Watch from after in the background until the test ends.
func watch(t *testing.T, l *venue.Link, after uint64) (*collector, func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	col := &collector{}
	done := make(chan error, 1)
	go func() { done <- l.Watch(ctx, after, col.add) }()
	var once sync.Once
	var err error
	stop := func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(10 * time.Second):
				t.Error("Watch did not return within 10s of its context ending")
			}
		})
		return err
	}
	t.Cleanup(func() { stop() })
	return col, stop
}

// TestWatchResumesAfterRestart: a watcher that applied up to revision R,
// then went away while the hub itself restarted and others wrote, is given
// exactly the revisions after R, in order, and goes on across the restart.
func TestWatchResumesAfterRestart(t *testing.T) {
	c := hubtest.StartCluster(t, 1)
	north := openUp(t, c, "north")
	south := openUp(t, c, "south")
	ctx := context.Background()

	revs := map[uint64]string{} // revision -> key written
	claim := func(i int) {
		t.Helper()
		rec := admission("MATCH", fmt.Sprintf("T-%d", i), "north", uint64(i), nil)
		rev, err := north.Claim(ctx, rec.Key(), rec, 0)
		if err != nil {
			t.Fatalf("claim %d: %v", i, err)
		}
		revs[rev] = rec.Key()
	}
	for i := range 5 {
		claim(i)
	}
	col, stop := watch(t, south, 0)
	eventually(t, 10*time.Second, "the watcher sees 5 revisions", func() bool { return len(col.snapshot()) == 5 })
	if err := stop(); !errors.Is(err, context.Canceled) {
		t.Fatalf("Watch returned %v after its context ended", err)
	}
	applied := col.snapshot()[4].Rev

	for i := 5; i < 10; i++ {
		claim(i)
	}
	c.StopNode(0)
	c.RestartNode(0)
	waitUp(t, north)
	for i := 10; i < 15; i++ {
		claim(i)
	}
	col, _ = watch(t, south, applied)
	eventually(t, 15*time.Second, "the watcher sees the 10 missed revisions", func() bool { return len(col.snapshot()) >= 10 })
	// Written while it watches, across another restart.
	c.StopNode(0)
	c.RestartNode(0)
	waitUp(t, north)
	for i := 15; i < 20; i++ {
		claim(i)
	}
	eventually(t, 15*time.Second, "the watcher sees the revisions after its restart", func() bool { return len(col.snapshot()) >= 15 })
	got := col.snapshot()
	if len(got) != 15 {
		t.Fatalf("%d revisions delivered, want 15", len(got))
	}
	prev := applied
	for _, e := range got {
		if e.Rev <= prev {
			t.Fatalf("revision %d after %d: not in order or twice", e.Rev, prev)
		}
		prev = e.Rev
		if e.Err != nil || e.Record == nil || revs[e.Rev] != e.Key {
			t.Fatalf("revision %d: %+v, want key %s", e.Rev, e, revs[e.Rev])
		}
	}
}

// TestBadValue: a value at the hub that does not decode is an error naming
// its key, from Get and from Watch (delivered, not skipped), and a Watch
// whose fn stops there meets it again from the same revision.
func TestBadValue(t *testing.T) {
	c := hubtest.StartCluster(t, 1)
	north := openUp(t, c, "north")
	ctx := context.Background()
	good := admission("MATCH", "T-1", "north", 1, nil)
	if _, err := north.Claim(ctx, good.Key(), good, 0); err != nil {
		t.Fatal(err)
	}
	_, js := c.Admin()
	kv, err := js.KeyValue(ctx, venue.BucketRedemptions)
	if err != nil {
		t.Fatal(err)
	}
	bad := venue.RedemptionKey("MATCH", "T-2")
	badRev, err := kv.Put(ctx, bad, []byte(`{"v":1,"event":"MATCH","ticket":"T-2","surprise":true}`))
	if err != nil {
		t.Fatal(err)
	}
	after := admission("MATCH", "T-3", "north", 3, nil)
	if _, err := north.Claim(ctx, after.Key(), after, 0); err != nil {
		t.Fatal(err)
	}

	_, err = north.Get(ctx, bad)
	var de *venue.DecodeError
	if !errors.As(err, &de) || de.Key != bad || de.Rev != badRev {
		t.Fatalf("get of a bad value: %v", err)
	}

	// The watcher stops at the bad value; from the same place it meets it
	// again, never the value after it first.
	for range 2 {
		var seen []venue.Entry
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := north.Watch(wctx, 0, func(e venue.Entry) error {
			seen = append(seen, e)
			return e.Err
		})
		cancel()
		if !errors.As(err, &de) || de.Key != bad || len(seen) != 2 || seen[1].Rev != badRev {
			t.Fatalf("watch: %v after %d entries, want the decode error of %s at %d", err, len(seen), bad, badRev)
		}
	}
	// A deleted key is reported the same way.
	if err := kv.Delete(ctx, good.Key()); err != nil {
		t.Fatal(err)
	}
	var last venue.Entry
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	err = north.Watch(wctx, badRev+1, func(e venue.Entry) error {
		last = e
		return e.Err
	})
	if !errors.As(err, &de) || last.Key != good.Key() || last.Record != nil {
		t.Fatalf("watch over a deleted key: %v, %+v", err, last)
	}
}
