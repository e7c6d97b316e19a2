package bench

import (
	"math"
	"slices"
	"sort"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// The statistics a Sample may hold. Latencies are in microseconds, rates
// per second, allocations per operation; ratios have no unit.
const (
	StatP50   = "p50"   // µs
	StatP90   = "p90"   // µs
	StatP99   = "p99"   // µs
	StatP999  = "p99.9" // µs
	StatMax   = "max"   // µs
	StatRate  = "rate"  // operations per second
	StatOps   = "ops"   // operations measured
	StatErrs  = "errors"
	StatAlloc = "allocs" // heap allocations per operation (in-process paths)
	StatBytes = "bytes"  // heap bytes allocated per operation

	// Ratios to the same run's fsync floor, for durable paths.
	StatP50Fsync = "p50/fsync" // p50 over the fsync probe's p50
	StatP99Fsync = "p99/fsync" // p99 over the fsync probe's p99
	// StatRateOneLane is a first-use rate over the same run's one-lane
	// first-use rate: how much concurrent lanes gain by sharing syncs
	// (about 1 if commits were serialised).
	StatRateOneLane = "rate/1-lane"

	// StatRateTrivial is a scan rate over the trivial fasthttp handler's
	// rate at the same connection count in the same run.
	StatRateTrivial = "rate/trivial"

	// Ratios to the naive floor (the durable check-in server a user would
	// write instead, served beside the API in the same run at the same
	// connections; see naive.go): the scan rate over the floor's rate,
	// and the scan p99 over the floor's p99.
	StatRateNaive = "rate/naive"
	StatP99Naive  = "p99/naive"
	// StatP50Raw is an in-process first use's p50 over the same run's
	// bare Pebble Get + Sync commit at one lane ("validate/first-use/raw"):
	// what the index adds to the least a durable redemption costs.
	StatP50Raw = "p50/raw"
	// StatCPUOverFloor is a /v1/scan step's CPU-µs per request less the
	// floor it is held to: the trivial handler's CPU-µs per request at the
	// same connections plus the in-process first use's CPU-µs per
	// admission at as many lanes, both of the same run (µs; negative when
	// the API costs less than that sum).
	StatCPUOverFloor = "cpu-over-floor"
	// StatP99OverFirstUse is the scan-to-relay latency's p99 less the
	// same run's in-process first use p99 at one lane (µs): what the
	// scanner, the decoder, the lane and the relay board add to a guest's
	// wait (internal/e2e BenchmarkScanToRelay).
	StatP99OverFirstUse = "p99-over-first-use"
	// StatP50OverFirstUse is a signed code's first use p50 less the same
	// run's imported first use p50 at one lane (µs): what checking the
	// signature and creating the ticket add (codes.go).
	StatP50OverFirstUse = "p50-over-first-use"
	// StatP50Verify is a forged code's scan p50 over the same run's bare
	// Ed25519 verify p50 ("validate/ed25519-verify").
	StatP50Verify = "p50/verify"

	StatSeconds = "seconds" // wall time of one whole operation (an import)
	StatRSS     = "rss-MiB" // the process's peak resident set during it, MiB
	// StatRSSStart is the process's resident set when the import started
	// (after a GC that returned what it could): the share of StatRSS that
	// the bench itself held.
	StatRSSStart = "rss-start-MiB"

	// StatLagP99 is how late the open-loop generator sent its requests
	// (99th percentile, µs): the generator's own share of the latency.
	StatLagP99 = "lag-p99"

	// StatCPU is the process's CPU time (user and system, every
	// goroutine: with an in-process appliance the client's share too) per
	// operation, µs; StatBusy is that CPU time over the step's wall time and
	// the machine's CPUs: near 1, the step was CPU-bound.
	StatCPU  = "cpu-µs"
	StatBusy = "busy"
	// StatCommitsPerSync is the appliance's Sync commits over its WAL
	// syncs during a step (from its /metrics): how many durable
	// admissions group commit made share each fdatasync.
	StatCommitsPerSync = "commits/sync"

	// The tail of a durable step against Pebble's background work (from
	// the store's BackgroundSpans; in-process first-use steps): the share
	// of the operations at or above the step's p99 that overlapped a
	// memtable flush, or a compaction, and the share of the step's time
	// one ran. A tail share far above the time share says the slowest
	// admissions are the ones that met that work.
	StatTailFlush      = "p99-tail-in-flush"
	StatTailCompaction = "p99-tail-in-compaction"
	StatFlushTime      = "flush-time"
	StatCompactionTime = "compaction-time"
)

// Sample is one run's figures of one measurement, by statistic.
type Sample map[string]float64

// Observation is what one workload step measured in one run.
type Observation struct {
	Name   string // "validate/first-use/lanes=8"
	Unit   string // what one operation is: "scan", "admit", "request", "sync", "line"
	Sample Sample
	// Durable marks a path that waits for the disk: Run adds its ratios to
	// the same run's fsync probe (StatP50Fsync, StatP99Fsync).
	Durable bool
	// FirstError is the first wrong answer when Sample counts errors.
	FirstError string
}

// LatencyObservation is an observation of operations timed elsewhere (the
// scan-to-relay benchmark): their latencies, their count and, when elapsed
// is positive, their rate over it.
func LatencyObservation(name, unit string, took []time.Duration, elapsed time.Duration) Observation {
	h := newHistogram()
	for _, d := range took {
		record(h, d)
	}
	s := latencies(h)
	s[StatOps] = float64(len(took))
	s[StatErrs] = 0
	if elapsed > 0 {
		s[StatRate] = float64(len(took)) / elapsed.Seconds()
	}
	return Observation{Name: name, Unit: unit, Sample: s}
}

// micros converts nanoseconds to microseconds.
func micros(ns int64) float64 { return float64(ns) / 1e3 }

// latencies returns the latency statistics of h (nanoseconds) in µs.
func latencies(h *hdrhistogram.Histogram) Sample {
	if h.TotalCount() == 0 {
		return Sample{}
	}
	return Sample{
		StatP50:  micros(h.ValueAtQuantile(50)),
		StatP90:  micros(h.ValueAtQuantile(90)),
		StatP99:  micros(h.ValueAtQuantile(99)),
		StatP999: micros(h.ValueAtQuantile(99.9)),
		StatMax:  micros(h.Max()),
	}
}

// newHistogram records latencies in nanoseconds from 10ns to 100s at three
// significant digits.
func newHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(10, int64(100*time.Second), 3)
}

