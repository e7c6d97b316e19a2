package index

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/cockroachdb/pebble/v2"
)

// The scan's side of zones: where the ticket is, the lane's rules, the
// zone's passback rule and capacity, and the records a passage commits.

// zonePass is a passage being decided and committed: the ticket's move and
// the place it holds in a zone with a capacity.
type zonePass struct {
	passage
	seq     uint64
	held    string // the zone a place is held in until the commit ends, "" for none
	done    bool   // passageDone or passageDropped has settled it
	prevRaw []byte // the ticket's location record before, nil for none
	newRaw  []byte // the record written
}

// atLane applies the lane's entry rules and zones to the outcome of a scan
// of rec, under the ticket's stripe: a rule that does not hold, a second
// entry into a zone without passback, or a full zone turn an admission
// into a refusal. It returns the passage to commit with the decision (nil
// at a lane without zones, for a refusal, or when the ticket does not move),
// holding a place in the zone when c redeems.
func (ix *Index) atLane(c *scanCall, sc *scratch, rec *ticketRec, rs []gate.Redemption, out *gate.Outcome, events *gate.EventSet) *zonePass {
	move := sc.scan.Move()
	ix.checkRules(sc, rec, rs, out, events, move.To)
	if move.IsZero() || !out.Decision.Admit {
		return nil
	}
	return ix.zoneMove(out, rec.Key, move, sc.scan.At, c.write, false)
}

// ticketLoc reads where the ticket with key is; the raw record is nil when
// it has none (it is outside).
func (ix *Index) ticketLoc(key uint64) (zoneLoc, []byte, error) {
	v, closer, err := ix.db.Get(zoneKey(zoneLocation, key))
	if errors.Is(err, pebble.ErrNotFound) {
		return zoneLoc{zone: gate.Outside}, nil, nil
	}
	if err != nil {
		return zoneLoc{}, nil, ix.readFault("zone location", err)
	}
	raw := bytes.Clone(v)
	closer.Close()
	l, err := decodeZoneLoc(raw)
	if err != nil {
		return zoneLoc{}, nil, fmt.Errorf("index: zone location of %d: %w", key, err)
	}
	return l, raw, nil
}

// zoneMove checks and prepares the move of an admitted passage (out) of the
// ticket with key (0: a guest without a ticket) at, and holds a place in
// the zone it enters when hold. Going in, a ticket still inside a zone
// without passback is refused already_used, and a full zone refuses
// zone_full (an override too, unless the zone's override_zone_full allows
// it). Going out nothing is refused: every ticket may leave.
func (ix *Index) zoneMove(out *gate.Outcome, key uint64, move gate.Move, at time.Time, hold, override bool) *zonePass {
	d := &out.Decision
	prev, raw := zoneLoc{zone: gate.Outside}, []byte(nil)
	if key != 0 {
		var err error
		if prev, raw, err = ix.ticketLoc(key); err != nil {
			ix.log.Error().Err(err).Str("barcode", d.Barcode).Msg("scan: read zone location")
			refuseOutcome(out, gate.ReasonError, "storage read failed")
			return nil
		}
	}
	zs := &ix.zs
	zs.mu.Lock()
	defer zs.mu.Unlock()
	cur := prev.zone
	if !zs.counts(prev) {
		cur = gate.Outside
	}
	to := move.To
	in := d.Direction == gate.In
	z := zs.byID[to]
	if cur == to {
		if in && z != nil && z.cfg.NoPassback && !override {
			refuseOutcome(out, gate.ReasonAlreadyUsed, fmt.Sprintf("still inside %s since %s: the zone allows no passback",
				zoneName(z), prev.at.In(ix.opts.Location).Format("15:04:05")))
		}
		return nil // nothing moves
	}
	p := &zonePass{passage: passage{key: key, prev: prev, next: zoneLoc{zone: to, at: at, seq: d.Seq}}, seq: d.Seq, prevRaw: raw}
	if key == 0 {
		p.prev = zoneLoc{zone: gate.Outside}
	}
	p.newRaw = encodeZoneLoc(p.next) // outside too: an annulment then knows the ticket did not move since
	if in && z != nil && z.cfg.Capacity > 0 {
		if z.occupancy+z.pending >= int64(z.cfg.Capacity) && (!override || !z.cfg.OverrideFull) {
			refuseOutcome(out, gate.ReasonZoneFull, fmt.Sprintf("%s is full: %d of %d places taken",
				zoneName(z), z.occupancy+z.pending, z.cfg.Capacity))
			return nil
		}
		if hold {
			z.pending++
			p.held = to
		}
	}
	return p
}

