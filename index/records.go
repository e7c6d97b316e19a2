package index

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/admitgate/admit/gate"
)

// The records the store writes, each in the encoding of codec.go. Their
// versions are frozen by testdata/format (format_test.go): a change of
// encoding is a new version, and the old one stays readable.

// adminState is the state an admin set, kept apart from the state the last
// import said (upstream) so that a re-sent file does not undo an admin's
// block or cancel, and an upstream change still applies.
type adminState uint8

const (
	adminNone adminState = iota
	adminCancelled
	adminInvalidated
	adminBlocked
	adminRevoked
)

// ticketRec is a stored ticket: the gate.Ticket plus what the index keeps
// beside it. Key is the stable ticket key that redemptions, locks and history
// hang on; a reissued barcode shares its original's key.
type ticketRec struct {
	Key      uint64
	Upstream gate.State // valid, cancelled or invalidated, as the last import said
	Admin    adminState
	T        gate.Ticket // T.State is the effective state (see effectiveState)
	// CustomerKey is the ticket holder's TOTP key of a rotating provider's
	// ticket, from its import line (gate.ImportLine.CustomerKey). It is a
	// secret: it stays here, never in the gate.Ticket the API and the
	// journal show.
	CustomerKey []byte
}

// effectiveState combines the upstream state and the admin's action: revoked
// wins; an admin's cancel or invalidation next; then a refusing upstream
// state; then an admin's block.
func effectiveState(up gate.State, a adminState) gate.State {
	switch a {
	case adminRevoked:
		return gate.StateRevoked
	case adminCancelled:
		return gate.StateCancelled
	case adminInvalidated:
		return gate.StateInvalidated
	}
	if up != gate.StateValid && up != 0 {
		return up
	}
	if a == adminBlocked {
		return gate.StateBlocked
	}
	return gate.StateValid
}

func (r *ticketRec) fixState() { r.T.State = effectiveState(r.Upstream, r.Admin) }

func encodeTicket(dst []byte, r *ticketRec) []byte {
	e := encoder{b: dst}
	t := &r.T
	e.byte(ticketVersion)
	e.uvarint(r.Key)
	e.byte(byte(r.Upstream))
	e.byte(byte(r.Admin))
	e.bool(t.UsedUpstream)
	e.string(t.Provider)
	e.strings(t.Events)
	e.time(t.Period.From)
	e.time(t.Period.Until)
	e.string(t.PriceType.Code)
	e.string(t.PriceType.Name)
	e.string(t.Product.Code)
	e.string(t.Product.Name)
	e.string(t.Holder)
	e.string(t.Order)
	e.string(t.Contact)
	e.string(t.Price)
	e.time(t.ValidityAt)
	e.time(t.OrderedAt)
	e.string(t.ReplacedBy)
	e.string(t.Replaces)
	// Version 2: the customer key, before the import id, which stays last
	// (newTicketRecord).
	e.string(string(r.CustomerKey))
	e.uvarint(t.ImportID)
	return e.b
}

// newTicketRecord turns the encoding of an import line (a ticketRec with
// key 0 and import id 0, which encode as one zero byte each, the key right
// after the version and the import id last) into a new ticket's record,
// without decoding it.
func newTicketRecord(dst, payload []byte, key, importID uint64) []byte {
	dst = append(dst, payload[0])
	dst = binary.AppendUvarint(dst, key)
	dst = append(dst, payload[2:len(payload)-1]...)
	return binary.AppendUvarint(dst, importID)
}

func decodeTicket(barcode string, b []byte) (ticketRec, error) {
	return decodeTicketFrom(decoder{b: b}, barcode)
}

// decodeTicketOwned decodes a record whose bytes the caller hands over: they
// must never be modified afterwards.
func decodeTicketOwned(barcode string, b []byte) (ticketRec, error) {
	return decodeTicketFrom(decoder{b: b, owned: true}, barcode)
}

func decodeTicketFrom(d decoder, barcode string) (ticketRec, error) {
	var r ticketRec
	t := &r.T
	v := d.versionUpTo("ticket", ticketVersion)
	r.Key = d.uvarint()
	r.Upstream = gate.State(d.byte())
	r.Admin = adminState(d.byte())
	t.UsedUpstream = d.bool()
	t.Provider = d.string()
	t.Events = d.strings()
	t.Period.From = d.time()
	t.Period.Until = d.time()
	t.PriceType.Code = d.string()
	t.PriceType.Name = d.string()
	t.Product.Code = d.string()
	t.Product.Name = d.string()
	t.Holder = d.string()
	t.Order = d.string()
	t.Contact = d.string()
	t.Price = d.string()
	t.ValidityAt = d.time()
	t.OrderedAt = d.time()
	t.ReplacedBy = d.string()
	t.Replaces = d.string()
	if v >= 2 {
		if k := d.string(); k != "" {
			r.CustomerKey = []byte(k)
		}
	}
	t.ImportID = d.uvarint()
	if err := d.finish(); err != nil {
		return r, err
	}
	if !r.Upstream.Valid() || r.Admin > adminRevoked {
		return r, fmt.Errorf("index: ticket state %d/%d: %w", r.Upstream, r.Admin, errCorrupt)
	}
	t.Barcode = barcode
	r.fixState()
	return r, nil
}

