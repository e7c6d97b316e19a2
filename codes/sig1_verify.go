package codes

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/admitgate/admit/gate"
)

// Sig1Config is what a pretix_sig1 provider is configured with (the lead's
// TOML and PUT /v1/providers/{id} map onto it).
type Sig1Config struct {
	// Keys are the public keys whose signatures are accepted, each the
	// base64 of a PEM "PUBLIC KEY" as pretix lists them in valid_keys (or
	// the PEM text). At least one.
	Keys []string `json:"keys" toml:"keys"`
	// Items map pretix items, and optionally their variations, to admit's
	// product, price type and events. An item nobody mapped is wrong_event.
	Items []Sig1Item `json:"items" toml:"items"`
	// Subevents map pretix subevents (dates of an event series) to events.
	// With none, the provider has no subevents and a code's subevent id is
	// ignored; with some, a code's subevent must be mapped.
	Subevents []Sig1Subevent `json:"subevents,omitempty" toml:"subevents"`
}

// Sig1Item maps a pretix item, or one variation of it, to what admit shows
// and admits. A variation's entry (Variation not 0) takes whatever it leaves
// empty from its item's entry (Variation 0); a variation without an entry of
// its own is its item's.
type Sig1Item struct {
	Item      int64     `json:"item" toml:"item"`
	Variation int64     `json:"variation,omitempty" toml:"variation"`
	Product   gate.Code `json:"product,omitzero" toml:"product"`
	PriceType gate.Code `json:"price_type,omitzero" toml:"price_type"`
	// Events the ticket admits to. Required without subevents; with them the
	// subevent names the events, and an item's events, if any, narrow them
	// (an item sold for some dates only).
	Events []string `json:"events,omitempty" toml:"events"`
}

// Sig1Subevent maps a pretix subevent to the events it admits to.
type Sig1Subevent struct {
	Subevent int64    `json:"subevent" toml:"subevent"`
	Events   []string `json:"events" toml:"events"`
}

type itemKey struct{ item, variation int64 }

// itemMapping is an item or variation entry with its item's fields filled in.
type itemMapping struct {
	product, priceType gate.Code
	events             []string // sorted, unique; may be empty with subevents
}

// Sig1 verifies one pretix_sig1 provider's codes. Its keys and mappings are
// fixed at construction (a changed configuration builds a new Sig1 over the
// same Lists); Check is safe for concurrent use and touches no disk.
type Sig1 struct {
	provider  string
	keys      []ed25519.PublicKey
	items     map[itemKey]itemMapping
	subevents map[int64][]string // nil: the provider has no subevents
	lists     *Lists
	// first is the key that verified last, tried first: a valid code costs
	// one verify however many keys are listed while pretix rotates them.
	first atomic.Uint32
}

