package index

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/admitgate/admit/gate"
	"github.com/cockroachdb/pebble/v2"
)

// Events and providers live in Pebble and in memory: an immutable
// *gate.EventSet (and a provider map) behind atomic pointers, replaced on
// every change, so the scan path never reads them from disk.

func (ix *Index) loadCatalog() error {
	var events []gate.Event
	if err := ix.iterPrefix([]byte{prefixEvent}, func(k, v []byte) error {
		e, err := decodeEvent(string(k[1:]), v)
		if err != nil {
			return fmt.Errorf("index: event %s: %w", k[1:], err)
		}
		events = append(events, e)
		return nil
	}); err != nil {
		return err
	}
	providers := map[string]gate.Provider{}
	specs := map[string]ProviderSpec{}
	if err := ix.iterPrefix([]byte{prefixProvider}, func(k, v []byte) error {
		sp, err := decodeProvider(k, v) // signed_records.go
		if err != nil {
			return fmt.Errorf("index: provider %s: %w", k[1:], err)
		}
		providers[sp.ID] = sp.Provider
		specs[sp.ID] = sp
		return nil
	}); err != nil {
		return err
	}
	ix.loadEventRules(events)
	ix.events.Store(gate.NewEventSet(events...))
	ix.providers.Store(&providers)
	return ix.loadSigned(specs)
}

// iterPrefix calls fn for every key with the prefix. k and v are valid only
// during the call.
func (ix *Index) iterPrefix(prefix []byte, fn func(k, v []byte) error) error {
	it, err := ix.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return err
	}
	for it.First(); it.Valid(); it.Next() {
		if err := fn(it.Key(), it.Value()); err != nil {
			_ = it.Close()
			return err
		}
	}
	return it.Close()
}

// PutProvider creates a provider (its barcodes imported) or renames one,
// keeping the kind of its codes (PutProviderSpec sets that), and records the
// change (who asked: gate.WithBy on ctx).
func (ix *Index) PutProvider(ctx context.Context, p gate.Provider) (bool, error) {
	return ix.putProvider(ctx, newChange(gate.ChangePutProvider, gate.ByFrom(ctx)), p)
}

func (ix *Index) putProvider(ctx context.Context, c *gate.Change, p gate.Provider) (bool, error) {
	if err := p.Validate(); err != nil {
		return false, err
	}
	if p.Name == "" {
		p.Name = p.ID
	}
	if err := ix.enter(); err != nil {
		return false, err
	}
	defer ix.exit()
	ix.catMu.Lock()
	defer ix.catMu.Unlock()
	old := *ix.providers.Load()
	_, exists := old[p.ID]
	rec := ix.providerRecord(p) // a rename keeps the provider's kind (signed_providers.go)
	c.Provider = &p
	if err := ix.commitChange(c, func(b *pebble.Batch) { _ = b.Set(providerKey(p.ID), rec, nil) }); err != nil {
		return false, fmt.Errorf("index: put provider %s: %w", p.ID, err)
	}
	ix.renamed(p)
	next := maps.Clone(old)
	next[p.ID] = p
	ix.providers.Store(&next)
	return !exists, nil
}

// ensureProvider creates a provider named by its id when it is unknown, in b.
// It returns a function that publishes it once b is committed.
func (ix *Index) ensureProvider(b *pebble.Batch, id string) func() {
	ix.catMu.Lock()
	defer ix.catMu.Unlock()
	if _, ok := (*ix.providers.Load())[id]; ok {
		return func() {}
	}
	_ = b.Set(providerKey(id), encodeProvider(&ProviderSpec{Provider: gate.Provider{ID: id, Name: id}, Kind: ProviderList}), nil)
	return func() {
		ix.catMu.Lock()
		defer ix.catMu.Unlock()
		next := maps.Clone(*ix.providers.Load())
		next[id] = gate.Provider{ID: id, Name: id}
		ix.providers.Store(&next)
	}
}

