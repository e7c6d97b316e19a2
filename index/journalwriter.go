package index

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/admitgate/admit/gate"
)

// journalWriter commits refusals (and anything else that need not be on disk
// before it is answered) in batches, in the background.
//
// Its backlog is bounded: a scan reserves a slot (tryReserve, or reserve
// when it may wait) before it takes a sequence number for an entry it will
// queue, and the slot is released only once the entry is written and synced
// (or when the scan turns out to need none, an admission). So the entries
// reserved, queued and being written never exceed limit, even while a
// failed write puts its batch back, and a scan that finds the backlog full
// waits for room before it is decided rather than growing memory.
type journalWriter struct {
	limit int          // most entries reserved, queued and being written
	used  atomic.Int64 // slots reserved now
	// waiters counts scans blocked in reserve; release wakes them by
	// closing room (under mu) when it is non-zero.
	waiters atomic.Int64

	mu     sync.Mutex
	queue  []storedEntry
	spare  []storedEntry // the previous queue, emptied, reused to avoid growing a new one
	room   chan struct{} // closed by release when waiters are blocked; under mu
	wake   chan struct{} // entries were queued
	synced chan struct{} // a Sync commit covered more of the writer's commits, or the store faulted

	faulted *atomic.Bool // the index's: a faulted store drains nothing, so reserve stops waiting

	peak      atomic.Int64  // the highest used seen
	warned    atomic.Int64  // when full was last logged, ns since the index's birth
	waits     atomic.Uint64 // reserve calls that found the backlog full
	abandoned atomic.Uint64 // of those, the ones whose context ended (or the store closed) first
	waitNanos atomic.Int64  // time spent waiting, summed
}

func (w *journalWriter) init(limit int, faulted *atomic.Bool) {
	w.limit = limit
	w.faulted = faulted
	w.wake = make(chan struct{}, 1)
	w.synced = make(chan struct{}, 1)
}

// tryReserve takes a slot of the backlog if one is free. It never counts
// past the limit, not even for a moment, so the peak a concurrent
// addUnreserved sees is the backlog's.
func (w *journalWriter) tryReserve() bool {
	for {
		n := w.used.Load()
		if n >= int64(w.limit) {
			return false
		}
		if w.used.CompareAndSwap(n, n+1) {
			w.notePeak(n + 1)
			return true
		}
	}
}

// notePeak raises peak to n.
func (w *journalWriter) notePeak(n int64) {
	for {
		p := w.peak.Load()
		if n <= p || w.peak.CompareAndSwap(p, n) {
			return
		}
	}
}

// reserve takes a slot of the backlog, waiting for the writer to free one
// when it is full. It gives up with ctx's error when ctx ends first, with
// ErrClosed when the index stops, and with errFaulted when the store
// faults: nothing drains until it is reopened.
func (w *journalWriter) reserve(ctx context.Context, stop <-chan struct{}) error {
	if w.tryReserve() {
		return nil
	}
	w.waits.Add(1)
	start := time.Now()
	defer func() { w.waitNanos.Add(int64(time.Since(start))) }()
	w.waiters.Add(1)
	defer w.waiters.Add(-1)
	for {
		w.mu.Lock()
		if w.tryReserve() {
			w.mu.Unlock()
			return nil
		}
		if w.faulted.Load() {
			w.mu.Unlock()
			w.abandoned.Add(1)
			return errFaulted
		}
		if w.room == nil {
			w.room = make(chan struct{})
		}
		room := w.room
		w.mu.Unlock()
		select {
		case <-room:
		case <-ctx.Done():
			w.abandoned.Add(1)
			return ctx.Err()
		case <-stop:
			w.abandoned.Add(1)
			return ErrClosed
		}
	}
}

// warnFull logs, at most once a second, that refusals wait for room.
func (ix *Index) warnFull() {
	now := int64(time.Since(ix.born))
	last := ix.jw.warned.Load()
	if last != 0 && now-last < int64(time.Second) || !ix.jw.warned.CompareAndSwap(last, now) {
		return
	}
	ix.log.Warn().Int("limit", ix.jw.limit).Uint64("waits", ix.jw.waits.Load()).
		Dur("waited_ms", time.Duration(ix.jw.waitNanos.Load())).Bool("faulted", ix.faulted.Load()).
		Msg("journal backlog full: refusals wait for the journal writer")
}

// release frees n slots and wakes the scans waiting for one.
func (w *journalWriter) release(n int) {
	w.used.Add(-int64(n))
	w.wakeWaiters()
}

// wakeWaiters wakes the scans waiting in reserve, to look again.
func (w *journalWriter) wakeWaiters() {
	if w.waiters.Load() > 0 {
		w.mu.Lock()
		if w.room != nil {
			close(w.room)
			w.room = nil
		}
		w.mu.Unlock()
	}
}

// add queues an entry whose slot the caller reserved.
func (w *journalWriter) add(se storedEntry) {
	w.mu.Lock()
	w.queue = append(w.queue, se)
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// addUnreserved queues an entry that took its sequence number before it
// could reserve a slot (an admission whose commit failed): it takes a slot
// past the limit, as it must not be lost. At most one per scan in flight
// when the store faults, after which scans reserve first.
func (w *journalWriter) addUnreserved(se storedEntry) {
	w.notePeak(w.used.Add(1))
	w.add(se)
}

// backlog is the number of slots reserved now: entries queued, being
// written, or about to be queued by a scan.
func (w *journalWriter) backlog() int {
	return int(w.used.Load())
}

// queued is the number of entries in the queue, not yet taken by the writer.
func (w *journalWriter) queued() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.queue)
}

