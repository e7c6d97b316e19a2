package gate

import (
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// MaxBarcodeLen is the longest barcode admit accepts, in bytes.
const MaxBarcodeLen = 256

// GS is the ASCII group separator that GS1 barcodes (FNC1 in Code 128, Data
// Matrix, QR) carry between element strings. It is the one control character
// a barcode may hold.
const GS = 0x1D

// BarcodeError says why a barcode is malformed. Problem is a stable code
// shared with import rejections ("empty", "too_long", "invalid_utf8",
// "control_character").
type BarcodeError struct {
	Problem string
	Offset  int // byte offset of the offending byte, for invalid_utf8 and control_character
}

func (e *BarcodeError) Error() string {
	switch e.Problem {
	case "empty":
		return "barcode is empty"
	case "too_long":
		return "barcode is longer than 256 bytes"
	case "invalid_utf8":
		return "barcode is not valid UTF-8 at byte " + strconv.Itoa(e.Offset)
	case "control_character":
		return "barcode holds a control character at byte " + strconv.Itoa(e.Offset)
	}
	return "malformed barcode"
}

// CheckBarcode reports whether b is a barcode admit can hold: 1 to 256 bytes
// of valid UTF-8 without control characters (C0, DEL, C1), except the GS1
// group separator. Barcodes are case-sensitive and never trimmed or changed.
// It returns nil or a *BarcodeError. It does not allocate for valid input.
func CheckBarcode(b string) error {
	if len(b) == 0 {
		return &BarcodeError{Problem: "empty"}
	}
	if len(b) > MaxBarcodeLen {
		return &BarcodeError{Problem: "too_long"}
	}
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			if (c < 0x20 && c != GS) || c == 0x7F {
				return &BarcodeError{Problem: "control_character", Offset: i}
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(b[i:])
		if r == utf8.RuneError && size <= 1 {
			return &BarcodeError{Problem: "invalid_utf8", Offset: i}
		}
		if r >= 0x80 && r <= 0x9F {
			return &BarcodeError{Problem: "control_character", Offset: i}
		}
		i += size
	}
	return nil
}

// MaxIDLen is the longest provider or event id.
const MaxIDLen = 128

// CheckID reports whether id can name a provider or an event: 1 to 128 of
// the characters A-Z a-z 0-9 . _ : @ + -, so ids are safe in URLs, file names
// and logs. kind names the thing in the error ("event").
func CheckID(kind, id string) error {
	if id == "" {
		return Errorf(EINVALID, "%s id is empty", kind)
	}
	if len(id) > MaxIDLen {
		return Errorf(EINVALID, "%s id is longer than %d characters", kind, MaxIDLen)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '.', c == '_', c == ':', c == '@', c == '+', c == '-':
		default:
			return Errorf(EINVALID, "%s id %q may hold only letters, digits and . _ : @ + -", kind, id)
		}
	}
	return nil
}

// Provider is where a barcode set comes from ("secutix-main"). A barcode
// belongs to one provider: the same barcode from another is refused.
type Provider struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Validate checks the id and the name.
func (p Provider) Validate() error {
	if err := CheckID("provider", p.ID); err != nil {
		return err
	}
	if len(p.Name) > 256 || !utf8.ValidString(p.Name) {
		return Errorf(EINVALID, "provider name must be valid UTF-8 of at most 256 bytes")
	}
	return nil
}

// Event is something a ticket admits to, with its admission window.
type Event struct {
	ID       string    `json:"id"`
	Name     string    `json:"name"`
	OpensAt  time.Time `json:"opens_at"`  // admissions from; zero: no lower bound
	ClosesAt time.Time `json:"closes_at"` // admissions until (exclusive); zero: no upper bound
	Reentry  bool      `json:"reentry"`   // back in after an exit, without spending an entry
	Entries  int       `json:"entries"`   // admissions per ticket; 0 means 1

	// TimeZone is the event's IANA time zone ("Europe/Zurich"), in which
	// entry rules count days and read times of day; "" is the venue's.
	TimeZone string `json:"time_zone,omitempty"`
	// StartsAt and EndsAt are when the event itself starts and ends, as
	// entry rules read them (date_from, date_to); zero: OpensAt, ClosesAt.
	StartsAt time.Time `json:"starts_at,omitzero"`
	EndsAt   time.Time `json:"ends_at,omitzero"`
	// Rule is the event's entry rule (JsonLogic, docs/rules.md), "" for
	// none: a scan it does not admit is refused with reason rule.
	Rule RuleSource `json:"rule,omitempty"`
}

