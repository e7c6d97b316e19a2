package index

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/admitgate/admit/gate"
)

// Overrides (gate.Overrider): a supervisor lets the guest a lane refused
// last through. The index remembers each lane's last decision in memory
// (not across a restart: the guest scans again); Override forces it within
// gate.OverrideWindow, once, as an admission with reason override that
// names who, why and what was refused. A known ticket entering is redeemed
// as an entry (gate.Force); the passage counts in its zone, and a full zone
// stops it unless the zone's override_zone_full allows. The override is
// committed like an admission, with pebble.Sync, and listed for the report
// (zo<seq>).
//
// A supervisor card is a barcode whose SHA-256 is configured
// (SetSupervisorCards): scanned at a lane after a refusal, it overrides
// that refusal in the card's name, and the lane opens for the guest as for
// any admission. A card barcode is looked for only where a barcode is
// unknown as a ticket, so cards cost the scans of tickets nothing; the
// journal names the card, never its barcode.

// laneLast is a lane's last decision, as far as an override needs it.
type laneLast struct {
	mu         sync.Mutex
	refused    bool // the last decision was a refusal
	card       bool // it was a supervisor card's (never overridden)
	d          gate.Decision
	s          gate.Scan
	key        uint64
	overridden uint64 // the override that let it through
}

// laneLasts holds every lane's laneLast.
type laneLasts struct {
	mu sync.RWMutex
	m  map[string]*laneLast
}

// maxLaneLasts bounds the lanes remembered (scans name configured lanes).
const maxLaneLasts = 4096

func (ls *laneLasts) get(lane string, create bool) *laneLast {
	ls.mu.RLock()
	ll := ls.m[lane]
	ls.mu.RUnlock()
	if ll != nil || !create {
		return ll
	}
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if ll = ls.m[lane]; ll == nil {
		if ls.m == nil {
			ls.m = map[string]*laneLast{}
		}
		if len(ls.m) >= maxLaneLasts {
			return nil
		}
		ll = &laneLast{}
		ls.m[lane] = ll
	}
	return ll
}

// noteDecision remembers d as the last decision at s's lane.
func (ix *Index) noteDecision(s *gate.Scan, d *gate.Decision, key uint64) {
	ix.noteLast(s, d, key, false)
}

func (ix *Index) noteLast(s *gate.Scan, d *gate.Decision, key uint64, card bool) {
	if d.Seq == 0 || d.Replayed {
		return
	}
	ll := ix.zs.lanes.get(s.Lane, !d.Admit)
	if ll == nil {
		return
	}
	ll.mu.Lock()
	if d.Admit {
		ll.refused = false
	} else {
		ll.refused, ll.card, ll.d, ll.s, ll.key, ll.overridden = true, card, *d, *s, key, 0
	}
	ll.mu.Unlock()
}

// SetSupervisorCards replaces the supervisor cards (at start and on every
// reload).
func (ix *Index) SetSupervisorCards(cards []gate.SupervisorCard) error {
	m := make(map[[32]byte]*gate.SupervisorCard, len(cards))
	for i := range cards {
		c := cards[i]
		if c.Name == "" {
			return gate.Errorf(gate.EINVALID, "supervisor card %d has no name", i+1)
		}
		if _, dup := m[c.Hash]; dup {
			return gate.Errorf(gate.EINVALID, "supervisor card %q has the barcode of another card", c.Name)
		}
		c.Lanes = slices.Clone(c.Lanes)
		m[c.Hash] = &c
	}
	ix.zs.cards.Store(&m)
	return nil
}

// card returns the supervisor card with barcode, or nil.
func (ix *Index) card(barcode string) *gate.SupervisorCard {
	m := ix.zs.cards.Load()
	if m == nil || len(*m) == 0 {
		return nil
	}
	return (*m)[gate.CardHash(barcode)]
}

// maskCard replaces the barcode of a scan refused before the store (busy
// lane, a decoder's refusal) by its card's name when it is a supervisor
// card, so that the journal, the lane's record and the logs never hold a
// card's barcode.
func (ix *Index) maskCard(s *gate.Scan) {
	if card := ix.card(s.Barcode); card != nil {
		s.Barcode = "card:" + card.Name
	}
}

