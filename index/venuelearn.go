package index

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/cockroachdb/pebble/v2"
)

// Learning: the venue's link watches every write of the hub's redemptions,
// in revision order, and hands each to Learn, which applies it to the
// store under the ticket's stripe like a local redemption (the stripe's
// cache, the redeemed bit and the report counters follow), with the
// revision as the learned position in the same batch. So a ticket admitted
// at another appliance is refused here as already_used from the local
// store, without asking the hub, also after a restart and while the hub is
// away.
//
// Learned writes are committed without a sync of their own: a crash can
// lose the last of them, with their position, and the watch then delivers
// them again; the next durable commit (any admission) syncs them.
//
// A write whose ticket is not in the store yet (its import has not arrived)
// is kept under its venue ticket id (a vu record) and applied by
// LearnPending once the ticket is there; until then a scan of it claims at
// the hub, loses, and learns the write that way.
//
// A write of this appliance's own (made since this store joined the venue:
// an older one is the work of a store this one replaced, and is learned
// like any other) is kept when the local journal holds the
// admission, re-entry, exit or annulment it stands for (the entry at its
// sequence, for its ticket and event, at its time). One that the journal
// does not hold is a phantom: a claim that landed for a guest who was
// refused (its answer came too late, or the local commit failed), or never
// answered (the process died between the hub's acknowledgement and the
// commit). It is released: the hub's value is put back as it was before the
// phantom, at the current revision.

// Learn applies h, a write the hub holds, in revision order
// (gate.VenueStore). See the comment above.
func (ix *Index) Learn(ctx context.Context, h *gate.HubRedemption) error {
	v := ix.venue.Load()
	if v == nil {
		return errNoVenue
	}
	rev := h.Redemption.Revision
	if rev == 0 || h.Redemption.Event != h.Event {
		return fmt.Errorf("index: learn: a redemption without a revision, or of another event")
	}
	if err := ix.enter(); err != nil {
		return err
	}
	defer ix.exit()
	v.learnMu.Lock()
	defer v.learnMu.Unlock()
	if rev <= v.position.Load() {
		return nil
	}
	rec, ok, err := ix.ticketOfVenueID(h.Ticket)
	if err != nil {
		return err
	}
	if !ok {
		return ix.keepPending(v, h)
	}
	st, err := ix.lockVenueStripe(rec.Key)
	if err != nil {
		return err
	}
	defer st.Unlock()
	rs, err := ix.redemptionsLocked(st, rec.Key)
	if err != nil {
		return err
	}
	_, err = ix.applyHubLocked(v, st, &rec, rs, h, rev, nil)
	return err
}

// lockVenueStripe takes the stripe of ticket key for learning or a replay,
// unless the store faulted meanwhile: a scan of the ticket whose commit
// failed faults it before it lets the stripe go, and until the recovery
// puts its redemption back, the store may still show it.
func (ix *Index) lockVenueStripe(key uint64) (*stripe, error) {
	st := ix.stripe(key)
	st.Lock()
	if ix.faulted.Load() {
		st.Unlock()
		return nil, errFaulted
	}
	return st, nil
}

// SkipLearn moves the learned position past rev without applying it: an
// operator's decision about a value at the hub that does not decode
// (gate.VenueStore).
func (ix *Index) SkipLearn(ctx context.Context, rev uint64) error {
	v := ix.venue.Load()
	if v == nil {
		return errNoVenue
	}
	if err := ix.enter(); err != nil {
		return err
	}
	defer ix.exit()
	v.learnMu.Lock()
	defer v.learnMu.Unlock()
	if rev <= v.position.Load() {
		return nil
	}
	b := ix.db.NewBatch()
	_ = b.Set(metaVenuePos, u64(rev), nil)
	if err := ix.apply(b); err != nil {
		ix.fault(err)
		return ix.writeError(err)
	}
	v.position.Store(rev)
	ix.log.Warn().Uint64("revision", rev).Msg("venue: a hub revision skipped by an operator; it was not learned")
	return nil
}