// Validate checks the id, name, window and entries.
func (e Event) Validate() error {
	if err := CheckID("event", e.ID); err != nil {
		return err
	}
	if len(e.Name) > 256 || !utf8.ValidString(e.Name) {
		return Errorf(EINVALID, "event name must be valid UTF-8 of at most 256 bytes")
	}
	if !e.OpensAt.IsZero() && !e.ClosesAt.IsZero() && !e.ClosesAt.After(e.OpensAt) {
		return Errorf(EINVALID, "event %s closes_at must be after opens_at", e.ID)
	}
	if e.Entries < 0 || e.Entries > 10000 {
		return Errorf(EINVALID, "event %s entries must be between 1 and 10000", e.ID)
	}
	if e.TimeZone != "" {
		if _, err := LoadLocation(e.TimeZone); err != nil {
			return Errorf(EINVALID, "event %s time_zone: %s", e.ID, ErrorMessage(err))
		}
	}
	if !e.StartsAt.IsZero() && !e.EndsAt.IsZero() && !e.EndsAt.After(e.StartsAt) {
		return Errorf(EINVALID, "event %s ends_at must be after starts_at", e.ID)
	}
	if len(e.Rule) > MaxRuleSize {
		return Errorf(EINVALID, "event %s rule is longer than %d bytes", e.ID, MaxRuleSize)
	}
	return nil
}

// AllowedEntries returns the admissions a ticket has for the event (at least 1).
func (e Event) AllowedEntries() int {
	if e.Entries <= 0 {
		return 1
	}
	return e.Entries
}

// Window says where t falls relative to the event's admission window.
type Window int

// Window positions.
const (
	WindowBefore Window = -1 // not open yet
	WindowOpen   Window = 0
	WindowAfter  Window = 1 // closed
)

// WindowAt returns where t falls in the event's window [OpensAt, ClosesAt).
func (e Event) WindowAt(t time.Time) Window {
	if !e.OpensAt.IsZero() && t.Before(e.OpensAt) {
		return WindowBefore
	}
	if !e.ClosesAt.IsZero() && !t.Before(e.ClosesAt) {
		return WindowAfter
	}
	return WindowOpen
}

// Code is a code with a display name, such as a price type (ADU, "Adult") or
// a product (MATCH-2026-12-05, "FC Example – Derby").
type Code struct {
	Code string `json:"code" toml:"code"`
	Name string `json:"name,omitempty" toml:"name"`
}

// Period is the date range of a period pass: it admits to every event that
// opens within [From, Until).
type Period struct {
	From  time.Time `json:"from"`
	Until time.Time `json:"until"`
}

// IsZero reports whether the period is unset.
func (p Period) IsZero() bool { return p.From.IsZero() && p.Until.IsZero() }

// Covers reports whether the period covers an event: it opens within
// [From, Until). An event without an opening time is never covered.
func (p Period) Covers(e Event) bool {
	if p.IsZero() || e.OpensAt.IsZero() {
		return false
	}
	return !e.OpensAt.Before(p.From) && (p.Until.IsZero() || e.OpensAt.Before(p.Until))
}

// Ticket is one barcode and what it admits to.
type Ticket struct {
	Barcode   string   `json:"barcode"`
	Provider  string   `json:"provider"`
	Events    []string `json:"events"`          // the events it admits to, sorted and unique
	Period    Period   `json:"period,omitzero"` // a period pass: also every event opening in it
	State     State    `json:"state"`
	PriceType Code     `json:"price_type"`       // ADU "Adult"
	Product   Code     `json:"product,omitzero"` // the upstream product

	Holder     string    `json:"holder,omitempty"`
	Order      string    `json:"order,omitempty"`   // order or file number upstream
	Contact    string    `json:"contact,omitempty"` // contact number upstream
	Price      string    `json:"price,omitempty"`   // decimal with '.', as sold ("45.00")
	ValidityAt time.Time `json:"validity_at,omitzero"`
	OrderedAt  time.Time `json:"ordered_at,omitzero"`

	// UsedUpstream marks a ticket the ticketing system reports as already
	// controlled (SecuTix CONTROLLED): it is valid but its first entry is spent.
	UsedUpstream bool `json:"used_upstream,omitempty"`

	ReplacedBy string `json:"replaced_by,omitempty"` // revoked: the barcode that replaced it
	Replaces   string `json:"replaces,omitempty"`    // reissued: the barcode it replaced
	ImportID   uint64 `json:"import_id,omitempty"`   // the import that added it; 0 when added otherwise
}

