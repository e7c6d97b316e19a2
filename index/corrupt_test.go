package index

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// corruptStore writes a store whose tickets live in a table, closes it (a
// clean close, or as a crash leaves it: no saved counters) and flips bytes
// inside that table's data blocks. It returns the table's file name.
func corruptStore(t *testing.T, fs vfs.FS, clean bool) string {
	t.Helper()
	o := testOptions(fs)
	o.ImportBatchLines = 100 // the tickets are ingested as a table
	ix, err := Open("data", o)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ix.PutEvent(context.Background(), derby); err != nil {
		t.Fatal(err)
	}
	var ts []gate.Ticket
	for i := range 3000 {
		ts = append(ts, tk(fmt.Sprintf("R%05d", i), "derby"))
	}
	load(t, ix, ts...)
	if clean {
		if err := ix.Close(); err != nil {
			t.Fatal(err)
		}
	} else {
		ix.closed.Store(true)
		close(ix.stop)
		ix.quiesce(nil, time.Time{})
		ix.bg.Wait()
		_ = ix.db.Close()
	}
	names, err := fs.List("data/db")
	if err != nil {
		t.Fatal(err)
	}
	table, size := "", int64(0)
	for _, n := range names {
		if !strings.HasSuffix(n, ".sst") {
			continue
		}
		if st, err := fs.Stat("data/db/" + n); err == nil && st.Size() > size {
			table, size = n, st.Size()
		}
	}
	if size < 32<<10 {
		t.Fatalf("no table of tickets (largest %q, %d bytes)", table, size)
	}
	b := readFile(t, fs, "data/db/"+table)
	for _, at := range []int{len(b) / 5, len(b) / 3, len(b) / 2} { // data blocks; the index and footer are at the end
		for i := range 16 {
			b[at+i] ^= 0x5a
		}
	}
	writeFile(t, fs, "data/db/"+table, b)
	return table
}

// TestCorruptTableFailsClosed (issue 21.3): bit rot in a table used to make
// Pebble's Fatalf panic in whatever goroutine read it (a compaction, the
// cache warm-up), at every start: a crash loop. Now the store stays up and
// fails closed: every scan is refused with error, every other call is
// unavailable, and Health, Stats and the refusals name the damaged file and
// say to restore a backup, whoever found the damage.
func TestCorruptTableFailsClosed(t *testing.T) {
	ctx := context.Background()
	check := func(t *testing.T, ix *Index, table string) {
		t.Helper()
		waitFor(t, "the corruption to be found", func() bool { return ix.Health().Corruption != "" })
		h := ix.Health()
		if !strings.Contains(h.Corruption, table) || !strings.Contains(h.Corruption, "backup") || !h.Faulted {
			t.Fatalf("health: %+v (damaged table %s)", h, table)
		}
		if st := ix.Stats(); st.Corruption != h.Corruption || !st.Faulted {
			t.Fatalf("stats: %+v", st)
		}
		for _, bc := range []string{"R00001", "R02999", "nope", ""} {
			if d := scanAt(ix, bc, during); d.Reason != gate.ReasonError || d.Admit || d.Seq != 0 || d.Detail != h.Corruption {
				t.Fatalf("scan of %q on a corrupt store: %+v", bc, d)
			}
		}
		if _, err := ix.Ticket(ctx, "R00001"); gate.ErrorCode(err) != gate.EUNAVAILABLE || gate.ErrorMessage(err) != h.Corruption {
			t.Fatalf("ticket on a corrupt store: %v", err)
		}
		if _, err := ix.Report(ctx, "derby", during); gate.ErrorCode(err) != gate.EUNAVAILABLE {
			t.Fatalf("report on a corrupt store: %v", err)
		}
		if _, err := ix.Load(ctx, gate.ImportRequest{Provider: "p1", Source: "t"}, gate.Lines(tk("X", "derby"))); gate.ErrorCode(err) != gate.EUNAVAILABLE {
			t.Fatalf("import on a corrupt store: %v", err)
		}
		if err := ix.Close(); err != nil {
			t.Fatalf("close of a corrupt store: %v", err)
		}
	}

	t.Run("found by the cache warm-up at open, every open", func(t *testing.T) {
		fs := vfs.NewMem()
		table := corruptStore(t, fs, true)
		for range 2 {
			o := testOptions(fs)
			o.DisableCacheWarmup = false
			ix, err := Open("data", o)
			if err != nil {
				t.Fatalf("open of a store with a damaged table: %v", err)
			}
			check(t, ix, table)
		}
	})
	t.Run("found by a compaction", func(t *testing.T) {
		fs := vfs.NewMem()
		table := corruptStore(t, fs, true)
		o := testOptions(fs)
		o.DisableCacheWarmup = true // the compaction is the first to read the table
		ix, err := Open("data", o)
		if err != nil {
			t.Fatal(err)
		}
		// A change of a ticket in the table's first block (undamaged) puts
		// a table over it, so compacting them rewrites the damaged one.
		if _, err := ix.Block(ctx, "R00000", "a"); err != nil {
			t.Fatal(err)
		}
		if err := ix.db.Flush(); err != nil {
			t.Fatal(err)
		}
		err = returnsWithin(t, time.Minute, "a compaction through the damaged table", func() error {
			return ix.db.Compact(ctx, []byte{0}, []byte{0xff, 0xff}, true)
		})
		if err == nil {
			t.Fatal("a compaction through the damaged table succeeded")
		}
		check(t, ix, table)
	})
	t.Run("found by open itself", func(t *testing.T) {
		fs := vfs.NewMem()
		table := corruptStore(t, fs, false) // no saved counters: Open reads every ticket
		ix, err := Open("data", testOptions(fs))
		if err != nil {
			t.Fatalf("open of a store with a damaged table: %v", err)
		}
		check(t, ix, table)
	})
}
