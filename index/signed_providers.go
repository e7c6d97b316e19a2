package index

import (
	"context"
	"encoding/binary"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/admitgate/admit/codes"
	"github.com/admitgate/admit/gate"
)

// loadSigned takes the providers' specs read by loadCatalog, reads the
// lists and the next first-sight key, and builds the code set. It runs at
// Open and after a recovery.
func (ix *Index) loadSigned(specs map[string]ProviderSpec) error {
	st := &ix.signed
	st.mu.Lock()
	defer st.mu.Unlock()
	st.specs = specs
	if err := ix.loadLists(); err != nil {
		return err
	}
	last, err := ix.lastFirstSight()
	if err != nil {
		return err
	}
	if low := last &^ signedKeyBit; low > st.nextKey.Load() {
		st.nextKey.Store(low)
	}
	set, bad := st.buildSet(specs)
	for id, err := range bad {
		// Saved only after it built: a later admit refusing it. Its codes
		// go the way other barcodes go until it is put again.
		ix.log.Error().Err(err).Str("provider", id).Msg("a provider's codes cannot be checked; put the provider again")
	}
	st.set.Store(set)
	return nil
}

// lastFirstSight returns the highest first-sight ticket key stored, 0 for
// none.
func (ix *Index) lastFirstSight() (uint64, error) {
	it, err := ix.db.NewIter(&pebble.IterOptions{LowerBound: firstSightPrefix, UpperBound: prefixEnd(firstSightPrefix)})
	if err != nil {
		return 0, err
	}
	var key uint64
	if it.Last() {
		if k := it.Key(); len(k) == len(firstSightPrefix)+8 {
			key = binary.BigEndian.Uint64(k[len(firstSightPrefix):])
		} else {
			_ = it.Close()
			return 0, fmt.Errorf("index: first-sight key %x: %w", k, errCorrupt)
		}
	}
	return key, it.Close()
}

// providerRecord returns the record of p with the kind and checks the
// provider has (a rename keeps them). catMu is held.
func (ix *Index) providerRecord(p gate.Provider) []byte {
	ix.signed.mu.Lock()
	sp, ok := ix.signed.specs[p.ID]
	ix.signed.mu.Unlock()
	if !ok {
		sp = ProviderSpec{Kind: ProviderList}
	}
	sp.Provider = p
	return encodeProvider(&sp)
}

// renamed records p's new name in its spec once its record is committed.
// catMu is held.
func (ix *Index) renamed(p gate.Provider) {
	st := &ix.signed
	st.mu.Lock()
	defer st.mu.Unlock()
	sp, ok := st.specs[p.ID]
	if !ok {
		sp = ProviderSpec{Kind: ProviderList}
	}
	sp.Provider = p
	st.specs[p.ID] = sp
}

// PutProviderSpec creates or changes a provider with the kind of its codes
// and what checks them; scans check its codes as soon as it returns. The
// configuration is checked as the codes package checks it (keys, items,
// step and skew) and every event it names must exist. A rotating spec
// without an event key keeps the key the provider has. When a pretix_sig1
// provider's mapping changes, the tickets its codes made take their new
// product, price type and events in the same commit. Revocation and block
// lists are kept whatever changes.
func (ix *Index) PutProviderSpec(ctx context.Context, sp ProviderSpec) (bool, error) {
	if err := sp.Provider.Validate(); err != nil {
		return false, err
	}
	if sp.Name == "" {
		sp.Name = sp.ID
	}
	kind, err := ParseProviderKind(string(sp.Kind))
	if err != nil {
		return false, err
	}
	sp.Kind = kind
	if err := ix.enter(); err != nil {
		return false, err
	}
	defer ix.exit()
	// The admin lock (which an import holds for its whole length) is taken
	// only when tickets may have to be remapped: a provider put again as it
	// was, at every SIGHUP, never waits for an import.
	st := &ix.signed
	st.mu.Lock()
	old, existed := st.specs[sp.ID]
	st.mu.Unlock()
	admin := remaps(sp, old, existed)
	for {
		created, again, err := ix.putSpec(ctx, sp, admin)
		if !again {
			return created, err
		}
		admin = true // the provider changed meanwhile: remapping after all
	}
}

