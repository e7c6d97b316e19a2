package index

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
)

// fullDisk is a MemFS whose disk fills on request: while full, every write
// to a table (a flush's or a compaction's output, an import's) fails with
// ENOSPC and GetDiskUsage reports no space; the WAL keeps working, as a
// recycled WAL file overwritten in place does on a real full disk.
type fullDisk struct {
	mem  *vfs.MemFS
	full atomic.Bool
}

func newFullDisk() *fullDisk {
	d := &fullDisk{mem: vfs.NewMem()}
	d.setFull(false)
	return d
}

func (d *fullDisk) fs() vfs.FS { return errorfs.Wrap(d.mem, d) }

func (d *fullDisk) setFull(full bool) {
	d.full.Store(full)
	u := vfs.DiskUsage{TotalBytes: 64 << 20, AvailBytes: 48 << 20, UsedBytes: 16 << 20}
	if full {
		u.AvailBytes, u.UsedBytes = 0, 64<<20
	}
	d.mem.TestingSetDiskUsage(u)
}

func (d *fullDisk) String() string { return "full disk" }

func (d *fullDisk) MaybeError(op errorfs.Op) error {
	if !d.full.Load() || !strings.HasSuffix(op.Path, ".sst") {
		return nil
	}
	switch op.Kind {
	case errorfs.OpFileWrite, errorfs.OpFileWriteAt, errorfs.OpFilePreallocate:
		return &os.PathError{Op: "write", Path: op.Path, Err: syscall.ENOSPC}
	}
	return nil
}

// returnsWithin runs f and fails the test when it has not returned after d: a
// scan that hangs on a stalled disk is the defect these tests catch.
func returnsWithin[T any](t *testing.T, d time.Duration, what string, f func() T) T {
	t.Helper()
	done := make(chan T, 1)
	go func() { done <- f() }()
	select {
	case v := <-done:
		return v
	case <-time.After(d):
		t.Fatalf("%s did not return within %v", what, d)
		panic("unreachable")
	}
}

