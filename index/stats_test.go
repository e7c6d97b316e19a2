package index

import (
	"context"
	"strings"
	"sync"
	"testing"

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
func TestStatsCountsSyncs(t *testing.T) {
	ix, _ := openMem(t)
	load(t, ix, tk("A", "derby"), tk("B", "derby"))
	before := ix.Stats()
	for _, barcode := range []string{"A", "B"} {
		if d := scanAt(ix, barcode, during); d.Reason != gate.ReasonOK {
			t.Fatalf("%s: %s", barcode, d.Reason)
		}
	}
	after := ix.Stats()
	if got := after.SyncCommits - before.SyncCommits; got != 2 {
		t.Errorf("two admissions: %d Sync commits, want 2", got)
	}
	if got := after.WALSyncs - before.WALSyncs; got != 2 {
		t.Errorf("two admissions one after the other: %d WAL syncs, want 2", got)
	}
}