// remaps reports whether putting sp over old may change tickets its codes
// made: a pretix_sig1 provider whose mapping changed, or that had another
// kind (its codes may have made tickets when it last was pretix_sig1).
func remaps(sp, old ProviderSpec, existed bool) bool {
	return sp.Kind == ProviderSig1 && existed && (old.Kind != ProviderSig1 || !sig1MappingEqual(old.Sig1, sp.Sig1))
}

// putSpec is PutProviderSpec under the admin lock when admin is set; again
// reports that the spec needs remapping and admin was not set.
func (ix *Index) putSpec(ctx context.Context, sp ProviderSpec, admin bool) (created, again bool, err error) {
	if admin {
		if err := ix.lockAdmin(ctx); err != nil {
			return false, false, err
		}
		defer ix.unlockAdmin()
	}
	ix.catMu.Lock()
	defer ix.catMu.Unlock()
	st := &ix.signed
	st.mu.Lock()
	old, existed := st.specs[sp.ID]
	st.mu.Unlock()
	_, known := (*ix.providers.Load())[sp.ID]
	if remaps(sp, old, existed) && !admin {
		return false, true, nil
	}

	var sig1 *codes.Sig1
	switch sp.Kind {
	case ProviderSig1:
		sp.Sig1 = cloneSig1(sp.Sig1)
		sp.Rotating = RotatingSpec{}
		if err := ix.knownEvents(sp.ID, sp.Sig1); err != nil {
			return false, false, err
		}
		st.mu.Lock()
		lists := st.listsOf(sp.ID)
		st.mu.Unlock()
		if sig1, err = codes.NewSig1(sp.ID, sp.Sig1, lists); err != nil {
			return false, false, err
		}
	case ProviderRotating:
		sp.Sig1 = codes.Sig1Config{}
		if sp.Rotating.EventKey == nil {
			if !existed || old.Kind != ProviderRotating {
				return false, false, gate.Errorf(gate.EINVALID, "provider %s: a rotating provider needs its event key", sp.ID)
			}
			sp.Rotating.EventKey = old.Rotating.EventKey
		}
		sp.Rotating.EventKey = slices.Clone(sp.Rotating.EventKey)
		if _, err := codes.NewRotating(codes.RotatingConfig{EventKey: sp.Rotating.EventKey, Step: sp.Rotating.Step, Skew: sp.Rotating.Skew}); err != nil {
			return false, false, gate.Errorf(gate.EINVALID, "provider %s: %s", sp.ID, gate.ErrorMessage(err))
		}
	default:
		sp.Sig1, sp.Rotating = codes.Sig1Config{}, RotatingSpec{}
	}

	var updates []ticketUpdate
	if sig1 != nil && remaps(sp, old, existed) {
		if updates, err = ix.remapped(ctx, sig1); err != nil {
			return false, false, err
		}
	}
	stripes := stripeSet{}
	for _, u := range updates {
		stripes.add(ix, u.before.Key)
	}
	order := stripes.sorted()
	ix.lockStripes(order)
	defer ix.unlockStripes(order)
	for i := range updates {
		u := &updates[i]
		if u.rs, err = ix.getRedemptions(nil, u.before.Key); err != nil {
			return false, false, err
		}
	}
	err = ix.commit(func(b *pebble.Batch) {
		_ = b.Set(providerKey(sp.ID), encodeProvider(&sp), nil)
		for _, u := range updates {
			_ = b.Set(ticketKey(u.after.T.Barcode), encodeTicket(nil, &u.after), nil)
		}
	})
	if len(updates) > 0 {
		ix.recVersion.Add(1)
	}
	if err != nil {
		return false, false, fmt.Errorf("index: put provider %s: %w", sp.ID, err)
	}
	for _, u := range updates {
		ix.ctrs().changed(&u.before.T, u.rs, &u.after.T, u.rs)
	}
	next := maps.Clone(*ix.providers.Load())
	next[sp.ID] = sp.Provider
	ix.providers.Store(&next)
	st.mu.Lock()
	specs := maps.Clone(st.specs)
	specs[sp.ID] = sp
	st.specs = specs
	set, bad := st.buildSet(specs)
	st.set.Store(set)
	st.mu.Unlock()
	for id, err := range bad {
		ix.log.Error().Err(err).Str("provider", id).Msg("a provider's codes cannot be checked; put the provider again")
	}
	ix.log.Info().Str("provider", sp.ID).Str("kind", string(sp.Kind)).Int("tickets_remapped", len(updates)).Msg("provider saved")
	return !known, false, nil
}

