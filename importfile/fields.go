package importfile

import (
	"bytes"
	"math"
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
// whole import instead of once per ticket. The last few values are checked
// before the map: files are mostly runs of the same few values.
type interner struct {
	recent [4]string
	next   int
	m      map[string]string
}

// lookup returns the interned string equal to b, if any.
func (in *interner) lookup(b []byte) (string, bool) {
	for _, s := range in.recent {
		if len(s) == len(b) && s == view(b) {
			return s, true
		}
	}
	s, ok := in.m[view(b)]
	if ok {
		in.remember(s)
	}
	return s, ok
}

func (in *interner) remember(s string) {
	in.recent[in.next] = s
	in.next = (in.next + 1) % len(in.recent)
}

func (in *interner) get(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if s, ok := in.lookup(b); ok {
		return s
	}
	s := string(b)
	if in.m == nil {
		in.m = make(map[string]string)
	}
	if len(in.m) < maxInterned {
		in.m[s] = s
		in.remember(s)
	}
	return s
}

// eventList is the parsed form of one event cell, cached per distinct cell.
type eventList struct {
	cell   string   // the cell as written
	events []string // sorted, unique; capacity == length, so an append copies
	reason gate.RejectReason
	detail string
}

// eventCache parses event cells ("A|B") once per distinct value.
type eventCache struct {
	last *eventList
	m    map[string]*eventList
}

func (c *eventCache) get(b []byte) *eventList {
	if c.last != nil && c.last.cell == view(b) {
		return c.last
	}
	e, ok := c.m[view(b)]
	if !ok {
		e = parseEvents(string(b))
		if c.m == nil {
			c.m = make(map[string]*eventList)
		}
		if len(c.m) < maxInterned {
			c.m[e.cell] = e
		}
	}
	c.last = e
	return e
}

// parseEvents reads one or more event ids separated by '|'.
func parseEvents(s string) *eventList {
	var events []string
	for part := range strings.SplitSeq(s, "|") {
		id := strings.TrimSpace(part)
		if id == "" {
			continue
		}
		if err := gate.CheckID("event", id); err != nil {
			return &eventList{cell: s, reason: gate.RejectBadEventID, detail: gate.ErrorMessage(err)}
		}
		events = append(events, id)
	}
	if len(events) == 0 {
		return &eventList{cell: s, reason: gate.RejectMissingEvent, detail: "the event column is empty and the request names no event"}
	}
	slices.Sort(events)
	events = slices.Compact(events)
	return &eventList{cell: s, events: slices.Clip(events)}
}

// dateCache reads the dates of one column. It remembers the last few
// values read (validity dates repeat line after line) and the time zone
// period of the last date, so that most dates need no zone lookup.
type dateCache struct {
	recent [4]struct {
		raw []byte
		t   time.Time
		ok  bool
	}
	next int

	loc        *time.Location
	zoneSet    bool
	offset     int64 // seconds east of UTC in the period [start, end)
	start, end int64 // Unix seconds; math.MinInt64 / MaxInt64 when unbounded
}

func (c *dateCache) parse(b []byte, loc *time.Location) (time.Time, bool) {
	for i := range c.recent {
		if r := &c.recent[i]; r.raw != nil && bytes.Equal(b, r.raw) {
			return r.t, r.ok
		}
	}
	t, ok := c.parseNew(b, loc)
	r := &c.recent[c.next]
	c.next = (c.next + 1) % len(c.recent)
	r.raw, r.t, r.ok = append(r.raw[:0], b...), t, ok
	return t, ok
}

func (c *dateCache) parseNew(b []byte, loc *time.Location) (time.Time, bool) {
	w, ok := parseWall(b)
	if !ok {
		return time.Time{}, false
	}
	if w.zoned {
		return time.Unix(w.unix-w.offset, w.ns).UTC(), true
	}
	return c.inZone(w.unix, w.ns, loc), true
}

// inZone returns the instant the wall time unix (seconds since 1970 as if
// UTC) names in loc: exactly what time.Date returns, without its zone
// lookups while the dates stay within one period of the zone.
func (c *dateCache) inZone(wall, ns int64, loc *time.Location) time.Time {
	if c.zoneSet && c.loc == loc && wall >= c.start && wall < c.end && wall-c.offset >= c.start && wall-c.offset < c.end {
		// time.Date looks up the period of wall, which is this one, and
		// keeps its offset because wall-offset falls in it too.
		return time.Unix(wall-c.offset, ns).In(loc)
	}
	days := wall / secondsPerDay
	secs := wall % secondsPerDay
	t := time.Date(1970, 1, 1+int(days), 0, 0, int(secs), int(ns), loc)
	start, end := t.ZoneBounds()
	_, off := t.Zone()
	c.loc, c.zoneSet, c.offset = loc, true, int64(off)
	c.start, c.end = math.MinInt64, math.MaxInt64
	if !start.IsZero() {
		c.start = start.Unix()
	}
	if !end.IsZero() {
		c.end = end.Unix()
	}
	return t
}

const secondsPerDay = 86400

// wallTime is a date as written: seconds since 1970-01-01 00:00 as if it
// were UTC, and the zone offset when the text gives one.
type wallTime struct {
	unix   int64
	ns     int64
	zoned  bool
	offset int64
}

// daysFromCivil returns the days from 1970-01-01 to y-m-d (proleptic
// Gregorian; y >= 1).
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}

