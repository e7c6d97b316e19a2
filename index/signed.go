package index

import (
	"errors"
	"fmt"
	"hash/maphash"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/admitgate/admit/codes"
	"github.com/admitgate/admit/gate"
)

// Providers whose codes prove themselves (package codes, docs/codes.md).
//
// A pretix_sig1 provider's codes carry their ticket and pretix's Ed25519
// signature; a rotating provider's carry two one-time codes drawn for the
// time they name. Scan checks such a code with its provider before the
// bloom filter (signed_scan.go): a code that is not one, a forged one, a
// revoked, blocked, out-of-date or unmapped one, a screenshot of a rotating
// one, is answered without a disk read. A good signed code becomes a ticket
// on its first sight, in the same batch as its first admission; a good
// rotating code names an imported ticket by its token. From there both are
// redeemed like any imported ticket.
//
// The providers' kinds and keys are in their records (p<id>, version 2,
// signed_records.go); the revocation and block lists and the first-sight
// records under 's'. In memory the scan path reads one immutable codeSet
// behind an atomic pointer, replaced whenever a provider changes.

// ProviderKind says how a provider's barcodes are known.
type ProviderKind string

// The kinds of provider.
const (
	// ProviderList: barcodes are imported (the default).
	ProviderList ProviderKind = "list"
	// ProviderSig1: pretix_sig1 codes, checked with the provider's public
	// keys; a ticket is created on a code's first sight.
	ProviderSig1 ProviderKind = "pretix_sig1"
	// ProviderRotating: rotating codes (token::otp1::otp2::unixSeconds)
	// checked with the provider's event key and the customer key imported
	// with the ticket the token names.
	ProviderRotating ProviderKind = "rotating"
)

// ParseProviderKind reads a kind; "" is ProviderList.
func ParseProviderKind(s string) (ProviderKind, error) {
	switch k := ProviderKind(s); k {
	case "":
		return ProviderList, nil
	case ProviderList, ProviderSig1, ProviderRotating:
		return k, nil
	}
	return "", gate.Errorf(gate.EINVALID, "provider kind %q: use list, pretix_sig1 or rotating", s)
}

// ProviderSpec is a provider with the kind of its codes and what checks
// them.
type ProviderSpec struct {
	gate.Provider
	Kind ProviderKind
	// Sig1 is a pretix_sig1 provider's keys and mappings.
	Sig1 codes.Sig1Config
	// Rotating is a rotating provider's event key and clock settings.
	Rotating RotatingSpec
}

// RotatingSpec is what a rotating provider checks codes with.
type RotatingSpec struct {
	// EventKey is the event's TOTP key: a secret, never returned. Nil in a
	// PutProviderSpec keeps the key the provider has.
	EventKey []byte
	// Step is the TOTP step (0: codes.DefaultStep); Skew how far a code's
	// time may lie from the appliance's clock (0: one step).
	Step, Skew time.Duration
}

// ProviderStatus is a provider as ProviderStatuses shows it: its spec
// without the event key, and what it holds and has seen.
type ProviderStatus struct {
	gate.Provider
	Kind ProviderKind
	// Sig1 is set for a pretix_sig1 provider (its keys are public).
	Sig1 *codes.Sig1Config
	// Revoked and Blocked count a pretix_sig1 provider's lists.
	Revoked, Blocked int
	// Rotating is set for a rotating provider.
	Rotating *RotatingStatus
}

// RotatingStatus is a rotating provider's settings (no key) and the clock
// skew its codes show.
type RotatingStatus struct {
	Step, Skew time.Duration
	// ClockSkew is the median of how far the appliance's clock was ahead of
	// the times of the latest codes the event key drew (negative: behind);
	// Codes counts those codes since Open. See codes.SkewWindow.
	ClockSkew time.Duration
	Codes     int
}

// RotatingSkew is one rotating provider's clock skew, for /metrics.
type RotatingSkew struct {
	Provider  string
	ClockSkew time.Duration
	Codes     int
}