// cardScan decides the scan of a supervisor card: it overrides the lane's
// last refusal in the card's name (the decision is the override, for the
// lane to open), or is refused, journaled under the card's name. A check
// (c.write false) overrides nothing.
func (ix *Index) cardScan(c *scanCall, card *gate.SupervisorCard) (gate.Decision, bool) {
	s := *c.s
	s.Barcode = "card:" + card.Name
	if !c.write {
		return s.Refusal(gate.ReasonUnknown, "a supervisor card: scanned at the lane after a refusal, it lets the guest through"), false
	}
	why := card.Why
	if why == "" {
		why = "supervisor card scanned at the lane"
	}
	var err error
	if len(card.Lanes) > 0 && !slices.Contains(card.Lanes, s.Lane) {
		err = gate.Errorf(gate.EFORBIDDEN, "supervisor card %s may not override at lane %s", card.Name, s.Lane)
	} else {
		var d gate.Decision
		d, err = ix.Override(context.Background(), gate.OverrideRequest{Lane: s.Lane, By: card.Name, Why: why, At: s.At, Source: s.Source})
		if err == nil {
			return d, false
		}
	}
	// Journaled as a refusal of the card (never its barcode), and kept as
	// the lane's last decision: a second card scan overrides nothing.
	cc := *c
	cc.s = &s
	d, full := ix.refuseAs(&cc, gate.ReasonUnknown, "supervisor card "+card.Name+": "+gate.ErrorMessage(err), true)
	c.slot = cc.slot
	return d, full
}

// refuseAs is refuse for a refusal noted as a card's (or not).
func (ix *Index) refuseAs(c *scanCall, r gate.Reason, det string, card bool) (gate.Decision, bool) {
	if !c.slot {
		if !ix.jw.tryReserve() {
			if ix.faulted.Load() {
				return ix.refuseUnjournaled(c.s, r, det, nil), false
			}
			return gate.Decision{}, true
		}
		c.slot = true
	}
	d := c.s.Refusal(r, det)
	d.Seq = ix.seq.Add(1)
	se := entryOf(c.s, d, 0)
	se.Events = ix.denialEvents(c.s, &d, ix.events.Load())
	ix.ctrs().denied(&d, se.Events)
	ix.queueEntry(se, c)
	ix.noteLast(c.s, &d, 0, card)
	return d, false
}

