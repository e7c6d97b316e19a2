package bench_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/admitgate/admit/bench"
	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/index"
	"github.com/admitgate/admit/index/indextest"
)

// WaitSettled returns once a flood of refusals is journaled and synced and
// the memtables it filled are flushed and compacted; it gives up when its
// context ends or the store is closed.
func TestWaitSettled(t *testing.T) {
	ix, err := index.Open(t.TempDir(), &index.Options{Appliance: "bench", MemTableSize: 1 << 20, DisableWALWarmup: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	ctx := context.Background()
	s := gate.Scan{Lane: "lane-1", Direction: gate.In}
	for i := range 30_000 { // about 2 MiB of journal: two memtables
		s.Barcode = indextest.Unknown(i)
		if d := ix.Scan(ctx, s); d.Reason != gate.ReasonUnknown {
			t.Fatalf("%s: %s", s.Barcode, d.Reason)
		}
	}
	if err := bench.WaitSettled(ctx, ix, time.Minute); err != nil {
		t.Fatal(err)
	}
	st := ix.Stats()
	if !st.CacheWarmed || st.JournalBacklog != 0 || st.WrittenSeq != st.LastSeq || st.LastSeq < 30_000 ||
		st.FlushesRunning != 0 || st.CompactionsRunning != 0 {
		t.Fatalf("settled, yet: %+v", st)
	}

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := bench.WaitSettled(cancelled, ix, time.Minute); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	if err := bench.WaitSettled(ctx, ix, time.Minute); err == nil {
		t.Fatal("a closed store settled")
	}
}
