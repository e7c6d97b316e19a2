package index

import (
	"bytes"
	"errors"
	"fmt"
	"syscall"
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/cockroachdb/pebble/v2"
)

// Write faults. Pebble applies a batch to its memtable before the WAL sync
// reports an error, and after a WAL error its write pipeline cannot be
// trusted (a later commit may even panic inside Pebble). So the first failed
// commit puts the store in a faulted state: scans are refused with reason
// error (and journaled once the store is back), other calls return
// EUNAVAILABLE, and nothing more is written to that database. A recovery
// goroutine waits for calls in flight to leave, closes the database, and
// reopens it every RecoveryInterval until that succeeds: the WAL replay keeps
// exactly the batches that reached the disk. Admissions whose commit failed
// were answered with error, so if one reached the disk after all its
// redemption is put back as it was (fixups); the report counters are
// rebuilt. Only then are writes allowed again.

// fixup repairs what a failed commit may have left: a failed admission's
// redemption is put back if it reached the disk, and its journal entry
// becomes the error refusal the scan was answered with (before the report
// counters are rebuilt from the journal); a failed annulment's sequence is
// filled with a lost entry unless the annulment reached the disk whole.
type fixup struct {
	key           uint64 // the redemption record to put back, 0 for none
	prev          []byte // the record before, nil when there was none
	written       []byte // the record the failed commit wrote
	seq           uint64 // the failed admission's sequence
	entry         []byte // its journal entry as answered: the error refusal
	lostIfMissing uint64 // a sequence to fill when missing

	// created are the records the failed admission created (a signed
	// code's first sight), deleted with its redemption.
	created [][]byte
}

func (ix *Index) addFixup(f fixup) {
	ix.fixMu.Lock()
	ix.fixups = append(ix.fixups, f)
	ix.fixMu.Unlock()
}

// fault records a write error and starts the recovery once. A full disk
// (ENOSPC) marks the store disk full until it is reopened.
func (ix *Index) fault(err error) {
	ix.faults.Add(1)
	if isNoSpace(err) {
		ix.diskFull.Store(true)
	}
	select { // a journal writer waiting for a sync must see the fault
	case ix.jw.synced <- struct{}{}:
	default:
	}
	if ix.faulted.CompareAndSwap(false, true) {
		ix.jw.wakeWaiters() // a refusal waiting for room is answered at once now
		if ix.diskFull.Load() {
			ix.log.Error().Err(err).Msg("the data disk is full; refusing scans with error until there is space again")
		} else {
			ix.log.Error().Err(err).Msg("storage write failed; refusing scans with error until the store is reopened")
		}
		if ix.closed.Load() {
			return // Close is waiting for the background work: start none
		}
		ix.bg.Add(1)
		go ix.recoverLoop()
	}
}

// writeError gives a failed write's error a code and words for the people
// who asked for the write: a full disk is ENOSPACE ("the data disk is
// full"), a commit that timed out EUNAVAILABLE; the cause stays wrapped for
// the logs. Errors that have a code keep it.
func (ix *Index) writeError(err error) error {
	if err == nil || gate.ErrorCode(err) != gate.EINTERNAL {
		return err
	}
	timedOut := errors.Is(err, errCommitTimeout)
	switch {
	case isNoSpace(err) || timedOut && ix.diskFull.Load():
		return fmt.Errorf("%w: %w", errDiskFull, err)
	case timedOut:
		return fmt.Errorf("%w: %w", errSlowDisk, err)
	}
	return err
}

// errSlowDisk is what a person is told of a write that timed out.
var errSlowDisk = gate.Errorf(gate.EUNAVAILABLE, "the disk did not complete the write in time; the ticket store is recovering")

// isNoSpace reports whether err is the disk being full.
func isNoSpace(err error) bool { return errors.Is(err, syscall.ENOSPC) }

// noSpaceRetryPause is how long a failed flush on a full disk holds Pebble
// back before it tries again (backgroundError).
const noSpaceRetryPause = 50 * time.Millisecond

// backgroundError receives the errors of Pebble's flushes and compactions.
// A full disk faults the store at once: the writes of scans would soon
// stall behind memtables that cannot be flushed (and each wait for its
// commit timeout). Pebble retries a failed flush at once, with its mutex
// held here; the pause keeps it from spinning a core while the disk stays
// full.
func (ix *Index) backgroundError(err error) {
	if pebble.IsCorruptionError(err) {
		return // reported to dataCorruption with the file
	}
	if isNoSpace(err) {
		ix.fault(err)
		time.Sleep(noSpaceRetryPause)
		return
	}
	ix.log.Error().Err(err).Str("from", "pebble").Msg("background error")
}