// Override implements gate.Overrider: it forces the last refusal at
// req.Lane (see the top of this file).
func (ix *Index) Override(ctx context.Context, req gate.OverrideRequest) (gate.Decision, error) {
	if err := req.Validate(); err != nil {
		return gate.Decision{}, err
	}
	if req.At.IsZero() {
		req.At = time.Now()
	}
	ll := ix.zs.lanes.get(req.Lane, false)
	if ll == nil {
		return gate.Decision{}, gate.Errorf(gate.ECONFLICT, "lane %s has refused nobody since admit started: there is nothing to override", req.Lane)
	}
	// One override at a time per lane: the lane's record is held to the end.
	ll.mu.Lock()
	defer ll.mu.Unlock()
	refused, s, key := ll.d, ll.s, ll.key
	switch {
	case !ll.refused:
		return gate.Decision{}, gate.Errorf(gate.ECONFLICT, "the last scan at lane %s was admitted: there is nothing to override", req.Lane)
	case ll.overridden != 0:
		return gate.Decision{}, gate.Errorf(gate.ECONFLICT, "the last refusal at lane %s (scan %d) was overridden already (scan %d)", req.Lane, refused.Seq, ll.overridden)
	case ll.card:
		return gate.Decision{}, gate.Errorf(gate.ECONFLICT, "the last scan at lane %s was a supervisor card: the guest scans again first", req.Lane)
	case !refused.Reason.Overridable():
		return gate.Decision{}, gate.Errorf(gate.ECONFLICT, "the last refusal at lane %s (%s) is not one a supervisor overrides: the guest scans again", req.Lane, refused.Reason)
	case req.At.Sub(refused.At) > gate.OverrideWindow:
		return gate.Decision{}, gate.Errorf(gate.ECONFLICT, "the last refusal at lane %s is older than %s: the guest scans again", req.Lane, gate.OverrideWindow)
	}
	if err := ix.enter(); err != nil {
		return gate.Decision{}, err
	}
	defer ix.exit()
	s.At = req.At
	var st *stripe
	var rec *ticketRec
	var rs []gate.Redemption
	if key != 0 {
		st = ix.stripe(key)
		st.Lock()
		defer st.Unlock()
		r, ok, err := ix.getTicket(nil, refused.Barcode)
		if err != nil {
			return gate.Decision{}, err
		}
		if ok && r.Key == key {
			rec = &r
			if rs, err = ix.getRedemptions(nil, key); err != nil {
				return gate.Decision{}, err
			}
		} else {
			key = 0 // the barcode changed hands since: let the guest through, redeem nothing
		}
	}
	o := gate.Override{By: req.By, Why: req.Why}
	in := gate.Input{Scan: &s, Redemptions: rs, Events: ix.events.Load(), Appliance: ix.opts.Appliance}
	if rec != nil {
		in.Ticket = &rec.T
	}
	// The zone is checked (and a place held) before a number is taken, so
	// that a full zone refuses without a hole in the journal.
	move := s.Move()
	probe := gate.Force(in, &refused, o, !move.Inner())
	var zp *zonePass
	if !move.IsZero() {
		zp = ix.zoneMove(&probe, key, move, s.At, true, true)
		if !probe.Decision.Admit {
			return gate.Decision{}, gate.Errorf(gate.ECONFLICT, "%s", probe.Decision.Detail)
		}
	}
	in.Seq = ix.seq.Add(1)
	out := gate.Force(in, &refused, o, !move.Inner())
	d := &out.Decision
	if zp != nil {
		zp.seq, zp.next.seq = d.Seq, d.Seq
		zp.newRaw = encodeZoneLoc(zp.next)
	}
	ss := s
	ss.Barcode, ss.Source, ss.Nonce = refused.Barcode, req.Source, ""
	se := entryOf(&ss, *d, key)
	var next []gate.Redemption
	b := ix.db.NewBatch()
	if out.Write {
		next = withRedemption(rs, out.Redemption)
		_ = b.Set(redemptionKey(key), encodeRedemptions(nil, next), nil)
	}
	_ = b.Set(journalKey(d.Seq), encodeEntry(nil, &se), nil)
	if key != 0 {
		_ = b.Set(historyKey(key, d.Seq), nil, nil)
	}
	_ = b.Set(zoneKey(zoneOverride, d.Seq), nil, nil)
	zp.put(b)
	if err := ix.apply(b); err != nil {
		// Answered with an error: should the batch reach the disk after
		// all, the recovery puts the redemption back and the journal entry
		// becomes a lost one (and undoes the passage: passageDone).
		ix.passageDone(zp, false)
		if out.Write {
			st.forget(key)
			var prev []byte
			if len(rs) > 0 {
				prev = encodeRedemptions(nil, rs)
			}
			lost := lostEntry(d.Seq, "the override failed to commit")
			ix.addFixup(fixup{key: key, prev: prev, written: encodeRedemptions(nil, next), seq: d.Seq, entry: encodeEntry(nil, &lost)})
		}
		ix.addFixup(fixup{lostIfMissing: d.Seq})
		ix.fault(err)
		return gate.Decision{}, ix.writeError(fmt.Errorf("index: override at lane %s: %w", req.Lane, err))
	}
	if out.Write {
		st.remember(key, next)
		ix.ctrs().redeemed(&rec.T, rs, next, d)
	}
	ix.wm.finish(d.Seq)
	ix.passageDone(zp, true)
	ll.overridden, ll.refused = d.Seq, false
	ix.zs.omu.Lock()
	ix.zs.overrides = append(ix.zs.overrides, d.Seq)
	ix.zs.omu.Unlock()
	ix.log.Info().Str("lane", req.Lane).Uint64("seq", d.Seq).Uint64("refused", refused.Seq).Str("reason", refused.Reason.String()).
		Str("by", req.By).Msg("override: a supervisor let a refused guest through")
	return *d, nil
}

// Overrides returns the overrides for event ("" for every one), oldest
// first: the journal entries, annulled ones marked so.
func (ix *Index) Overrides(ctx context.Context, event string) ([]gate.JournalEntry, error) {
	if ix.closed.Load() {
		return nil, ErrClosed
	}
	ix.zs.omu.Lock()
	seqs := slices.Clone(ix.zs.overrides)
	ix.zs.omu.Unlock()
	out := []gate.JournalEntry{}
	for _, seq := range seqs {
		se, ok, err := ix.entry(seq)
		if err != nil {
			return nil, err
		}
		if !ok || se.Kind != gate.KindDecision || se.Decision.Override == nil {
			continue
		}
		if event != "" && se.Decision.Event != event {
			continue
		}
		out = append(out, se.JournalEntry)
	}
	return out, nil
}

var _ gate.Overrider = (*Index)(nil)
