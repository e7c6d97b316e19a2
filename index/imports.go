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
// revoked); nothing is deleted and no redemption is lost. It scans the
// tickets once and commits in chunks, each under the chunk's ticket
// stripes, so a scan racing with the withdrawal either admits before the
// ticket is cancelled (and the ticket is then left alone) or is refused.
// The import record (withdrawn when, by whom, how many cancelled) is written
// last; a withdrawal cut short by a crash can be run again.
func (ix *Index) Withdraw(ctx context.Context, id uint64, by string) (gate.ImportRecord, error) {
	if err := ix.enter(); err != nil {
		return gate.ImportRecord{}, err
	}
	defer ix.exit()
	if err := ix.lockAdmin(ctx); err != nil {
		return gate.ImportRecord{}, err
	}
	defer ix.unlockAdmin()
	v, closer, err := ix.db.Get(importKey(id))
	if err == pebble.ErrNotFound {
		return gate.ImportRecord{}, gate.Errorf(gate.ENOTFOUND, "index: no import %d", id)
	}
	if err != nil {
		return gate.ImportRecord{}, ix.readFault("import", err)
	}
	rec, err := decodeImport(id, v)
	closer.Close()
	if err != nil {
		return gate.ImportRecord{}, fmt.Errorf("index: import %d: %w", id, err)
	}
	if !rec.WithdrawnAt.IsZero() {
		return gate.ImportRecord{}, gate.Errorf(gate.ECONFLICT, "index: import %d was already withdrawn at %s by %s",
			id, rec.WithdrawnAt.Format(time.RFC3339), rec.WithdrawnBy)
	}

	// Collect the candidates first (an iterator over a consistent view),
	// then re-check each under its stripe.
	var candidates []string
	if err := ix.iterPrefix([]byte{prefixTicket}, func(k, v []byte) error {
		t, err := decodeTicket(string(k[1:]), v)
		if err != nil {
			return fmt.Errorf("ticket %q: %w", k[1:], err)
		}
		if t.T.ImportID == id && t.T.State == gate.StateValid || t.T.ImportID == id && t.T.State == gate.StateBlocked {
			candidates = append(candidates, t.T.Barcode)
		}
		return nil
	}); err != nil {
		return gate.ImportRecord{}, fmt.Errorf("index: withdraw %d: %w", id, err)
	}
	cancelled := 0
	for start := 0; start < len(candidates); start += withdrawChunk {
		if err := ctx.Err(); err != nil {
			return gate.ImportRecord{}, fmt.Errorf("index: withdraw %d: %w", id, err)
		}
		n, err := ix.withdrawChunk(candidates[start:min(start+withdrawChunk, len(candidates))])
		cancelled += n
		if err != nil {
			return gate.ImportRecord{}, fmt.Errorf("index: withdraw %d: %w", id, err)
		}
	}
	rec.WithdrawnAt = time.Now().UTC()
	rec.WithdrawnBy = by
	rec.Cancelled = cancelled
	if err := ix.commit(func(b *pebble.Batch) { _ = b.Set(importKey(id), encodeImport(&rec), nil) }); err != nil {
		return gate.ImportRecord{}, fmt.Errorf("index: withdraw %d: %w", id, err)
	}
	ix.log.Info().Uint64("import", id).Int("cancelled", cancelled).Str("by", by).Msg("import withdrawn")
	return rec, nil
}

func (ix *Index) withdrawChunk(barcodes []string) (int, error) {
	type change struct {
		before, after ticketRec
		rs            []gate.Redemption
	}
	var changes []change
	recs := make([]ticketRec, 0, len(barcodes))
	stripes := map[int]bool{}
	for _, bc := range barcodes {
		r, ok, err := ix.getTicket(nil, bc)
		if err != nil {
			return 0, err
		}
		if ok {
			recs = append(recs, r)
			stripes[ix.stripeIndex(r.Key)] = true
		}
	}
	order := make([]int, 0, len(stripes))
	for s := range stripes {
		order = append(order, s)
	}
	sortInts(order)
	for _, s := range order {
		ix.stripes[s].Lock()
	}
	defer func() {
		for _, s := range order {
			ix.stripes[s].Unlock()
		}
	}()
	b := ix.db.NewBatch()
	defer b.Close()
	for _, r := range recs {
		if r.T.UsedUpstream || (r.T.State != gate.StateValid && r.T.State != gate.StateBlocked) {
			continue
		}
		rs, err := ix.getRedemptions(nil, r.Key)
		if err != nil {
			return 0, err
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
		_ = b.Set(ticketKey(r.T.Barcode), encodeTicket(nil, &after), nil)
		changes = append(changes, change{r, after, rs})
	}
	if len(changes) == 0 {
		return 0, nil
	}
	err := ix.apply(b)
	ix.recVersion.Add(1)
	if err != nil {
		ix.fault(err)
		return 0, err
	}
	for _, c := range changes {
		ix.ctrs().changed(&c.before.T, c.rs, &c.after.T, c.rs)
	}
	return len(changes), nil
}
