package index

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
)

// walSyncs counts the syncs of Pebble's WAL files and, while failing is
// set, fails every write and sync of them.
type walSyncs struct {
	syncs   atomic.Int64
	failing atomic.Bool
}

func (w *walSyncs) MaybeError(op errorfs.Op) error {
	if !strings.HasSuffix(op.Path, ".log") {
		return nil
	}
	switch op.Kind {
	case errorfs.OpFileSync, errorfs.OpFileSyncData, errorfs.OpFileSyncTo:
		if w.failing.Load() {
			return errorfs.ErrInjected
		}
		w.syncs.Add(1)
	case errorfs.OpFileWrite, errorfs.OpFileWriteAt, errorfs.OpCreate, errorfs.OpReuseForWrite, errorfs.OpFilePreallocate:
		if w.failing.Load() {
			return errorfs.ErrInjected
		}
	}
	return nil
}

func (w *walSyncs) String() string { return "walSyncs" }

// openPiggyback opens a store whose journal writer waits as long as given
// for an admission to sync its refusals, on a file system that counts WAL
// syncs.
func openPiggyback(t *testing.T, wait time.Duration) (*Index, *walSyncs) {
	t.Helper()
	w := &walSyncs{}
	opts := testOptions(errorfs.Wrap(vfs.NewMem(), w))
	opts.piggybackWait = wait
	ix := openDerby(t, opts)
	load(t, ix, tk("A", "derby"), tk("B", "derby"))
	return ix, w
}

// waitUnsynced waits until the journal writer has committed (without a
// sync) everything queued.
func waitUnsynced(t *testing.T, ix *Index, commits uint64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for ix.walWritten.Load() < commits || ix.jw.queued() > 0 {
		if time.Now().After(deadline) {
			t.Fatal("the journal writer did not commit")
		}
		time.Sleep(time.Millisecond)
	}
}

// A refusal is committed without a sync of its own; the watermark passes it
// only when the next admission's sync has made it durable, and that one
// sync covers both.
func TestRefusalsRideOnTheNextAdmissionsSync(t *testing.T) {
	ctx := context.Background()
	ix, w := openPiggyback(t, time.Hour)
	refused := scanAt(ix, "nope", during)
	waitUnsynced(t, ix, 1)
	time.Sleep(20 * time.Millisecond) // the writer would have synced by now if it did not wait
	if wm := ix.wm.get(); wm >= refused.Seq {
		t.Fatalf("watermark %d passed unsynced refusal %d", wm, refused.Seq)
	}
	if es, err := ix.Entries(ctx, 0, 0); err != nil || len(es) >= int(refused.Seq) {
		t.Fatalf("entries before the sync: %d %v", len(es), err)
	}
	before := w.syncs.Load()
	d := scanAt(ix, "A", during)
	if d.Reason != gate.ReasonOK {
		t.Fatal(d.Reason)
	}
	waitWritten(t, ix)
	if n := w.syncs.Load() - before; n != 1 {
		t.Errorf("%d WAL syncs for a refusal and an admission, want 1", n)
	}
	es := allEntries(t, ix)
	if len(es) != int(d.Seq) || es[refused.Seq-1].Decision.Barcode != "nope" {
		t.Fatalf("journal after the admission: %d entries, want %d", len(es), d.Seq)
	}
	checkCounters(t, ix)
}

// Close does not wait for an admission: it syncs what is queued.
func TestCloseSyncsUnsyncedRefusals(t *testing.T) {
	fs := errorfs.Wrap(vfs.NewMem(), &walSyncs{})
	opts := testOptions(fs)
	opts.piggybackWait = time.Hour
	ix, err := Open("data", opts)
	if err != nil {
		t.Fatal(err)
	}
	d := scanAt(ix, "nope", during)
	waitUnsynced(t, ix, 1)
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	ix = openFS(t, fs)
	es := allEntries(t, ix)
	if len(es) != int(d.Seq) || es[d.Seq-1].Kind != gate.KindDecision || es[d.Seq-1].Decision.Barcode != "nope" {
		t.Fatalf("journal after reopening: %+v", es)
	}
}

// When the sync that was to carry refusals fails, they are not taken as
// written: they are written again after the store reopens, under the same
// numbers, and counted once.
func TestUnsyncedRefusalsSurviveAFailedSync(t *testing.T) {
	// Long enough for the fault to come first, even on a loaded machine;
	// short enough that the refusals put back are synced after the
	// recovery without an admission.
	ix, w := openPiggyback(t, 2*time.Second)
	nope := scanAt(ix, "nope", during)
	waitUnsynced(t, ix, 1)
	used := scanAt(ix, "A", during)  // its sync carries "nope"
	used2 := scanAt(ix, "A", during) // already used: a refusal with a ticket key
	if used.Reason != gate.ReasonOK || used2.Reason != gate.ReasonAlreadyUsed {
		t.Fatal(used.Reason, used2.Reason)
	}
	waitUnsynced(t, ix, 2)
	w.failing.Store(true)
	if d := scanAt(ix, "B", during); d.Reason != gate.ReasonError {
		t.Fatalf("admission with a failing WAL: %s", d.Reason)
	}
	time.Sleep(5 * time.Millisecond)
	if wm := ix.wm.get(); wm >= used2.Seq {
		t.Fatalf("watermark %d passed refusal %d whose sync failed", wm, used2.Seq)
	}
	w.failing.Store(false)
	deadline := time.Now().Add(10 * time.Second)
	for ix.Stats().Faulted {
		if time.Now().After(deadline) {
			t.Fatal("the store did not recover")
		}
		time.Sleep(5 * time.Millisecond)
	}
	es := allEntries(t, ix)
	for i, e := range es {
		if e.Seq != uint64(i+1) {
			t.Fatalf("journal gap at %d", i+1)
		}
	}
	if e := es[nope.Seq-1]; e.Decision.Barcode != "nope" || e.Decision.Reason != gate.ReasonUnknown {
		t.Fatalf("entry %d = %+v", nope.Seq, e.Decision)
	}
	if e := es[used2.Seq-1]; e.Decision.Reason != gate.ReasonAlreadyUsed {
		t.Fatalf("entry %d = %+v", used2.Seq, e.Decision)
	}
	v, err := ix.Ticket(context.Background(), "A")
	if err != nil || len(v.History) != 2 {
		t.Fatalf("history of A: %+v %v", v.History, err)
	}
	if d := scanAt(ix, "B", during); d.Reason != gate.ReasonOK {
		t.Fatalf("B after recovery: %s", d.Reason)
	}
	checkCounters(t, ix)
}