func zoneName(z *zoneCount) string {
	if z.cfg.Name != "" {
		return z.cfg.Name
	}
	return z.cfg.ID
}

// put adds the passage's records to b: where the ticket is now (or the
// guest without a ticket), and what moved.
func (p *zonePass) put(b *pebble.Batch) {
	if p == nil {
		return
	}
	if p.key == 0 {
		if p.next.zone != gate.Outside {
			_ = b.Set(zoneKey(zoneAnon, p.seq), p.newRaw, nil)
		}
	} else {
		_ = b.Set(zoneKey(zoneLocation, p.key), p.newRaw, nil)
	}
	_ = b.Set(zoneKey(zonePassage, p.seq), encodePassage(&p.passage), nil)
}

// passageDone ends a passage's commit: its place is released, and when the
// commit succeeded the ticket counts in the zone it entered and no longer
// in the one it left. A failed commit is remembered, so that the recovery
// undoes its records should they reach the disk after all.
func (ix *Index) passageDone(p *zonePass, ok bool) {
	if p == nil || p.done {
		return
	}
	p.done = true
	zs := &ix.zs
	zs.mu.Lock()
	defer zs.mu.Unlock()
	if p.held != "" {
		zs.zone(p.held).pending--
	}
	if !ok {
		zs.fixups = append(zs.fixups, zoneFixup{seq: p.seq, key: p.key, prev: p.prevRaw, written: p.newRaw})
		return
	}
	if zs.counts(p.prev) {
		zs.zone(p.prev.zone).add(-1, p.next.at)
	}
	if zs.counts(p.next) {
		zs.zone(p.next.zone).add(1, p.next.at)
	}
}

// passageDropped lets go of a passage nothing was committed for (the venue's
// hub turned its admission into a refusal): the place it held is free again.
// It does nothing once passageDone settled the passage.
func (ix *Index) passageDropped(p *zonePass) {
	if p == nil || p.done {
		return
	}
	p.done = true
	if p.held != "" {
		zs := &ix.zs
		zs.mu.Lock()
		zs.zone(p.held).pending--
		zs.mu.Unlock()
	}
}

// commitPassage commits an admitted passage that changes no redemption (a
// move between two zones inside the venue, or an exit of a ticket its
// event has not inside) with its journal entry, in one batch with
// pebble.Sync, holding the ticket's stripe st. A failed commit refuses the
// scan with error, as for an admission.
func (ix *Index) commitPassage(c *scanCall, sc *scratch, st *stripe, rec *ticketRec, out *gate.Outcome, p *zonePass, events *gate.EventSet) gate.Decision {
	s, d := c.s, &out.Decision
	se := entryOf(s, *d, rec.Key)
	sc.val = encodeEntry(sc.val[:0], &se)
	b := ix.db.NewBatch()
	_ = b.Set(putJournalKey(&sc.jk, d.Seq), sc.val, nil)
	_ = b.Set(putHistoryKey(&sc.hk, rec.Key, d.Seq), nil, nil)
	if s.Nonce != "" {
		_ = b.Set(nonceKey(s.Nonce), nonceValue(d.Seq, s.At), nil)
	}
	p.put(b)
	if err := ix.apply(b); err != nil {
		ix.passageDone(p, false)
		failed := ix.failCommit(c, st, se, nil, nil, err, events)
		ix.noteDecision(s, &failed, rec.Key)
		return failed
	}
	ix.wm.finish(d.Seq)
	ix.passageDone(p, true)
	ix.noteDecision(s, d, rec.Key)
	return *d
}
