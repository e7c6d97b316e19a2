package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/admitgate/admit/gate"
)

// BenchmarkFirstUseInProcess is the floor BenchmarkScanHTTP stands on: the
// same daemon's index admitting fresh tickets durably from G goroutines, no
// HTTP. Compare its admits/s with the HTTP figures of the same run.
func BenchmarkFirstUseInProcess(b *testing.B) {
	f := newBenchFixture(b, 200_000, 10)
	var next atomic.Int64
	lane := gate.Lane{ID: "north-1", Direction: gate.In}
	for _, g := range []int{1, 8, 64} {
		b.Run(fmt.Sprintf("goroutines=%d", g), func(b *testing.B) {
			var wg sync.WaitGroup
			var left atomic.Int64
			left.Store(int64(b.N))
			hists := make([]*hdrhistogram.Histogram, g)
			start := time.Now()
			for k := range g {
				hists[k] = hdrhistogram.New(1000, int64(10*time.Second), 3)
				wg.Add(1)
				go func() {
					defer wg.Done()
					for left.Add(-1) >= 0 {
						i := next.Add(1) - 1
						if i >= int64(len(f.fresh)) {
							b.Error("fresh tickets ran out; use a smaller -benchtime")
							return
						}
						t0 := time.Now()
						d := f.d.Index().Scan(context.Background(), lane.Scan(f.fresh[i], t0))
						_ = hists[k].RecordValue(int64(time.Since(t0)))
						if d.Reason != gate.ReasonOK {
							b.Errorf("%s: %s", f.fresh[i], d.Reason)
							return
						}
					}
				}()
			}
			wg.Wait()
			el := time.Since(start)
			h := hists[0]
			for _, o := range hists[1:] {
				h.Merge(o)
			}
			b.ReportMetric(float64(b.N)/el.Seconds(), "admits/s")
			b.ReportMetric(float64(h.ValueAtQuantile(50))/1e3, "p50-µs")
			b.ReportMetric(float64(h.ValueAtQuantile(99))/1e3, "p99-µs")
		})
	}
}