// keepPending keeps h, whose ticket is not in the store, until it is
// (LearnPending), with the position.
func (ix *Index) keepPending(v *venueState, h *gate.HubRedemption) error {
	k := pendingKey(h.Ticket, h.Event)
	had, err := ix.pendingLearned(k)
	if err != nil {
		return err
	}
	rev := h.Redemption.Revision
	b := ix.db.NewBatch()
	if had == nil || had.Redemption.Revision < rev {
		_ = b.Set(k, encodeHub(h), nil)
	}
	_ = b.Set(metaVenuePos, u64(rev), nil)
	if err := ix.applyNoSync(b); err != nil {
		ix.fault(err)
		return ix.writeError(err)
	}
	v.position.Store(rev)
	if had == nil {
		v.pending.Add(1)
	}
	return nil
}

func (ix *Index) pendingLearned(k []byte) (*gate.HubRedemption, error) {
	val, closer, err := ix.db.Get(k)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, ix.readFault("learned redemption", err)
	}
	defer closer.Close()
	h, err := decodeHub(val)
	if err != nil {
		return nil, fmt.Errorf("index: learned redemption %q: %w", k, err)
	}
	return h, nil
}

// LearnPending applies the learned writes kept for tickets that were not in
// the store and now are; it returns how many still wait (gate.VenueStore).
func (ix *Index) LearnPending(ctx context.Context) (int, error) {
	v := ix.venue.Load()
	if v == nil {
		return 0, errNoVenue
	}
	if v.pending.Load() == 0 {
		return 0, nil
	}
	if err := ix.enter(); err != nil {
		return 0, err
	}
	defer ix.exit()
	type kept struct {
		k []byte
		h *gate.HubRedemption
	}
	var all []kept
	if err := ix.iterPrefix(prefixVenuePending, func(k, val []byte) error {
		h, err := decodeHub(val)
		if err != nil {
			return fmt.Errorf("learned redemption %q: %w", k, err)
		}
		all = append(all, kept{k: append([]byte(nil), k...), h: h})
		return nil
	}); err != nil {
		return 0, fmt.Errorf("index: %w", err)
	}
	waiting := 0
	for _, p := range all {
		if err := ctx.Err(); err != nil {
			return waiting, err
		}
		rec, ok, err := ix.ticketOfVenueID(p.h.Ticket)
		if err != nil {
			return waiting, err
		}
		if !ok {
			waiting++
			continue
		}
		st, err := ix.lockVenueStripe(rec.Key)
		if err != nil {
			return waiting, err
		}
		rs, err := ix.redemptionsLocked(st, rec.Key)
		if err == nil {
			_, err = ix.applyHubLocked(v, st, &rec, rs, p.h, 0, p.k)
		}
		st.Unlock()
		if err != nil {
			return waiting, err
		}
		v.pending.Add(-1)
	}
	return waiting, nil
}

// ownKind is what a write naming this appliance stands for locally.
type ownKind uint8

const (
	ownCommitted ownKind = iota + 1 // a committed admission, re-entry, exit or annulment
	ownOffline                      // one committed offline, waiting for its replay: the claim landed after all
	ownPhantom                      // none: release it
)

// ownWrite tells what h, a write naming this appliance and a journal
// sequence, stands for here. The ticket's stripe is held, so no scan of it
// is between its claim and its commit.
func (ix *Index) ownWrite(v *venueState, key uint64, h *gate.HubRedemption) (ownKind, error) {
	se, ok, err := ix.entry(h.By.Seq)
	if err != nil {
		return 0, err
	}
	d := &se.Decision
	if !ok || se.Key != key || d.Event != h.Event || !d.At.Equal(h.By.At) {
		return ownPhantom, nil
	}
	switch {
	case se.Kind == gate.KindDecision && d.Admit, se.Kind == gate.KindAnnulment:
	default:
		return ownPhantom, nil
	}
	if _, waiting := v.getOffline(h.By.Seq); waiting {
		return ownOffline, nil
	}
	return ownCommitted, nil
}

