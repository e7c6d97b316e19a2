package index

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// Stats is a snapshot of the store's figures, for /metrics and /readyz.
type Stats struct {
	Tickets        int64   // barcodes stored (revoked ones included)
	Events         int     // events known
	Providers      int     // providers known
	Imports        uint64  // imports applied
	BloomCapacity  uint64  // barcodes the filter is sized for at its false-positive rate
	BloomFill      float64 // Tickets / BloomCapacity
	LastSeq        uint64  // the last journal sequence number assigned
	WrittenSeq     uint64  // every entry up to this one is written
	JournalBacklog int     // journal entries reserved, queued or being written by the background writer
	// JournalBacklogLimit is Options.JournalBacklog; JournalBacklogPeak the
	// highest JournalBacklog since Open (it passes the limit only by the
	// admissions whose commit failed at a fault, at most one per scan then
	// in flight).
	JournalBacklogLimit int
	JournalBacklogPeak  int
	// JournalWaits counts scans that found the backlog full and waited for
	// room, JournalWaitsAbandoned those of them that gave up (their context
	// ended or the store closed: answered error, Seq 0, not journaled), and
	// JournalWaitTime is the time they waited, summed.
	JournalWaits          uint64
	JournalWaitsAbandoned uint64
	JournalWaitTime       time.Duration
	Nonces                int    // nonces remembered within the window
	DiskFaults            uint64 // storage errors seen (reads and writes)
	Recoveries            uint64 // database reopens after a write fault
	Faulted               bool   // a write fault is being recovered, or the store is corrupt: scans are refused with error
	// Corruption is Health.Corruption: on-disk corruption found, the file
	// and how to recover ("" when none).
	Corruption string
	// DiskFull says the fault is a full data disk (a write failed with "no
	// space left on device"): the store reopens once space returns.
	DiskFull bool
	// CommitTimeouts counts the commits that did not complete within
	// Options.CommitTimeout (each faulted the store).
	CommitTimeouts uint64
	// Unjournaled counts the refusals answered without a journal entry:
	// the store was faulted and its journal backlog full, so they could
	// neither be written nor wait.
	Unjournaled uint64
	CacheWarmed bool // the block cache warm-up after Open is over (see Options.DisableCacheWarmup)
	// WarmedTickets is how many ticket records the warm-up loaded into the
	// block cache: fewer than Tickets when the cache (Options.CacheSize)
	// cannot hold them all, and the first scan of each other ticket then
	// reads the disk.
	WarmedTickets int64
	Closed        bool

	// Pebble's background work now: memtables being flushed to tables and
	// compactions running (zero while faulted or closed). Both share the
	// disk and the cores with durable scans; a store written at a high rate
	// (an import, a flood of refusals) has some running for a while after.
	FlushesRunning     int64
	CompactionsRunning int64

	// SyncCommits counts the Sync commits that succeeded since Open (an
	// admission, an admin change, the journal writer's own syncs), WALSyncs
	// the WAL syncs (fdatasync) Pebble made since it was opened (at Open or
	// by the last recovery; zero while faulted), for them and for its own
	// needs (a WAL it rotates away from, an import's ingest). Group commit
	// lets concurrent Sync commits share a sync, so under scan load the
	// ratio of their increases is the admissions each sync carried. An
	// fdatasync costs CPU as well as time, so that ratio is what a busy
	// gate's CPU depends on. Pebble counts a
	// sync just after it releases the commits it carried, so WALSyncs may
	// lag a commit that has just returned by that one sync.
	SyncCommits uint64
	WALSyncs    uint64

	// CompactionsPaced counts the compactions that slept to leave scans
	// the cores (see compaction.go), CompactionPacedTime the time they
	// slept, since Open.
	CompactionsPaced    uint64
	CompactionPacedTime time.Duration
}

// Stats returns the store's current figures. It never blocks on disk.
func (ix *Index) Stats() Stats {
	f := ix.filter.Load()
	s := Stats{
		Tickets:        ix.tickets.Load(),
		Events:         ix.events.Load().Len(),
		LastSeq:        ix.seq.Load(),
		WrittenSeq:     ix.wm.get(),
		JournalBacklog: ix.jw.backlog(),

		JournalBacklogLimit:   ix.jw.limit,
		JournalBacklogPeak:    int(ix.jw.peak.Load()),
		JournalWaits:          ix.jw.waits.Load(),
		JournalWaitsAbandoned: ix.jw.abandoned.Load(),
		JournalWaitTime:       time.Duration(ix.jw.waitNanos.Load()),
		Nonces:                ix.nonces.len(),
		DiskFaults:            ix.faults.Load(),
		Recoveries:            ix.recoveries.Load(),
		Faulted:               ix.faulted.Load() || ix.corrupt.Load() != nil,
		DiskFull:              ix.diskFull.Load(),
		CommitTimeouts:        ix.commitTimeouts.Load(),
		Unjournaled:           ix.unjournaled.Load(),
		SyncCommits:           ix.syncCommits.Load(),
		CompactionsPaced:      ix.compactionsPaced.Load(),
		CompactionPacedTime:   time.Duration(ix.compactionPaced.Load()),
		CacheWarmed:           ix.warmed.Load(),
		WarmedTickets:         ix.warmedTickets.Load(),
		Closed:                ix.closed.Load(),
	}
	if p := ix.providers.Load(); p != nil {
		s.Providers = len(*p)
	}
	if c := ix.corrupt.Load(); c != nil {
		s.Corruption = c.msg
	}
	if ix.enter() == nil {
		m := ix.db.Metrics()
		s.FlushesRunning, s.CompactionsRunning = m.Flush.NumInProgress, m.Compact.NumInProgress
		s.WALSyncs = histogramCount(m.LogWriter.FsyncLatency)
		ix.exit()
	}
	if c := ix.ctrs(); c != nil {
		s.Imports = c.imports.Load()
	}
	if f != nil {
		s.BloomCapacity = f.capacity
		if f.capacity > 0 {
			s.BloomFill = float64(s.Tickets) / float64(f.capacity)
		}
	}
	return s
}

// histogramCount is the number of observations in a Prometheus histogram
// (Pebble's WAL fsync latency), zero when there is none.
func histogramCount(h prometheus.Histogram) uint64 {
	if h == nil {
		return 0
	}
	var m dto.Metric
	if err := h.Write(&m); err != nil || m.Histogram == nil {
		return 0
	}
	return m.Histogram.GetSampleCount()
}
