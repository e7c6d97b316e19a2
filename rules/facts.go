package rules

import (
	"math"
	"slices"
	"time"

	"github.com/admitgate/admit/gate"
)

// Facts is what a rule is evaluated against: the ticket, the scan, the
// event and the ticket's entry history (gate.RuleFacts, so that a *Rule is
// a gate.Rule the index evaluates without importing this package). The
// index fills it under the ticket's lock, between reading the ticket and
// deciding.
type Facts = gate.RuleFacts

var _ gate.Rule = (*Rule)(nil)

// NewFacts returns the facts of a scan of a ticket, with the ticket's product,
// price type and provider and the scan's time, lane and direction filled in;
// the caller adds the event (Location, dates), the zone and the entries.
func NewFacts(t *gate.Ticket, s *gate.Scan) Facts {
	return Facts{
		Product:   t.Product.Code,
		PriceType: t.PriceType.Code,
		Provider:  t.Provider,
		At:        s.At,
		Lane:      s.Lane,
		Direction: s.Direction,
	}
}

// variable is one of the names a rule may read with {"var": name}.
type variable uint8

const (
	varProduct variable = iota + 1
	varVariation
	varGate
	varNow
	varNowISOWeekday
	varEntriesNumber
	varEntriesToday
	varEntriesDays
	varMinutesSinceLastEntry
	varMinutesSinceFirstEntry
	varPriceType
	varProvider
	varZone
	varDirection
	varEnd
)

var variableNames = [...]string{
	varProduct:                "product",
	varVariation:              "variation",
	varGate:                   "gate",
	varNow:                    "now",
	varNowISOWeekday:          "now_isoweekday",
	varEntriesNumber:          "entries_number",
	varEntriesToday:           "entries_today",
	varEntriesDays:            "entries_days",
	varMinutesSinceLastEntry:  "minutes_since_last_entry",
	varMinutesSinceFirstEntry: "minutes_since_first_entry",
	varPriceType:              "price_type",
	varProvider:               "provider",
	varZone:                   "zone",
	varDirection:              "direction",
}

// Variables lists the names a rule may read with {"var": name}, in the order
// the documentation gives them.
func Variables() []string {
	out := make([]string, 0, varEnd-1)
	for v := varProduct; v < varEnd; v++ {
		out = append(out, variableNames[v])
	}
	return out
}

func lookupVariable(name string) (variable, bool) {
	for v := varProduct; v < varEnd; v++ {
		if variableNames[v] == name {
			return v, true
		}
	}
	return 0, false
}

// location returns the event's time zone.
func location(f *Facts) *time.Location {
	if f.Location == nil {
		return time.UTC
	}
	return f.Location
}

// fact returns a variable's value. The entry counts are computed here, from
// the sorted history: binary searches, no allocation.
func (e *env) fact(v variable) value {
	f := e.f
	switch v {
	case varProduct:
		return str(f.Product)
	case varVariation:
		return str(f.Variation)
	case varGate:
		return str(f.Lane)
	case varNow:
		return instant(f.At)
	case varNowISOWeekday:
		wd := f.At.In(location(f)).Weekday()
		if wd == time.Sunday {
			return number(7)
		}
		return number(float64(wd))
	case varEntriesNumber:
		return number(float64(len(f.Entries)))
	case varEntriesToday:
		return number(float64(countSince(f.Entries, e.today().start)))
	case varEntriesDays:
		return number(float64(distinctDays(f.Entries, location(f))))
	case varMinutesSinceLastEntry:
		if len(f.Entries) == 0 {
			return number(-1)
		}
		return number(minutesSince(f.At, f.Entries[len(f.Entries)-1]))
	case varMinutesSinceFirstEntry:
		if len(f.Entries) == 0 {
			return number(-1)
		}
		return number(minutesSince(f.At, f.Entries[0]))
	case varPriceType:
		return str(f.PriceType)
	case varProvider:
		return str(f.Provider)
	case varZone:
		return str(f.Zone)
	case varDirection:
		if f.Direction == gate.In || f.Direction == gate.Out {
			return str(f.Direction.String())
		}
		return str("")
	}
	return null
}