// applyHubLocked applies h, the hub's state of one of rec's redemptions
// (rs), holding rec's stripe st, and returns the redemptions stored now.
// pos, when not 0, is the learned position committed with it; done, when
// not nil, a key deleted in the same batch (a kept write now applied). A
// write not newer than the one stored changes nothing; a phantom of this
// appliance's is released at the hub and the release applied instead.
func (ix *Index) applyHubLocked(v *venueState, st *stripe, rec *ticketRec, rs []gate.Redemption, h *gate.HubRedemption, pos uint64, done []byte) ([]gate.Redemption, error) {
	key := rec.Key
	b := ix.db.NewBatch()
	if pos > 0 {
		_ = b.Set(metaVenuePos, u64(pos), nil)
	}
	if done != nil {
		_ = b.Delete(done, nil)
	}
	var dropped uint64
	if h.By.Appliance == v.me && h.By.Seq != 0 && !h.By.At.Before(v.since) {
		if r := findRed(rs, h.Event); r == nil || r.Revision < h.Redemption.Revision {
			own, err := ix.ownWrite(v, key, h)
			if err != nil {
				_ = b.Close()
				return rs, err
			}
			switch own {
			case ownPhantom:
				released, err := ix.release(v, h)
				if err != nil {
					_ = b.Close()
					return rs, err
				}
				h = released
			case ownOffline:
				dropped = h.By.Seq
				_ = b.Delete(offlineKey(dropped), nil)
			}
		}
	}
	rev := h.Redemption.Revision
	before := findRed(rs, h.Event)
	if before != nil && before.Revision >= rev {
		return rs, ix.commitLearned(v, b, pos)
	}
	red := h.Redemption
	for _, o := range v.offlineOf(key) {
		if o.Event == h.Event && o.Seq != dropped {
			red = applyOffline(red, o)
		}
	}
	red.Revision = rev
	next := withRedemption(rs, red)
	ms := learnedMinutes(before, &red)
	if len(ms) > 0 {
		_ = b.Set(learnedMinutesKey(rev), encodeMinutes(ms), nil)
	}
	_ = b.Set(redemptionKey(key), encodeRedemptions(nil, next), nil)
	if err := ix.commitLearned(v, b, pos); err != nil {
		st.forget(key)
		return rs, err
	}
	st.remember(key, next)
	if dropped != 0 {
		v.dropOffline(dropped)
	}
	counted := rec
	if rec.T.State == gate.StateRevoked {
		if live, err := ix.liveTicket(*rec); err == nil {
			counted = &live
		}
	}
	ix.ctrs().learned(&counted.T, rs, next, ms)
	return next, nil
}

// commitLearned commits a batch of learned state without a sync (see
// above), and the position with it.
func (ix *Index) commitLearned(v *venueState, b *pebble.Batch, pos uint64) error {
	if b.Empty() {
		_ = b.Close()
		return nil
	}
	if err := ix.applyNoSync(b); err != nil {
		ix.fault(err)
		return ix.writeError(fmt.Errorf("index: learn: %w", err))
	}
	if pos > 0 {
		v.position.Store(pos)
	}
	return nil
}

// maxReleaseTries bounds the attempts to release one phantom while other
// writes keep changing its key.
const maxReleaseTries = 3

// errNotReleased is a phantom that cannot be taken back from the hub's
// value (the key moved on in a way its undoing cannot follow).
var errNotReleased = errors.New("index: a phantom claim cannot be released")

