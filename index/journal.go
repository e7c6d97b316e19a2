package index

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/cockroachdb/pebble/v2"
)

// The journal has one gapless sequence for every decision and annulment.
// Admissions take their number and are written with the redemption, Sync,
// before they are answered. Refusals take their number from the same counter
// and are handed to a background writer, so that an unknown barcode costs
// microseconds, not a disk sync. The watermark is the highest sequence with
// nothing unwritten at or below it; Entries never reads past it, so a reader
// continuing from its last Seq misses nothing.

// watermark tracks which sequence numbers are written.
type watermark struct {
	mu   sync.Mutex
	wm   uint64
	done map[uint64]struct{}
}

func (w *watermark) reset(to uint64) {
	w.mu.Lock()
	w.wm = to
	w.done = make(map[uint64]struct{})
	w.mu.Unlock()
}

func (w *watermark) get() uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.wm
}

// finish marks seq written and advances the watermark over every contiguous
// written number.
func (w *watermark) finish(seq uint64) {
	w.mu.Lock()
	if seq == w.wm+1 {
		w.wm++
		for {
			if _, ok := w.done[w.wm+1]; !ok {
				break
			}
			delete(w.done, w.wm+1)
			w.wm++
		}
	} else if seq > w.wm {
		w.done[seq] = struct{}{}
	}
	w.mu.Unlock()
}

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
		Dur("waited", time.Duration(ix.jw.waitNanos.Load())).Bool("faulted", ix.faulted.Load()).
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

// openJournal finds the last sequence on disk and fills every hole below it
// (refusals that were not yet written when the process died) with
// gate.KindLost entries.
func (ix *Index) openJournal() error {
	from, err := ix.getU64(metaJournalWM)
	if err != nil {
		return err
	}
	it, err := ix.db.NewIter(&pebble.IterOptions{LowerBound: journalKey(from + 1), UpperBound: []byte{prefixJournal + 1}})
	if err != nil {
		return err
	}
	var holes []uint64
	next := from + 1
	for it.First(); it.Valid(); it.Next() {
		seq, err := decodeU64(it.Key()[1:])
		if err != nil {
			_ = it.Close()
			return fmt.Errorf("index: journal key %x: %w", it.Key(), err)
		}
		for ; next < seq; next++ {
			holes = append(holes, next)
		}
		next = seq + 1
	}
	if err := it.Close(); err != nil {
		return err
	}
	last := next - 1
	b := ix.db.NewBatch()
	for _, seq := range holes {
		se := lostEntry(seq, "not yet written when admit stopped")
		_ = b.Set(journalKey(seq), encodeEntry(nil, &se), nil)
	}
	_ = b.Set(metaJournalWM, u64(last), nil)
	if err := ix.apply(b); err != nil {
		return err
	}
	if len(holes) > 0 {
		ix.log.Warn().Int("lost", len(holes)).Uint64("last", last).Msg("journal holes filled with lost entries")
	}
	ix.seq.Store(last)
	ix.wm.reset(last)
	return nil
}

// Entries returns up to limit journal entries with Seq > after, in order,
// never past the watermark. A limit ≤ 0 or over 10,000 means 10,000. The
// entries are copies; the caller may keep them.
func (ix *Index) Entries(ctx context.Context, after uint64, limit int) ([]gate.JournalEntry, error) {
	if limit <= 0 || limit > 10000 {
		limit = 10000
	}
	if err := ix.enter(); err != nil {
		return nil, err
	}
	defer ix.exit()
	wm := ix.wm.get()
	if after >= wm {
		return []gate.JournalEntry{}, nil
	}
	hi := min(wm, after+uint64(limit))
	it, err := ix.db.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: journalKey(after + 1), UpperBound: journalKey(hi + 1)})
	if err != nil {
		return nil, ix.readFault("journal", err)
	}
	defer it.Close()
	out := make([]gate.JournalEntry, 0, hi-after)
	for it.First(); it.Valid(); it.Next() {
		seq, err := decodeU64(it.Key()[1:])
		if err != nil {
			return nil, fmt.Errorf("index: journal key %x: %w", it.Key(), err)
		}
		se, err := decodeEntry(seq, it.Value())
		if err != nil {
			return nil, fmt.Errorf("index: journal entry %d: %w", seq, err)
		}
		out = append(out, se.JournalEntry)
	}
	if err := it.Error(); err != nil {
		return nil, ix.readFault("journal", err)
	}
	return out, nil
}

// entry reads one journal entry.
func (ix *Index) entry(seq uint64) (storedEntry, bool, error) {
	v, closer, err := ix.db.Get(journalKey(seq))
	if errors.Is(err, pebble.ErrNotFound) {
		return storedEntry{}, false, nil
	}
	if err != nil {
		return storedEntry{}, false, ix.readFault("journal", err)
	}
	defer closer.Close()
	se, err := decodeEntry(seq, v)
	if err != nil {
		return storedEntry{}, false, fmt.Errorf("index: journal entry %d: %w", seq, err)
	}
	return se, true, nil
}

// readFault counts a storage error on a read and wraps it.
func (ix *Index) readFault(what string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("index: read %s: %w", what, err)
	}
	ix.faults.Add(1)
	ix.log.Error().Err(err).Str("what", what).Msg("storage read failed")
	return fmt.Errorf("index: read %s: %w", what, err)
}

// lostEntry stands in for a sequence whose entry never reached the disk.
func lostEntry(seq uint64, why string) storedEntry {
	return storedEntry{JournalEntry: gate.JournalEntry{Seq: seq, Kind: gate.KindLost,
		Decision: gate.Decision{Seq: seq, Reason: gate.ReasonError, Detail: "lost: " + why}}}
}
