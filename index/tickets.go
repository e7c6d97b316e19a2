package index

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/cockroachdb/pebble/v2"
)

// Ticket returns a ticket with its redemptions and its latest journal
// entries (about any barcode sharing its ticket key), newest first. The
// returned value is a copy the caller owns.
func (ix *Index) Ticket(ctx context.Context, barcode string) (gate.TicketView, error) {
	if err := ix.enter(); err != nil {
		return gate.TicketView{}, err
	}
	defer ix.exit()
	rec, err := ix.knownTicket(barcode)
	if err != nil {
		return gate.TicketView{}, err
	}
	rs, err := ix.getRedemptions(nil, rec.Key)
	if err != nil {
		return gate.TicketView{}, err
	}
	v := gate.TicketView{Ticket: rec.T, Redemptions: rs, History: []gate.JournalEntry{}}
	if v.Redemptions == nil {
		v.Redemptions = []gate.Redemption{}
	}
	lo := historyKey(rec.Key, 0)
	it, err := ix.db.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: lo, UpperBound: prefixEnd(lo[:9])})
	if err != nil {
		return gate.TicketView{}, ix.readFault("history", err)
	}
	defer it.Close()
	for it.Last(); it.Valid() && len(v.History) < gate.MaxHistory; it.Prev() {
		seq, err := decodeU64(it.Key()[9:])
		if err != nil {
			return gate.TicketView{}, fmt.Errorf("index: history key %x: %w", it.Key(), err)
		}
		se, ok, err := ix.entry(seq)
		if err != nil {
			return gate.TicketView{}, err
		}
		if ok {
			v.History = append(v.History, se.JournalEntry)
		}
	}
	if err := it.Error(); err != nil {
		return gate.TicketView{}, ix.readFault("history", err)
	}
	return v, nil
}

// Cancel refuses the ticket from now on (an admin's cancel, kept apart from
// the state imports set).
func (ix *Index) Cancel(ctx context.Context, barcode, by string) (gate.Ticket, error) {
	return ix.ticketChange(ctx, ticketChangeOf(gate.ChangeCancel, barcode, by))
}

// Invalidate refuses the ticket from now on with reason invalidated.
func (ix *Index) Invalidate(ctx context.Context, barcode, by string) (gate.Ticket, error) {
	return ix.ticketChange(ctx, ticketChangeOf(gate.ChangeInvalidate, barcode, by))
}

// Block refuses a valid ticket until Unblock.
func (ix *Index) Block(ctx context.Context, barcode, by string) (gate.Ticket, error) {
	return ix.ticketChange(ctx, ticketChangeOf(gate.ChangeBlock, barcode, by))
}

// Unblock makes a blocked ticket valid again.
func (ix *Index) Unblock(ctx context.Context, barcode, by string) (gate.Ticket, error) {
	return ix.ticketChange(ctx, ticketChangeOf(gate.ChangeUnblock, barcode, by))
}

// UpdateEvents adds and removes events of a pass.
func (ix *Index) UpdateEvents(ctx context.Context, barcode string, add, remove []string, by string) (gate.Ticket, error) {
	c := ticketChangeOf(gate.ChangeUpdateEvents, barcode, by)
	c.Add, c.Remove = slices.Clone(add), slices.Clone(remove)
	return ix.ticketChange(ctx, c)
}

func ticketChangeOf(kind gate.ChangeKind, barcode, by string) *gate.Change {
	c := newChange(kind, by)
	c.Barcode = barcode
	return c
}

// ticketChange applies a change of one ticket's state or events.
func (ix *Index) ticketChange(ctx context.Context, c *gate.Change) (gate.Ticket, error) {
	if e, ok := adminEdits[c.Kind]; ok {
		return ix.change(ctx, c, e.apply)
	}
	if c.Kind != gate.ChangeUpdateEvents {
		return gate.Ticket{}, fmt.Errorf("index: %s is not a ticket change", c.Kind)
	}
	events := ix.events.Load()
	for _, id := range c.Add {
		if _, ok := events.Get(id); !ok {
			return gate.Ticket{}, gate.Errorf(gate.EINVALID, "no event %q", id)
		}
	}
	return ix.change(ctx, c, func(r *ticketRec) (bool, error) { return updateEvents(r, c.Add, c.Remove) })
}

// adminEdit is an admin's change of a ticket's state: every one refuses a
// revoked ticket (its new barcode is the one to change), changes nothing
// where the ticket already is what it asks, and sets the admin mark.
type adminEdit struct {
	mark adminState
	done gate.State // the state in which the change changes nothing
	// notFrom, when set, refuses a cancelled or invalidated ticket; it ends
	// the message that says why.
	notFrom string
}