func encodeMovement(e *encoder, m *gate.Movement) {
	e.time(m.At)
	e.string(m.Lane)
	e.uvarint(m.Seq)
	e.string(m.Appliance)
}

func decodeMovement(d *decoder) gate.Movement {
	return gate.Movement{At: d.time(), Lane: d.string(), Seq: d.uvarint(), Appliance: d.string()}
}

func encodeRedemptions(dst []byte, rs []gate.Redemption) []byte {
	e := encoder{b: dst}
	e.byte(redemptionVersion)
	e.uvarint(uint64(len(rs)))
	for i := range rs {
		r := &rs[i]
		e.string(r.Event)
		e.uvarint(uint64(r.Admissions))
		e.uvarint(uint64(r.Reentries))
		e.uvarint(uint64(r.Exits))
		e.bool(r.Inside)
		encodeMovement(&e, &r.First)
		encodeMovement(&e, &r.Last)
		// Version 2: the entry times and the hub revision.
		e.uvarint(uint64(len(r.Entries)))
		for _, t := range r.Entries {
			e.time(t)
		}
		e.uvarint(r.Revision)
	}
	return e.b
}

func decodeRedemptions(b []byte) ([]gate.Redemption, error) {
	return decodeRedemptionsFrom(decoder{b: b})
}

func decodeRedemptionsFrom(d decoder) ([]gate.Redemption, error) {
	v := d.versionUpTo("redemption", redemptionVersion)
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		return nil, errCorrupt
	}
	rs := make([]gate.Redemption, n)
	for i := range rs {
		r := &rs[i]
		r.Event = d.string()
		r.Admissions = d.int()
		r.Reentries = d.int()
		r.Exits = d.int()
		r.Inside = d.bool()
		r.First = decodeMovement(&d)
		r.Last = decodeMovement(&d)
		if v >= 2 {
			if k := d.uvarint(); k > uint64(len(d.b)) {
				d.fail()
			} else if k > 0 {
				r.Entries = make([]time.Time, k)
				for j := range r.Entries {
					r.Entries[j] = d.time()
				}
			}
			r.Revision = d.uvarint()
		}
	}
	return rs, d.finish()
}

// storedEntry is a journal entry with the ticket key it concerns (0 for none),
// which the history index and Annul need.
type storedEntry struct {
	gate.JournalEntry
	Key uint64
	// Events are the events a refusal without an event is counted against
	// in reports: the lane's list, or the events open at the scan's time.
	Events []string
}

func encodeEntry(dst []byte, se *storedEntry) []byte {
	e := encoder{b: dst}
	je := &se.JournalEntry
	d := &je.Decision
	e.byte(entryVersion)
	e.byte(byte(je.Kind))
	e.uvarint(se.Key)
	e.bool(d.Admit)
	e.byte(byte(d.Reason))
	e.uvarint(d.Seq)
	e.string(d.Barcode)
	e.string(d.Lane)
	e.byte(byte(d.Direction))
	e.time(d.At)
	e.string(d.Event)
	if d.Ticket != nil {
		e.bool(true)
		ti := d.Ticket
		e.string(ti.Provider)
		e.string(ti.PriceType)
		e.string(ti.PriceTypeName)
		e.string(ti.Product)
		e.string(ti.ProductName)
		e.byte(byte(ti.State))
	} else {
		e.bool(false)
	}
	if d.FirstUsed != nil {
		e.bool(true)
		encodeMovement(&e, d.FirstUsed)
	} else {
		e.bool(false)
	}
	e.string(d.Detail)
	e.bool(d.Replayed)
	e.string(je.Nonce)
	e.string(je.Source)
	e.uvarint(je.Annulled)
	e.string(je.By)
	e.strings(se.Events)
	// Version 2: offline, and a supervisor's override.
	e.bool(d.Offline)
	if o := d.Override; o != nil {
		e.bool(true)
		e.string(o.By)
		e.string(o.Why)
		e.byte(byte(o.Refused))
		e.uvarint(o.RefusedSeq)
	} else {
		e.bool(false)
	}
	return e.b
}