// signedKeyBit marks the ticket keys of tickets made on a signed code's
// first sight, so they never meet the keys imports assign (1 upward,
// under the admin lock, which a scan cannot take).
const signedKeyBit = 1 << 63

// firstSightLocks is how many locks serialize first sights, chosen by a
// hash of the code: two lanes seeing one new code at once create it once.
const firstSightLocks = 256

// signedState is what the index keeps in memory for code providers.
type signedState struct {
	set atomic.Pointer[codeSet] // nil: no code provider

	mu      sync.Mutex // under catMu: specs, lists, windows
	specs   map[string]ProviderSpec
	lists   map[string]*codes.Lists      // kept across a provider's changes
	windows map[string]*codes.SkewWindow // kept across a provider's changes
	listMu  sync.Mutex                   // serializes list writes

	// nextKey is the low bits of the next first-sight ticket key; never
	// lowered (a failed first sight's key is not handed out again).
	nextKey atomic.Uint64

	seed  maphash.Seed
	locks [firstSightLocks]paddedMutex
}

type paddedMutex struct {
	sync.Mutex
	_ [56]byte
}

// codeSet is the code providers as the scan path reads them; immutable.
type codeSet struct {
	sig1     []*codes.Sig1       // by provider id
	rotating []*rotatingProvider // by provider id
	// rotatingIDs are the rotating providers: their tickets' barcodes (the
	// tokens) are no codes by themselves.
	rotatingIDs map[string]bool
}

type rotatingProvider struct {
	id     string
	v      *codes.Rotating
	window *codes.SkewWindow
}

// initSigned readies the state before the first load.
func (st *signedState) init() {
	st.seed = maphash.MakeSeed()
	st.specs = map[string]ProviderSpec{}
	st.lists = map[string]*codes.Lists{}
	st.windows = map[string]*codes.SkewWindow{}
}

// lockFor returns the first-sight lock of a code.
func (st *signedState) lockFor(code string) *sync.Mutex {
	return &st.locks[maphash.String(st.seed, code)%firstSightLocks].Mutex
}

// newKey hands out a first-sight ticket key.
func (st *signedState) newKey() uint64 {
	return signedKeyBit | st.nextKey.Add(1)
}

// listsOf returns the lists of provider id, made when missing. st.mu is held.
func (st *signedState) listsOf(id string) *codes.Lists {
	l := st.lists[id]
	if l == nil {
		l = &codes.Lists{}
		st.lists[id] = l
	}
	return l
}

// windowOf returns the skew window of provider id, made when missing.
// st.mu is held.
func (st *signedState) windowOf(id string) *codes.SkewWindow {
	w := st.windows[id]
	if w == nil {
		w = &codes.SkewWindow{}
		st.windows[id] = w
	}
	return w
}

// buildSet makes the code set of specs (a provider whose spec no longer
// builds is left out and logged by the caller). st.mu is held.
func (st *signedState) buildSet(specs map[string]ProviderSpec) (*codeSet, map[string]error) {
	set := &codeSet{rotatingIDs: map[string]bool{}}
	bad := map[string]error{}
	ids := make([]string, 0, len(specs))
	for id := range specs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		sp := specs[id]
		switch sp.Kind {
		case ProviderSig1:
			v, err := codes.NewSig1(id, sp.Sig1, st.listsOf(id))
			if err != nil {
				bad[id] = err
				continue
			}
			set.sig1 = append(set.sig1, v)
		case ProviderRotating:
			v, err := codes.NewRotating(codes.RotatingConfig{EventKey: sp.Rotating.EventKey, Step: sp.Rotating.Step, Skew: sp.Rotating.Skew})
			if err != nil {
				bad[id] = err
				continue
			}
			set.rotating = append(set.rotating, &rotatingProvider{id: id, v: v, window: st.windowOf(id)})
			set.rotatingIDs[id] = true
		}
	}
	if len(set.sig1) == 0 && len(set.rotating) == 0 {
		return nil, bad
	}
	return set, bad
}

