package index

import (
	"bytes"
	"errors"
	"fmt"
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
// redemption is put back if it reached the disk (its journal entry becomes
// the error refusal the scan was answered with); a failed annulment's
// sequence is filled with a lost entry unless the annulment reached the disk
// whole.
type fixup struct {
	key           uint64 // the redemption record to put back, 0 for none
	prev          []byte // the record before, nil when there was none
	written       []byte // the record the failed commit wrote
	lostIfMissing uint64 // a sequence to fill when missing
}

func (ix *Index) addFixup(f fixup) {
	ix.fixMu.Lock()
	ix.fixups = append(ix.fixups, f)
	ix.fixMu.Unlock()
}

// apply commits b with Sync. Pebble reports a WAL failure by calling its
// logger's Fatalf, which panics (see pebbleLogger); apply turns that, and any
// other panic from the commit, into an error so a disk fault is a refusal,
// never a crash. A successful Sync commit also makes durable every commit
// made before it began without a sync (the journal writer's): it records
// that in walSynced.
func (ix *Index) apply(b *pebble.Batch) error {
	covers := ix.walWritten.Load()
	ix.syncing.Add(1)
	err := ix.commitBatch(b, pebble.Sync)
	ix.syncing.Add(-1)
	if err != nil {
		return err
	}
	ix.syncCommits.Add(1)
	if covers > ix.walSynced.Load() {
		ix.markSynced(covers)
	}
	return nil
}

// applyNoSync commits b without waiting for the disk; see journalWriter.run.
func (ix *Index) applyNoSync(b *pebble.Batch) error { return ix.commitBatch(b, pebble.NoSync) }

func (ix *Index) commitBatch(b *pebble.Batch, o *pebble.WriteOptions) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("index: pebble: %v", r)
		}
	}()
	return ix.db.Apply(b, o)
}

// markSynced raises walSynced to n and tells the journal writer.
func (ix *Index) markSynced(n uint64) {
	for {
		cur := ix.walSynced.Load()
		if cur >= n || ix.walSynced.CompareAndSwap(cur, n) {
			break
		}
	}
	select {
	case ix.jw.synced <- struct{}{}:
	default:
	}
}

// fault records a write error and starts the recovery once.
func (ix *Index) fault(err error) {
	ix.faults.Add(1)
	select { // a journal writer waiting for a sync must see the fault
	case ix.jw.synced <- struct{}{}:
	default:
	}
	if ix.faulted.CompareAndSwap(false, true) {
		ix.log.Error().Err(err).Msg("storage write failed; refusing scans with error until the store is reopened")
		ix.bg.Add(1)
		go ix.recoverLoop()
	}
}

func (ix *Index) recoverLoop() {
	defer ix.bg.Done()
	ix.quiesce()
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
		err := ix.reopen()
		if err == nil {
			ix.recoveries.Add(1)
			ix.log.Info().Int("attempts", attempt).Msg("store reopened after a write fault")
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
		if f.prev == nil {
			_ = b.Delete(redemptionKey(f.key), nil)
		} else {
			_ = b.Set(redemptionKey(f.key), f.prev, nil)
		}
	}
	err = ix.apply(b)
	_ = b.Close()
	if err != nil {
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