var adminEdits = map[gate.ChangeKind]adminEdit{
	gate.ChangeCancel:     {mark: adminCancelled, done: gate.StateCancelled},
	gate.ChangeInvalidate: {mark: adminInvalidated, done: gate.StateInvalidated},
	gate.ChangeBlock:      {mark: adminBlocked, done: gate.StateBlocked, notFrom: "; only a valid ticket can be blocked"},
	gate.ChangeUnblock:    {mark: adminNone, done: gate.StateValid, notFrom: ", not blocked"},
}

func (e adminEdit) apply(r *ticketRec) (bool, error) {
	switch st := r.T.State; {
	case st == gate.StateRevoked:
		return false, revokedConflict(r)
	case st == e.done:
		return false, nil
	case e.notFrom != "" && (st == gate.StateCancelled || st == gate.StateInvalidated):
		return false, gate.Errorf(gate.ECONFLICT, "ticket %q is %s%s", r.T.Barcode, st, e.notFrom)
	}
	r.Admin = e.mark
	return true, nil
}

func updateEvents(r *ticketRec, add, remove []string) (bool, error) {
	if r.T.State == gate.StateRevoked {
		return false, revokedConflict(r)
	}
	next := slices.Clone(r.T.Events)
	next = slices.DeleteFunc(next, func(e string) bool { return slices.Contains(remove, e) })
	for _, e := range add {
		if !slices.Contains(next, e) {
			next = append(next, e)
		}
	}
	slices.Sort(next)
	if len(next) == 0 && r.T.Period.IsZero() {
		return false, gate.Errorf(gate.EINVALID, "ticket %q would admit to no event", r.T.Barcode)
	}
	if slices.Equal(next, r.T.Events) {
		return false, nil
	}
	r.T.Events = next
	return true, nil
}

func revokedConflict(r *ticketRec) error {
	return gate.Errorf(gate.ECONFLICT, "ticket %q was revoked (replaced by %q); change the new barcode", r.T.Barcode, r.T.ReplacedBy)
}

// change applies fn to a ticket under the admin lock and the ticket's
// stripe, and commits the result with c's record (Sync). A change that
// changes nothing (cancelling a cancelled ticket) is recorded all the same:
// someone asked for it.
func (ix *Index) change(ctx context.Context, c *gate.Change, fn func(r *ticketRec) (bool, error)) (gate.Ticket, error) {
	barcode, what := c.Barcode, string(c.Kind)
	done, err := ix.enterAdmin(ctx)
	if err != nil {
		return gate.Ticket{}, err
	}
	defer done()
	rec, err := ix.knownTicket(barcode)
	if err != nil {
		return gate.Ticket{}, err
	}
	ix.chg.mu.Lock()
	defer ix.chg.mu.Unlock()
	mu := ix.stripe(rec.Key)
	mu.Lock()
	defer mu.Unlock()
	before := rec
	before.T.Events = slices.Clone(rec.T.Events)
	changed, err := fn(&rec)
	if err != nil {
		return rec.T, err
	}
	if !changed {
		if err := ix.commitChangeLocked(c, nil); err != nil {
			return gate.Ticket{}, fmt.Errorf("index: %s %q: %w", what, barcode, err)
		}
		return rec.T, nil
	}
	rec.fixState()
	rs, err := ix.getRedemptions(nil, rec.Key)
	if err != nil {
		return gate.Ticket{}, err
	}
	err = ix.commitChangeLocked(c, func(b *pebble.Batch) { _ = b.Set(ticketKey(barcode), encodeTicket(nil, &rec), nil) })
	ix.recVersion.Add(1)
	if err != nil {
		return gate.Ticket{}, fmt.Errorf("index: %s %q: %w", what, barcode, err)
	}
	ix.ctrs().changed(&before.T, rs, &rec.T, rs)
	ix.log.Info().Str("barcode", ix.logBarcode(barcode)).Str("by", c.By).Str("change", what).Uint64("seq", c.Seq).
		Uint64("position", c.Position).Stringer("state", rec.T.State).Msg("ticket changed")
	return rec.T, nil
}

// Reissue replaces oldBarcode by newBarcode: the old one becomes revoked, the
// new one inherits the ticket, its ticket key and so its redemptions.
func (ix *Index) Reissue(ctx context.Context, oldBarcode, newBarcode, by string) (gate.Ticket, error) {
	c := ticketChangeOf(gate.ChangeReissue, oldBarcode, by)
	c.NewBarcode = newBarcode
	return ix.reissue(ctx, c)
}