// NewSig1 checks cfg and returns the provider's verifier. lists may be nil
// (empty lists of its own).
func NewSig1(provider string, cfg Sig1Config, lists *Lists) (*Sig1, error) {
	if err := gate.CheckID("provider", provider); err != nil {
		return nil, err
	}
	if lists == nil {
		lists = &Lists{}
	}
	v := &Sig1{provider: provider, lists: lists, items: map[itemKey]itemMapping{}}
	if len(cfg.Keys) == 0 {
		return nil, gate.Errorf(gate.EINVALID, "provider %s: a pretix_sig1 provider needs at least one public key", provider)
	}
	for i, s := range cfg.Keys {
		k, err := ParsePublicKey(s)
		if err != nil {
			return nil, gate.Errorf(gate.EINVALID, "provider %s: key %d: %v", provider, i+1, errors.Unwrap(err))
		}
		if slices.ContainsFunc(v.keys, func(o ed25519.PublicKey) bool { return o.Equal(k) }) {
			return nil, gate.Errorf(gate.EINVALID, "provider %s: key %d is listed twice", provider, i+1)
		}
		v.keys = append(v.keys, k)
	}
	if len(cfg.Subevents) > 0 {
		v.subevents = make(map[int64][]string, len(cfg.Subevents))
		for _, s := range cfg.Subevents {
			if s.Subevent <= 0 {
				return nil, gate.Errorf(gate.EINVALID, "provider %s: subevent ids are positive, not %d", provider, s.Subevent)
			}
			if _, dup := v.subevents[s.Subevent]; dup {
				return nil, gate.Errorf(gate.EINVALID, "provider %s: subevent %d is mapped twice", provider, s.Subevent)
			}
			events, err := checkEvents(s.Events)
			if err != nil {
				return nil, gate.Errorf(gate.EINVALID, "provider %s: subevent %d: %v", provider, s.Subevent, err)
			}
			if len(events) == 0 {
				return nil, gate.Errorf(gate.EINVALID, "provider %s: subevent %d admits to no event", provider, s.Subevent)
			}
			v.subevents[s.Subevent] = events
		}
	}
	if len(cfg.Items) == 0 {
		return nil, gate.Errorf(gate.EINVALID, "provider %s: a pretix_sig1 provider needs at least one item mapped", provider)
	}
	raw := map[itemKey]Sig1Item{}
	for _, it := range cfg.Items {
		k := itemKey{it.Item, it.Variation}
		what := "item " + strconv.FormatInt(it.Item, 10)
		if it.Variation != 0 {
			what += " variation " + strconv.FormatInt(it.Variation, 10)
		}
		if it.Item <= 0 || it.Variation < 0 {
			return nil, gate.Errorf(gate.EINVALID, "provider %s: %s: item and variation ids are positive", provider, what)
		}
		if _, dup := raw[k]; dup {
			return nil, gate.Errorf(gate.EINVALID, "provider %s: %s is mapped twice", provider, what)
		}
		raw[k] = it
	}
	for k, it := range raw {
		if k.variation != 0 {
			base := raw[itemKey{k.item, 0}]
			if it.Product.Code == "" {
				it.Product = base.Product
			}
			if it.PriceType.Code == "" {
				it.PriceType = base.PriceType
			}
			if len(it.Events) == 0 {
				it.Events = base.Events
			}
		}
		what := "item " + strconv.FormatInt(k.item, 10)
		if k.variation != 0 {
			what += " variation " + strconv.FormatInt(k.variation, 10)
		}
		events, err := checkEvents(it.Events)
		if err != nil {
			return nil, gate.Errorf(gate.EINVALID, "provider %s: %s: %v", provider, what, err)
		}
		if len(events) == 0 && v.subevents == nil {
			return nil, gate.Errorf(gate.EINVALID, "provider %s: %s admits to no event (a provider without subevents names them on its items)", provider, what)
		}
		if it.PriceType.Code == "" {
			return nil, gate.Errorf(gate.EINVALID, "provider %s: %s has no price type", provider, what)
		}
		v.items[k] = itemMapping{product: it.Product, priceType: it.PriceType, events: events}
	}
	return v, nil
}

// checkEvents returns ids sorted and unique, or an error for a bad id.
func checkEvents(ids []string) ([]string, error) {
	for _, id := range ids {
		if err := gate.CheckID("event", id); err != nil {
			return nil, err
		}
	}
	out := slices.Clone(ids)
	slices.Sort(out)
	return slices.Compact(out), nil
}

// Provider returns the provider's id.
func (v *Sig1) Provider() string { return v.provider }

// Lists returns the provider's revocation and block lists.
func (v *Sig1) Lists() *Lists { return v.lists }

// Sig1Verdict is what a signed code tells by itself.
type Sig1Verdict struct {
	// Reason is 0 for a good code, or the refusal: unknown (not a code, or
	// no key's signature), revoked, blocked, not_yet_valid, expired,
	// wrong_event.
	Reason gate.Reason
	// Detail says why, for people; it holds no key and no secret.
	Detail string
	// Parsed reports whether the text is a pretix_sig1 code at all. When
	// false, Reason is unknown and the code may go the way other barcodes go.
	Parsed bool
	// Signed reports whether one of the provider's keys signed it; only then
	// is Decoded worth anything.
	Signed  bool
	Decoded Sig1Ticket
	// Ticket is the ticket to create on the code's first sight, when Reason
	// is 0: Barcode is the code's text, Events sorted and unique, State
	// valid. The seed (Decoded.Seed) is its venue-wide id.
	Ticket gate.Ticket
}

