package index

import (
	"context"
	"errors"
	"fmt"
	"sync"

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