// parseDate reads a date (see parseWall) in loc when it names no zone.
func parseDate(b []byte, loc *time.Location) (time.Time, bool) {
	var c dateCache
	return c.parseNew(b, loc)
}

// parseWall reads the dates import files carry:
//
//	dd/MM/yyyy[ HH:mm[:ss]]         05/12/2026 20:00 (day, month and hour may have one digit; '.' may replace '/')
//	yyyy-MM-dd[(T| )HH:mm[:ss[.f]]][Z|±hh:mm|±hhmm|±hh]   ISO 8601
func parseWall(b []byte) (wallTime, bool) {
	var y, mo, d int
	var ok bool
	rest := b
	if len(b) >= 10 && b[4] == '-' {
		if y, ok = digits(b[0:4]); !ok || b[7] != '-' {
			return wallTime{}, false
		}
		if mo, ok = digits(b[5:7]); !ok {
			return wallTime{}, false
		}
		if d, ok = digits(b[8:10]); !ok {
			return wallTime{}, false
		}
		rest = b[10:]
	} else {
		if d, rest, ok = number(rest, 1, 2); !ok || len(rest) == 0 || (rest[0] != '/' && rest[0] != '.') {
			return wallTime{}, false
		}
		sep := rest[0]
		if mo, rest, ok = number(rest[1:], 1, 2); !ok || len(rest) == 0 || rest[0] != sep {
			return wallTime{}, false
		}
		if y, rest, ok = number(rest[1:], 4, 4); !ok {
			return wallTime{}, false
		}
	}
	if y < 1 || mo < 1 || mo > 12 || d < 1 || d > daysIn(mo, y) {
		return wallTime{}, false
	}
	var h, mi, s, ns int
	if len(rest) > 0 {
		if rest[0] != ' ' && rest[0] != 'T' {
			return wallTime{}, false
		}
		if h, rest, ok = number(rest[1:], 1, 2); !ok || len(rest) == 0 || rest[0] != ':' {
			return wallTime{}, false
		}
		if mi, rest, ok = number(rest[1:], 2, 2); !ok {
			return wallTime{}, false
		}
		if len(rest) > 0 && rest[0] == ':' {
			if s, rest, ok = number(rest[1:], 2, 2); !ok {
				return wallTime{}, false
			}
			if len(rest) > 0 && (rest[0] == '.' || rest[0] == ',') {
				i := 1
				for ; i < len(rest) && rest[i] >= '0' && rest[i] <= '9'; i++ {
					if i <= 9 {
						ns = ns*10 + int(rest[i]-'0')
					}
				}
				if i == 1 || i > 10 {
					return wallTime{}, false
				}
				for k := i; k <= 9; k++ {
					ns *= 10
				}
				rest = rest[i:]
			}
		}
		if h > 23 || mi > 59 || s > 59 {
			return wallTime{}, false
		}
	}
	w := wallTime{unix: daysFromCivil(y, mo, d)*secondsPerDay + int64(h*3600+mi*60+s), ns: int64(ns)}
	if len(rest) > 0 {
		off, ok := zoneOffset(rest)
		if !ok {
			return wallTime{}, false
		}
		w.zoned, w.offset = true, int64(off)
	}
	return w, true
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
	v, i := 0, 0
	for i < len(b) && i < max && b[i] >= '0' && b[i] <= '9' {
		v = v*10 + int(b[i]-'0')
		i++
	}
	if i < min || (i < len(b) && b[i] >= '0' && b[i] <= '9') {
		return 0, b, false
	}
	return v, b[i:], true
}

// daysIn returns the days of month m of year y.
func daysIn(m, y int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
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

// stateList is shown when a state is not understood.
const stateList = "PRINTED, NOT_PRINTED, CANCELLED, INVALIDATED, CONTROLLED (or valid, cancelled, invalidated, used)"

// parseState reads a ticket state, case-insensitively: the SecuTix names,
// then admit's own. used reports a ticket already used upstream.
func parseState(b []byte) (st gate.State, used, ok bool) {
	var up [16]byte
	if len(b) > len(up) {
		return 0, false, false
	}
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		up[i] = c
	}
	switch view(up[:len(b)]) {
	case "PRINTED", "NOT_PRINTED", "VALID":
		return gate.StateValid, false, true
	case "CONTROLLED", "USED":
		return gate.StateValid, true, true
	case "CANCELLED", "CANCELED":
		return gate.StateCancelled, false, true
	case "INVALIDATED":
		return gate.StateInvalidated, false, true
	}
	return 0, false, false
}