// release takes phantom h back at the hub: its key goes back to the state
// before h, or, when other writes followed it, h's movement is annulled on
// the current state. It returns the hub's state after the release.
func (ix *Index) release(v *venueState, h *gate.HubRedemption) (*gate.HubRedemption, error) {
	cur := h
	by := gate.ClaimRef{Appliance: v.me, At: time.Now().UTC()}
	for range maxReleaseTries {
		var back gate.Redemption
		if cur.Redemption.Revision == h.Redemption.Revision {
			back = gate.Redemption{Event: h.Event}
			if h.Prev != nil {
				back = *h.Prev
			}
		} else {
			var ok bool
			if back, ok = undo(cur.Redemption, h); !ok {
				ix.log.Error().Str("event", h.Event).Str("ticket", h.Ticket).Uint64("revision", h.Redemption.Revision).
					Msg("venue: a phantom claim cannot be released: the hub's value moved on; correct it by hand")
				return cur, nil
			}
		}
		back.Revision = 0
		prev := cur.Redemption
		prev.Revision = 0
		res := v.claimer.Claim(context.Background(), &gate.Claim{Event: h.Event, Ticket: h.Ticket, KnownRev: cur.Redemption.Revision,
			Redemption: back, Prev: &prev, By: by})
		switch res.Outcome {
		case gate.ClaimWon:
			back.Revision = res.Revision
			ix.log.Warn().Str("event", h.Event).Str("ticket", h.Ticket).Uint64("seq", h.By.Seq).Uint64("revision", res.Revision).
				Msg("venue: released a claim this appliance made for a guest it did not admit")
			return &gate.HubRedemption{Event: h.Event, Ticket: h.Ticket, Redemption: back, Prev: &prev, By: by}, nil
		case gate.ClaimLost:
			if res.Current == nil {
				return nil, fmt.Errorf("%w: the key has no value at the hub", errNotReleased)
			}
			cur = res.Current
		default:
			return nil, fmt.Errorf("index: release of a phantom claim: %s: %s", res.Outcome, res.Detail)
		}
	}
	return nil, fmt.Errorf("%w: its key kept changing", errNotReleased)
}

// undo takes h's movement back from r, the key's state after later writes.
func undo(r gate.Redemption, h *gate.HubRedemption) (gate.Redemption, bool) {
	var p gate.Redemption
	if h.Prev != nil {
		p = *h.Prev
	}
	n := &h.Redemption
	var reason gate.Reason
	switch {
	case n.Admissions == p.Admissions+1:
		reason = gate.ReasonOK
	case n.Reentries == p.Reentries+1:
		reason = gate.ReasonReentry
	case n.Exits == p.Exits+1:
		reason = gate.ReasonExit
	default:
		return r, false // an annulment: its undoing would need the movement it took back
	}
	out, err := gate.Annul(r, gate.Decision{Reason: reason, At: h.By.At, Seq: h.By.Seq})
	return out, err == nil
}

// learnedMinutes is what a learned redemption adds to the report minutes
// over the one stored before: its new entry times, and its new exits at
// its last movement (the hub keeps no exit times).
func learnedMinutes(before *gate.Redemption, after *gate.Redemption) []minuteDelta {
	var b gate.Redemption
	if before != nil {
		b = *before
	}
	var ms []minuteDelta
	add := func(at time.Time, entries, exits int64) {
		if at.IsZero() {
			return
		}
		m := minuteOf(at)
		for i := range ms {
			if ms[i].minute == m {
				ms[i].entries += entries
				ms[i].exits += exits
				return
			}
		}
		ms = append(ms, minuteDelta{event: after.Event, minute: m, entries: entries, exits: exits})
	}
	if in := int64(after.Admissions+after.Reentries) - int64(b.Admissions+b.Reentries); in != 0 {
		added, removed := entryDiff(b.Entries, after.Entries)
		times, sign, last := added, int64(1), after.Last.At
		if in < 0 {
			times, sign, last, in = removed, -1, b.Last.At, -in
		}
		// The newest of the new (or removed) times: a full list drops
		// its oldest, which is no movement.
		for i := len(times) - 1; i >= 0 && in > 0; i-- {
			add(times[i], sign, 0)
			in--
		}
		for ; in > 0; in-- {
			add(last, sign, 0)
		}
	}
	if out := int64(after.Exits) - int64(b.Exits); out > 0 {
		add(after.Last.At, 0, out)
	} else if out < 0 {
		add(b.Last.At, 0, out)
	}
	return ms
}

// entryDiff returns the entry times in after that are not in before and
// those in before not in after, counting repeats, oldest first.
func entryDiff(before, after []time.Time) (added, removed []time.Time) {
	count := make(map[int64]int, len(before))
	for _, t := range before {
		count[t.UnixNano()]++
	}
	for _, t := range after {
		if n := count[t.UnixNano()]; n > 0 {
			count[t.UnixNano()] = n - 1
			continue
		}
		added = append(added, t)
	}
	for _, t := range before {
		if n := count[t.UnixNano()]; n > 0 {
			count[t.UnixNano()] = n - 1
			removed = append(removed, t)
		}
	}
	return added, removed
}
