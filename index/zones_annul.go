package index

import (
	"errors"
	"fmt"

	"github.com/admitgate/admit/gate"
	"github.com/cockroachdb/pebble/v2"
)

// Annulling a passage (a turnstile nobody passed, an admin's annul) puts
// the ticket back in the zone it came from, in the annulment's own batch.

// zoneUndo is what an annulment changes of the zones.
type zoneUndo struct {
	p        passage
	seq      uint64
	restore  bool   // the ticket is still where the passage put it: put it back
	prevRaw  []byte // its location record back, nil to delete it
	restored bool
}

// zoneUndoFor returns the undoing of the passage journaled as seq of the
// ticket key (0: a guest without a ticket), or nil when that scan moved
// nobody between zones. The ticket's stripe is held.
func (ix *Index) zoneUndoFor(seq, key uint64) (*zoneUndo, error) {
	v, closer, err := ix.db.Get(zoneKey(zonePassage, seq))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, ix.readFault("zone passage", err)
	}
	p, err := decodePassage(v)
	closer.Close()
	if err != nil {
		return nil, fmt.Errorf("index: zone passage %d: %w", seq, err)
	}
	u := &zoneUndo{p: p, seq: seq}
	if key == 0 {
		u.restore = true
		return u, nil
	}
	cur, _, err := ix.ticketLoc(key)
	if err != nil {
		return nil, err
	}
	// A ticket that moved again since stays where it is now.
	u.restore = cur.seq == p.next.seq && cur.zone == p.next.zone
	if !p.prev.at.IsZero() || p.prev.seq != 0 {
		u.prevRaw = encodeZoneLoc(p.prev)
	}
	return u, nil
}

// put adds the undoing to an annulment's batch.
func (u *zoneUndo) put(b *pebble.Batch) {
	if u == nil {
		return
	}
	_ = b.Delete(zoneKey(zonePassage, u.seq), nil)
	switch {
	case u.p.key == 0:
		_ = b.Delete(zoneKey(zoneAnon, u.seq), nil)
	case !u.restore:
	case u.prevRaw == nil:
		_ = b.Delete(zoneKey(zoneLocation, u.p.key), nil)
	default:
		_ = b.Set(zoneKey(zoneLocation, u.p.key), u.prevRaw, nil)
	}
}

// undone counts the annulment once committed: the ticket no longer counts
// where the passage took it, and counts again where it was.
func (ix *Index) undone(u *zoneUndo) {
	if u == nil || !u.restore {
		return
	}
	zs := &ix.zs
	zs.mu.Lock()
	defer zs.mu.Unlock()
	at := u.p.next.at
	if zs.counts(u.p.next) {
		zs.zone(u.p.next.zone).add(-1, at)
	}
	if u.p.key != 0 && zs.counts(u.p.prev) {
		zs.zone(u.p.prev.zone).add(1, at)
	}
}

// annulPassage annuls an admission that redeemed nothing but moved someone
// between zones (a move inside the venue, an exit of a ticket its event did
// not have inside, an override of an unknown barcode): the journal records
// the annulment and the zones take the move back. It reports false when se
// is not such a passage (Annul then refuses: nothing to annul).
func (ix *Index) annulPassage(se storedEntry, by string) (gate.JournalEntry, bool, error) {
	if se.Key != 0 && se.Decision.Event != "" {
		return gate.JournalEntry{}, false, nil
	}
	seq := se.Seq
	if se.Key != 0 {
		st := ix.stripe(se.Key)
		st.Lock()
		defer st.Unlock()
	} else {
		// Guests without a ticket have no stripe: their annulments take
		// turns on a lock of their own.
		ix.zs.anonMu.Lock()
		defer ix.zs.anonMu.Unlock()
	}
	u, err := ix.zoneUndoFor(seq, se.Key)
	if err != nil || u == nil {
		return gate.JournalEntry{}, u != nil, err
	}
	var ok bool
	if se, ok, err = ix.entry(seq); err != nil || !ok {
		return gate.JournalEntry{}, true, fmt.Errorf("index: annul %d: entry vanished: %w", seq, err)
	}
	if se.Annulled != 0 {
		return gate.JournalEntry{}, true, gate.Errorf(gate.ECONFLICT, "scan %d was already annulled (seq %d)", seq, se.Annulled)
	}
	annSeq := ix.seq.Add(1)
	ann := storedEntry{JournalEntry: gate.JournalEntry{Seq: annSeq, Kind: gate.KindAnnulment, Decision: se.Decision, By: by}, Key: se.Key}
	orig := se
	orig.Annulled = annSeq
	b := ix.db.NewBatch()
	_ = b.Set(journalKey(seq), encodeEntry(nil, &orig), nil)
	_ = b.Set(journalKey(annSeq), encodeEntry(nil, &ann), nil)
	if se.Key != 0 {
		_ = b.Set(historyKey(se.Key, annSeq), nil, nil)
	}
	u.put(b)
	if err := ix.apply(b); err != nil {
		ix.addFixup(fixup{lostIfMissing: annSeq})
		ix.fault(err)
		return gate.JournalEntry{}, true, ix.writeError(fmt.Errorf("index: annul %d: %w", seq, err))
	}
	ix.wm.finish(annSeq)
	ix.undone(u)
	ix.log.Info().Uint64("seq", seq).Uint64("annulment", annSeq).Str("by", by).Msg("passage annulled")
	return ann.JournalEntry, true, nil
}