func (ix *Index) recoverLoop() {
	defer ix.bg.Done()
	if !ix.quiesce(ix.stop, time.Time{}) {
		return // closed while commits still waited for the disk
	}
	if ix.db != nil {
		// Pebble may have panicked inside its commit pipeline with a lock
		// held, and then Close never returns: give it a while, then leave it
		// (reopening will then fail on the directory lock, and the store
		// stays faulted until the process restarts).
		closed := make(chan error, 1)
		db := ix.db
		go func() {
			defer func() {
				if r := recover(); r != nil {
					closed <- fmt.Errorf("index: pebble: %v", r)
				}
			}()
			closed <- db.Close()
		}()
		select {
		case err := <-closed:
			if err != nil {
				ix.log.Warn().Err(err).Msg("closing the faulted database")
			}
		case <-time.After(10 * time.Second):
			ix.log.Error().Msg("the faulted database does not close; restart admit to recover")
		}
		ix.db = nil
	}
	t := time.NewTicker(ix.opts.RecoveryInterval)
	defer t.Stop()
	for attempt := 1; ; attempt++ {
		select {
		case <-ix.stop:
			return
		case <-t.C:
		}
		if free, need, short := ix.shortOfSpace(); short {
			if attempt == 1 || attempt%20 == 0 {
				ix.log.Warn().Uint64("free_mib", free>>20).Uint64("needs_mib", need>>20).
					Msg("the data disk is still full; the store reopens once there is space")
			}
			continue
		}
		if ix.corrupt.Load() != nil {
			return // nothing to reopen: see corrupt.go
		}
		err := ix.reopen()
		if err != nil && isCorruption(err) {
			ix.corrupted(corruptionOf(err), err)
			return
		}
		if err == nil {
			ix.recoveries.Add(1)
			ix.log.Info().Int("attempts", attempt).Msg("store reopened after a write fault")
			ix.diskFull.Store(false)
			ix.faulted.Store(false)
			if !ix.redeemed.ready.Load() && !ix.closed.Load() {
				// The fault cut short the read of the redeemed tickets at Open.
				ix.bg.Add(1)
				go ix.loadRedeemed()
			}
			select {
			case ix.jw.wake <- struct{}{}:
			default:
			}
			if !ix.opts.DisableCacheWarmup {
				ix.bg.Add(1) // the reopened database has a new, empty block cache
				go ix.warmCache()
			}
			return
		}
		if attempt == 1 || attempt%20 == 0 {
			ix.log.Warn().Err(err).Int("attempt", attempt).Msg("store still cannot be reopened")
		}
	}
}

// shortOfSpace reports whether a store faulted by a full disk still lacks
// the space to work again: room for a memtable to be flushed while the
// next one fills (twice Options.MemTableSize). When the file system cannot
// say, the store tries to reopen.
func (ix *Index) shortOfSpace() (free, need uint64, short bool) {
	if !ix.diskFull.Load() {
		return 0, 0, false
	}
	u, err := ix.fs.GetDiskUsage(ix.dir)
	if err != nil {
		return 0, 0, false
	}
	need = 2 * ix.opts.MemTableSize
	return u.AvailBytes, need, u.AvailBytes < need
}

// reopen opens the database again, applies the fixups and reloads what the
// index keeps in memory.
func (ix *Index) reopen() error {
	db, err := pebble.Open(ix.pebbleDir(), ix.pebbleOptions())
	if err != nil {
		return err
	}
	ix.db = db
	fail := func(err error) error {
		_ = db.Close()
		ix.db = nil
		return err
	}
	ix.fixMu.Lock()
	fixups := ix.fixups
	ix.fixMu.Unlock()
	b := db.NewBatch()
	var finished []uint64
	for _, f := range fixups {
		if f.lostIfMissing != 0 {
			finished = append(finished, f.lostIfMissing)
			_, closer, err := db.Get(journalKey(f.lostIfMissing))
			if err == nil {
				closer.Close()
				continue
			}
			if !errors.Is(err, pebble.ErrNotFound) {
				_ = b.Close()
				return fail(err)
			}
			se := lostEntry(f.lostIfMissing, "the change failed to commit")
			_ = b.Set(journalKey(f.lostIfMissing), encodeEntry(nil, &se), nil)
			continue
		}
		ix.redeemed.mark(f.key) // already marked when its scan failed; kept so whatever the path
		if f.entry != nil {
			_ = b.Set(journalKey(f.seq), f.entry, nil)
		}
		v, closer, err := db.Get(redemptionKey(f.key))
		if errors.Is(err, pebble.ErrNotFound) {
			continue
		}
		if err != nil {
			_ = b.Close()
			return fail(err)
		}
		same := bytes.Equal(v, f.written)
		closer.Close()
		if !same {
			continue
		}
		for _, k := range f.created {
			_ = b.Delete(k, nil)
		}
		if f.prev == nil {
			_ = b.Delete(redemptionKey(f.key), nil)
		} else {
			_ = b.Set(redemptionKey(f.key), f.prev, nil)
		}
	}
	if err := ix.apply(b); err != nil {
		return fail(fmt.Errorf("index: undo failed admissions: %w", err))
	}
	ix.fixMu.Lock()
	ix.fixups = ix.fixups[len(fixups):]
	ix.fixMu.Unlock()
	for _, seq := range finished {
		ix.wm.finish(seq)
	}
	// The fixups rewrote redemptions behind the caches' back.
	ix.forgetCached()
	if err := ix.load(false); err != nil {
		return fail(err)
	}
	// The rebuilt counters lack the refusals still queued for the journal,
	// except those that reached the disk before the fault (the writer
	// commits without a sync of its own, and puts back what no sync
	// confirmed): the rebuild counted those.
	ix.jw.mu.Lock()
	queued := make([]uint64, 0, len(ix.jw.queue))
	for i := range ix.jw.queue {
		queued = append(queued, ix.jw.queue[i].Seq)
	}
	ix.jw.mu.Unlock()
	onDisk := map[uint64]bool{}
	for _, seq := range queued {
		_, closer, err := db.Get(journalKey(seq))
		if err == nil {
			closer.Close()
			onDisk[seq] = true
		} else if !errors.Is(err, pebble.ErrNotFound) {
			return fail(err)
		}
	}
	ix.jw.mu.Lock()
	for i := range ix.jw.queue {
		se := &ix.jw.queue[i]
		if se.Kind == gate.KindDecision && !onDisk[se.Seq] {
			ix.ctrs().denied(&se.Decision, se.Events)
		}
	}
	ix.jw.mu.Unlock()
	return nil
}
