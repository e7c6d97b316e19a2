package index

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/admitgate/admit/gate"
)

// Scan decides s and, when it admits, commits the redemption and its journal
// entry in one batch with pebble.Sync before returning. It never fails: a
// fault is a refusal with reason error. Concurrent scans of one ticket (any
// of its barcodes) admit exactly once: the ticket's lock stripe is held from
// reading the ticket to the end of the commit.
func (ix *Index) Scan(ctx context.Context, s gate.Scan) gate.Decision {
	return ix.decide(ctx, s, true)
}

// Check decides s as Scan would, without redeeming or journaling anything;
// the decision's Seq is 0.
func (ix *Index) Check(ctx context.Context, s gate.Scan) gate.Decision {
	return ix.decide(ctx, s, false)
}

func (ix *Index) decide(ctx context.Context, s gate.Scan, write bool) gate.Decision {
	if s.At.IsZero() {
		s.At = time.Now()
	}
	if s.Direction == 0 {
		s.Direction = gate.In
	}
	if write && s.Nonce != "" && len(s.Nonce) <= gate.MaxNonceLen && !ix.closed.Load() {
		e, first := ix.nonces.claim(s.Nonce, s.At)
		if !first {
			return e.wait(ctx, &s)
		}
		d := ix.decideOnce(ctx, &s, write)
		ix.nonces.settle(s.Nonce, e, d)
		return d
	}
	return ix.decideOnce(ctx, &s, write)
}

func detail(err error) string { return err.Error() }

// decideOnce decides s. A scan that must journal a refusal while the
// journal's backlog is full gives up every lock, waits for room (outside the
// index, so that neither a recovery nor Close waits for it) and is decided
// again from the start, holding a slot of the backlog.
func (ix *Index) decideOnce(ctx context.Context, s *gate.Scan, write bool) gate.Decision {
	slot := false // a backlog slot reserved for this scan's journal entry
	for {
		d, full := ix.decideWith(s, write, &slot)
		if !full {
			if slot {
				ix.jw.release(1) // an admission, or a scan of a closed store
			}
			return d
		}
		ix.warnFull()
		if err := ix.jw.reserve(ctx, ix.stop); err != nil {
			return ix.undecided(s, err)
		}
		slot = true
	}
}

// undecided answers a scan that gave up waiting for room in the journal
// before it was decided: nothing was looked up or journaled (Seq 0), as for
// a scan of a closed store.
func (ix *Index) undecided(s *gate.Scan, err error) gate.Decision {
	if errors.Is(err, ErrClosed) {
		return s.Refusal(gate.ReasonError, "the ticket store is closed")
	}
	return s.Refusal(gate.ReasonError, fmt.Sprintf(
		"not decided: the journal backlog is full (%d entries) and the scan gave up waiting for room: %v",
		ix.jw.limit, err))
}