// knownEvents checks that every event a mapping names exists.
func (ix *Index) knownEvents(provider string, cfg codes.Sig1Config) error {
	events := ix.events.Load()
	check := func(what string, ids []string) error {
		for _, id := range ids {
			if _, ok := events.Get(id); !ok {
				return gate.Errorf(gate.EINVALID, "provider %s: %s admits to event %q, which this appliance does not have; put the event first", provider, what, id)
			}
		}
		return nil
	}
	for _, it := range cfg.Items {
		what := fmt.Sprintf("item %d", it.Item)
		if it.Variation != 0 {
			what += fmt.Sprintf(" variation %d", it.Variation)
		}
		if err := check(what, it.Events); err != nil {
			return err
		}
	}
	for _, s := range cfg.Subevents {
		if err := check(fmt.Sprintf("subevent %d", s.Subevent), s.Events); err != nil {
			return err
		}
	}
	return nil
}

// ticketUpdate is a ticket record a provider's new mapping changes.
type ticketUpdate struct {
	before, after ticketRec
	rs            []gate.Redemption
}

// remapped returns the tickets the codes of v's provider made whose
// product, price type or events v maps otherwise. A code v now refuses
// (revoked, blocked, unmapped) keeps its ticket as it is: its scans are
// refused before the ticket is read.
func (ix *Index) remapped(ctx context.Context, v *codes.Sig1) ([]ticketUpdate, error) {
	var out []ticketUpdate
	n := 0
	err := ix.iterPrefix(firstSightPrefix, func(_, val []byte) error {
		if n++; n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("index: remap the tickets of %s: %w", v.Provider(), err)
			}
		}
		f, err := decodeFirstSight(val)
		if err != nil {
			return fmt.Errorf("index: first-sight record: %w", err)
		}
		if f.Provider != v.Provider() {
			return nil
		}
		rec, ok, err := ix.getTicket(nil, f.Barcode)
		if err != nil || !ok || rec.T.Provider != v.Provider() {
			return err
		}
		verdict := v.Check(f.Barcode, time.Time{}, gate.Out) // an exit: no validity bounds
		if verdict.Reason != 0 {
			return nil
		}
		t := &verdict.Ticket
		if rec.T.Product == t.Product && rec.T.PriceType == t.PriceType && slices.Equal(rec.T.Events, t.Events) {
			return nil
		}
		after := rec
		after.T.Events, after.T.Product, after.T.PriceType = t.Events, t.Product, t.PriceType
		out = append(out, ticketUpdate{before: rec, after: after})
		return nil
	})
	return out, err
}

// ProviderStatuses returns every provider with its kind, its checks (no
// secret) and its figures, sorted by id.
func (ix *Index) ProviderStatuses(ctx context.Context) ([]ProviderStatus, error) {
	if ix.closed.Load() {
		return nil, ErrClosed
	}
	providers := *ix.providers.Load()
	st := &ix.signed
	st.mu.Lock()
	defer st.mu.Unlock()
	out := make([]ProviderStatus, 0, len(providers))
	for _, id := range sortedIDs(providers) {
		sp, ok := st.specs[id]
		if !ok {
			sp = ProviderSpec{Kind: ProviderList}
		}
		sp.Provider = providers[id]
		out = append(out, st.status(sp))
	}
	return out, nil
}

// ProviderStatus returns one provider as ProviderStatuses shows it;
// ENOTFOUND when unknown.
func (ix *Index) ProviderStatus(ctx context.Context, id string) (ProviderStatus, error) {
	all, err := ix.ProviderStatuses(ctx)
	if err != nil {
		return ProviderStatus{}, err
	}
	for _, p := range all {
		if p.ID == id {
			return p, nil
		}
	}
	return ProviderStatus{}, gate.Errorf(gate.ENOTFOUND, "no provider %q", id)
}

// RotatingSkews returns the clock skew of every rotating provider, by id.
// It takes no lock of the index: /metrics may call it at any time.
func (ix *Index) RotatingSkews() []RotatingSkew {
	set := ix.signed.set.Load()
	if set == nil {
		return nil
	}
	out := make([]RotatingSkew, 0, len(set.rotating))
	for _, p := range set.rotating {
		skew, n := p.window.Median()
		out = append(out, RotatingSkew{Provider: p.id, ClockSkew: skew, Codes: n})
	}
	return out
}
