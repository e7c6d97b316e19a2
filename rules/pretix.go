package rules

import (
	"math"
	"time"
)

// buildTime is pretix's buildTime for the forms that depend on the facts;
// "custom" is a constant by now.
func (e *env) buildTime(n *node) value {
	f := e.f
	if f == nil {
		return e.fail(faultNoFacts, n, 0)
	}
	switch n.bt {
	case btCustomTime:
		t := e.today()
		return instant(wallClock(t.y, t.m, t.d, n.clock[0], n.clock[1], n.clock[2], location(f)))
	case btDateFrom:
		if f.DateFrom.IsZero() {
			return e.fail(faultNoDate, n, 0)
		}
		return instant(f.DateFrom)
	case btDateTo:
		if !f.DateTo.IsZero() {
			return instant(f.DateTo)
		}
	case btDateAdmission:
		if !f.DateAdmission.IsZero() {
			return instant(f.DateAdmission)
		}
	}
	if f.DateFrom.IsZero() {
		return e.fail(faultNoDate, n, 0)
	}
	return instant(f.DateFrom)
}

// timeCompare is pretix's isBefore and isAfter: a < b + tolerance and
// a > b - tolerance, the tolerance in minutes; strict, as in pretix.
func (e *env) timeCompare(n *node, fr *frame) value {
	a, b := e.eval(n.args[0], fr), e.eval(n.args[1], fr)
	if a.k != kTime || b.k != kTime {
		got := a.k
		if a.k == kTime {
			got = b.k
		}
		return e.fail(faultNeedTime, n, got)
	}
	var tol float64
	if len(n.args) == 3 {
		// pretix: "if tolerance:" then float(tolerance); 0, "" and null mean none.
		if t := e.eval(n.args[2], fr); truthy(t) {
			m := toNumber(t)
			if t.k == kTime || t.k == kArr || t.k == kObj || math.IsNaN(m) || math.IsInf(m, 0) {
				return e.fail(faultTolerance, n, t.k)
			}
			tol = math.Round(m * float64(time.Minute/time.Microsecond))
		}
	}
	if n.op == opIsBefore {
		return boolean(a.n < b.n+tol)
	}
	return boolean(b.n < a.n+tol)
}

// entriesAt is pretix's entries_since, entries_before, entries_days_since
// and entries_days_before: entries at or after a time, entries before it,
// and the days (in the event's time zone) with such entries.
func (e *env) entriesAt(n *node, fr *frame) value {
	t := e.eval(n.args[0], fr)
	if t.k != kTime {
		return e.fail(faultNeedTime, n, t.k)
	}
	f := e.f
	if f == nil {
		return e.fail(faultNoFacts, n, 0)
	}
	cut := countBefore(f.Entries, t.time())
	switch n.op {
	case opEntriesSince:
		return number(float64(len(f.Entries) - cut))
	case opEntriesBefore:
		return number(float64(cut))
	case opEntriesDaysSince:
		return number(float64(distinctDays(f.Entries[cut:], location(f))))
	}
	return number(float64(distinctDays(f.Entries[:cut], location(f))))
}
