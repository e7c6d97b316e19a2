package index

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/admitgate/admit/gate"
)

// BenchmarkJournalBacklog measures what sizing Options.JournalBacklog
// needs: the heap one queued refusal holds (an unknown barcode of 12
// characters, as a scanner flood sends them: the entry, its barcode string,
// its slot in the queue) and how fast the background writer drains a full
// backlog to the disk of the data directory (written and synced, no
// admission to ride on). b.N is the backlog's size.
func BenchmarkJournalBacklog(b *testing.B) {
	o := testOptions(nil)
	o.FS = nil // the real disk
	o.JournalBacklog = b.N
	h := newHeldWriter()
	o.beforeJournalWrite = h.hook
	ix, err := Open(b.TempDir(), o)
	if err != nil {
		b.Fatal(err)
	}
	defer ix.Close()
	if _, err := ix.PutEvent(context.Background(), derby); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	scan := func(i int) {
		d := ix.Scan(ctx, gate.Scan{Barcode: fmt.Sprintf("UNK%09d", i), Lane: "north-1", At: during})
		if d.Reason != gate.ReasonUnknown {
			b.Fatalf("scan %d: %+v", i, d)
		}
	}
	scan(0) // the writer takes it and is held
	<-h.entered
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := 1; i < b.N; i++ {
		scan(i)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if st := ix.Stats(); st.JournalBacklog != b.N {
		b.Fatalf("backlog %d, want %d", st.JournalBacklog, b.N)
	}
	b.ResetTimer()
	start := time.Now()
	h.let()
	for ix.Stats().JournalBacklog > 0 {
		time.Sleep(100 * time.Microsecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	if b.N > 1 {
		b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/float64(b.N-1), "heapB/entry")
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "drained/s")
}

// BenchmarkJournalFlood floods the store with unknown barcodes from every
// core (RunParallel), as a rogue scanner token would through the API, under
// backlogs of several sizes, on the real disk: the refusals per second the
// bound lets through, the backlog's peak, and how many scans waited.
func BenchmarkJournalFlood(b *testing.B) {
	for _, limit := range []int{4096, 65536, 1 << 20} {
		b.Run(fmt.Sprintf("backlog=%d", limit), func(b *testing.B) {
			o := testOptions(nil)
			o.FS = nil // the real disk
			o.MemTableSize = 0
			o.JournalBacklog = limit
			ix, err := Open(b.TempDir(), o)
			if err != nil {
				b.Fatal(err)
			}
			defer ix.Close()
			if _, err := ix.PutEvent(context.Background(), derby); err != nil {
				b.Fatal(err)
			}
			var next atomic.Int64
			ctx := context.Background()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := next.Add(1)
					d := ix.Scan(ctx, gate.Scan{Barcode: fmt.Sprintf("UNK%09d", i), Lane: "north-1", At: during})
					if d.Reason != gate.ReasonUnknown {
						b.Errorf("scan %d: %+v", i, d)
						return
					}
				}
			})
			b.StopTimer()
			st := ix.Stats()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "refusals/s")
			b.ReportMetric(float64(st.JournalBacklogPeak), "peak")
			b.ReportMetric(float64(st.JournalWaits)/float64(b.N), "waits/scan")
		})
	}
}
