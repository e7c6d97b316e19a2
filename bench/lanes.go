package bench

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/index/indextest"
)

// Tickets hands out barcodes that were never scanned, in order, each once:
// a fresh fixture's indextest.Barcode(0) to Barcode(N-1), or a list. Steps
// take them one after the other (it is not for concurrent steps).
type Tickets struct {
	n, next int
	list    []string
}

// NewTickets returns the allocator of a fresh fixture of n tickets.
func NewTickets(n int) *Tickets { return &Tickets{n: n} }

// NewTicketList returns an allocator of the given barcodes (a target's).
func NewTicketList(barcodes []string) *Tickets { return &Tickets{n: len(barcodes), list: barcodes} }

// Left is how many fresh tickets remain.
func (t *Tickets) Left() int { return t.n - t.next }

// Take returns up to k fresh barcodes and the number of the first.
func (t *Tickets) Take(k int) (first int, barcodes []string) {
	k = min(k, t.Left())
	first = t.next
	if t.list != nil {
		barcodes = t.list[first : first+k : first+k]
	} else {
		barcodes = make([]string, k)
		for i := range barcodes {
			barcodes[i] = indextest.Barcode(first + i)
		}
	}
	t.next += k
	return first, barcodes
}

// Used declares that of the barcodes a Take starting at first returned,
// only the first n may have been scanned: the rest are handed out again.
func (t *Tickets) Used(first, n int) {
	if first+n < t.next {
		t.next = first + n
	}
}

// lanesResult is what runLanes measured.
type lanesResult struct {
	hist     *hdrhistogram.Histogram // per-operation latency, ns
	ops      int64
	errs     int64
	firstErr string
	last     int64 // the highest operation index run, -1 for none
	elapsed  time.Duration
	mallocs  uint64 // heap allocations during the step, all goroutines
	bytes    uint64
	cpu      time.Duration // the process's CPU time during the step
}

// merge adds the figures of o, a continuation of the same step.
func (r *lanesResult) merge(o *lanesResult) {
	if r.hist == nil {
		r.hist = newHistogram()
	}
	r.hist.Merge(o.hist)
	r.ops += o.ops
	r.errs += o.errs
	if r.firstErr == "" {
		r.firstErr = o.firstErr
	}
	r.last = max(r.last, o.last)
	r.elapsed += o.elapsed
	r.mallocs += o.mallocs
	r.bytes += o.bytes
	r.cpu += o.cpu
}

// sample returns the step's figures: latencies, rate, operations, errors,
// the process's CPU time per operation, and allocations per operation when
// allocs is set.
func (r *lanesResult) sample(allocs bool) Sample {
	s := latencies(r.hist)
	s[StatOps] = float64(r.ops)
	s[StatErrs] = float64(r.errs)
	if r.elapsed > 0 {
		s[StatRate] = float64(r.ops) / r.elapsed.Seconds()
	}
	if r.cpu > 0 && r.ops > 0 {
		s[StatCPU] = float64(r.cpu.Nanoseconds()) / 1e3 / float64(r.ops)
	}
	if allocs && r.ops > 0 {
		s[StatAlloc] = float64(r.mallocs) / float64(r.ops)
		s[StatBytes] = float64(r.bytes) / float64(r.ops)
	}
	return s
}

// opTimes records when each operation of a step began and how long it
// took (ns from origin), lane by lane: what the slowest ones coincided
// with is told afterwards (see tailAgainst).
type opTimes struct {
	origin time.Time
	lanes  [][]opTime
}

type opTime struct{ start, took int64 }

// runLanes calls op from lanes goroutines, each operation numbered from 0
// across all lanes, until lim is reached, maxOps operations have run (when
// > 0) or ctx ends (checked before every operation). op returns "" for a correct answer, else what was
// wrong. Each call is timed alone; the clock reads are in the figure. When
// times is not nil, each operation's start and duration are added to it.
func runLanes(ctx context.Context, lanes int, lim Limit, maxOps int64, times *opTimes, op func(lane int, i int64) string) lanesResult {
	if lim.Ops > 0 && (maxOps <= 0 || lim.Ops < maxOps) {
		maxOps = lim.Ops
	}
	var next, last atomic.Int64
	last.Store(-1)
	hists := make([]*hdrhistogram.Histogram, lanes)
	ops := make([]int64, lanes)
	errs := make([]int64, lanes)
	var errMu sync.Mutex
	res := lanesResult{hist: newHistogram()}
	if times != nil && len(times.lanes) < lanes {
		times.lanes = append(times.lanes, make([][]opTime, lanes-len(times.lanes))...)
	}
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	var wg sync.WaitGroup
	cpu := indextest.CPUTime()
	start := time.Now()
	deadline := start.Add(lim.Duration)
	for l := range lanes {
		hists[l] = newHistogram()
		wg.Add(1)
		go func() {
			defer wg.Done()
			h := hists[l]
			var done, failed, highest int64 = 0, 0, -1
			defer func() {
				ops[l], errs[l] = done, failed
				for {
					if cur := last.Load(); highest <= cur || last.CompareAndSwap(cur, highest) {
						break
					}
				}
			}()
			stop := ctx.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				i := next.Add(1) - 1
				if maxOps > 0 && i >= maxOps {
					return
				}
				t0 := time.Now()
				if lim.Duration > 0 && !t0.Before(deadline) {
					return
				}
				msg := op(l, i)
				took := time.Since(t0)
				record(h, took)
				if times != nil {
					times.lanes[l] = append(times.lanes[l], opTime{t0.Sub(times.origin).Nanoseconds(), took.Nanoseconds()})
				}
				done++
				highest = max(highest, i)
				if msg != "" {
					failed++
					errMu.Lock()
					if res.firstErr == "" {
						res.firstErr = msg
					}
					errMu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	res.cpu = indextest.CPUTime() - cpu
	runtime.ReadMemStats(&m1)
	res.mallocs = m1.Mallocs - m0.Mallocs
	res.bytes = m1.TotalAlloc - m0.TotalAlloc
	for l := range lanes {
		res.hist.Merge(hists[l])
		res.ops += ops[l]
		res.errs += errs[l]
	}
	res.last = last.Load()
	return res
}

// expect returns "" when d has reason want, else what it was instead.
func expect(d *gate.Decision, want gate.Reason) string {
	if d.Reason == want {
		return ""
	}
	return fmt.Sprintf("%s: %s, want %s %s", d.Barcode, d.Reason, want, d.Detail)
}

// laneScans returns one scan template per lane, entering at "lane-<n>".
func laneScans(lanes int) []gate.Scan {
	s := make([]gate.Scan, lanes)
	for i := range s {
		s[i] = gate.Scan{Lane: fmt.Sprintf("lane-%d", i+1), Direction: gate.In, Source: "bench"}
	}
	return s
}
