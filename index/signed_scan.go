package index

import (
	"strings"

	"github.com/cockroachdb/pebble/v2"

	"github.com/admitgate/admit/codes"
	"github.com/admitgate/admit/gate"
)

// Scanning a code that proves itself. decideWith asks scanCode first,
// before the bloom filter: a code no configured provider's kind reads
// (most barcodes) goes on the way it always went; one that parses as a
// pretix_sig1 or rotating code is decided here. Everything a code shows by
// itself is checked without touching the store: a forged, revoked,
// blocked, out-of-date or unmapped signed code, a rotating code drawn too
// far from now or not by the event's key, is refused at once. Only then
// is the ticket read, and from there the scan is any ticket's scan
// (redeemLocked): the same redeem-once, journal, nonce and report.
//
// A good signed code whose ticket is not stored yet is created on its
// first sight: under a first-sight lock chosen by the code (so concurrent
// first sights of one code at many lanes create it once: the second waits,
// then reads the first's record and is already_used), the ticket record
// and its first-sight record join the batch of its first admission
// (commitAdmission). A scan that does not admit (wrong_event at this lane,
// an exit, a journal backlog to wait for) creates nothing: its journal
// entry names no ticket key, and its ticket key is never handed out again.

// scanCode decides c's scan when its barcode is a code of a configured
// pretix_sig1 or rotating provider; ok is false when it is not (decideWith
// goes on with the bloom filter).
func (ix *Index) scanCode(c *scanCall) (d gate.Decision, full, ok bool) {
	set := ix.signed.set.Load()
	if set == nil {
		return d, false, false
	}
	if len(set.sig1) > 0 && maybeSig1(c.s.Barcode) {
		var v codes.Sig1Verdict
		for _, p := range set.sig1 {
			v = p.Check(c.s.Barcode, c.s.At, c.s.Direction)
			if !v.Parsed {
				break // the layout is every provider's: not a signed code at all
			}
			if v.Signed {
				break
			}
		}
		if v.Parsed {
			if v.Reason != 0 {
				d, full = ix.refuseMaybe(c, v.Reason, v.Detail)
				return d, full, true
			}
			d, full = ix.scanSigned(c, &v)
			return d, full, true
		}
	}
	if len(set.rotating) > 0 && strings.Contains(c.s.Barcode, "::") {
		if code, err := codes.ParseRotating(c.s.Barcode); err == nil {
			d, full = ix.scanRotating(c, set, code)
			return d, full, true
		}
	}
	return d, false, false
}

// minSig1Text is the shortest text a pretix_sig1 code can have: the
// base64 of its 5-byte header, a payload of at least a seed of one
// character (3 bytes) and the 64-byte signature, 72 bytes.
const minSig1Text = 72 / 3 * 4

// maybeSig1 reports whether text could be a pretix_sig1 code at all, from
// its length and alphabet alone: the barcodes of imported tickets (16
// digits, an EAN) are turned away here at no cost, before the parser,
// whose refusal allocates, sees them.
func maybeSig1(text string) bool {
	if len(text) < minSig1Text || len(text) > codes.MaxCodeLen || len(text)%4 != 0 {
		return false
	}
	for i := 0; i < len(text); i++ {
		c := text[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '=') {
			return false
		}
	}
	return true
}

// scanSigned decides a good signed code: its stored ticket's scan, or its
// first sight.
func (ix *Index) scanSigned(c *scanCall, v *codes.Sig1Verdict) (gate.Decision, bool) {
	s := c.s
	if d, full, ok := ix.enterScan(c); !ok {
		return d, full
	}
	defer ix.exit()
	sc := getScratch()
	defer putScratch(sc)
	version := ix.recVersion.Load()
	rec := ix.tcache.get(s.Barcode, version)
	if rec == nil {
		var mu interface{ Unlock() }
		if c.write {
			l := ix.signed.lockFor(s.Barcode)
			l.Lock()
			mu = l
		}
		r, ok, err := ix.getTicket(sc, s.Barcode)
		switch {
		case err != nil:
			if mu != nil {
				mu.Unlock()
			}
			ix.log.Error().Err(err).Str("barcode", s.Barcode).Msg("scan: read ticket")
			return ix.refuseMaybe(c, gate.ReasonError, "storage read failed")
		case !ok:
			if mu != nil {
				defer mu.Unlock() // until the first sight is committed or refused
			}
			return ix.firstSight(c, sc, v.Ticket, version)
		}
		if mu != nil {
			mu.Unlock()
		}
		rec = ix.tcache.put(s.Barcode, version, r)
	}
	return ix.scanStored(c, sc, rec, version)
}

// scanStored is decideWith's end for a ticket read: Check decides, Scan
// redeems under the ticket's stripe.
func (ix *Index) scanStored(c *scanCall, sc *scratch, rec *ticketRec, version uint64) (gate.Decision, bool) {
	sc.scan = *c.s
	if !c.write {
		return ix.check(sc, rec), false
	}
	ix.noteScan()
	st := ix.stripe(rec.Key)
	st.Lock()
	defer st.Unlock()
	return ix.redeemLocked(c, sc, st, rec, version)
}

