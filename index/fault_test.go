package index

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
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

// TestWriteFault: with the WAL failing, scans are refused with error and
// nothing panics; once the fault clears the store reopens itself, the
// refused tickets are still unused, and the journal records the refusals.
func TestWriteFault(t *testing.T) {
	ctx := context.Background()
	toggle := walWrites()
	fs := errorfs.Wrap(vfs.NewMem(), toggle)
	ix := openFS(t, fs)
	if _, err := ix.PutEvent(ctx, derby); err != nil {
		t.Fatal(err)
	}
	var ts []gate.Ticket
	for i := range 64 {
		ts = append(ts, tk(fmt.Sprintf("F%02d", i), "derby"))
	}
	load(t, ix, ts...)
	if d := scanAt(ix, "F00", during); d.Reason != gate.ReasonOK {
		t.Fatal(d.Reason)
	}

	toggle.On()
	var wg sync.WaitGroup
	refused := make([]gate.Decision, 32)
	for i := range refused {
		wg.Add(1)
		go func() {
			defer wg.Done()
			refused[i] = scanAt(ix, ts[i+1].Barcode, during)
		}()
	}
	wg.Wait()
	for i, d := range refused {
		if d.Reason != gate.ReasonError || d.Admit || d.Seq == 0 {
			t.Fatalf("scan %d during the fault: %+v", i, d)
		}
	}
	if !ix.Stats().Faulted || ix.Stats().DiskFaults == 0 {
		t.Fatalf("stats during the fault: %+v", ix.Stats())
	}
	if _, err := ix.Block(ctx, "F40", "a"); gate.ErrorCode(err) != gate.EUNAVAILABLE {
		t.Errorf("block during the fault: %v", err)
	}
	// Still faulted a while later: reopening fails while the disk does.
	time.Sleep(100 * time.Millisecond)
	if d := scanAt(ix, "F50", during); d.Reason != gate.ReasonError {
		t.Fatalf("scan while recovering: %s", d.Reason)
	}

	toggle.Off()
	deadline := time.Now().Add(10 * time.Second)
	for ix.Stats().Faulted {
		if time.Now().After(deadline) {
			t.Fatal("the store did not recover")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if ix.Stats().Recoveries != 1 {
		t.Errorf("recoveries = %d", ix.Stats().Recoveries)
	}
	// Every ticket refused with error is still unused; the one admitted
	// before the fault is still used.
	for i := range refused {
		if d := scanAt(ix, ts[i+1].Barcode, during); d.Reason != gate.ReasonOK {
			t.Fatalf("%s after recovery: %s", ts[i+1].Barcode, d.Reason)
		}
	}
	if d := scanAt(ix, "F00", during); d.Reason != gate.ReasonAlreadyUsed {
		t.Fatalf("F00 after recovery: %s", d.Reason)
	}
	es := allEntries(t, ix)
	for i, e := range es {
		if e.Seq != uint64(i+1) {
			t.Fatalf("journal gap at %d", i+1)
		}
	}
	for _, d := range refused {
		if e := es[d.Seq-1]; e.Decision.Reason != gate.ReasonError || e.Decision.Barcode != d.Barcode {
			t.Fatalf("entry %d = %+v, want the error refusal of %s", d.Seq, e.Decision, d.Barcode)
		}
	}
	checkCounters(t, ix)
	checkCaches(t, ix)
}

// TestReadFault: a read error refuses with error without changing anything.
func TestReadFault(t *testing.T) {
	ctx := context.Background()
	toggle := &errorfs.Toggle{Injector: errorfs.InjectorFunc(func(op errorfs.Op) error {
		if strings.HasSuffix(op.Path, ".sst") && op.Kind.ReadOrWrite() == errorfs.OpIsRead {
			return errorfs.ErrInjected
		}
		return nil
	})}
	opts := testOptions(errorfs.Wrap(vfs.NewMem(), toggle))
	opts.ImportBatchLines = 1 // tickets land in ingested SSTables
	ix, err := Open("data", opts)
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	if _, err := ix.PutEvent(ctx, derby); err != nil {
		t.Fatal(err)
	}
	var ts []gate.Ticket
	for i := range 100 {
		ts = append(ts, tk(fmt.Sprintf("S%03d", i), "derby"))
	}
	load(t, ix, ts...)
	toggle.On()
	d := scanAt(ix, "S042", during)
	if d.Reason != gate.ReasonError || d.Detail == "" {
		t.Fatalf("scan with a failing read: %+v", d)
	}
	if _, err := ix.Ticket(ctx, "S043"); err == nil {
		t.Fatalf("ticket read did not fail")
	}
	toggle.Off()
	if d := scanAt(ix, "S042", during); d.Reason != gate.ReasonOK {
		t.Fatalf("after the fault: %s", d.Reason)
	}
	if ix.Stats().DiskFaults == 0 || ix.Stats().Faulted {
		t.Fatalf("stats: %+v", ix.Stats())
	}
	allEntries(t, ix)
	checkCounters(t, ix)
}