func (w *journalWriter) take() []storedEntry {
	w.mu.Lock()
	q := w.queue
	w.queue = w.spare
	w.spare = nil
	w.mu.Unlock()
	return q
}

// recycle hands a written queue back for reuse.
func (w *journalWriter) recycle(q []storedEntry) {
	clear(q)
	w.mu.Lock()
	if w.spare == nil && cap(q) <= 1<<16 {
		w.spare = q[:0]
	}
	w.mu.Unlock()
}

// putBack returns entries that could not be written to the front of the queue.
func (w *journalWriter) putBack(es []storedEntry) {
	w.mu.Lock()
	w.queue = append(es, w.queue...)
	w.mu.Unlock()
}

// run writes queued entries until the index stops, then drains the queue.
//
// Refusals are committed without a sync of their own: the next admission's
// Sync commit makes them durable with it (Pebble syncs the WAL up to the
// end, and a WAL it rotates away from is synced before the next one is
// used), so they add nothing to the fsyncs admissions wait for. Their
// numbers pass the watermark only once a Sync commit that began after them
// succeeded: a reader never sees an entry a crash could still take back. When
// no admission comes within a short wait (2 ms) the writer syncs on its own. A
// failed write or sync (reported to the syncing commit, which faults the
// store) puts the entries back in the queue; they are written again, under
// the same numbers, once the store is reopened.
func (w *journalWriter) run(ix *Index) {
	defer ix.bg.Done()
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	wait := time.NewTimer(time.Hour)
	wait.Stop()
	for {
		stopping := false
		select {
		case <-w.wake:
		case <-retry.C:
		case <-ix.stop:
			stopping = true
		}
		q := w.take()
		if len(q) > 0 {
			if ix.opts.beforeJournalWrite != nil {
				ix.opts.beforeJournalWrite()
			}
			err := ix.writeEntries(q)
			if err == nil {
				err = ix.awaitSynced(wait, stopping)
			}
			if err != nil {
				w.putBack(q)
				if stopping {
					ix.log.Error().Err(err).Int("entries", w.backlog()).
						Msg("journal entries not written at close; they become lost entries at the next open")
					return
				}
				retry.Reset(ix.opts.RecoveryInterval)
				continue
			}
			for i := range q {
				ix.wm.finish(q[i].Seq)
			}
			w.release(len(q))
			w.recycle(q)
		}
		if stopping {
			if q := w.take(); len(q) > 0 {
				w.putBack(q)
				continue
			}
			return
		}
	}
}

// writeEntries commits entries in batches of at most Options.JournalBatch,
// without a sync (see journalWriter.run), and returns the number that a
// later Sync commit must cover (Index.walWritten).
func (ix *Index) writeEntries(es []storedEntry) error {
	// The writer drains its queue while Close waits for it, so it checks
	// only for a fault, not for closing.
	ix.active.Add(1)
	defer ix.exit()
	if ix.faulted.Load() {
		return errFaulted
	}
	var buf []byte
	var jk [9]byte
	var hk [17]byte
	for len(es) > 0 {
		n := min(len(es), ix.opts.JournalBatch)
		b := ix.db.NewBatch()
		for i := range es[:n] {
			se := &es[i]
			buf = encodeEntry(buf[:0], se)
			_ = b.Set(putJournalKey(&jk, se.Seq), buf, nil)
			if se.Key != 0 {
				_ = b.Set(putHistoryKey(&hk, se.Key, se.Seq), nil, nil)
			}
			if se.Nonce != "" && se.Kind == gate.KindDecision && se.Decision.Reason != gate.ReasonError {
				_ = b.Set(nonceKey(se.Nonce), nonceValue(se.Seq, se.Decision.At), nil)
			}
		}
		_ = b.Set(metaJournalWM, u64(ix.wm.get()), nil)
		if err := ix.applyNoSync(b); err != nil {
			ix.fault(err)
			return err
		}
		es = es[n:]
	}
	ix.walWritten.Add(1)
	return nil
}

// awaitSynced waits until a Sync commit that began after the journal
// writer's last commit succeeded, at most 2 ms (not at all when
// stopping), then syncs itself. It fails when the store faults meanwhile.
func (ix *Index) awaitSynced(wait *time.Timer, stopping bool) error {
	want := ix.walWritten.Load()
	if !stopping {
		wait.Reset(ix.opts.piggybackWait)
	wait:
		for ix.walSynced.Load() < want {
			select {
			case <-ix.jw.synced:
			case <-wait.C:
				break wait
			case <-ix.stop:
				break wait
			}
			if ix.faulted.Load() {
				return errFaulted
			}
		}
		if !wait.Stop() {
			select { // drain a fire that raced with Stop
			case <-wait.C:
			default:
			}
		}
		if ix.walSynced.Load() >= want {
			return nil
		}
	}
	ix.active.Add(1)
	defer ix.exit()
	if ix.faulted.Load() {
		return errFaulted
	}
	b := ix.db.NewBatch()
	_ = b.Set(metaJournalWM, u64(ix.wm.get()), nil)
	if err := ix.apply(b); err != nil {
		ix.fault(err)
		return err
	}
	return nil
}