// minutesSince is pretix's whole minutes from then to now, rounded down. An
// entry recorded after now (clocks of two appliances a little apart) counts
// as 0 minutes ago, never as the -1 that means "no entry".
func minutesSince(now, then time.Time) float64 {
	d := now.Sub(then)
	if d < 0 {
		return 0
	}
	return math.Floor(d.Minutes())
}

// countSince counts the entries at or after t; countBefore those before t.
func countSince(entries []time.Time, t time.Time) int {
	return len(entries) - countBefore(entries, t)
}

func countBefore(entries []time.Time, t time.Time) int {
	i, _ := slices.BinarySearchFunc(entries, t, func(e, t time.Time) int {
		if e.Before(t) {
			return -1
		}
		return 1 // equal counts as not before: the search lands on the first e >= t
	})
	return i
}

// distinctDays counts the calendar days in loc with at least one of the
// entries.
func distinctDays(entries []time.Time, loc *time.Location) int {
	// Sorted instants give non-decreasing days except where a zone turns its
	// clocks back across midnight, so keep every day seen, on the stack for
	// the usual short history.
	var buf [32]int32
	days := buf[:0]
	for _, t := range entries {
		y, m, d := t.In(loc).Date()
		day := int32(y)*512 + int32(m)*32 + int32(d)
		if n := len(days); n > 0 && days[n-1] == day {
			continue
		}
		if !slices.Contains(days, day) {
			days = append(days, day)
		}
	}
	return len(days)
}

// startOfDay is the first instant of t's calendar day in loc.
func startOfDay(t time.Time, loc *time.Location) time.Time {
	y, m, d := t.In(loc).Date()
	return wallClock(y, m, d, 0, 0, 0, loc)
}

// day is the scan's calendar day in the event's time zone.
type day struct {
	y     int
	m     time.Month
	d     int
	start time.Time // its first instant
}

// today returns the scan's day, worked out once per evaluation.
func (e *env) today() *day {
	if e.day.start.IsZero() {
		loc := location(e.f)
		y, m, d := e.f.At.In(loc).Date()
		e.day = day{y: y, m: m, d: d, start: wallClock(y, m, d, 0, 0, 0, loc)}
	}
	return &e.day
}

// wallClock is the instant at which clocks in loc show the given date and
// time, as Python's zoneinfo resolves it (fold=0): when the clock shows it
// twice (clocks turned back) the earlier instant, and when it never shows it
// (clocks turned forward) the instant read with the offset before the jump,
// which is the jump itself for a skipped midnight. time.Date leaves both
// cases unspecified and resolves a skipped midnight to the day before.
func wallClock(y int, mo time.Month, d, h, mi, s int, loc *time.Location) time.Time {
	// Far from any change of offset, time.Date is exact: one lookup more.
	t := time.Date(y, mo, d, h, mi, s, 0, loc)
	if start, end := t.ZoneBounds(); (start.IsZero() || t.Sub(start) > 26*time.Hour) &&
		(end.IsZero() || end.Sub(t) > 26*time.Hour) {
		return t
	}
	w := time.Date(y, mo, d, h, mi, s, 0, time.UTC).Unix()
	// A day either side is past any one transition near w.
	_, before := time.Unix(w-86400, 0).In(loc).Zone()
	_, after := time.Unix(w+86400, 0).In(loc).Zone()
	best, found := int64(0), false
	for _, off := range [2]int{before, after} {
		u := w - int64(off)
		if _, o := time.Unix(u, 0).In(loc).Zone(); o == off && (!found || u < best) {
			best, found = u, true
		}
	}
	if !found {
		best = w - int64(before)
	}
	return time.Unix(best, 0).In(loc)
}
