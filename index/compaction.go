package index

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// Pebble's compactions are CPU work like an import's (see pace.go), and a
// durable scan made while one runs waits for a core the same way: the slow
// tail of many lanes admitting at once is mostly admissions that overlapped
// a compaction (BackgroundSpans; bench/RESULTS.md has the runs, paced and
// unpaced).
//
// So while scans are being made, compactions are paced like an import: the
// scheduler below is Pebble's default (as many compactions at a time as
// Pebble asks for, granted when one ends, when Pebble's wish grows and every
// 100 ms), and its grant handles let a compaction's main goroutine, which
// reports its progress every 128 keys, sleep when the compactions together
// used more than half a core of the time that passed. A paced compaction
// takes about twice as long. That is harmless while L0 stays shallow; when
// it does not (a write rate the compactions cannot follow at half a core), a
// compaction runs unpaced whenever L0 holds compactionDebtSublevels or more
// sublevels, looked at every compactionDebtCheck: a deep L0 makes reads
// slower, and at Pebble's L0StopWritesThreshold (12) it stops every commit.
// Flushes are not paced (Pebble gives them no grant handle).

const (
	// compactionDebtSublevels is the L0 depth from which compactions run
	// unpaced (Pebble starts compacting L0 at 4 sublevels).
	compactionDebtSublevels = 6
	// compactionDebtCheck is how often a paced compaction looks at L0.
	compactionDebtCheck = 50 * time.Millisecond
)

// compactionScheduler implements pebble.CompactionScheduler for one DB.
type compactionScheduler struct {
	ix    *Index
	pacer *pacer // shared by the DB's compactions
	db    pebble.DBForCompaction
	mu    struct {
		sync.Mutex
		running      int
		lastAllowed  int
		unregistered bool
		granting     bool // one granter at a time
		grantingDone *sync.Cond
	}
	stop chan struct{}
	poke chan struct{}
	done chan struct{}
}

var _ pebble.CompactionScheduler = (*compactionScheduler)(nil)

func newCompactionScheduler(ix *Index) *compactionScheduler {
	s := &compactionScheduler{ix: ix, pacer: &pacer{ix: ix},
		stop: make(chan struct{}), poke: make(chan struct{}, 1), done: make(chan struct{})}
	s.mu.grantingDone = sync.NewCond(&s.mu.Mutex)
	return s
}

// Register implements pebble.CompactionScheduler.
func (s *compactionScheduler) Register(_ int, db pebble.DBForCompaction) {
	s.db = db
	go s.periodicGranter()
}

// Unregister implements pebble.CompactionScheduler.
func (s *compactionScheduler) Unregister() {
	close(s.stop)
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mu.unregistered = true
	for s.mu.granting {
		s.mu.grantingDone.Wait()
	}
}

// TrySchedule implements pebble.CompactionScheduler.
func (s *compactionScheduler) TrySchedule() (bool, pebble.CompactionGrantHandle) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.unregistered || s.ix.corrupt.Load() != nil {
		return false, nil // a corrupt store compacts nothing: it would read the damage again
	}
	s.mu.lastAllowed = s.db.GetAllowedWithoutPermission()
	if s.mu.lastAllowed > s.mu.running {
		s.mu.running++
		return true, &compactionGrant{s: s}
	}
	return false, nil
}

// UpdateGetAllowedWithoutPermission implements pebble.CompactionScheduler.
func (s *compactionScheduler) UpdateGetAllowedWithoutPermission() {
	s.mu.Lock()
	allowed := s.db.GetAllowedWithoutPermission()
	grow := allowed > s.mu.lastAllowed
	s.mu.lastAllowed = allowed
	s.mu.Unlock()
	if grow {
		select {
		case s.poke <- struct{}{}:
		default:
		}
	}
}

func (s *compactionScheduler) periodicGranter() {
	defer close(s.done)
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-s.poke:
		case <-s.stop:
			return
		}
		s.mu.Lock()
		s.grantLockedAndUnlock()
	}
}

// compactionEnded is a grant handle's Done.
func (s *compactionScheduler) compactionEnded() {
	s.mu.Lock()
	s.mu.running--
	s.grantLockedAndUnlock()
}

// grantLockedAndUnlock starts as many waiting compactions as Pebble allows.
// It is called with s.mu held and returns with it released.
func (s *compactionScheduler) grantLockedAndUnlock() {
	defer s.mu.Unlock()
	for s.mu.granting && !s.mu.unregistered {
		s.mu.grantingDone.Wait()
	}
	if s.mu.unregistered || s.ix.corrupt.Load() != nil {
		return
	}
	s.mu.lastAllowed = s.db.GetAllowedWithoutPermission()
	toGrant := s.mu.lastAllowed - s.mu.running
	if toGrant <= 0 {
		return
	}
	s.mu.granting = true
	s.mu.Unlock()
	// GetWaitingCompaction only when a grant is possible, so that no
	// compaction Pebble picks is wasted.
	for ; toGrant > 0; toGrant-- {
		if waiting, _ := s.db.GetWaitingCompaction(); !waiting {
			break
		}
		if !s.db.Schedule(&compactionGrant{s: s}) {
			break
		}
		s.mu.Lock()
		s.mu.running++
		s.mu.Unlock()
	}
	s.mu.Lock()
	s.mu.granting = false
	s.mu.grantingDone.Broadcast()
}

// l0Sublevels is L0's depth now.
func (s *compactionScheduler) l0Sublevels() int {
	db, ok := s.db.(*pebble.DB)
	if !ok {
		return 0
	}
	return int(db.Metrics().Levels[0].Sublevels)
}

// compactionGrant is one compaction's grant handle; it paces the
// compaction's main goroutine.
type compactionGrant struct {
	s       *compactionScheduler
	clock   *paceClock
	checked time.Time // when L0's depth was last looked at; zero: never
	paced   bool
	slept   bool
}

// Started implements pebble.CompactionGrantHandle. Pebble holds its mutex
// here, so L0's depth is read at the first progress report instead.
func (g *compactionGrant) Started() { g.clock = g.s.pacer.clock() }

// MeasureCPU implements pebble.CompactionGrantHandle.
func (g *compactionGrant) MeasureCPU(pebble.CompactionGoroutineKind) {}

// CumulativeStats implements pebble.CompactionGrantHandle: the main
// compaction goroutine calls it every 128 keys, without Pebble's mutex.
func (g *compactionGrant) CumulativeStats(pebble.CompactionGrantHandleStats) {
	if now := time.Now(); g.checked.IsZero() || now.Sub(g.checked) >= compactionDebtCheck {
		if g.clock == nil { // Started not called first: not Pebble's contract, but harmless
			g.clock = g.s.pacer.clock()
		}
		if g.checked.IsZero() {
			g.clock.reset()
		}
		g.checked = now
		g.paced = !g.s.ix.opts.DisableCompactionPacing && g.s.l0Sublevels() < compactionDebtSublevels
	}
	if !g.paced {
		return
	}
	if slept := g.clock.work(256); slept > 0 {
		g.s.ix.compactionPaced.Add(int64(slept))
		if !g.slept {
			g.slept = true
			g.s.ix.compactionsPaced.Add(1)
		}
	}
}

// Done implements pebble.CompactionGrantHandle.
func (g *compactionGrant) Done() { g.s.compactionEnded() }

// compactionCounters are the Index's figures of compaction pacing.
type compactionCounters struct {
	compactionsPaced atomic.Uint64 // compactions that slept at least once
	compactionPaced  atomic.Int64  // ns slept, all compactions
}