// Providers returns every provider sorted by id.
func (ix *Index) Providers(ctx context.Context) ([]gate.Provider, error) {
	if ix.closed.Load() {
		return nil, ErrClosed
	}
	m := *ix.providers.Load()
	out := slices.Collect(maps.Values(m))
	slices.SortFunc(out, func(a, b gate.Provider) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// PutEvent creates or changes an event; scans see it as soon as it
// returns. It records the change (who asked: gate.WithBy on ctx).
func (ix *Index) PutEvent(ctx context.Context, e gate.Event) (bool, error) {
	return ix.putEvent(ctx, newChange(gate.ChangePutEvent, gate.ByFrom(ctx)), e)
}

func (ix *Index) putEvent(ctx context.Context, c *gate.Change, e gate.Event) (bool, error) {
	if err := e.Validate(); err != nil {
		return false, err
	}
	er, err := ix.compileEvent(&e) // a rule that does not compile is refused here, saying where
	if err != nil {
		return false, err
	}
	if err := ix.enter(); err != nil {
		return false, err
	}
	defer ix.exit()
	ix.catMu.Lock()
	defer ix.catMu.Unlock()
	set := ix.events.Load()
	_, exists := set.Get(e.ID)
	c.Event = &e
	if err := ix.commitChange(c, func(b *pebble.Batch) { _ = b.Set(eventKey(e.ID), encodeEvent(e), nil) }); err != nil {
		return false, fmt.Errorf("index: put event %s: %w", e.ID, err)
	}
	ix.setEventRule(e.ID, er) // before the event: a scan that sees it sees its rule
	ix.events.Store(set.With(e))
	return !exists, nil
}

// Events returns every event sorted by id.
func (ix *Index) Events(ctx context.Context) ([]gate.Event, error) {
	if ix.closed.Load() {
		return nil, ErrClosed
	}
	return slices.Clone(ix.events.Load().All()), nil
}

// commit writes one batch with Sync. A failure is a write fault: the store
// starts recovering.
func (ix *Index) commit(fill func(b *pebble.Batch)) error {
	b := ix.db.NewBatch()
	fill(b)
	if err := ix.apply(b); err != nil {
		ix.fault(err)
		return ix.writeError(err)
	}
	return nil
}

// getTicket reads the record of barcode; ok is false when there is none.
// The key is built in sc (nil: allocated).
func (ix *Index) getTicket(sc *scratch, barcode string) (rec ticketRec, ok bool, err error) {
	var k []byte
	if sc != nil {
		sc.key = appendTicketKey(sc.key[:0], barcode)
		k = sc.key
	} else {
		k = ticketKey(barcode)
	}
	v, closer, err := ix.db.Get(k)
	if errors.Is(err, pebble.ErrNotFound) {
		return rec, false, nil
	}
	if err != nil {
		return rec, false, ix.readFault("ticket", err)
	}
	rec, err = decodeTicketOwned(barcode, bytes.Clone(v))
	closer.Close()
	if err != nil {
		return rec, false, fmt.Errorf("index: ticket %q: %w", barcode, err)
	}
	return rec, true, nil
}

// getRedemptions reads the redemptions of a ticket key. The key is built in
// sc (nil: allocated).
func (ix *Index) getRedemptions(sc *scratch, key uint64) ([]gate.Redemption, error) {
	if !ix.redeemed.mayHave(key) {
		return nil, nil // never redeemed: see redeemed.go
	}
	var k []byte
	if sc != nil {
		sc.key = append(sc.key[:0], putRedemptionKey(&sc.rk, key)...)
		k = sc.key
	} else {
		k = redemptionKey(key)
	}
	v, closer, err := ix.db.Get(k)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, ix.readFault("redemptions", err)
	}
	rs, err := decodeRedemptionsFrom(decoder{b: bytes.Clone(v), owned: true})
	closer.Close()
	if err != nil {
		return nil, fmt.Errorf("index: redemptions of %d: %w", key, err)
	}
	return rs, nil
}