// status is the status of spec. st.mu is held.
func (st *signedState) status(sp ProviderSpec) ProviderStatus {
	out := ProviderStatus{Provider: sp.Provider, Kind: sp.Kind}
	switch sp.Kind {
	case ProviderSig1:
		cfg := cloneSig1(sp.Sig1)
		out.Sig1 = &cfg
		if l := st.lists[sp.ID]; l != nil {
			out.Revoked, out.Blocked = l.Revoked.Len(), l.Blocked.Len()
		}
	case ProviderRotating:
		step, skew := sp.Rotating.Step, sp.Rotating.Skew
		if step == 0 {
			step = codes.DefaultStep
		}
		if skew == 0 {
			skew = step
		}
		rs := &RotatingStatus{Step: step, Skew: skew}
		if w := st.windows[sp.ID]; w != nil {
			rs.ClockSkew, rs.Codes = w.Median()
		}
		out.Rotating = rs
	}
	return out
}

// cloneSig1 returns a deep copy of cfg.
func cloneSig1(cfg codes.Sig1Config) codes.Sig1Config {
	out := codes.Sig1Config{Keys: slices.Clone(cfg.Keys)}
	for _, it := range cfg.Items {
		it.Events = slices.Clone(it.Events)
		out.Items = append(out.Items, it)
	}
	for _, s := range cfg.Subevents {
		s.Events = slices.Clone(s.Events)
		out.Subevents = append(out.Subevents, s)
	}
	return out
}

// sig1Equal reports whether two configurations map codes alike (keys
// aside).
func sig1MappingEqual(a, b codes.Sig1Config) bool {
	return slices.EqualFunc(a.Items, b.Items, func(x, y codes.Sig1Item) bool {
		return x.Item == y.Item && x.Variation == y.Variation && x.Product == y.Product && x.PriceType == y.PriceType &&
			slices.Equal(x.Events, y.Events)
	}) && slices.EqualFunc(a.Subevents, b.Subevents, func(x, y codes.Sig1Subevent) bool {
		return x.Subevent == y.Subevent && slices.Equal(x.Events, y.Events)
	})
}

// isRotatingToken reports whether t is a rotating provider's ticket, whose
// barcode (the token) is no code by itself.
func (set *codeSet) isRotatingToken(t *gate.Ticket) bool {
	return set != nil && len(set.rotatingIDs) > 0 && set.rotatingIDs[t.Provider]
}

// sortedIDs returns the keys of m, sorted.
func sortedIDs[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.SortFunc(out, strings.Compare)
	return out
}

// signedSeed returns the seed of the signed code a ticket was made from on
// its first sight: the ticket's venue-wide id (the venue's redemptions are
// keyed by it, not by the appliance's ticket key). ok is false for a ticket
// no signed code made. A barcode reissued for such a ticket gives its
// first code's seed, read from the first-sight record.
func (ix *Index) signedSeed(rec *ticketRec) (seed string, ok bool, err error) {
	if rec.Key&signedKeyBit == 0 {
		return "", false, nil
	}
	code := rec.T.Barcode
	if c, perr := codes.ParseSig1(code); perr == nil {
		return c.Ticket.Seed, true, nil
	}
	v, closer, err := ix.db.Get(firstSightKey(rec.Key))
	if errors.Is(err, pebble.ErrNotFound) {
		return "", false, fmt.Errorf("index: ticket key %x has no first-sight record: %w", rec.Key, errCorrupt)
	}
	if err != nil {
		return "", false, ix.readFault("first sight", err)
	}
	f, err := decodeFirstSight(v)
	closer.Close()
	if err != nil {
		return "", false, fmt.Errorf("index: first-sight record of %x: %w", rec.Key, err)
	}
	c, err := codes.ParseSig1(f.Barcode)
	if err != nil {
		return "", false, fmt.Errorf("index: first-sight record of %x: %w", rec.Key, err)
	}
	return c.Ticket.Seed, true, nil
}