// firstSight decides the first scan of a good signed code, holding its
// first-sight lock (a Scan) with no ticket stored for it: the ticket t is
// created by the admission's commit, or not at all.
func (ix *Index) firstSight(c *scanCall, sc *scratch, t gate.Ticket, version uint64) (gate.Decision, bool) {
	sc.scan = *c.s
	rec := &ticketRec{Upstream: gate.StateValid, T: t}
	rec.fixState()
	if !c.write {
		out := gate.Decide(gate.Input{Scan: &sc.scan, Ticket: &rec.T, Events: ix.events.Load(), Appliance: ix.opts.Appliance})
		return out.Decision, false
	}
	rec.Key = ix.signed.newKey()
	ix.noteScan()
	st := ix.stripe(rec.Key)
	st.Lock()
	defer st.Unlock()
	st.remember(rec.Key, nil) // a new ticket key has no redemptions: nothing to read
	c.fresh = rec
	defer func() { c.fresh = nil }() // decideOnce may decide the scan again
	return ix.redeemLocked(c, sc, st, rec, version)
}

// entryKey is the ticket key a decision's journal entry names: none for a
// first sight that created no ticket.
func (c *scanCall) entryKey(key uint64) uint64 {
	if c.fresh != nil {
		return 0
	}
	return key
}

// addFirstSight puts the ticket a first sight creates, and its first-sight
// record, into the batch of its admission.
func (ix *Index) addFirstSight(b *pebble.Batch, c *scanCall, sc *scratch) {
	rec := c.fresh
	if rec == nil {
		return
	}
	sc.key = appendTicketKey(sc.key[:0], rec.T.Barcode)
	_ = b.Set(sc.key, encodeTicket(nil, rec), nil)
	_ = b.Set(firstSightKey(rec.Key), encodeFirstSight(firstSight{Provider: rec.T.Provider, Barcode: rec.T.Barcode}), nil)
}

// firstSightCommitted counts the ticket a first sight created, once its
// admission is committed: sold from now on (the redemption is counted
// after it).
func (ix *Index) firstSightCommitted(c *scanCall) {
	if c.fresh != nil {
		ix.ctrs().changed(nil, nil, &c.fresh.T, nil)
	}
}

// createdKeys are the records a failed first sight's commit would have
// created: the recovery deletes its ticket record if the admission reached
// the disk after all (fault.go). The first-sight record stays, so its
// ticket key is never handed out again.
func createdKeys(c *scanCall) [][]byte {
	if c.fresh == nil {
		return nil
	}
	return [][]byte{ticketKey(c.fresh.T.Barcode)}
}

// scanRotating decides a rotating code: the clock and the event's code
// first (no disk), then the ticket its token names, the holder's code with
// the customer key imported with it, and the ticket's own redeem-once.
// From the ticket on, the scan (its decision and journal entry) names the
// token, the ticket's barcode.
func (ix *Index) scanRotating(c *scanCall, set *codeSet, code *codes.RotatingCode) (gate.Decision, bool) {
	s := c.s
	var p *rotatingProvider
	var refusal codes.RotatingVerdict
	for _, rp := range set.rotating {
		v := rp.v.CheckClock(code, s.At)
		if v.Drawn && c.write {
			rp.window.Observe(v.Offset)
		}
		if v.Reason == 0 {
			p = rp
			break
		}
		if refusal.Reason == 0 || v.Drawn {
			refusal = v // the detail of the provider whose key drew it, if one did
		}
	}
	if p == nil {
		det := refusal.Detail
		if len(set.rotating) > 1 && !refusal.Drawn {
			det = "no rotating provider's event key drew this code at its time"
		}
		return ix.refuseMaybe(c, gate.ReasonStaleCode, det)
	}
	token := code.Token
	if !ix.filter.Load().test(token) {
		return ix.refuseMaybe(c, gate.ReasonUnknown, "")
	}
	if d, full, ok := ix.enterScan(c); !ok {
		return d, full
	}
	defer ix.exit()
	sc := getScratch()
	defer putScratch(sc)
	version := ix.recVersion.Load()
	rec, reason, det := ix.lookup(sc, token, version)
	if reason != 0 {
		return ix.refuseMaybe(c, reason, det)
	}
	if rec.T.Provider != p.id {
		return ix.refuseMaybe(c, gate.ReasonUnknown, "the token is not a ticket of rotating provider "+p.id)
	}
	s.Barcode = token
	if len(rec.CustomerKey) == 0 {
		return ix.refuseRotating(c, rec, "the ticket was imported without the holder's customer key: its code cannot be checked")
	}
	if v := p.v.CheckCustomer(code, rec.CustomerKey); v.Reason != 0 {
		return ix.refuseRotating(c, rec, v.Detail)
	}
	return ix.scanStored(c, sc, rec, version)
}

// refuseRotating refuses a rotating code of a known ticket as stale_code,
// journaled in the ticket's history.
func (ix *Index) refuseRotating(c *scanCall, rec *ticketRec, det string) (gate.Decision, bool) {
	if !c.write {
		d := c.s.Refusal(gate.ReasonStaleCode, det)
		d.Ticket = rec.T.Info()
		return d, false
	}
	return ix.refuse(c, gate.ReasonStaleCode, det, rec.Key, rec.T.Info())
}

// codeOnly refuses the scan of a stored ticket whose barcode is no code by
// itself: a rotating provider's token, scanned without its one-time codes
// (a static copy of it). ok is false for every other ticket.
func (ix *Index) codeOnly(c *scanCall, rec *ticketRec) (d gate.Decision, full, ok bool) {
	if !ix.signed.set.Load().isRotatingToken(&rec.T) {
		return d, false, false
	}
	d, full = ix.refuseMaybe(c, gate.ReasonUnknown, "the token of a rotating code is no code by itself")
	return d, full, true
}
