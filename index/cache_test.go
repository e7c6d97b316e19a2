package index

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"testing"

	"github.com/admitgate/admit/gate"
)

// A repeated scan decides from the caches, and every change a user makes
// reaches the next scan: admin changes, reissues, annulments, imports.
func TestCachesFollowChanges(t *testing.T) {
	ix, _ := openMem(t)
	ctx := context.Background()
	load(t, ix, tk("A", "derby"), tk("B", "derby"), tk("C", "derby"), tk("D", "derby"))
	want := func(step, barcode string, r gate.Reason) gate.Decision {
		t.Helper()
		d := scanAt(ix, barcode, during)
		if d.Reason != r {
			t.Fatalf("%s: %s is %s, want %s", step, barcode, d.Reason, r)
		}
		return d
	}
	first := want("first use", "A", gate.ReasonOK)
	want("rescan", "A", gate.ReasonAlreadyUsed)
	if _, err := ix.Annul(ctx, first.Seq, "a"); err != nil {
		t.Fatal(err)
	}
	want("after the annulment", "A", gate.ReasonOK)
	want("after the second admission", "A", gate.ReasonAlreadyUsed)

	want("first use", "B", gate.ReasonOK)
	exitAt(ix, "B", during)
	if _, err := ix.Cancel(ctx, "C", "a"); err != nil {
		t.Fatal(err)
	}
	want("cancelled", "C", gate.ReasonCancelled)
	if _, err := ix.Reissue(ctx, "B", "B2", "a"); err != nil {
		t.Fatal(err)
	}
	want("reissued, old barcode", "B", gate.ReasonRevoked)
	want("reissued, new barcode (used before)", "B2", gate.ReasonAlreadyUsed)

	if _, err := ix.Block(ctx, "D", "a"); err != nil {
		t.Fatal(err)
	}
	want("blocked", "D", gate.ReasonBlocked)
	// An import that cancels D upstream, then one that makes it valid again.
	d := tk("D", "derby")
	d.State = gate.StateCancelled
	load(t, ix, d)
	want("cancelled by an import", "D", gate.ReasonCancelled)
	if _, err := ix.Unblock(ctx, "D", "a"); err == nil {
		t.Fatal("unblock of a cancelled ticket")
	}
	load(t, ix, tk("D", "derby"))
	want("valid again but blocked", "D", gate.ReasonBlocked)
	if _, err := ix.Unblock(ctx, "D", "a"); err != nil {
		t.Fatal(err)
	}
	want("unblocked", "D", gate.ReasonOK)
	checkCaches(t, ix)
}

// After scans, exits, annulments and changes from many goroutines, every
// cached record and redemption equals what the store holds.
func TestCachesMatchTheStore(t *testing.T) {
	ix, _ := openMem(t)
	ctx := context.Background()
	var tickets []gate.Ticket
	for i := range 200 {
		tickets = append(tickets, tk(fmt.Sprintf("K%04d", i), "fest", "derby"))
	}
	load(t, ix, tickets...)
	var wg sync.WaitGroup
	for g := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 400 {
				bc := tickets[(i*5+g)%len(tickets)].Barcode
				dir := gate.In
				if (i+g)%3 == 0 {
					dir = gate.Out
				}
				d := ix.Scan(ctx, gate.Scan{Barcode: bc, Lane: "l", Direction: dir, At: during})
				if d.Admit && d.Reason != gate.ReasonExit && i%7 == 0 {
					_, _ = ix.Annul(ctx, d.Seq, "t")
				}
				if i%50 == 0 {
					_, _ = ix.Block(ctx, tickets[i%len(tickets)].Barcode, "t")
					_, _ = ix.Unblock(ctx, tickets[(i+1)%len(tickets)].Barcode, "t")
				}
			}
		}()
	}
	wg.Wait()
	checkCaches(t, ix)
	checkCounters(t, ix)
}

// checkCaches compares every valid cache entry with the store.
func checkCaches(t *testing.T, ix *Index) {
	t.Helper()
	version := ix.recVersion.Load()
	n := 0
	for i := range ix.tcache.shards {
		sh := &ix.tcache.shards[i]
		sh.mu.RLock()
		for bc, e := range sh.m {
			if e.version != version {
				continue
			}
			rec, ok, err := ix.getTicket(nil, bc)
			if err != nil || !ok || !reflect.DeepEqual(rec, e.rec) {
				t.Errorf("cached ticket %s differs from the store: %+v vs %+v (%v)", bc, e.rec, rec, err)
			}
			n++
		}
		sh.mu.RUnlock()
	}
	for i := range ix.stripes {
		s := &ix.stripes[i]
		s.Lock()
		var keys []uint64
		var all [][]gate.Redemption
		if s.reds != nil {
			for j, k := range s.reds.keys {
				if k != 0 {
					keys = append(keys, k)
					all = append(all, s.reds.rs[j])
				}
			}
		}
		for j, key := range keys {
			rs := all[j]
			stored, err := ix.getRedemptions(nil, key)
			if err != nil || string(encodeRedemptions(nil, stored)) != string(encodeRedemptions(nil, rs)) {
				t.Errorf("cached redemptions of %d differ from the store: %+v vs %+v (%v)", key, rs, stored, err)
			}
			n++
		}
		s.Unlock()
	}
	if n == 0 {
		t.Error("nothing cached")
	}
}
