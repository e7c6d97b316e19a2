package bench_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/admitgate/admit/bench"
	"github.com/admitgate/admit/index"
	"github.com/admitgate/admit/internal/testkit"
)

// The workloads of `admit bench` under `go test -bench`, for benchstat:
//
//	go test -run '^$' -bench . -count 5 ./bench | tee new.txt
//	benchstat old.txt new.txt
//
// The fixture (1M tickets, or ADMIT_BENCH_TICKETS) is the one admit bench
// caches; the 10M-line import runs with ADMIT_BENCH_10M=1. Each benchmark
// reports the HDR percentiles in µs, the rate, allocations per operation
// for in-process paths and, for durable paths, ratios to an fsync probe of
// the same disk taken just before.

func benchTickets() int { return testkit.BenchTickets(1_000_000) }

func label(n int) string { return testkit.CountLabel(n) }

// dataDir is a directory on the disk admit bench measures (its cache
// directory, not /tmp, which may be a tmpfs), removed when b ends.
func dataDir(b *testing.B) string {
	b.Helper()
	base := filepath.Join(bench.DefaultCacheDir(), "runs")
	if err := os.MkdirAll(base, 0o755); err != nil {
		b.Fatal(err)
	}
	dir, err := os.MkdirTemp(base, "gobench-")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

// naiveStore opens a fresh copy of the cached naive store of n tickets on
// the disk admit bench measures, closed when b ends.
func naiveStore(b *testing.B, n int) *bench.NaiveStore {
	b.Helper()
	src, err := bench.NaiveFixture(context.Background(), bench.DefaultCacheDir(), n, io.Discard)
	if err != nil {
		b.Fatal(err)
	}
	dst := filepath.Join(dataDir(b), "naive")
	if err := bench.CopyFixture(dst, src); err != nil {
		b.Fatal(err)
	}
	s, err := bench.OpenNaive(context.Background(), dst, n, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	return s
}

// fixtureCopy returns a fresh copy of the cached fixture of n tickets.
func fixtureCopy(b *testing.B, n int) string {
	b.Helper()
	src, err := bench.Fixture(context.Background(), bench.DefaultCacheDir(), n, io.Discard)
	if err != nil {
		b.Fatal(err)
	}
	dst := filepath.Join(dataDir(b), "store")
	if err := bench.CopyFixture(dst, src); err != nil {
		b.Fatal(err)
	}
	return dst
}

// report puts an observation's figures on b.
func report(b *testing.B, o bench.Observation, fsync bench.Sample) {
	b.Helper()
	s := o.Sample
	if s[bench.StatErrs] > 0 {
		b.Fatalf("%s: %.0f wrong answers, first: %s", o.Name, s[bench.StatErrs], o.FirstError)
	}
	for _, k := range []string{bench.StatP50, bench.StatP99, bench.StatP999} {
		if v, ok := s[k]; ok {
			b.ReportMetric(v, k+"-µs")
		}
	}
	if v := s[bench.StatRate]; v > 0 {
		b.ReportMetric(v, o.Unit+"s/s")
		b.ReportMetric(1e9/v, "ns/op")
	}
	if v, ok := s[bench.StatAlloc]; ok {
		b.ReportAllocs() // print them, with the figures of the step itself
		b.ReportMetric(v, "allocs/op")
		b.ReportMetric(s[bench.StatBytes], "B/op")
	}
	if o.Durable && fsync != nil {
		b.ReportMetric(s[bench.StatP50]/fsync[bench.StatP50], "p50/fsync")
		b.ReportMetric(s[bench.StatP99]/fsync[bench.StatP99], "p99/fsync")
	}
	for _, k := range []string{bench.StatRateTrivial, bench.StatRateNaive, bench.StatP99Naive, bench.StatP50Raw, bench.StatCPU,
		bench.StatSeconds, bench.StatRSS, bench.StatLagP99} {
		if v, ok := s[k]; ok {
			b.ReportMetric(v, strings.ReplaceAll(k, "/", "-per-"))
		}
	}
}

func fsyncFloor(b *testing.B, dir string) bench.Sample {
	b.Helper()
	o, err := bench.RunFsync(context.Background(), dir, bench.Limit{Ops: 200})
	if err != nil {
		b.Fatal(err)
	}
	return o.Sample
}

func BenchmarkFsync(b *testing.B) {
	dir := dataDir(b)
	o, err := bench.RunFsync(context.Background(), dir, bench.Limit{Ops: int64(b.N)})
	if err != nil {
		b.Fatal(err)
	}
	report(b, o, nil)
}

// BenchmarkValidate is the validate workload: unknown, already used and
// first use (durable) on the fixture, in process, and the floor of the
// durable path (first-use/raw: Pebble's Get + Sync commit alone, on the
// naive store of the same tickets); first use at one lane reports its p50
// over the raw step's (p50-per-raw) when both ran.
func BenchmarkValidate(b *testing.B) {
	n := benchTickets()
	dir := fixtureCopy(b, n)
	ix, err := index.Open(dir, &index.Options{Appliance: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	defer ix.Close()
	ctx := context.Background()
	fsync := fsyncFloor(b, dir)
	fresh := bench.NewTickets(n)
	used, err := bench.AdmitTickets(ctx, ix, fresh, 10_000)
	if err != nil {
		b.Fatal(err)
	}
	prefix := "tickets=" + label(n)
	naive := naiveStore(b, n)
	naiveFresh := bench.NewTickets(n)
	rawP50 := 0.0
	b.Run(prefix+"/first-use/raw", func(b *testing.B) {
		o, err := bench.RunRaw(ctx, naive, naiveFresh, bench.Limit{Ops: int64(b.N)})
		if err != nil {
			b.Fatal(err)
		}
		rawP50 = o.Sample[bench.StatP50]
		report(b, o, fsync)
	})
	for _, lanes := range []int{1, 2} {
		b.Run(fmt.Sprintf("%s/unknown/lanes=%d", prefix, lanes), func(b *testing.B) {
			o, err := bench.RunUnknown(ctx, ix, lanes, bench.Limit{Ops: int64(b.N)})
			if err != nil {
				b.Fatal(err)
			}
			report(b, o, nil)
		})
		b.Run(fmt.Sprintf("%s/already-used/lanes=%d", prefix, lanes), func(b *testing.B) {
			o, err := bench.RunAlreadyUsed(ctx, ix, used, lanes, bench.Limit{Ops: int64(b.N)})
			if err != nil {
				b.Fatal(err)
			}
			report(b, o, nil)
		})
	}
	for _, lanes := range []int{1, 8, 64} {
		b.Run(fmt.Sprintf("%s/first-use/lanes=%d", prefix, lanes), func(b *testing.B) {
			o, err := bench.RunFirstUse(ctx, ix, fresh, lanes, bench.Limit{Ops: int64(b.N)})
			if err != nil {
				b.Fatal(err)
			}
			if lanes == 1 && rawP50 > 0 {
				o.Sample[bench.StatP50Raw] = o.Sample[bench.StatP50] / rawP50
			}
			report(b, o, fsync)
		})
	}
}

// BenchmarkHTTP is the http workload against the API on the fixture: the
// mix closed-loop beside the trivial handler and the naive server (on the
// naive store of the same tickets), and open-loop at 1,000/s.
func BenchmarkHTTP(b *testing.B) {
	n := benchTickets()
	dir := fixtureCopy(b, n)
	target, stop, err := bench.ServeAPI(context.Background(), dir, testLogger())
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		if err := stop(); err != nil {
			b.Error(err)
		}
	}()
	fresh := bench.NewTickets(n)
	naive, stopNaive, err := bench.ServeNaive(context.Background(), naiveStore(b, n))
	if err != nil {
		b.Fatal(err)
	}
	defer stopNaive()
	naiveFresh := bench.NewTickets(n)
	run := func(b *testing.B, cfg bench.HTTPConfig) {
		cfg.Target, cfg.Fresh, cfg.Used, cfg.Limit = target, fresh, 500, bench.Limit{Ops: int64(max(b.N, 64))}
		if len(cfg.Conns) > 0 {
			cfg.Naive, cfg.NaiveFresh = naive, naiveFresh
		}
		obs, err := bench.RunHTTP(context.Background(), cfg)
		if err != nil {
			b.Fatal(err)
		}
		for _, o := range obs {
			if strings.HasSuffix(o.Name, "/scan") {
				report(b, o, nil)
			}
		}
	}
	for _, conns := range []int{8, 64} {
		b.Run(fmt.Sprintf("tickets=%s/closed/conns=%d", label(n), conns), func(b *testing.B) {
			run(b, bench.HTTPConfig{Conns: []int{conns}})
		})
	}
	b.Run(fmt.Sprintf("tickets=%s/open/rate=1000", label(n)), func(b *testing.B) {
		run(b, bench.HTTPConfig{Rates: []int{1000}, RateConns: 64})
	})
}

// BenchmarkImport imports SecuTix files into an empty store: 1M lines, and
// 10M with ADMIT_BENCH_10M=1.
func BenchmarkImport(b *testing.B) {
	sizes := []int{1_000_000}
	if os.Getenv("ADMIT_BENCH_10M") != "" {
		sizes = append(sizes, 10_000_000)
	}
	for _, lines := range sizes {
		b.Run("lines="+label(lines), func(b *testing.B) {
			dir := dataDir(b)
			if _, err := bench.SecutixFile(bench.DefaultCacheDir(), 0, lines); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for range b.N {
				o, err := bench.RunImport(context.Background(), dir, bench.DefaultCacheDir(), lines, nil)
				if err != nil {
					b.Fatal(err)
				}
				report(b, o, nil)
			}
		})
	}
}

// BenchmarkImportWhileScanning admits fresh tickets from one lane while 1M
// new lines import into the fixture.
func BenchmarkImportWhileScanning(b *testing.B) {
	n := benchTickets()
	b.Run(fmt.Sprintf("tickets=%s/lines=1M", label(n)), func(b *testing.B) {
		for range b.N {
			b.StopTimer()
			dir := fixtureCopy(b, n)
			ix, err := index.Open(dir, &index.Options{Appliance: "bench"})
			if err != nil {
				b.Fatal(err)
			}
			fsync := fsyncFloor(b, dir)
			b.StartTimer()
			obs, err := bench.RunImportWhileScanning(context.Background(), ix, bench.NewTickets(n), bench.DefaultCacheDir(), n, 1_000_000, testLogger())
			b.StopTimer()
			if err != nil {
				b.Fatal(err)
			}
			if err := ix.Close(); err != nil {
				b.Fatal(err)
			}
			for _, o := range obs {
				if o.Durable {
					report(b, o, fsync)
				}
			}
			b.StartTimer()
		}
	})
}
