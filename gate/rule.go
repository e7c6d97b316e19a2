package gate

import (
	"bytes"
	"encoding/json"
	"sync"
	"time"
)

// Rule is a compiled entry rule: an event's or a lane's condition on a scan
// the decision order would admit (package rules compiles them from
// JsonLogic; docs/rules.md). Eval returns whether the rule admits and, when
// it does not, which part failed, in words for the operator. A Rule is
// immutable and safe for concurrent use. The index evaluates rules under the
// ticket's lock and never imports the compiler: cmd/admit hands it one
// (index.Options.CompileRule).
type Rule interface {
	Eval(f *RuleFacts) (ok bool, detail string)
}

// RuleCompiler compiles a rule's JSON. A rule that does not compile is an
// EINVALID error that says where (byte offset and JSON path) and why.
type RuleCompiler func(src []byte) (Rule, error)

// RuleFacts is what a rule is evaluated against: the ticket, the scan, the
// event and the ticket's entry history. The index fills it under the
// ticket's lock, between gate.Decide and the commit.
type RuleFacts struct {
	// The ticket.
	Product   string // product code (Ticket.Product.Code): pretix's "product"
	Variation string // product variation, "" when the ticket has none: "variation"
	PriceType string // price type code (Ticket.PriceType.Code): "price_type"
	Provider  string // the ticket's provider: "provider"

	// The scan.
	At        time.Time // when it was scanned: "now"; "today" is its date in Location
	Lane      string    // the lane's id: pretix's "gate"
	Direction Direction // "direction": "in" or "out"
	Zone      string    // the zone the passage leads into, "" without zones: "zone"

	// The event.
	Location *time.Location // the event's time zone; nil means UTC
	// DateFrom is the event's start: buildTime "date_from". Zero when the
	// event has none, and a rule that asks for it refuses.
	DateFrom time.Time
	// DateTo is the event's end: buildTime "date_to"; zero means DateFrom.
	DateTo time.Time
	// DateAdmission is when admission opens: buildTime "date_admission"; zero
	// means DateFrom.
	DateAdmission time.Time

	// Entries are the times this ticket entered this event before this scan
	// (first admissions and re-entries, not exits), oldest first. The entry
	// variables (entries_number, entries_today, minutes_since_last_entry, ...)
	// are counted from them.
	Entries []time.Time
}

// RuleSource is a rule's JSON as it was given ("" for none): what an event
// stores and the API shows. It marshals as the JSON itself, not as a string,
// and unmarshals from any JSON value (null is none); whether it compiles is
// the compiler's to say.
type RuleSource string

// MarshalJSON writes the rule's JSON as it is, or null when it is not JSON
// (a source never compiled).
func (r RuleSource) MarshalJSON() ([]byte, error) {
	if r == "" || !json.Valid([]byte(r)) {
		return []byte("null"), nil
	}
	return []byte(r), nil
}

// UnmarshalJSON keeps the JSON value as given, without the white space
// around it; null is no rule.
func (r *RuleSource) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		*r = ""
		return nil
	}
	*r = RuleSource(b)
	return nil
}

// MaxRuleSize is the longest rule source admit stores, in bytes.
const MaxRuleSize = 64 << 10

// Facts returns the facts of a scan of t at an event, with the event's dates
// and time zone (loc; nil is UTC) and the ticket's earlier entries into it.
// The caller adds Variation and Zone where it knows them.
func (e *Event) Facts(t *Ticket, s *Scan, loc *time.Location, entries []time.Time) RuleFacts {
	f := RuleFacts{
		Product:   t.Product.Code,
		PriceType: t.PriceType.Code,
		Provider:  t.Provider,
		At:        s.At,
		Lane:      s.Lane,
		Direction: s.Direction,
		Location:  loc,
		Entries:   entries,
	}
	if e != nil {
		f.DateFrom, f.DateTo, f.DateAdmission = e.Dates()
	}
	return f
}

// Dates are the event's dates as rules read them: its start (StartsAt, else
// when admission opens), its end (EndsAt, else when admission closes) and
// when admission opens (OpensAt). Any may be zero.
func (e *Event) Dates() (from, to, admission time.Time) {
	from, to = e.StartsAt, e.EndsAt
	if from.IsZero() {
		from = e.OpensAt
	}
	if to.IsZero() {
		to = e.ClosesAt
	}
	return from, to, e.OpensAt
}

// locations caches the time zones LoadLocation found: reading one reads a
// file of the system's zone database.
var locations sync.Map // string -> *time.Location

// LoadLocation returns the IANA time zone name ("Europe/Zurich", "UTC"),
// read once and cached. "Local" is refused: an event's days must not depend
// on how the appliance's clock is set. EINVALID for a name the system's
// time zone database does not hold.
func LoadLocation(name string) (*time.Location, error) {
	if l, ok := locations.Load(name); ok {
		return l.(*time.Location), nil
	}
	if name == "" || name == "Local" || len(name) > 64 {
		return nil, Errorf(EINVALID, "%q is not an IANA time zone such as \"Europe/Zurich\"", name)
	}
	l, err := time.LoadLocation(name)
	if err != nil {
		return nil, Errorf(EINVALID, "%q is not an IANA time zone such as \"Europe/Zurich\" (or the system lacks its time zone database)", name)
	}
	locations.Store(name, l)
	return l, nil
}