func (ix *Index) reissue(ctx context.Context, c *gate.Change) (gate.Ticket, error) {
	oldBarcode, newBarcode := c.Barcode, c.NewBarcode
	if err := gate.CheckBarcode(newBarcode); err != nil {
		return gate.Ticket{}, gate.Errorf(gate.EINVALID, "new barcode: %s", detail(err))
	}
	if oldBarcode == newBarcode {
		return gate.Ticket{}, gate.Errorf(gate.EINVALID, "the new barcode is the old one")
	}
	done, err := ix.enterAdmin(ctx)
	if err != nil {
		return gate.Ticket{}, err
	}
	defer done()
	old, err := ix.knownTicket(oldBarcode)
	if err != nil {
		return gate.Ticket{}, err
	}
	if old.T.State == gate.StateRevoked {
		return gate.Ticket{}, revokedConflict(&old)
	}
	if _, exists, err := ix.getTicket(nil, newBarcode); err != nil {
		return gate.Ticket{}, err
	} else if exists {
		return gate.Ticket{}, gate.Errorf(gate.ECONFLICT, "barcode %q already exists", newBarcode)
	}
	ix.chg.mu.Lock()
	defer ix.chg.mu.Unlock()
	// Both barcodes share the ticket key, hence one stripe.
	mu := ix.stripe(old.Key)
	mu.Lock()
	defer mu.Unlock()
	rs, err := ix.getRedemptions(nil, old.Key)
	if err != nil {
		return gate.Ticket{}, err
	}
	nu := old
	nu.T.Barcode = newBarcode
	nu.T.Events = slices.Clone(old.T.Events)
	nu.T.Replaces = oldBarcode
	nu.T.ReplacedBy = ""
	revoked := old
	revoked.Admin = adminRevoked
	revoked.T.ReplacedBy = newBarcode
	revoked.fixState()
	ix.addToFilter(newBarcode) // before the record exists: never a false unknown
	gen := nextBloomGen(ix.bloomGen)
	err = ix.commitChangeLocked(c, func(b *pebble.Batch) {
		_ = b.Set(ticketKey(oldBarcode), encodeTicket(nil, &revoked), nil)
		_ = b.Set(ticketKey(newBarcode), encodeTicket(nil, &nu), nil)
		_ = b.Set(metaBloomGen, u64(gen), nil)
		_ = b.Set(metaTickets, u64(uint64(ix.tickets.Load()+1)), nil)
	})
	ix.recVersion.Add(1)
	if err != nil {
		return gate.Ticket{}, fmt.Errorf("index: reissue %q: %w", oldBarcode, err)
	}
	ix.bloomGen = gen
	ix.tickets.Add(1)
	ix.ctrs().changed(&old.T, rs, &nu.T, rs)
	ix.log.Info().Str("barcode", ix.logBarcode(oldBarcode)).Str("new_barcode", ix.logBarcode(newBarcode)).Str("by", c.By).Uint64("seq", c.Seq).
		Uint64("position", c.Position).Msg("ticket reissued")
	return nu.T, nil
}

// knownTicket returns barcode's ticket, or ENOTFOUND.
func (ix *Index) knownTicket(barcode string) (ticketRec, error) {
	rec, ok, err := ix.getTicket(nil, barcode)
	if err == nil && !ok {
		err = gate.Errorf(gate.ENOTFOUND, "no ticket with barcode %q", barcode)
	}
	return rec, err
}

// liveTicket returns the ticket that now stands for rec's ticket key: rec
// itself, or the end of its chain of reissues.
func (ix *Index) liveTicket(rec ticketRec) (ticketRec, error) {
	for hops := 0; rec.T.State == gate.StateRevoked && rec.T.ReplacedBy != "" && hops < 64; hops++ {
		next, ok, err := ix.getTicket(nil, rec.T.ReplacedBy)
		if err != nil {
			return rec, err
		}
		if !ok || next.Key != rec.Key {
			break
		}
		rec = next
	}
	return rec, nil
}

