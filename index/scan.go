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
	start := ix.decisionStart()
	d := ix.decide(ctx, s, true)
	ix.logDecision(&s, &d, start, true) // decisionlog.go
	return d
}

// Check decides s as Scan would, without redeeming or journaling anything;
// the decision's Seq is 0.
func (ix *Index) Check(ctx context.Context, s gate.Scan) gate.Decision {
	start := ix.decisionStart()
	d := ix.decide(ctx, s, false)
	ix.logDecision(&s, &d, start, false)
	return d
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

// faultDetail is the detail of a scan refused because enter failed.
func faultDetail(err error) string {
	if err == errDiskFull {
		return "the data disk is full; the ticket store waits for space"
	}
	return "storage fault; the ticket store is recovering"
}

// scanCall is one scan being decided: the scan, whether it redeems (Scan)
// or only answers (Check), and whether it holds a slot of the journal's
// backlog for its entry. It holds nothing else: whatever a field points to
// escapes with it, and the scan must not (see decideWith).
type scanCall struct {
	s     *gate.Scan
	write bool
	slot  bool
	// offline is the offline write an admission the hub did not answer
	// commits with its redemption (venueclaim.go); nil otherwise.
	offline *offlineRec
	fresh   *ticketRec // a signed code's first sight: created by its admission's commit (signed_scan.go)
}

// decideOnce decides s. A scan that must journal a refusal while the
// journal's backlog is full gives up every lock, waits for room (outside the
// index, so that neither a recovery nor Close waits for it) and is decided
// again from the start, holding a slot of the backlog.
func (ix *Index) decideOnce(ctx context.Context, s *gate.Scan, write bool) gate.Decision {
	c := scanCall{s: s, write: write}
	for {
		d, full := ix.decideWith(&c)
		if !full {
			if c.slot {
				ix.jw.release(1) // an admission, or a scan of a closed store
			}
			return d
		}
		ix.warnFull()
		if err := ix.jw.reserve(ctx, ix.stop); err != nil {
			if errors.Is(err, errFaulted) {
				continue // decided again: refused without waiting (see refuse)
			}
			return ix.undecided(s, err)
		}
		c.slot = true
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

// decideWith decides c's scan in the order of gate's rules: what the scan
// itself shows, then the bloom filter, then the ticket. What needs no disk
// (a malformed or unknown barcode, a scan a decoder or lane refused) is
// answered with its reason also while the store is faulted. It never blocks
// on the journal: when it would queue a refusal and c holds no slot and
// none is free, it returns full (having taken no sequence number), and
// decideOnce waits for room and calls it again.
func (ix *Index) decideWith(c *scanCall) (gate.Decision, bool) {
	s := c.s
	if bad := ix.corrupt.Load(); bad != nil {
		return s.Refusal(gate.ReasonError, bad.msg), false // unjournaled: see corrupt.go
	}
	if c.write && len(s.Nonce) > gate.MaxNonceLen {
		return ix.refuse(c, gate.ReasonMalformed, errNonceTooLong.Error(), 0, nil)
	}
	if s.Deny != 0 {
		ix.maskCard(s) // a card's barcode is never journaled (override.go)
		return ix.refuseMaybe(c, s.Deny, s.Detail)
	}
	if err := gate.CheckBarcode(s.Barcode); err != nil {
		return ix.refuseMaybe(c, gate.ReasonMalformed, detail(err))
	}
	if ix.closed.Load() {
		return s.Refusal(gate.ReasonError, "the ticket store is closed"), false
	}
	if d, full, ok := ix.scanCode(c); ok { // a signed or rotating code: signed_scan.go
		return d, full
	}
	if !ix.filter.Load().test(s.Barcode) {
		if card := ix.card(s.Barcode); card != nil {
			return ix.cardScan(c, card)
		}
		return ix.refuseMaybe(c, gate.ReasonUnknown, "")
	}
	if d, full, ok := ix.enterScan(c); !ok {
		return d, full
	}
	defer ix.exit()
	sc := getScratch()
	defer putScratch(sc)
	version := ix.recVersion.Load()
	rec, reason, det := ix.lookup(sc, s.Barcode, version)
	if reason != 0 {
		if card := ix.card(s.Barcode); card != nil && reason == gate.ReasonUnknown {
			return ix.cardScan(c, card)
		}
		return ix.refuseMaybe(c, reason, det)
	}
	if d, full, ok := ix.codeOnly(c, rec); ok { // a rotating code's bare token
		return d, full
	}
	// gate.Decide keeps the addresses of its inputs as far as escape
	// analysis can tell (it is pure: nothing it returns points into them).
	// The scan is copied into the pooled scratch rather than letting every
	// scan escape to the heap; the record is the cached, never modified copy.
	sc.scan = *s
	if !c.write {
		return ix.check(sc, rec), false
	}
	ix.noteScan()
	st := ix.stripe(rec.Key)
	st.Lock()
	defer st.Unlock()
	return ix.redeemLocked(c, sc, st, rec, version)
}

// lookup returns the ticket record of barcode: the cached copy when no
// ticket record changed since it was read (recVersion is still version),
// else the record read from Pebble, cached. A barcode without a record (a
// bloom false positive, or a record gone since) is refused unknown, a read
// error error; the returned record must not be modified.
func (ix *Index) lookup(sc *scratch, barcode string, version uint64) (*ticketRec, gate.Reason, string) {
	if rec := ix.tcache.get(barcode, version); rec != nil {
		return rec, 0, ""
	}
	return ix.readTicket(sc, barcode, version)
}

// readTicket reads the record of barcode from Pebble and caches it as read
// at version; see lookup.
func (ix *Index) readTicket(sc *scratch, barcode string, version uint64) (*ticketRec, gate.Reason, string) {
	r, ok, err := ix.getTicket(sc, barcode)
	if err != nil {
		ix.log.Error().Err(err).Str("barcode", ix.logBarcode(barcode)).Msg("scan: read ticket")
		return nil, gate.ReasonError, "storage read failed"
	}
	if !ok {
		return nil, gate.ReasonUnknown, ""
	}
	return ix.tcache.put(barcode, version, r), 0, ""
}

// check decides a scan that redeems nothing (Check): the redemptions are
// read without the stripe, and nothing is numbered or journaled.
func (ix *Index) check(sc *scratch, rec *ticketRec) gate.Decision {
	rs, err := ix.getRedemptions(sc, rec.Key)
	if err != nil {
		return sc.scan.Refusal(gate.ReasonError, "storage read failed")
	}
	events := ix.events.Load()
	out := decideScan(gate.Input{Scan: &sc.scan, Ticket: &rec.T, Redemptions: rs, Events: events, Appliance: ix.opts.Appliance})
	ix.atLane(&scanCall{s: &sc.scan}, sc, rec, rs, &out, events) // rules and zones, holding no place
	return out.Decision
}

// redeemLocked decides a scan of rec holding the ticket's stripe st, from
// the ticket (read again when a ticket record changed since version) and
// its redemptions, and journals the decision: a refusal through the
// journal writer, an admission, re-entry or exit by its own commit before
// the stripe is released.
func (ix *Index) redeemLocked(c *scanCall, sc *scratch, st *stripe, rec *ticketRec, version uint64) (gate.Decision, bool) {
	if v := ix.recVersion.Load(); v != version && c.fresh == nil {
		// A ticket changed since the read (maybe this one): read it again
		// under the lock.
		var reason gate.Reason
		if rec, reason, _ = ix.readTicket(sc, c.s.Barcode, v); reason != 0 {
			return ix.refuse(c, reason, detailOf(reason), 0, nil)
		}
	}
	key := rec.Key
	rs, cached := st.redemptions(key)
	if !cached {
		var err error
		if rs, err = ix.getRedemptions(sc, key); err != nil {
			ix.log.Error().Err(err).Str("barcode", ix.logBarcode(c.s.Barcode)).Msg("scan: read redemptions")
			return ix.refuse(c, gate.ReasonError, "storage read failed", key, rec.T.Info())
		}
		st.remember(key, rs)
	}
	events := ix.events.Load()
	out, full := ix.decideLocked(c, sc, rec, rs, events)
	if full {
		return gate.Decision{}, true
	}
	zp := ix.atLane(c, sc, rec, rs, &out, events) // the entry rules, then the zones
	switch {
	case out.Write:
		if v := ix.venue.Load(); v != nil {
			return ix.redeemVenue(v, c, sc, st, rec, rs, &out, events, zp), false // claimed at the hub first
		}
		return ix.commitAdmission(c, sc, st, rec, rs, &out, events, zp), false
	case zp != nil:
		return ix.commitPassage(c, sc, st, rec, &out, zp, events), false
	}
	return ix.journalDecided(c, out.Decision, key, events), false
}

// detailOf is the detail of a refusal lookup made for reason.
func detailOf(r gate.Reason) string {
	if r == gate.ReasonError {
		return "storage read failed"
	}
	return ""
}

// decideLocked numbers the scan and runs gate.Decide on the ticket and the
// redemptions read under its stripe; the outcome says whether a redemption
// must be written. It first makes sure the decision can be journaled: a scan
// without a backlog slot takes a free one, and when none is free only an
// admission (journaled by its own commit) may go on: for anything else it
// returns full, having taken no number.
func (ix *Index) decideLocked(c *scanCall, sc *scratch, rec *ticketRec, rs []gate.Redemption, events *gate.EventSet) (gate.Outcome, bool) {
	in := gate.Input{Scan: &sc.scan, Ticket: &rec.T, Redemptions: rs, Events: events, Appliance: ix.opts.Appliance}
	if !c.slot && !ix.jw.tryReserve() {
		// gate.Decide is pure, so the probe decides as the real call
		// below will.
		if probe := decideScan(in); !probe.Write {
			return gate.Outcome{}, true
		}
	} else {
		c.slot = true
	}
	in.Seq = ix.seq.Add(1)
	return decideScan(in), false
}

// journalDecided journals a decision that writes no redemption (a refusal,
// or the exit of a ticket that was not inside) through the journal writer,
// and counts a refusal in the reports.
func (ix *Index) journalDecided(c *scanCall, d gate.Decision, key uint64, events *gate.EventSet) gate.Decision {
	se := entryOf(c.s, d, c.entryKey(key))
	if !d.Admit {
		se.Events = ix.denialEvents(c.s, &d, events)
		ix.ctrs().denied(&d, se.Events)
	}
	ix.queueEntry(se, c)
	ix.noteDecision(c.s, &d, key)
	return d
}

// entryOf is the journal entry of decision d of scan s, about ticket key
// (0 for none).
func entryOf(s *gate.Scan, d gate.Decision, key uint64) storedEntry {
	return storedEntry{JournalEntry: gate.JournalEntry{Seq: d.Seq, Kind: gate.KindDecision, Decision: d, Nonce: s.Nonce, Source: s.Source}, Key: key}
}

// commitAdmission commits the redemption out wrote (an admission, re-entry
// or exit of rec, whose redemptions were rs) with its journal entry, its
// history key and its nonce, in one batch with pebble.Sync, holding the
// ticket's stripe st; then the stripe remembers the new redemptions and the
// reports count them. When the commit fails the scan is refused instead
// (failCommit). A passage between zones (zp, nil for none) commits with it.
func (ix *Index) commitAdmission(c *scanCall, sc *scratch, st *stripe, rec *ticketRec, rs []gate.Redemption, out *gate.Outcome, events *gate.EventSet, zp *zonePass) gate.Decision {
	s, d, key := c.s, &out.Decision, rec.Key
	se := entryOf(s, *d, key)
	next := withRedemption(rs, out.Redemption)
	sc.val = encodeRedemptions(sc.val[:0], next)
	n := len(sc.val)
	sc.val = encodeEntry(sc.val, &se)
	written, entry := sc.val[:n], sc.val[n:]
	b := ix.db.NewBatch()
	_ = b.Set(putRedemptionKey(&sc.rk, key), written, nil)
	_ = b.Set(putJournalKey(&sc.jk, d.Seq), entry, nil)
	_ = b.Set(putHistoryKey(&sc.hk, key, d.Seq), nil, nil)
	if s.Nonce != "" {
		_ = b.Set(nonceKey(s.Nonce), nonceValue(d.Seq, s.At), nil)
	}
	if c.offline != nil {
		_ = b.Set(offlineKey(c.offline.Seq), encodeOffline(c.offline), nil) // replayed at the hub later
	}
	ix.addFirstSight(b, c, sc)
	zp.put(b)
	if err := ix.apply(b); err != nil {
		ix.passageDone(zp, false)
		failed := ix.failCommit(c, st, se, rs, written, err, events)
		ix.noteDecision(s, &failed, key)
		return failed
	}
	st.remember(key, next)
	ix.wm.finish(d.Seq)
	ix.firstSightCommitted(c)
	ix.passageDone(zp, true)
	ix.noteDecision(s, d, key)
	counted := rec
	if counted.T.State == gate.StateRevoked { // an exit through a replaced barcode
		if live, err := ix.liveTicket(*rec); err == nil {
			counted = &live
		}
	}
	ix.ctrs().redeemed(&counted.T, rs, next, d)
	return *d
}

// failCommit answers a scan whose admission failed to commit: it is refused
// with error under the admission's sequence number (the journal entry
// becomes that refusal), the stripe forgets the ticket's redemptions, and
// the store faults. Should the admission have reached the disk after all,
// the recovery puts the redemption back as it was in rs (a fixup), so an
// answer of error never spends the ticket.
func (ix *Index) failCommit(c *scanCall, st *stripe, se storedEntry, rs []gate.Redemption, written []byte, err error, events *gate.EventSet) gate.Decision {
	s, d := c.s, se.Decision
	st.forget(se.Key)
	ix.log.Error().Err(err).Str("barcode", ix.logBarcode(s.Barcode)).Uint64("seq", se.Seq).Msg("scan: commit failed; refused with error")
	failed := s.Refusal(gate.ReasonError, "storage write failed")
	failed.Seq = se.Seq
	failed.Event = d.Event
	failed.Ticket = d.Ticket
	se.Decision = failed
	se.Events = ix.denialEvents(s, &failed, events)
	var prev []byte
	if len(rs) > 0 {
		prev = encodeRedemptions(nil, rs)
	}
	ix.addFixup(fixup{key: se.Key, prev: prev, written: bytes.Clone(written), seq: se.Seq, entry: encodeEntry(nil, &se), created: createdKeys(c)})
	ix.fault(err)
	ix.ctrs().denied(&failed, se.Events)
	ix.queueEntry(se, c)
	return failed
}

// queueEntry hands an entry that has its sequence number to the journal
// writer, in the slot c holds, or past the limit when it holds none (see
// journalWriter.addUnreserved): a numbered entry is never dropped.
func (ix *Index) queueEntry(se storedEntry, c *scanCall) {
	if c.slot {
		c.slot = false
		ix.jw.add(se)
		return
	}
	ix.jw.addUnreserved(se)
}

// scratch holds the buffers one scan encodes its keys and records into:
// batches and Get copy or drop them before the scan ends, so they are
// reused through scratchPool instead of allocated per scan.
type scratch struct {
	scan  gate.Scan      // the copy gate.Decide reads
	facts gate.RuleFacts // what entry rules read (rules.go)
	key   []byte
	val   []byte
	rk    [9]byte
	jk    [9]byte
	hk    [17]byte
}

var scratchPool = sync.Pool{New: func() any { return &scratch{key: make([]byte, 0, 64), val: make([]byte, 0, 512)} }}

func getScratch() *scratch { return scratchPool.Get().(*scratch) }

func putScratch(sc *scratch) {
	if cap(sc.key) > 4096 || cap(sc.val) > 64<<10 {
		return // an outsize record: let it go
	}
	sc.scan = gate.Scan{} // keep no strings alive
	sc.facts = gate.RuleFacts{}
	scratchPool.Put(sc)
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
