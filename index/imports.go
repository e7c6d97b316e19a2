package index

import (
	"context"
	"fmt"
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/cockroachdb/pebble/v2"
)

// Imports lists the applied imports, newest first.
func (ix *Index) Imports(ctx context.Context) ([]gate.ImportRecord, error) {
	if err := ix.enter(); err != nil {
		return nil, err
	}
	defer ix.exit()
	it, err := ix.db.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: prefixImport, UpperBound: prefixEnd(prefixImport)})
	if err != nil {
		return nil, ix.readFault("imports", err)
	}
	defer it.Close()
	out := []gate.ImportRecord{}
	for it.Last(); it.Valid(); it.Prev() {
		id, err := decodeU64(it.Key()[len(prefixImport):])
		if err != nil {
			return nil, fmt.Errorf("index: import key %x: %w", it.Key(), err)
		}
		r, err := decodeImport(id, it.Value())
		if err != nil {
			return nil, fmt.Errorf("index: import %d: %w", id, err)
		}
		out = append(out, r)
	}
	if err := it.Error(); err != nil {
		return nil, ix.readFault("imports", err)
	}
	return out, nil
}

// withdrawChunk is how many tickets a withdrawal changes per commit.
const withdrawChunk = 512

// Withdraw cancels the tickets import id added that were never used (no
// admission here, not used upstream, not already cancelled, invalidated or
// revoked); nothing is deleted and no redemption is lost.
//
// A withdrawal of a large import is too big for one commit, so it is made
// whole another way: the import record is marked WithdrawPending first,
// then the tickets are cancelled in chunks, each chunk committed with the
// record's running Cancelled count, and the record is marked withdrawn
// last. A withdrawal cut short (a crash, a write fault, ctx ending) is
// finished by Open, or by calling Withdraw again; so after a restart an
// import is never left half withdrawn.
//
// Each chunk is committed under its tickets' stripes, so a scan racing with
// the withdrawal either admits before the ticket is cancelled (and the
// ticket is then left alone) or is refused.
func (ix *Index) Withdraw(ctx context.Context, id uint64, by string) (gate.ImportRecord, error) {
	c := newChange(gate.ChangeWithdraw, by)
	c.ImportID = id
	return ix.withdraw(ctx, c)
}

// withdraw applies the withdrawal c. Its first commit (the record marked
// pending) carries c's record and venue position: from then on the
// withdrawal is finished by Open if it is cut short, never asked twice.
func (ix *Index) withdraw(ctx context.Context, c *gate.Change) (gate.ImportRecord, error) {
	id, by := c.ImportID, c.By
	done, err := ix.enterAdmin(ctx)
	if err != nil {
		return gate.ImportRecord{}, err
	}
	defer done()
	rec, err := ix.importRecord(id)
	if err != nil {
		return gate.ImportRecord{}, err
	}
	if !rec.WithdrawnAt.IsZero() {
		return gate.ImportRecord{}, gate.Errorf(gate.ECONFLICT, "import %d was already withdrawn at %s by %s",
			id, rec.WithdrawnAt.Format(time.RFC3339), rec.WithdrawnBy)
	}
	if rec.WithdrawPending {
		ix.log.Info().Uint64("import", id).Str("asked_by", rec.WithdrawnBy).Str("by", by).
			Int("cancelled_so_far", rec.Cancelled).Msg("resuming an unfinished withdrawal")
	} else {
		rec.WithdrawPending = true
		rec.WithdrawnBy = by
	}
	if err := ix.commitChange(c, func(b *pebble.Batch) { _ = b.Set(importKey(id), encodeImport(&rec), nil) }); err != nil {
		return gate.ImportRecord{}, fmt.Errorf("index: withdraw %d: %w", id, err)
	}
	return ix.finishWithdrawal(ctx, rec)
}

// importRecord reads the record of import id.
func (ix *Index) importRecord(id uint64) (gate.ImportRecord, error) {
	v, closer, err := ix.db.Get(importKey(id))
	if err == pebble.ErrNotFound {
		return gate.ImportRecord{}, gate.Errorf(gate.ENOTFOUND, "no import %d", id)
	}
	if err != nil {
		return gate.ImportRecord{}, ix.readFault("import", err)
	}
	defer closer.Close()
	rec, err := decodeImport(id, v)
	if err != nil {
		return gate.ImportRecord{}, fmt.Errorf("index: import %d: %w", id, err)
	}
	return rec, nil
}