// Annul undoes the admission journaled as seq: the ticket may be used again,
// and the journal records the annulment (and marks the admission annulled).
func (ix *Index) Annul(ctx context.Context, seq uint64, by string) (gate.JournalEntry, error) {
	if err := ix.enter(); err != nil {
		return gate.JournalEntry{}, err
	}
	defer ix.exit()
	// A refusal may still be on its way to the disk: wait for it.
	for ix.wm.get() < seq && seq <= ix.seq.Load() {
		select {
		case <-ctx.Done():
			return gate.JournalEntry{}, fmt.Errorf("index: annul %d: %w", seq, ctx.Err())
		case <-time.After(time.Millisecond):
		}
		if ix.faulted.Load() {
			return gate.JournalEntry{}, errFaulted
		}
	}
	se, ok, err := ix.entry(seq)
	if err != nil {
		return gate.JournalEntry{}, err
	}
	if !ok || se.Kind != gate.KindDecision {
		return gate.JournalEntry{}, gate.Errorf(gate.ENOTFOUND, "no scan with seq %d", seq)
	}
	if !se.Decision.Admit {
		return gate.JournalEntry{}, gate.Errorf(gate.ECONFLICT, "scan %d was refused (%s); there is nothing to annul", seq, se.Decision.Reason)
	}
	if je, done, err := ix.annulPassage(se, by); done { // a move between zones that redeemed nothing
		return je, err
	}
	if se.Key == 0 || se.Decision.Event == "" {
		return gate.JournalEntry{}, gate.Errorf(gate.ECONFLICT, "scan %d changed nothing; there is nothing to annul", seq)
	}
	st := ix.stripe(se.Key)
	st.Lock()
	defer st.Unlock()
	if se, ok, err = ix.entry(seq); err != nil || !ok {
		return gate.JournalEntry{}, fmt.Errorf("index: annul %d: entry vanished: %w", seq, err)
	}
	if se.Annulled != 0 {
		return gate.JournalEntry{}, gate.Errorf(gate.ECONFLICT, "scan %d was already annulled (seq %d)", seq, se.Annulled)
	}
	rec, ok, err := ix.getTicket(nil, se.Decision.Barcode)
	if err != nil {
		return gate.JournalEntry{}, err
	}
	if !ok {
		return gate.JournalEntry{}, fmt.Errorf("index: annul %d: ticket %q vanished", seq, se.Decision.Barcode)
	}
	if rec, err = ix.liveTicket(rec); err != nil {
		return gate.JournalEntry{}, err
	}
	rs, err := ix.getRedemptions(nil, se.Key)
	if err != nil {
		return gate.JournalEntry{}, err
	}
	if v := ix.venue.Load(); v != nil {
		return ix.annulVenue(v, st, &rec, rs, se, by) // through the hub first
	}
	r := findRed(rs, se.Decision.Event)
	if r == nil {
		return gate.JournalEntry{}, gate.Errorf(gate.ECONFLICT, "scan %d: the ticket has no redemption for %s left to annul", seq, se.Decision.Event)
	}
	undone, err := gate.Annul(*r, se.Decision)
	if err != nil {
		return gate.JournalEntry{}, err
	}
	next := withRedemption(rs, undone)
	zu, err := ix.zoneUndoFor(seq, se.Key)
	if err != nil {
		return gate.JournalEntry{}, err
	}
	annSeq := ix.seq.Add(1)
	ann, err := ix.commitAnnul(st, se, annSeq, next, by, zu.put)
	if err != nil {
		return gate.JournalEntry{}, err
	}
	ix.undone(zu)
	ix.ctrs().annulled(&rec.T, rs, next, &se.Decision)
	ix.log.Info().Uint64("seq", seq).Uint64("annulment", annSeq).Str("by", by).Msg("admission annulled")
	return ann, nil
}

// commitAnnul commits the annulment annSeq of the admission se, holding its
// ticket's stripe st: the ticket's redemptions become next, the admission
// is marked annulled, and the annulment is journaled; put adds what else the
// batch carries. A failed commit faults the index.
func (ix *Index) commitAnnul(st *stripe, se storedEntry, annSeq uint64, next []gate.Redemption, by string, put func(*pebble.Batch)) (gate.JournalEntry, error) {
	ann := storedEntry{JournalEntry: gate.JournalEntry{Seq: annSeq, Kind: gate.KindAnnulment, Decision: se.Decision, By: by}, Key: se.Key}
	orig := se
	orig.Annulled = annSeq
	b := ix.db.NewBatch()
	_ = b.Set(redemptionKey(se.Key), encodeRedemptions(nil, next), nil)
	_ = b.Set(journalKey(se.Seq), encodeEntry(nil, &orig), nil)
	_ = b.Set(journalKey(annSeq), encodeEntry(nil, &ann), nil)
	_ = b.Set(historyKey(se.Key, annSeq), nil, nil)
	put(b)
	if err := ix.apply(b); err != nil {
		st.forget(se.Key)
		ix.addFixup(fixup{lostIfMissing: annSeq})
		ix.fault(err)
		return gate.JournalEntry{}, ix.writeError(fmt.Errorf("index: annul %d: %w", se.Seq, err))
	}
	st.remember(se.Key, next)
	ix.wm.finish(annSeq)
	return ann.JournalEntry, nil
}