// TestDiskFullFailsClosed (issue 21.1): when the data disk fills, Pebble's
// flushes fail and its writes would stall behind the memtables they cannot
// flush, and every scan with them. Instead every scan is answered: the
// store faults at the first failed flush (Stats.Faulted and DiskFull), the
// scans that need a write are refused with error, and those that need none
// keep their reason, also once the journal backlog is full; an import is
// refused with ENOSPACE. When space returns the store reopens: no ticket
// refused with error was spent, and the journal has no hole.
func TestDiskFullFailsClosed(t *testing.T) {
	ctx := context.Background()
	disk := newFullDisk()
	o := testOptions(disk.fs())
	o.MemTableSize = 32 << 10 // a few hundred scans fill the memtables
	o.JournalBacklog = 64
	o.CommitTimeout = 5 * time.Second // generous: a loaded machine must not time out a healthy commit
	ix := openDerby(t, o)
	var tickets []gate.Ticket
	for i := range 600 {
		tickets = append(tickets, tk(fmt.Sprintf("D%04d", i), "derby"))
	}
	load(t, ix, tickets...)

	disk.setFull(true)
	var (
		mu      sync.Mutex
		bySeq   = map[uint64]gate.Decision{}
		decided = map[string]gate.Decision{}
		next    atomic.Int64
		wg      sync.WaitGroup
	)
	for range 16 {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(len(tickets)) {
					return
				}
				bc := tickets[i].Barcode
				d := returnsWithin(t, 30*time.Second, "a scan on the full disk", func() gate.Decision { return scanAt(ix, bc, during) })
				miss := scanAt(ix, fmt.Sprintf("nope-%d", i), during)
				if miss.Reason != gate.ReasonUnknown {
					t.Errorf("unknown barcode on the full disk: %+v", miss)
				}
				mu.Lock()
				decided[bc] = d
				for _, d := range []gate.Decision{d, miss} {
					if d.Seq != 0 {
						bySeq[d.Seq] = d
					}
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	st := ix.Stats()
	if !st.Faulted || !st.DiskFull || !ix.Health().DiskFull {
		t.Fatalf("the store is not faulted for a full disk: %+v", st)
	}
	refused := 0
	for bc, d := range decided {
		switch {
		case d.Reason == gate.ReasonError:
			refused++
		case d.Reason != gate.ReasonOK:
			t.Fatalf("%s on the full disk: %+v", bc, d)
		}
	}
	if refused == 0 {
		t.Fatal("no scan was refused on the full disk")
	}
	// While the disk stays full: a ticket is refused with error at once,
	// an unknown barcode is still unknown, with or without room in the
	// journal, and an import is refused as the disk being full.
	if d := scanAt(ix, tickets[0].Barcode, during); d.Reason != gate.ReasonError || !strings.Contains(d.Detail, "disk is full") {
		t.Fatalf("a ticket while the disk is full: %+v", d)
	}
	for i := range 2 * o.JournalBacklog {
		d := returnsWithin(t, 10*time.Second, "an unknown barcode", func() gate.Decision { return scanAt(ix, fmt.Sprintf("more-%d", i), during) })
		if d.Reason != gate.ReasonUnknown {
			t.Fatalf("unknown barcode %d while the disk is full: %+v", i, d)
		}
		if d.Seq != 0 {
			bySeq[d.Seq] = d
		}
	}
	if ix.Stats().Unjournaled == 0 {
		t.Error("the refusals past the full backlog were journaled, or waited")
	}
	_, err := ix.Load(ctx, gate.ImportRequest{Provider: "p1", Source: "test"}, gate.Lines(tk("late", "derby")))
	if gate.ErrorCode(err) != gate.ENOSPACE || gate.ErrorMessage(err) != "the data disk is full" {
		t.Fatalf("import on the full disk: %v (code %s)", err, gate.ErrorCode(err))
	}
	time.Sleep(3 * o.RecoveryInterval) // a few recovery rounds: the store waits for space
	if st := ix.Stats(); !st.Faulted || st.Recoveries != 0 {
		t.Fatalf("the store reopened on a full disk: %+v", st)
	}

	disk.setFull(false)
	waitFor(t, "the store to reopen once there is space", func() bool { return !ix.Stats().Faulted })
	if st := ix.Stats(); st.DiskFull || ix.Health().DiskFull {
		t.Fatalf("still disk full after the recovery: %+v", st)
	}
	for bc, d := range decided {
		again := scanAt(ix, bc, during)
		want := gate.ReasonAlreadyUsed
		if d.Reason == gate.ReasonError {
			want = gate.ReasonOK // refused with error: never spent
		}
		if again.Reason != want {
			t.Fatalf("%s answered %s on the full disk, now %s; want %s", bc, d.Reason, again.Reason, want)
		}
		bySeq[again.Seq] = again
	}
	checkJournalHolds(t, ix, bySeq)
	checkCounters(t, ix)
	checkCaches(t, ix)
}

// TestCommitTimeoutNeverAppliesLater (issue 21.1): a commit that does not
// complete within Options.CommitTimeout (here a WAL sync that hangs) is
// refused with error within the bound, not when the disk answers, and the
// admission it carried, which lands once the disk answers, is undone by
// the recovery: the guest answered error keeps an unspent ticket.
func TestCommitTimeoutNeverAppliesLater(t *testing.T) {
	hang := &hungWAL{release: make(chan struct{})}
	o := testOptions(errorfs.Wrap(vfs.NewMem(), hang))
	o.CommitTimeout = 2 * time.Second // generous: a loaded machine must not time out a healthy commit
	ix := openDerby(t, o)
	load(t, ix, tk("A", "derby"), tk("B", "derby"))
	if d := scanAt(ix, "B", during); d.Reason != gate.ReasonOK {
		t.Fatalf("B: %+v", d)
	}

	hang.on.Store(true)
	d := returnsWithin(t, 30*time.Second, "a scan on a hung disk", func() gate.Decision { return scanAt(ix, "A", during) })
	if d.Reason != gate.ReasonError || d.Admit || d.Seq == 0 {
		t.Fatalf("A on a hung disk: %+v", d)
	}
	if st := ix.Stats(); !st.Faulted || st.CommitTimeouts == 0 || st.DiskFull {
		t.Fatalf("stats after the timeout: %+v", st)
	}
	// The disk answers: the admission lands, then the recovery undoes it.
	hang.on.Store(false)
	close(hang.release)
	waitFor(t, "the recovery", func() bool { return !ix.Stats().Faulted })
	v, err := ix.Ticket(context.Background(), "A")
	if err != nil || len(v.Redemptions) != 0 {
		t.Fatalf("A after the recovery: %+v %v (the refused admission was kept)", v.Redemptions, err)
	}
	if again := scanAt(ix, "A", during); again.Reason != gate.ReasonOK {
		t.Fatalf("A scanned again: %+v", again)
	}
	waitWritten(t, ix)
	es := allEntries(t, ix)
	if e := es[d.Seq-1]; e.Decision.Reason != gate.ReasonError || e.Decision.Barcode != "A" {
		t.Fatalf("journal entry %d: %+v, want the error A was answered", d.Seq, e.Decision)
	}
	checkCounters(t, ix)
}

// hungWAL makes every WAL sync wait until release while on.
type hungWAL struct {
	on      atomic.Bool
	release chan struct{}
}

func (h *hungWAL) String() string { return "hung WAL" }

func (h *hungWAL) MaybeError(op errorfs.Op) error {
	if h.on.Load() && strings.HasSuffix(op.Path, ".log") {
		switch op.Kind {
		case errorfs.OpFileSync, errorfs.OpFileSyncData, errorfs.OpFileSyncTo:
			<-h.release
		}
	}
	return nil
}

// checkJournalHolds waits for the journal to be written and checks that it
// holds 1..LastSeq without a hole and every decision of bySeq as answered.
func checkJournalHolds(t *testing.T, ix *Index, bySeq map[uint64]gate.Decision) {
	t.Helper()
	es := allEntries(t, ix)
	if uint64(len(es)) != ix.Stats().LastSeq {
		t.Fatalf("journal holds %d entries, last seq %d", len(es), ix.Stats().LastSeq)
	}
	for i, e := range es {
		if e.Seq != uint64(i+1) {
			t.Fatalf("journal gap at %d", i+1)
		}
		d, ok := bySeq[e.Seq]
		if !ok {
			continue
		}
		if e.Decision.Barcode != d.Barcode || e.Decision.Reason != d.Reason || e.Decision.Admit != d.Admit {
			t.Errorf("entry %d: %q %s, answered %q %s", e.Seq, e.Decision.Barcode, e.Decision.Reason, d.Barcode, d.Reason)
		}
	}
}

// noSpaceUnder fails every write to a file whose path contains one of the
// strings with ENOSPC while on.
type noSpaceUnder struct {
	on    atomic.Bool
	paths []string
}

func (n *noSpaceUnder) String() string { return "no space under " + strings.Join(n.paths, ", ") }

func (n *noSpaceUnder) MaybeError(op errorfs.Op) error {
	if !n.on.Load() || !slices.ContainsFunc(n.paths, func(p string) bool { return strings.Contains(op.Path, p) }) {
		return nil
	}
	switch op.Kind {
	case errorfs.OpFileWrite, errorfs.OpFileWriteAt, errorfs.OpFilePreallocate, errorfs.OpFileSync, errorfs.OpFileSyncData:
		return &os.PathError{Op: "write", Path: op.Path, Err: syscall.ENOSPC}
	}
	return nil
}

// TestImportOnFullDisk (issue 21.4): an import that meets a full disk, in
// its spill runs, its tables or its commit, is refused with gate.ENOSPACE,
// "the data disk is full" (not an internal error), and leaves nothing
// behind; the store takes it once there is space.
func TestImportOnFullDisk(t *testing.T) {
	ctx := context.Background()
	var tickets []gate.Ticket
	for i := range 400 {
		tickets = append(tickets, tk(fmt.Sprintf("I%04d", i), "derby"))
	}
	for _, tc := range []struct {
		name  string
		paths []string
		opts  func(*Options)
	}{
		{"spill runs", []string{"/tmp/"}, func(o *Options) { o.ImportSpillBytes = 4 << 10 }},
		{"tables to ingest", []string{"/tmp/"}, func(o *Options) { o.ImportBatchLines = 10 }},
		{"the commit", []string{".log"}, func(o *Options) {}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			full := &noSpaceUnder{paths: tc.paths}
			o := testOptions(errorfs.Wrap(vfs.NewMem(), full))
			tc.opts(o)
			ix := openDerby(t, o)
			full.on.Store(true)
			res, err := ix.Load(ctx, gate.ImportRequest{Provider: "p1", Source: "test"}, gate.Lines(tickets...))
			if gate.ErrorCode(err) != gate.ENOSPACE || gate.ErrorMessage(err) != "the data disk is full" || res.Applied {
				t.Fatalf("import on a full disk: %+v, %v (code %s)", res, err, gate.ErrorCode(err))
			}
			if !strings.Contains(err.Error(), "no space left on device") {
				t.Errorf("the error for the log lost its cause: %v", err)
			}
			full.on.Store(false)
			waitFor(t, "the store to take writes again", func() bool { return !ix.Stats().Faulted })
			if ix.Stats().Tickets != 0 {
				t.Fatalf("a refused import left tickets: %+v", ix.Stats())
			}
			if res := load(t, ix, tickets...); res.Added != len(tickets) {
				t.Fatalf("the import once there is space: %+v", res)
			}
		})
	}
}