// Check decides what the code text tells at time at for a scan in direction
// dir, in pretix's order: parse and signature (unknown), revocation list,
// block list, validity bounds (not for exits), item and subevent mapping
// (wrong_event). It reads no disk; a text that does not parse costs no
// signature check, one that parses costs one Ed25519 verify per key at most.
func (v *Sig1) Check(text string, at time.Time, dir gate.Direction) Sig1Verdict {
	var buf [maxSig1Bytes]byte
	raw, err := decodeSig1Text(text, buf[:])
	var c Sig1Code
	if err == nil {
		err = splitSig1(raw, &c)
	}
	if err != nil {
		return Sig1Verdict{Reason: gate.ReasonUnknown, Detail: parseDetail(err)}
	}
	out := Sig1Verdict{Parsed: true}
	if !v.verify(c.Payload, c.Signature) {
		out.Reason, out.Detail = gate.ReasonUnknown, "a pretix_sig1 code not signed by any key of provider "+v.provider
		return out
	}
	out.Signed, out.Decoded = true, c.Ticket
	t := &out.Decoded
	switch {
	case v.lists.Revoked.Contains(text):
		out.Reason, out.Detail = gate.ReasonRevoked, "pretix revoked this secret (the ticket was changed, reissued or cancelled)"
		return out
	case v.lists.Blocked.Contains(text):
		out.Reason, out.Detail = gate.ReasonBlocked, "the secret is on provider "+v.provider+"'s block list"
		return out
	}
	if dir != gate.Out {
		if from := t.ValidFrom(); !from.IsZero() && at.Before(from) {
			out.Reason, out.Detail = gate.ReasonNotYetValid, "the ticket is valid from "+from.Format(time.RFC3339)
			return out
		}
		if until := t.ValidUntil(); !until.IsZero() && at.After(until) {
			out.Reason, out.Detail = gate.ReasonExpired, "the ticket was valid until "+until.Format(time.RFC3339)
			return out
		}
	}
	m, ok := v.items[itemKey{t.Item, t.Variation}]
	if !ok {
		m, ok = v.items[itemKey{t.Item, 0}]
	}
	if !ok {
		out.Reason, out.Detail = gate.ReasonWrongEvent, "pretix item "+strconv.FormatInt(t.Item, 10)+" is not mapped on provider "+v.provider
		return out
	}
	events := m.events
	if v.subevents != nil {
		se, ok := v.subevents[t.Subevent]
		if !ok {
			out.Reason, out.Detail = gate.ReasonWrongEvent, "pretix subevent "+strconv.FormatInt(t.Subevent, 10)+" is not mapped on provider "+v.provider
			return out
		}
		if len(events) == 0 {
			events = se
		} else {
			events = intersect(events, se)
		}
		if len(events) == 0 {
			out.Reason, out.Detail = gate.ReasonWrongEvent, "pretix item "+strconv.FormatInt(t.Item, 10)+" is not mapped for subevent "+strconv.FormatInt(t.Subevent, 10)
			return out
		}
	}
	out.Ticket = gate.Ticket{
		Barcode:   text,
		Provider:  v.provider,
		Events:    slices.Clone(events),
		State:     gate.StateValid,
		PriceType: m.priceType,
		Product:   m.product,
	}
	return out
}

// verify reports whether one of the keys signed payload, trying the key
// that verified last first.
func (v *Sig1) verify(payload, sig []byte) bool {
	first := int(v.first.Load())
	if first < len(v.keys) && ed25519.Verify(v.keys[first], payload, sig) {
		return true
	}
	for i, k := range v.keys {
		if i != first && ed25519.Verify(k, payload, sig) {
			v.first.Store(uint32(i))
			return true
		}
	}
	return false
}

// intersect returns the ids in both sorted lists.
func intersect(a, b []string) []string {
	var out []string
	for _, x := range a {
		if _, ok := slices.BinarySearch(b, x); ok {
			out = append(out, x)
		}
	}
	return out
}

func parseDetail(err error) string {
	var pe *ParseError
	if errors.As(err, &pe) {
		return pe.Error()[len("codes: "):]
	}
	return fmt.Sprint(err)
}
