package importfile

import (
	"bytes"
	"slices"
	"strings"
	"time"
	"unsafe"

	"github.com/admitgate/admit/gate"
)

// view returns b as a string without copying, for calls that do not keep it.
func view(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// maxInterned bounds each interner, so a column that never repeats costs no
// more than plain strings.
const maxInterned = 4096

// interner returns one shared string for equal byte slices, so the values
// that repeat across lines (product, tariff, price) are held once for a
// whole import instead of once per ticket.
type interner struct {
	m map[string]string
}

func (in *interner) get(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if s, ok := in.m[view(b)]; ok {
		return s
	}
	s := string(b)
	if in.m == nil {
		in.m = make(map[string]string)
	}
	if len(in.m) < maxInterned {
		in.m[s] = s
	}
	return s
}

// eventList is the parsed form of one event cell, cached per distinct cell.
type eventList struct {
	events []string // sorted, unique; capacity == length, so an append copies
	reason gate.RejectReason
	detail string
}

// eventCache parses event cells ("A|B") once per distinct value.
type eventCache struct {
	m map[string]eventList
}

func (c *eventCache) get(b []byte) eventList {
	if e, ok := c.m[view(b)]; ok {
		return e
	}
	e := parseEvents(string(b))
	if c.m == nil {
		c.m = make(map[string]eventList)
	}
	if len(c.m) < maxInterned {
		c.m[string(b)] = e
	}
	return e
}

// parseEvents reads one or more event ids separated by '|'.
func parseEvents(s string) eventList {
	var events []string
	for part := range strings.SplitSeq(s, "|") {
		id := strings.TrimSpace(part)
		if id == "" {
			continue
		}
		if err := gate.CheckID("event", id); err != nil {
			return eventList{reason: gate.RejectBadEventID, detail: gate.ErrorMessage(err)}
		}
		events = append(events, id)
	}
	if len(events) == 0 {
		return eventList{reason: gate.RejectMissingEvent, detail: "the event column is empty and the request names no event"}
	}
	slices.Sort(events)
	events = slices.Compact(events)
	return eventList{events: slices.Clip(events)}
}

// dateCache remembers the last date read in one column: validity dates
// repeat line after line.
type dateCache struct {
	raw []byte
	t   time.Time
	ok  bool
}

func (c *dateCache) parse(b []byte, loc *time.Location) (time.Time, bool) {
	if c.raw != nil && bytes.Equal(b, c.raw) {
		return c.t, c.ok
	}
	c.t, c.ok = parseDate(b, loc)
	c.raw = append(c.raw[:0], b...)
	return c.t, c.ok
}

// parseDate reads the dates import files carry:
//
//	dd/MM/yyyy[ HH:mm[:ss]]         05/12/2026 20:00 (day and month may have one digit; '.' may replace '/')
//	yyyy-MM-dd[(T| )HH:mm[:ss[.f]]][Z|±hh:mm|±hhmm|±hh]   ISO 8601
//
// A date without a zone is in loc.
func parseDate(b []byte, loc *time.Location) (time.Time, bool) {
	var y, mo, d int
	var ok bool
	rest := b
	if len(b) >= 10 && b[4] == '-' {
		if y, ok = digits(b[0:4]); !ok || b[7] != '-' {
			return time.Time{}, false
		}
		if mo, ok = digits(b[5:7]); !ok {
			return time.Time{}, false
		}
		if d, ok = digits(b[8:10]); !ok {
			return time.Time{}, false
		}
		rest = b[10:]
	} else {
		if d, rest, ok = number(rest, 1, 2); !ok || len(rest) == 0 || (rest[0] != '/' && rest[0] != '.') {
			return time.Time{}, false
		}
		sep := rest[0]
		if mo, rest, ok = number(rest[1:], 1, 2); !ok || len(rest) == 0 || rest[0] != sep {
			return time.Time{}, false
		}
		if y, rest, ok = number(rest[1:], 4, 4); !ok {
			return time.Time{}, false
		}
	}
	if mo < 1 || mo > 12 || d < 1 || d > daysIn(time.Month(mo), y) {
		return time.Time{}, false
	}
	var h, mi, s, ns int
	if len(rest) > 0 {
		if rest[0] != ' ' && rest[0] != 'T' {
			return time.Time{}, false
		}
		if h, rest, ok = number(rest[1:], 1, 2); !ok || len(rest) == 0 || rest[0] != ':' {
			return time.Time{}, false
		}
		if mi, rest, ok = number(rest[1:], 2, 2); !ok {
			return time.Time{}, false
		}
		if len(rest) > 0 && rest[0] == ':' {
			if s, rest, ok = number(rest[1:], 2, 2); !ok {
				return time.Time{}, false
			}
			if len(rest) > 0 && (rest[0] == '.' || rest[0] == ',') {
				var n, frac int
				if frac, rest, ok = numberLen(rest[1:], 1, 9, &n); !ok {
					return time.Time{}, false
				}
				for ; n < 9; n++ {
					frac *= 10
				}
				ns = frac
			}
		}
		if h > 23 || mi > 59 || s > 59 {
			return time.Time{}, false
		}
	}
	if len(rest) == 0 {
		return time.Date(y, time.Month(mo), d, h, mi, s, ns, loc), true
	}
	offset, ok := zoneOffset(rest)
	if !ok {
		return time.Time{}, false
	}
	return time.Date(y, time.Month(mo), d, h, mi, s, ns, time.UTC).Add(-time.Duration(offset) * time.Second), true
}

// zoneOffset reads Z, ±hh:mm, ±hhmm or ±hh as seconds east of UTC.
func zoneOffset(b []byte) (int, bool) {
	if len(b) == 1 && b[0] == 'Z' {
		return 0, true
	}
	if len(b) < 3 || (b[0] != '+' && b[0] != '-') {
		return 0, false
	}
	sign := 1
	if b[0] == '-' {
		sign = -1
	}
	h, ok := digits(b[1:3])
	if !ok {
		return 0, false
	}
	m := 0
	switch rest := b[3:]; {
	case len(rest) == 0:
	case len(rest) == 3 && rest[0] == ':':
		m, ok = digits(rest[1:])
	case len(rest) == 2:
		m, ok = digits(rest)
	default:
		ok = false
	}
	if !ok || h > 14 || m > 59 {
		return 0, false
	}
	return sign * (h*3600 + m*60), true
}

// digits reads b, all ASCII digits, as a number.
func digits(b []byte) (int, bool) {
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, len(b) > 0
}

// number reads min to max leading digits of b.
func number(b []byte, min, max int) (int, []byte, bool) {
	var n int
	return numberLen(b, min, max, &n)
}

func numberLen(b []byte, min, max int, count *int) (int, []byte, bool) {
	v, i := 0, 0
	for i < len(b) && i < max && b[i] >= '0' && b[i] <= '9' {
		v = v*10 + int(b[i]-'0')
		i++
	}
	*count = i
	if i < min || (i < len(b) && b[i] >= '0' && b[i] <= '9') {
		return 0, b, false
	}
	return v, b[i:], true
}

func daysIn(m time.Month, y int) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// normalizePrice checks a price (digits, with an optional '.' or ','
// decimal separator and decimals) and writes it with '.' to dst.
func normalizePrice(dst, b []byte) ([]byte, bool) {
	dot := -1
	for i, c := range b {
		switch {
		case c >= '0' && c <= '9':
		case (c == '.' || c == ',') && dot < 0 && i > 0 && i < len(b)-1:
			dot = i
		default:
			return dst, false
		}
	}
	dst = append(dst, b...)
	if dot >= 0 {
		dst[len(dst)-len(b)+dot] = '.'
	}
	return dst, len(b) > 0
}

// stateNames maps the ticket states files carry, upper-cased, to a state
// and whether the ticket was already used upstream. SecuTix names first,
// then admit's own.
var stateNames = map[string]struct {
	state gate.State
	used  bool
}{
	"PRINTED":     {gate.StateValid, false},
	"NOT_PRINTED": {gate.StateValid, false},
	"CANCELLED":   {gate.StateCancelled, false},
	"INVALIDATED": {gate.StateInvalidated, false},
	"CONTROLLED":  {gate.StateValid, true},
	"VALID":       {gate.StateValid, false},
	"CANCELED":    {gate.StateCancelled, false},
	"USED":        {gate.StateValid, true},
}

// stateList is shown when a state is not understood.
const stateList = "PRINTED, NOT_PRINTED, CANCELLED, INVALIDATED, CONTROLLED (or valid, cancelled, invalidated, used)"

// parseState reads a ticket state, case-insensitively.
func parseState(b []byte) (gate.State, bool, bool) {
	if s, ok := stateNames[view(b)]; ok {
		return s.state, s.used, true
	}
	if len(b) > 16 {
		return 0, false, false
	}
	var up [16]byte
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		up[i] = c
	}
	s, ok := stateNames[view(up[:len(b)])]
	return s.state, s.used, ok
}
