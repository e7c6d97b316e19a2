package index_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/index"
	"github.com/admitgate/admit/index/indextest"
	"github.com/admitgate/admit/internal/testkit"
	"github.com/rs/zerolog"
)

// benchTickets is the fixture size: 1M, or ADMIT_BENCH_TICKETS.
func benchTickets() int { return testkit.BenchTickets(1_000_000) }

func label(n int) string { return testkit.CountLabel(n) }

// openBench opens the store in dir. Warm: as Open leaves it by default (a
// recycled WAL, the block cache holding the ticket records; it waits for the
// cache warm-up to end, as the doors of a gate open after the appliance
// started). Cold: without either, what a scan pays right after Open.
// benchLogger logs the index's info lines (an import's stage timings) to
// stderr when ADMIT_BENCH_LOG is set, else nothing.
func benchLogger() zerolog.Logger {
	if os.Getenv("ADMIT_BENCH_LOG") == "" {
		return zerolog.Nop()
	}
	return zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr, NoColor: true}).Level(zerolog.InfoLevel).With().Timestamp().Logger()
}

func openBench(b *testing.B, dir string, warm bool) *index.Index {
	b.Helper()
	ix, err := index.Open(dir, &index.Options{Logger: benchLogger(), Appliance: "bench", DisableWALWarmup: !warm, DisableCacheWarmup: !warm})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = ix.Close() })
	for !ix.Stats().CacheWarmed {
		time.Sleep(10 * time.Millisecond)
	}
	return ix
}

// BenchmarkScan measures the scan path on a store of 1M tickets: an unknown
// barcode (bloom miss), an already used one, a first use (durable) from 1, 8
// and 64 goroutines, on a store as Open leaves it (warm: a recycled WAL and
// the ticket records in the block cache) and without either (cold), beside
// the disk's own fsync probe and Pebble's own group commit in the same run.
func BenchmarkScan(b *testing.B) {
	n := benchTickets()
	for _, warm := range []bool{true, false} {
		state := "warm"
		if !warm {
			state = "cold"
		}
		dir := indextest.Fixture(b, n)
		ix := openBench(b, dir, warm)
		var next atomic.Int64 // the next fresh ticket
		prefix := fmt.Sprintf("tickets=%s/store=%s", label(n), state)

		b.Run(prefix+"/fsync-probe", func(b *testing.B) {
			h, err := indextest.FsyncProbe(dir, b.N)
			if err != nil {
				b.Fatal(err)
			}
			indextest.Metrics(b, h, "")
		})
		if !warm {
			// Cold, only durable first uses differ.
			benchFirstUse(b, ix, &next, n, prefix, 1, false)
			continue
		}
		b.Run(prefix+"/miss", func(b *testing.B) {
			h := indextest.NewHistogram()
			ctx := context.Background()
			s := gate.Scan{Lane: "bench", Direction: gate.In, At: time.Now()}
			barcodes := make([]string, min(b.N, 1<<16))
			for i := range barcodes {
				barcodes[i] = indextest.Unknown(i)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				s.Barcode = barcodes[i%len(barcodes)]
				start := time.Now()
				d := ix.Scan(ctx, s)
				_ = h.RecordValue(time.Since(start).Nanoseconds())
				if d.Reason != gate.ReasonUnknown {
					b.Fatalf("%s: %s", s.Barcode, d.Reason)
				}
			}
			b.StopTimer()
			indextest.Metrics(b, h, "")
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "scans/s")
		})
		// Already used: a set of tickets admitted once, then scanned again.
		const used = 1000
		usedBarcodes := make([]string, used)
		for i := range usedBarcodes {
			usedBarcodes[i] = indextest.Barcode(int(next.Add(1) - 1))
			if d := ix.Scan(context.Background(), gate.Scan{Barcode: usedBarcodes[i], Lane: "bench", Direction: gate.In}); d.Reason != gate.ReasonOK {
				b.Fatalf("setup: %s", d.Reason)
			}
		}
		b.Run(prefix+"/already-used", func(b *testing.B) {
			h := indextest.NewHistogram()
			ctx := context.Background()
			s := gate.Scan{Lane: "bench", Direction: gate.In, At: time.Now()}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				s.Barcode = usedBarcodes[i%used]
				start := time.Now()
				d := ix.Scan(ctx, s)
				_ = h.RecordValue(time.Since(start).Nanoseconds())
				if d.Reason != gate.ReasonAlreadyUsed {
					b.Fatalf("%s: %s", s.Barcode, d.Reason)
				}
			}
			b.StopTimer()
			indextest.Metrics(b, h, "")
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "scans/s")
		})
		for _, g := range []int{1, 8, 64} {
			b.Run(fmt.Sprintf("%s/pebble-probe/goroutines=%d", prefix, g), func(b *testing.B) {
				res, err := indextest.PebbleProbe(dir, g, b.N)
				if err != nil {
					b.Fatal(err)
				}
				indextest.Metrics(b, res.Latency, "")
				b.ReportMetric(res.PerSecond, "commits/s")
				b.ReportMetric(float64(res.CPU.Microseconds())/float64(b.N), "cpu-µs/op")
			})
			benchFirstUse(b, ix, &next, n, prefix, g, false)
		}
		benchFirstUse(b, ix, &next, n, prefix, 64, true)
		benchMixed(b, ix, &next, n, prefix)
	}
}

