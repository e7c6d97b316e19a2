package index

import (
	"runtime"
	"sync"
	"time"
)

// An import is CPU work spread over several goroutines (reading and
// checking lines, sorting and spilling runs, adding barcodes to the bloom
// filter, writing SSTables), and on two cores it can keep both busy. A
// durable scan then waits: the thread that returns from the WAL's fdatasync
// has no free core to run on, and the operating system schedules it a
// millisecond or more later (BENCHMARKS.md, "An import beside scans").
//
// So while scans are being made, an import's goroutines together use at
// most half of one core (paceShare): each measures how long it worked
// between yield points, and when the import as a whole has worked longer
// than its share of the time that passed, the goroutine sleeps the
// difference. The import then takes about twice as long, and the scans
// keep a core (less the import's garbage collection) to themselves: at a
// gate, scans come first. Without scans (none in the last second) imports
// use every core. Either way a goroutine yields every few hundred items,
// so a scan never waits for the scheduler's 10 ms preemption.

// scanQuiet is how long after the last durable scan an import is paced.
const scanQuiet = time.Second

// paceWindow is the period over which an import's CPU use is measured.
const paceWindow = 20 * time.Millisecond

// paceShare is the share of one core an import's goroutines get together
// while scans are made.
const paceShare = 0.5

// pacer shares the CPU between one import's goroutines and the scans.
type pacer struct {
	ix    *Index // nil: never paced, only yields
	mu    sync.Mutex
	start time.Time     // of the current window
	used  time.Duration // the import's work in the window
}

// paceClock is one goroutine's view of a pacer.
type paceClock struct {
	p    *pacer
	last time.Time
	n    int
}

// clock returns a clock for one goroutine of the import; p may be nil.
func (p *pacer) clock() *paceClock { return &paceClock{p: p, last: time.Now()} }

// reset starts a new period of work, after the goroutine waited for input.
func (c *paceClock) reset() { c.last = time.Now() }

// tick counts one item of work (of a fraction of a microsecond to a
// microsecond); every 256 items it yields, and sleeps when the import is
// over its share.
func (c *paceClock) tick() { c.work(1) }

// work counts n items of work, and returns how long it slept.
func (c *paceClock) work(n int) time.Duration {
	c.n += n
	if c.n < 256 {
		return 0
	}
	c.n = 0
	if c.p == nil || c.p.ix == nil {
		runtime.Gosched()
		return 0
	}
	now := time.Now()
	sleep := c.p.account(now, now.Sub(c.last))
	if sleep > 0 {
		time.Sleep(sleep)
	} else {
		runtime.Gosched()
	}
	c.last = time.Now()
	return sleep
}

// account adds work done until now and returns how long to sleep.
func (p *pacer) account(now time.Time, work time.Duration) time.Duration {
	if !p.ix.scanning(now) {
		return 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	elapsed := now.Sub(p.start)
	if elapsed > paceWindow {
		p.start, p.used, elapsed = now, 0, 0
	}
	p.used += work
	if over := time.Duration(float64(p.used)/paceShare) - elapsed; over > 0 {
		return min(over, paceWindow)
	}
	return 0
}

// scanning reports whether a durable scan was made within scanQuiet of now.
func (ix *Index) scanning(now time.Time) bool {
	last := ix.lastScan.Load()
	return last != 0 && time.Duration(now.Sub(ix.born).Nanoseconds()-last) < scanQuiet
}

// noteScan records that a durable scan is being made (for pacing imports).
// It writes the shared value at most once a millisecond.
func (ix *Index) noteScan() {
	now := time.Since(ix.born).Nanoseconds()
	if now-ix.lastScan.Load() > int64(time.Millisecond) {
		ix.lastScan.Store(now)
	}
}