// record adds d to h, clamping to the histogram's range so a pathological
// stall is counted rather than dropped.
func record(h *hdrhistogram.Histogram, d time.Duration) {
	v := d.Nanoseconds()
	if v > h.HighestTrackableValue() {
		v = h.HighestTrackableValue()
	}
	if v < 1 {
		v = 1
	}
	_ = h.RecordValue(v)
}

// median returns the median of xs (the mean of the two middle values for
// an even count), NaN for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// summarize fills m's Median, Min and Max from its Runs.
func (m *Measurement) summarize() {
	m.Median, m.Min, m.Max = Sample{}, Sample{}, Sample{}
	var stats []string
	for _, r := range m.Runs {
		for k := range r {
			if !slices.Contains(stats, k) {
				stats = append(stats, k)
			}
		}
	}
	for _, k := range stats {
		xs := m.values(k)
		m.Median[k] = median(xs)
		m.Min[k] = slices.Min(xs)
		m.Max[k] = slices.Max(xs)
	}
}

// values returns statistic k of every run that has it.
func (m *Measurement) values(k string) []float64 {
	var xs []float64
	for _, r := range m.Runs {
		if v, ok := r[k]; ok {
			xs = append(xs, v)
		}
	}
	return xs
}

// Spread returns how far statistic k strays across runs: (max-min)/median,
// 0 with fewer than two runs.
func (m *Measurement) Spread(k string) float64 {
	xs := m.values(k)
	if len(xs) < 2 {
		return 0
	}
	med := median(xs)
	if med == 0 {
		return 0
	}
	return (slices.Max(xs) - slices.Min(xs)) / med
}
