package index

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// ticketTables returns the file numbers of the tables holding ticket
// records, once no flush or compaction runs.
func ticketTables(t *testing.T, ix *Index) map[uint64]bool {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; {
		if st := ix.Stats(); st.FlushesRunning == 0 && st.CompactionsRunning == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("background work did not end")
		}
		time.Sleep(5 * time.Millisecond)
	}
	levels, err := ix.db.SSTables()
	if err != nil {
		t.Fatal(err)
	}
	out := map[uint64]bool{}
	for _, level := range levels {
		for _, tb := range level {
			if tb.Smallest.UserKey[0] <= prefixTicket && tb.Largest.UserKey[0] >= prefixTicket {
				out[uint64(tb.FileNum)] = true
			}
		}
	}
	return out
}

// The WAL warm-up at Open writes and deletes a scratch key outside every
// record's range, so compacting it away never rewrites a table of tickets:
// with the key inside (it was "warm", between the tickets and the import
// meta an import writes into the same table), every Open rewrote the last
// table of tickets in the background, while the first scans ran and the
// block cache warm-up read the table it replaced.
func TestWALWarmupLeavesTicketTables(t *testing.T) {
	for _, p := range []byte{prefixTicket, prefixRedemption, prefixJournal, prefixHistory, prefixNonce,
		prefixEvent, prefixProvider, prefixMeta, prefixImportMeta} {
		if warmKey[0] <= p {
			t.Fatalf("the warm-up key %q does not sort after the records' prefix %q", warmKey, p)
		}
	}
	fs := vfs.NewMem()
	o := testOptions(fs)
	o.MemTableSize = 256 << 10 // cheap warm-ups
	o.ImportBatchLines = 100   // the import below is ingested as a table
	ix, err := Open("data", o)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ix.PutEvent(context.Background(), derby); err != nil {
		t.Fatal(err)
	}
	tickets := make([]gate.Ticket, 500)
	for i := range tickets {
		tickets[i] = tk(fmt.Sprintf("W%05d", i), "derby")
	}
	// Ingested as one table spanning the tickets and the import's x range.
	load(t, ix, tickets...)
	before := ticketTables(t, ix)
	if len(before) == 0 {
		t.Fatal("no table holds tickets")
	}
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	o.DisableWALWarmup = false
	for run := range 2 {
		ix, err = Open("data", o)
		if err != nil {
			t.Fatal(err)
		}
		after := ticketTables(t, ix)
		for fn := range before {
			if !after[fn] {
				t.Errorf("open %d: the ticket table %06d was rewritten (tables now %v)", run+1, fn, after)
			}
		}
		if d := scanAt(ix, "W00042", during); !d.Admit && run == 0 {
			t.Errorf("W00042 after open: %s", d.Reason)
		}
		if err := ix.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