// decideWith decides s. It never blocks on the journal: when it would queue
// a refusal and neither *slot holds a reserved slot nor one is free, it
// returns full (having taken no sequence number), and decideOnce waits for
// room and calls it again. A refusal it queues consumes *slot.
func (ix *Index) decideWith(s *gate.Scan, write bool, slot *bool) (d gate.Decision, full bool) {
	if write && len(s.Nonce) > gate.MaxNonceLen {
		return ix.refuse(s, slot, gate.ReasonMalformed, errNonceTooLong.Error(), 0, nil)
	}
	if s.Deny != 0 {
		if !write {
			return s.Refusal(s.Deny, s.Detail), false
		}
		return ix.refuse(s, slot, s.Deny, s.Detail, 0, nil)
	}
	if err := gate.CheckBarcode(s.Barcode); err != nil {
		return ix.refuseMaybe(s, slot, write, gate.ReasonMalformed, detail(err))
	}
	if err := ix.enter(); err != nil {
		if err == ErrClosed {
			return s.Refusal(gate.ReasonError, "the ticket store is closed"), false
		}
		return ix.refuseMaybe(s, slot, write, gate.ReasonError, "storage fault; the ticket store is recovering")
	}
	defer ix.exit()
	if !ix.filter.Load().test(s.Barcode) {
		return ix.refuseMaybe(s, slot, write, gate.ReasonUnknown, "")
	}
	sc := getScratch()
	defer putScratch(sc)
	version := ix.recVersion.Load()
	rec := ix.tcache.get(s.Barcode, version)
	if rec == nil {
		r, ok, err := ix.getTicket(sc, s.Barcode)
		if err != nil {
			ix.log.Error().Err(err).Str("barcode", s.Barcode).Msg("scan: read ticket")
			return ix.refuseMaybe(s, slot, write, gate.ReasonError, "storage read failed")
		}
		if !ok {
			return ix.refuseMaybe(s, slot, write, gate.ReasonUnknown, "")
		}
		rec = ix.tcache.put(s.Barcode, version, r)
	}
	// gate.Decide keeps the addresses of its inputs as far as escape
	// analysis can tell (it is pure: nothing it returns points into them).
	// The scan is copied into the pooled scratch rather than letting every
	// scan escape to the heap; the record is the cached, never modified copy.
	sc.scan = *s
	in := &sc.scan
	if !write {
		rs, err := ix.getRedemptions(sc, rec.Key)
		if err != nil {
			return s.Refusal(gate.ReasonError, "storage read failed"), false
		}
		out := gate.Decide(gate.Input{Scan: in, Ticket: &rec.T, Redemptions: rs, Events: ix.events.Load(), Appliance: ix.opts.Appliance})
		return out.Decision, false
	}

	ix.noteScan()
	st := ix.stripe(rec.Key)
	st.Lock()
	defer st.Unlock()
	if v := ix.recVersion.Load(); v != version {
		// A ticket changed since the read (maybe this one): read it again
		// under the lock.
		r, ok, err := ix.getTicket(sc, s.Barcode)
		if err != nil || !ok {
			if !ok && err == nil {
				return ix.refuse(s, slot, gate.ReasonUnknown, "", 0, nil)
			}
			return ix.refuse(s, slot, gate.ReasonError, "storage read failed", 0, nil)
		}
		rec = ix.tcache.put(s.Barcode, v, r)
	}
	key := rec.Key
	rs, cached := st.redemptions(key)
	if !cached {
		var err error
		if rs, err = ix.getRedemptions(sc, key); err != nil {
			ix.log.Error().Err(err).Str("barcode", s.Barcode).Msg("scan: read redemptions")
			return ix.refuse(s, slot, gate.ReasonError, "storage read failed", key, rec.T.Info())
		}
		st.remember(key, rs)
	}
	events := ix.events.Load()
	if !*slot && !ix.jw.tryReserve() {
		// The backlog is full: only an admission (journaled by its own
		// commit) may go on without a slot. gate.Decide is pure, so the
		// probe decides as the real call below will.
		probe := gate.Decide(gate.Input{Scan: in, Ticket: &rec.T, Redemptions: rs, Events: events, Appliance: ix.opts.Appliance})
		if !probe.Write {
			return gate.Decision{}, true
		}
	} else {
		*slot = true
	}
	seq := ix.seq.Add(1)
	out := gate.Decide(gate.Input{Scan: in, Ticket: &rec.T, Redemptions: rs, Events: events, Seq: seq, Appliance: ix.opts.Appliance})
	d = out.Decision
	se := storedEntry{JournalEntry: gate.JournalEntry{Seq: seq, Kind: gate.KindDecision, Decision: d, Nonce: s.Nonce, Source: s.Source}, Key: key}
	if !out.Write {
		if !d.Admit {
			se.Events = ix.denialEvents(s, &d, events)
			ix.ctrs().denied(&d, se.Events)
		}
		ix.queueEntry(se, slot)
		return d, false
	}

	next := withRedemption(rs, out.Redemption)
	sc.val = encodeRedemptions(sc.val[:0], next)
	n := len(sc.val)
	sc.val = encodeEntry(sc.val, &se)
	written, entry := sc.val[:n], sc.val[n:]
	b := ix.db.NewBatch()
	_ = b.Set(putRedemptionKey(&sc.rk, key), written, nil)
	_ = b.Set(putJournalKey(&sc.jk, seq), entry, nil)
	_ = b.Set(putHistoryKey(&sc.hk, key, seq), nil, nil)
	if s.Nonce != "" {
		_ = b.Set(nonceKey(s.Nonce), nonceValue(seq, s.At), nil)
	}
	err := ix.apply(b)
	_ = b.Close()
	if err != nil {
		st.forget(key)
		ix.log.Error().Err(err).Str("barcode", s.Barcode).Uint64("seq", seq).Msg("scan: commit failed; refused with error")
		var prev []byte
		if len(rs) > 0 {
			prev = encodeRedemptions(nil, rs)
		}
		ix.addFixup(fixup{key: key, prev: prev, written: bytes.Clone(written)})
		ix.fault(err)
		failed := s.Refusal(gate.ReasonError, "storage write failed")
		failed.Seq = seq
		failed.Event = d.Event
		failed.Ticket = d.Ticket
		se.Decision = failed
		se.Events = ix.denialEvents(s, &failed, events)
		ix.ctrs().denied(&failed, se.Events)
		ix.queueEntry(se, slot)
		return failed, false
	}
	st.remember(key, next)
	ix.wm.finish(seq)
	counted := rec
	if counted.T.State == gate.StateRevoked { // an exit through a replaced barcode
		if live, err := ix.liveTicket(*rec); err == nil {
			counted = &live
		}
	}
	ix.ctrs().redeemed(&counted.T, rs, next, &d)
	return d, false
}

// queueEntry hands an entry that has its sequence number to the journal
// writer, in the slot *slot holds, or past the limit when it holds none
// (see journalWriter.addUnreserved): a numbered entry is never dropped.
func (ix *Index) queueEntry(se storedEntry, slot *bool) {
	if *slot {
		*slot = false
		ix.jw.add(se)
		return
	}
	ix.jw.addUnreserved(se)
}