// AdmitsTo reports whether the ticket is for the event, by its list or its period.
func (t *Ticket) AdmitsTo(e Event) bool {
	if slices.Contains(t.Events, e.ID) {
		return true
	}
	return t.Period.Covers(e)
}

// Validate checks what every stored ticket must satisfy: a well-formed
// barcode, a provider, at least one event or a period, a valid state.
func (t *Ticket) Validate() error {
	if err := CheckBarcode(t.Barcode); err != nil {
		return Errorf(EINVALID, "%v", err)
	}
	if err := CheckID("provider", t.Provider); err != nil {
		return err
	}
	if len(t.Events) == 0 && t.Period.IsZero() {
		return Errorf(EINVALID, "ticket %q admits to no event", t.Barcode)
	}
	for _, e := range t.Events {
		if err := CheckID("event", e); err != nil {
			return err
		}
	}
	if !t.State.Valid() {
		return Errorf(EINVALID, "ticket %q has no valid state", t.Barcode)
	}
	return nil
}

// Movement is one passage through a lane: when, where, and the journal
// sequence and appliance that recorded it (so redemptions from several
// appliances can be reconciled).
type Movement struct {
	At        time.Time `json:"at,omitzero"` // zero for a use reported upstream
	Lane      string    `json:"lane"`
	Seq       uint64    `json:"seq,omitempty"`
	Appliance string    `json:"appliance,omitempty"`
}

// UpstreamLane is the lane named in FirstUsed for a ticket the ticketing
// system reported as already used.
const UpstreamLane = "upstream"

// Redemption is what a ticket has done at one event.
type Redemption struct {
	Event      string   `json:"event"`
	Admissions int      `json:"admissions"` // entries spent against Event.Entries
	Reentries  int      `json:"reentries"`  // entries after an exit that spent nothing
	Exits      int      `json:"exits"`
	Inside     bool     `json:"inside"`
	First      Movement `json:"first"` // the first admission
	Last       Movement `json:"last"`  // the latest movement, in or out
	// Entries are the times of the entries (admissions and re-entries),
	// oldest first, the latest MaxEntryTimes of them: what entry rules
	// count (entries today, on how many days, minutes since the last).
	Entries []time.Time `json:"entries,omitempty"`
	// Revision is the venue hub's revision of this redemption that this
	// appliance last saw or wrote (its compare-and-set version); 0 outside
	// a venue, or while the hub has never held it.
	Revision uint64 `json:"revision,omitempty"`
}

// MaxEntryTimes is how many entry times a Redemption keeps; older ones are
// dropped (Admissions and Reentries still count them).
const MaxEntryTimes = 256

// WithEntry returns entries with at appended, the oldest dropped beyond
// MaxEntryTimes. It never writes into entries' array, which the caller's
// copy of a redemption may share.
func WithEntry(entries []time.Time, at time.Time) []time.Time {
	if len(entries) >= MaxEntryTimes {
		entries = entries[len(entries)-MaxEntryTimes+1:]
	}
	out := make([]time.Time, len(entries), len(entries)+1)
	copy(out, entries)
	return append(out, at)
}

// Used reports whether the ticket has entered the event at least once.
func (r *Redemption) Used() bool { return r.Admissions > 0 }

// TicketView is a ticket with its redemptions and recent decisions, as the
// API shows it.
type TicketView struct {
	Ticket
	Redemptions []Redemption `json:"redemptions"`
	// History is the latest journal entries about the ticket (its barcode and
	// the barcodes it replaced), newest first, at most MaxHistory.
	History []JournalEntry `json:"history"`
}

// MaxHistory is how many journal entries a TicketView carries.
const MaxHistory = 50