func decodeEntry(seq uint64, b []byte) (storedEntry, error) {
	dec := decoder{b: b}
	var se storedEntry
	je := &se.JournalEntry
	d := &je.Decision
	v := dec.versionUpTo("journal entry", entryVersion)
	je.Seq = seq
	je.Kind = gate.EntryKind(dec.byte())
	se.Key = dec.uvarint()
	d.Admit = dec.bool()
	d.Reason = gate.Reason(dec.byte())
	d.Seq = dec.uvarint()
	d.Barcode = dec.string()
	d.Lane = dec.string()
	d.Direction = gate.Direction(dec.byte())
	d.At = dec.time()
	d.Event = dec.string()
	if dec.bool() {
		d.Ticket = &gate.TicketInfo{
			Provider: dec.string(), PriceType: dec.string(), PriceTypeName: dec.string(),
			Product: dec.string(), ProductName: dec.string(), State: gate.State(dec.byte()),
		}
	}
	if dec.bool() {
		m := decodeMovement(&dec)
		d.FirstUsed = &m
	}
	d.Detail = dec.string()
	d.Replayed = dec.bool()
	je.Nonce = dec.string()
	je.Source = dec.string()
	je.Annulled = dec.uvarint()
	je.By = dec.string()
	se.Events = dec.strings()
	if v >= 2 {
		d.Offline = dec.bool()
		if dec.bool() {
			d.Override = &gate.Override{By: dec.string(), Why: dec.string(), Refused: gate.Reason(dec.byte()), RefusedSeq: dec.uvarint()}
		}
	}
	if err := dec.finish(); err != nil {
		return se, err
	}
	if je.Kind < gate.KindDecision || je.Kind > gate.KindLost {
		return se, fmt.Errorf("index: journal kind %d: %w", je.Kind, errCorrupt)
	}
	return se, nil
}

func encodeEvent(e gate.Event) []byte {
	enc := encoder{}
	enc.byte(eventVersion)
	enc.string(e.Name)
	enc.time(e.OpensAt)
	enc.time(e.ClosesAt)
	enc.bool(e.Reentry)
	enc.uvarint(uint64(e.Entries))
	// Version 2: what entry rules read, and the rule.
	enc.string(e.TimeZone)
	enc.time(e.StartsAt)
	enc.time(e.EndsAt)
	enc.string(string(e.Rule))
	return enc.b
}

func decodeEvent(id string, b []byte) (gate.Event, error) {
	d := decoder{b: b}
	v := d.versionUpTo("event", eventVersion)
	e := gate.Event{ID: id, Name: d.string(), OpensAt: d.time(), ClosesAt: d.time(), Reentry: d.bool(), Entries: d.int()}
	if v >= 2 {
		e.TimeZone = d.string()
		e.StartsAt = d.time()
		e.EndsAt = d.time()
		e.Rule = gate.RuleSource(d.string())
	}
	return e, d.finish()
}

func encodeImport(r *gate.ImportRecord) []byte {
	e := encoder{}
	e.byte(importVersion)
	e.string(r.Provider)
	e.string(r.Event)
	e.string(string(r.Format))
	e.string(r.Source)
	e.string(r.By)
	e.time(r.At)
	e.uvarint(uint64(r.Lines))
	e.uvarint(uint64(r.Added))
	e.uvarint(uint64(r.Updated))
	e.uvarint(uint64(r.Unchanged))
	e.uvarint(uint64(r.Rejected))
	e.string(r.Digest)
	e.time(r.WithdrawnAt)
	e.string(r.WithdrawnBy)
	e.uvarint(uint64(r.Cancelled))
	var flags byte
	if r.WithdrawPending {
		flags |= importWithdrawPending
	}
	e.byte(flags)
	return e.b
}

// importWithdrawPending flags an import record whose withdrawal has begun
// and not finished (from importVersion 2).
const importWithdrawPending = 1

func decodeImport(id uint64, b []byte) (gate.ImportRecord, error) {
	d := decoder{b: b}
	v := d.byte()
	if d.err == nil && (v < 1 || v > importVersion) {
		return gate.ImportRecord{}, fmt.Errorf("index: import record version %d, want 1 to %d: %w", v, importVersion, errCorrupt)
	}
	r := gate.ImportRecord{ID: id}
	r.Provider = d.string()
	r.Event = d.string()
	r.Format = gate.Format(d.string())
	r.Source = d.string()
	r.By = d.string()
	r.At = d.time()
	r.Lines = d.int()
	r.Added = d.int()
	r.Updated = d.int()
	r.Unchanged = d.int()
	r.Rejected = d.int()
	r.Digest = d.string()
	r.WithdrawnAt = d.time()
	r.WithdrawnBy = d.string()
	r.Cancelled = d.int()
	if v >= 2 {
		flags := d.byte()
		if flags&^importWithdrawPending != 0 && d.err == nil {
			return gate.ImportRecord{}, fmt.Errorf("index: import record flags %#x: %w", flags, errCorrupt)
		}
		r.WithdrawPending = flags&importWithdrawPending != 0
	}
	return r, d.finish()
}

func decodeU64(b []byte) (uint64, error) {
	if len(b) != 8 {
		return 0, errCorrupt
	}
	return binary.BigEndian.Uint64(b), nil
}