// scratch holds the buffers one scan encodes its keys and records into:
// batches and Get copy or drop them before the scan ends, so they are
// reused through scratchPool instead of allocated per scan.
type scratch struct {
	scan gate.Scan // the copy gate.Decide reads
	key  []byte
	val  []byte
	rk   [9]byte
	jk   [9]byte
	hk   [17]byte
}

var scratchPool = sync.Pool{New: func() any { return &scratch{key: make([]byte, 0, 64), val: make([]byte, 0, 512)} }}

func getScratch() *scratch { return scratchPool.Get().(*scratch) }

func putScratch(sc *scratch) {
	if cap(sc.key) > 4096 || cap(sc.val) > 64<<10 {
		return // an outsize record: let it go
	}
	sc.scan = gate.Scan{} // keep no strings alive
	scratchPool.Put(sc)
}

// refuseMaybe refuses (journaling it) when write, else only answers.
func (ix *Index) refuseMaybe(s *gate.Scan, slot *bool, write bool, r gate.Reason, det string) (gate.Decision, bool) {
	if !write {
		return s.Refusal(r, det), false
	}
	return ix.refuse(s, slot, r, det, 0, nil)
}

// refuse assigns the next sequence to a refusal, counts it and queues it for
// the background journal writer, in the backlog slot *slot holds or a free
// one. With neither it returns full and takes no sequence number.
func (ix *Index) refuse(s *gate.Scan, slot *bool, r gate.Reason, det string, key uint64, info *gate.TicketInfo) (gate.Decision, bool) {
	if !*slot {
		if !ix.jw.tryReserve() {
			return gate.Decision{}, true
		}
		*slot = true
	}
	d := s.Refusal(r, det)
	d.Ticket = info
	d.Seq = ix.seq.Add(1)
	se := storedEntry{JournalEntry: gate.JournalEntry{Seq: d.Seq, Kind: gate.KindDecision, Decision: d, Nonce: s.Nonce, Source: s.Source}, Key: key}
	events := ix.events.Load()
	se.Events = ix.denialEvents(s, &d, events)
	ix.ctrs().denied(&d, se.Events)
	ix.queueEntry(se, slot)
	return d, false
}

// denialEvents returns the events a refusal counts against: its event, or
// the lane's configured events, or every event open at the scan's time.
func (ix *Index) denialEvents(s *gate.Scan, d *gate.Decision, events *gate.EventSet) []string {
	if d.Admit {
		return nil
	}
	if d.Event != "" {
		return ix.eventIDs(events, d.Event)
	}
	if s.LaneEvents != nil {
		return s.LaneEvents
	}
	return ix.openEvents(events, s.At)
}

// idSlices holds, for one event set, a one-element slice of each event's
// id, shared (never modified) so that refusals do not allocate one each.
type idSlices struct {
	set *gate.EventSet
	ids map[string][]string
}

// eventIDs returns []string{id}.
func (ix *Index) eventIDs(events *gate.EventSet, id string) []string {
	c := ix.ids.Load()
	if c == nil || c.set != events {
		c = &idSlices{set: events, ids: map[string][]string{}}
		for _, e := range events.All() {
			c.ids[e.ID] = []string{e.ID}
		}
		ix.ids.Store(c)
	}
	if ids, ok := c.ids[id]; ok {
		return ids
	}
	return []string{id}
}

// openSet is the events open during [from, until), for one event set.
type openSet struct {
	set         *gate.EventSet
	from, until time.Time // zero: unbounded
	ids         []string  // shared, never modified
}

// openEvents returns the ids of the events open at t. The answer is cached
// for as long as no window opens or closes, so a flood of unknown barcodes
// at a lane without a list allocates nothing for it.
func (ix *Index) openEvents(events *gate.EventSet, t time.Time) []string {
	if c := ix.open.Load(); c != nil && c.set == events && (c.from.IsZero() || !t.Before(c.from)) &&
		(c.until.IsZero() || t.Before(c.until)) {
		return c.ids
	}
	c := &openSet{set: events}
	for _, e := range events.All() {
		if e.WindowAt(t) == gate.WindowOpen {
			c.ids = append(c.ids, e.ID)
		}
		for _, b := range [2]time.Time{e.OpensAt, e.ClosesAt} {
			switch {
			case b.IsZero():
			case b.After(t):
				if c.until.IsZero() || b.Before(c.until) {
					c.until = b
				}
			default:
				if c.from.IsZero() || b.After(c.from) {
					c.from = b
				}
			}
		}
	}
	ix.open.Store(c)
	return c.ids
}

// withRedemption returns rs with r replacing the redemption of its event.
func withRedemption(rs []gate.Redemption, r gate.Redemption) []gate.Redemption {
	out := make([]gate.Redemption, 0, len(rs)+1)
	replaced := false
	for _, x := range rs {
		if x.Event == r.Event {
			out = append(out, r)
			replaced = true
			continue
		}
		out = append(out, x)
	}
	if !replaced {
		out = append(out, r)
	}
	return out
}
