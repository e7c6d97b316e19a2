package index

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/admitgate/admit/gate"
)

// holdTablesFS holds every creation of an SSTable, once armed, until
// released: a flush or compaction is then "running" as long as the test
// wants.
type holdTablesFS struct {
	vfs.FS
	mu      sync.Mutex
	armed   bool
	entered chan struct{}
	release chan struct{}
}

func (fs *holdTablesFS) Create(name string, category vfs.DiskWriteCategory) (vfs.File, error) {
	fs.mu.Lock()
	hold := fs.armed && strings.HasSuffix(name, ".sst")
	if hold {
		fs.armed = false
	}
	fs.mu.Unlock()
	if hold {
		fs.entered <- struct{}{}
		<-fs.release
	}
	return fs.FS.Create(name, category)
}

// Stats shows a memtable flush while it runs and none once it is over, and
// reads nothing from a closed store.
func TestStatsShowsFlushes(t *testing.T) {
	fs := &holdTablesFS{FS: vfs.NewMem(), entered: make(chan struct{}), release: make(chan struct{})}
	ix := openFS(t, fs)
	if st := ix.Stats(); st.FlushesRunning != 0 || st.CompactionsRunning != 0 {
		t.Fatalf("a fresh store: %d flushes, %d compactions running", st.FlushesRunning, st.CompactionsRunning)
	}
	if _, err := ix.PutEvent(context.Background(), derby); err != nil {
		t.Fatal(err)
	}
	fs.mu.Lock()
	fs.armed = true
	fs.mu.Unlock()
	flushed := make(chan error, 1)
	go func() { flushed <- ix.db.Flush() }()
	<-fs.entered
	if st := ix.Stats(); st.FlushesRunning != 1 {
		t.Errorf("while a flush writes its table: %d flushes running, want 1", st.FlushesRunning)
	}
	close(fs.release)
	if err := <-flushed; err != nil {
		t.Fatal(err)
	}
	if st := ix.Stats(); st.FlushesRunning != 0 {
		t.Errorf("after the flush: %d flushes running, want 0", st.FlushesRunning)
	}
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	if st := ix.Stats(); !st.Closed || st.FlushesRunning != 0 || st.CompactionsRunning != 0 {
		t.Errorf("closed: %+v", st)
	}
}

// Stats counts Sync commits and the WAL syncs that carried them: each
// admission is one Sync commit, and one after the other each needs a sync.
//
// Pebble counts a WAL sync just after it has released the commits the sync
// carried, so a commit can return before its sync is counted: the test
// reads the counts once they have stopped moving.
func TestStatsCountsSyncs(t *testing.T) {
	ix, _ := openMem(t)
	load(t, ix, tk("A", "derby"), tk("B", "derby"))
	before := settledStats(ix)
	for _, barcode := range []string{"A", "B"} {
		if d := scanAt(ix, barcode, during); d.Reason != gate.ReasonOK {
			t.Fatalf("%s: %s", barcode, d.Reason)
		}
	}
	after := settledStats(ix)
	if got := after.SyncCommits - before.SyncCommits; got != 2 {
		t.Errorf("two admissions: %d Sync commits, want 2", got)
	}
	if got := after.WALSyncs - before.WALSyncs; got != 2 {
		t.Errorf("two admissions one after the other: %d WAL syncs, want 2", got)
	}
}

// settledStats returns ix.Stats() once its WAL sync count has not moved for
// 20 ms (or after a second).
func settledStats(ix *Index) Stats {
	st := ix.Stats()
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		next := ix.Stats()
		if next.WALSyncs == st.WALSyncs {
			return next
		}
		st = next
	}
	return st
}

// The warm-up says how many ticket records the block cache took: all of
// them in a cache of the default size, fewer in one too small for them.
func TestStatsWarmedTickets(t *testing.T) {
	tickets := make([]gate.Ticket, 2000)
	for i := range tickets {
		tickets[i] = tk(fmt.Sprintf("W-%05d", i), "derby")
	}
	for _, tt := range []struct {
		name  string
		cache int64
		all   bool
	}{{"default cache", 0, true}, {"cache of two memtables and a little", 2*(4<<20) + 1200<<10, false}} {
		t.Run(tt.name, func(t *testing.T) {
			fs := vfs.NewMem()
			ix := openFS(t, fs)
			if _, err := ix.PutEvent(context.Background(), derby); err != nil {
				t.Fatal(err)
			}
			load(t, ix, tickets...)
			if err := ix.Close(); err != nil {
				t.Fatal(err)
			}
			o := testOptions(fs)
			o.CacheSize = tt.cache
			ix, err := Open("data", o)
			if err != nil {
				t.Fatal(err)
			}
			defer ix.Close()
			deadline := time.Now().Add(10 * time.Second)
			for !ix.Stats().CacheWarmed {
				if time.Now().After(deadline) {
					t.Fatal("the warm-up never ended")
				}
				time.Sleep(time.Millisecond)
			}
			st := ix.Stats()
			if got := st.WarmedTickets == st.Tickets; got != tt.all || st.Tickets != int64(len(tickets)) {
				t.Errorf("%d of %d tickets warmed; want all: %v", st.WarmedTickets, st.Tickets, tt.all)
			}
		})
	}
}