// finishWithdrawal cancels what is left to cancel of the pending withdrawal
// rec and marks it withdrawn. The caller holds the admin lock.
func (ix *Index) finishWithdrawal(ctx context.Context, rec gate.ImportRecord) (gate.ImportRecord, error) {
	id := rec.ID
	// Collect the candidates first (an iterator over a consistent view),
	// then re-check each under its stripe.
	var candidates []string
	if err := ix.iterPrefix([]byte{prefixTicket}, func(k, v []byte) error {
		t, err := decodeTicket(string(k[1:]), v)
		if err != nil {
			return fmt.Errorf("ticket %q: %w", k[1:], err)
		}
		if t.T.ImportID == id && (t.T.State == gate.StateValid || t.T.State == gate.StateBlocked) {
			candidates = append(candidates, t.T.Barcode)
		}
		return nil
	}); err != nil {
		return gate.ImportRecord{}, fmt.Errorf("index: withdraw %d: %w", id, err)
	}
	for start := 0; start < len(candidates); start += withdrawChunk {
		if err := ctx.Err(); err != nil {
			return gate.ImportRecord{}, fmt.Errorf("index: withdraw %d (%d cancelled so far; it finishes when asked again or at the next start): %w",
				id, rec.Cancelled, err)
		}
		if err := ix.withdrawChunk(candidates[start:min(start+withdrawChunk, len(candidates))], &rec); err != nil {
			return gate.ImportRecord{}, fmt.Errorf("index: withdraw %d (%d cancelled so far; it finishes when asked again or at the next start): %w",
				id, rec.Cancelled, err)
		}
	}
	done := rec
	done.WithdrawPending = false
	done.WithdrawnAt = time.Now().UTC()
	if err := ix.commit(func(b *pebble.Batch) { _ = b.Set(importKey(id), encodeImport(&done), nil) }); err != nil {
		return gate.ImportRecord{}, fmt.Errorf("index: withdraw %d: %w", id, err)
	}
	ix.log.Info().Uint64("import", id).Int("cancelled", done.Cancelled).Str("by", done.WithdrawnBy).Msg("import withdrawn")
	return done, nil
}

// resumeWithdrawals finishes the withdrawals a crash or a write fault cut
// short (see Withdraw). Open runs it before the store answers anything.
func (ix *Index) resumeWithdrawals() error {
	if err := ix.enter(); err != nil {
		return err
	}
	defer ix.exit()
	all, err := ix.Imports(context.Background())
	if err != nil {
		return fmt.Errorf("index: find unfinished withdrawals: %w", err)
	}
	var pending []gate.ImportRecord
	for _, r := range all {
		if r.WithdrawPending {
			pending = append(pending, r)
		}
	}
	for _, r := range pending {
		ix.log.Warn().Uint64("import", r.ID).Str("asked_by", r.WithdrawnBy).Int("cancelled_so_far", r.Cancelled).
			Msg("finishing a withdrawal cut short before the last stop")
		if err := ix.lockAdmin(context.Background()); err != nil {
			return err
		}
		_, err := ix.finishWithdrawal(context.Background(), r)
		ix.unlockAdmin()
		if err != nil {
			return err
		}
	}
	return nil
}

// withdrawChunk cancels the tickets of barcodes that may still be cancelled,
// in one commit that also records rec's new Cancelled count; it adds them
// to rec.Cancelled once committed.
func (ix *Index) withdrawChunk(barcodes []string, rec *gate.ImportRecord) error {
	type change struct {
		before, after ticketRec
		rs            []gate.Redemption
	}
	var changes []change
	recs := make([]ticketRec, 0, len(barcodes))
	stripes := stripeSet{}
	for _, bc := range barcodes {
		r, ok, err := ix.getTicket(nil, bc)
		if err != nil {
			return err
		}
		if ok {
			recs = append(recs, r)
			stripes.add(ix, r.Key)
		}
	}
	order := stripes.sorted()
	ix.lockStripes(order)
	defer ix.unlockStripes(order)
	var sets []kv
	for _, r := range recs {
		if r.T.UsedUpstream || (r.T.State != gate.StateValid && r.T.State != gate.StateBlocked) {
			continue
		}
		rs, err := ix.getRedemptions(nil, r.Key)
		if err != nil {
			return err
		}
		used := false
		for _, x := range rs {
			if x.Admissions > 0 {
				used = true
			}
		}
		if used {
			continue
		}
		after := r
		after.T.Events = append([]string(nil), r.T.Events...)
		after.Admin = adminCancelled
		after.fixState()
		sets = append(sets, kv{ticketKey(r.T.Barcode), encodeTicket(nil, &after)})
		changes = append(changes, change{r, after, rs})
	}
	if len(changes) == 0 {
		return nil
	}
	progress := *rec
	progress.Cancelled += len(changes)
	b := ix.db.NewBatch()
	for _, x := range sets {
		_ = b.Set(x.k, x.v, nil)
	}
	_ = b.Set(importKey(rec.ID), encodeImport(&progress), nil)
	err := ix.apply(b)
	ix.recVersion.Add(1)
	if err != nil {
		ix.fault(err)
		return ix.writeError(err)
	}
	rec.Cancelled = progress.Cancelled
	for _, c := range changes {
		ix.ctrs().changed(&c.before.T, c.rs, &c.after.T, c.rs)
	}
	return nil
}