// benchMixed scans, from one goroutine, an unknown barcode before each
// fresh ticket, as at a door where refusals and admissions alternate, and
// times the admissions: a refusal's journal write must not make the next
// admission wait for a second fsync.
func benchMixed(b *testing.B, ix *index.Index, next *atomic.Int64, n int, prefix string) {
	b.Run(prefix+"/first-use-after-refusal/goroutines=1", func(b *testing.B) {
		if int(next.Load())+b.N > n {
			b.Skipf("fixture exhausted: %d of %d tickets used", next.Load(), n)
		}
		base := int(next.Add(int64(b.N)) - int64(b.N))
		barcodes := make([]string, b.N)
		unknown := make([]string, b.N)
		for i := range barcodes {
			barcodes[i] = indextest.Barcode(base + i)
			unknown[i] = indextest.Unknown(base + i)
		}
		h := indextest.NewHistogram()
		ctx := context.Background()
		s := gate.Scan{Lane: "bench", Direction: gate.In, At: time.Now()}
		b.ResetTimer()
		for i := range b.N {
			s.Barcode = unknown[i]
			if d := ix.Scan(ctx, s); d.Reason != gate.ReasonUnknown {
				b.Fatalf("%s: %s", s.Barcode, d.Reason)
			}
			s.Barcode = barcodes[i]
			start := time.Now()
			d := ix.Scan(ctx, s)
			_ = h.RecordValue(time.Since(start).Nanoseconds())
			if d.Reason != gate.ReasonOK {
				b.Fatalf("%s: %s", s.Barcode, d.Reason)
			}
		}
		b.StopTimer()
		indextest.Metrics(b, h, "")
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "admits/s")
	})
}

// benchFirstUse scans fresh tickets from g goroutines. Distinct: every
// ticket is scanned once, so no two scans wait for each other's lock: the
// admissions per second group commit allows (compare with pebble-probe at
// the same goroutine count). Contested: every ticket is scanned twice, by
// two goroutines at once, so each admit is raced and exactly one of the two
// may admit (half the scans are already_used refusals, which the journal
// writer also has to write): the zero-double-admit check.
func benchFirstUse(b *testing.B, ix *index.Index, next *atomic.Int64, n int, prefix string, g int, contested bool) {
	name := fmt.Sprintf("%s/first-use/goroutines=%d", prefix, g)
	per := 1 // scans per ticket
	if contested {
		name = fmt.Sprintf("%s/first-use-contested/goroutines=%d", prefix, g)
		per = 2
	}
	b.Run(name, func(b *testing.B) {
		if int(next.Load())+b.N > n {
			b.Skipf("fixture exhausted: %d of %d tickets used", next.Load(), n)
		}
		base := next.Add(int64(b.N)) - int64(b.N)
		barcodes := make([]string, b.N)
		for i := range barcodes {
			barcodes[i] = indextest.Barcode(int(base) + i)
		}
		hs := make([]*hdrhistogram.Histogram, g)
		var admits, other atomic.Int64
		var claimed atomic.Int64
		var wg sync.WaitGroup
		ctx := context.Background()
		b.ReportAllocs()
		b.ResetTimer()
		cpu := indextest.CPUTime()
		for w := range g {
			hs[w] = indextest.NewHistogram()
			wg.Add(1)
			go func() {
				defer wg.Done()
				s := gate.Scan{Lane: "lane-" + strconv.Itoa(w), Direction: gate.In, At: time.Now()}
				for {
					// Contested: operations 2k and 2k+1 scan ticket k.
					op := claimed.Add(1) - 1
					if op >= int64(per*b.N) {
						return
					}
					s.Barcode = barcodes[op/int64(per)]
					start := time.Now()
					d := ix.Scan(ctx, s)
					_ = hs[w].RecordValue(time.Since(start).Nanoseconds())
					switch d.Reason {
					case gate.ReasonOK:
						admits.Add(1)
					case gate.ReasonAlreadyUsed:
						if !contested {
							other.Add(1)
						}
					default:
						other.Add(1)
					}
				}
			}()
		}
		wg.Wait()
		b.StopTimer()
		b.ReportMetric(float64((indextest.CPUTime()-cpu).Microseconds())/float64(b.N), "cpu-µs/op")
		double := admits.Load() - int64(b.N)
		if double != 0 {
			b.Errorf("%d admits for %d tickets", admits.Load(), b.N)
		}
		if other.Load() > 0 {
			b.Errorf("%d scans neither admitted nor (contested) already used", other.Load())
		}
		h := indextest.NewHistogram()
		for _, x := range hs {
			h.Merge(x)
		}
		indextest.Metrics(b, h, "")
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "admits/s")
		if contested {
			b.ReportMetric(float64(max(double, 0)), "double-admits")
		}
	})
}

// BenchmarkLoad imports a SecuTix-like source into an empty store, end to
// end (validate, sort with spilling, classify, SSTables, ingest, bloom): 1M
// lines, and 10M with ADMIT_BENCH_10M=1. It reports lines/s and the peak
// RSS of the process during the import.
func BenchmarkLoad(b *testing.B) {
	sizes := []int{1_000_000}
	if os.Getenv("ADMIT_BENCH_10M") != "" {
		sizes = append(sizes, 10_000_000)
	}
	for _, n := range sizes {
		b.Run("lines="+label(n), func(b *testing.B) {
			for range b.N {
				b.StopTimer()
				dir := b.TempDir()
				ix, err := index.Open(dir, &index.Options{Logger: benchLogger(), DisableWALWarmup: true})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := ix.PutEvent(context.Background(), indextest.Event()); err != nil {
					b.Fatal(err)
				}
				runtime.GC()
				resetPeakRSS()
				b.StartTimer()
				res, err := ix.Load(context.Background(), gate.ImportRequest{Provider: indextest.Provider}, indextest.Tickets(n))
				b.StopTimer()
				if err != nil || res.Added != n {
					b.Fatalf("%v: %+v", err, res)
				}
				b.ReportMetric(float64(peakRSS())/(1<<20), "peak-RSS-MiB")
				_ = ix.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "lines/s")
		})
	}
}

// BenchmarkScanDuringImport measures first-use scans (one goroutine) on a
// 1M-ticket store while a 1M-line import of new tickets runs, and, in the
// same run, the same scans for as long without an import (baseline-*).
func BenchmarkScanDuringImport(b *testing.B) {
	n := benchTickets()
	b.Run(fmt.Sprintf("tickets=%s/import=%s", label(n), label(n)), func(b *testing.B) {
		dir := indextest.Fixture(b, n)
		ix := openBench(b, dir, true)
		ctx := context.Background()
		next := 0
		scan := func(h *hdrhistogram.Histogram, stop <-chan error) int {
			s := gate.Scan{Lane: "bench", Direction: gate.In, At: time.Now()}
			for scans := 0; ; scans++ {
				select {
				case err := <-stop:
					if err != nil {
						b.Fatal(err)
					}
					return scans
				default:
				}
				if next >= n {
					b.Fatal("fixture exhausted")
				}
				s.Barcode = indextest.Barcode(next)
				next++
				start := time.Now()
				d := ix.Scan(ctx, s)
				_ = h.RecordValue(time.Since(start).Nanoseconds())
				if d.Reason != gate.ReasonOK {
					b.Fatalf("%s: %s %s", s.Barcode, d.Reason, d.Detail)
				}
			}
		}
		b.ResetTimer()
		during := indextest.NewHistogram()
		done := make(chan error, 1)
		start := time.Now()
		go func() {
			_, err := ix.Load(ctx, gate.ImportRequest{Provider: indextest.Provider}, &indextest.Source{N: n, From: n})
			done <- err
		}()
		scans := scan(during, done)
		took := time.Since(start)
		b.StopTimer()
		baseline := indextest.NewHistogram()
		timer := make(chan error, 1)
		go func() { time.Sleep(took); timer <- nil }()
		scan(baseline, timer)
		indextest.Metrics(b, during, "")
		indextest.Metrics(b, baseline, "baseline-")
		b.ReportMetric(float64(scans), "scans")
		b.ReportMetric(took.Seconds(), "import-s")
	})
}

// resetPeakRSS resets the kernel's high-water mark of this process's RSS.
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// peakRSS returns VmHWM in bytes.
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			f := strings.Fields(line)
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}
