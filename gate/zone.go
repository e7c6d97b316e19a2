package gate

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Outside is the zone beyond the venue: where every ticket starts and where
// an exit from the venue leads. It is never counted and has no capacity.
const Outside = "outside"

// Zone is an area of the venue behind lanes (a stand, a hall, the whole
// ground), with a live occupancy counted from the passages into and out of
// it. Lanes are moves between zones (Lane.From, Lane.To).
type Zone struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
	// Capacity is the most tickets the zone holds; 0 is no limit. When it
	// is reached, scans into the zone are refused with zone_full until
	// someone leaves.
	Capacity int `json:"capacity,omitempty"`
	// ExitAllAt is a time of day ("04:00", "23:30:00") in the venue's time
	// zone at which the zone is emptied every day: every ticket counts as
	// outside from then on. "" never.
	ExitAllAt string `json:"exit_all_at,omitempty"`
	// NoPassback refuses a second entry into the zone by a ticket that is
	// still inside it (already_used), whatever its event allows.
	NoPassback bool `json:"no_passback,omitempty"`
	// OverrideFull lets a supervisor's override let a guest into the zone
	// while it is full; by default an override never passes zone_full.
	OverrideFull bool `json:"override_zone_full,omitempty"`
}

// MaxZoneCapacity is the largest capacity a zone may have.
const MaxZoneCapacity = 10_000_000

// Validate checks the id, name, capacity and exit_all_at.
func (z Zone) Validate() error {
	if err := CheckID("zone", z.ID); err != nil {
		return err
	}
	if z.ID == Outside {
		return Errorf(EINVALID, "zone id %q is reserved for the world beyond the venue", Outside)
	}
	if len(z.Name) > 256 || !utf8.ValidString(z.Name) {
		return Errorf(EINVALID, "zone %s name must be valid UTF-8 of at most 256 bytes", z.ID)
	}
	if z.Capacity < 0 || z.Capacity > MaxZoneCapacity {
		return Errorf(EINVALID, "zone %s capacity must be between 0 (no limit) and %d", z.ID, MaxZoneCapacity)
	}
	if z.ExitAllAt != "" {
		if _, err := ParseClock(z.ExitAllAt); err != nil {
			return Errorf(EINVALID, "zone %s exit_all_at: %s", z.ID, ErrorMessage(err))
		}
	}
	return nil
}

// ParseClock reads a time of day, "HH:MM" or "HH:MM:SS" (24-hour), as the
// time since midnight.
func ParseClock(s string) (time.Duration, error) {
	parts := strings.Split(s, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return 0, Errorf(EINVALID, "%q is not a time of day such as \"04:00\" or \"23:30:00\"", s)
	}
	limits := []int{23, 59, 59}
	var v [3]int
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || len(p) != 2 || n < 0 || n > limits[i] {
			return 0, Errorf(EINVALID, "%q is not a time of day such as \"04:00\" or \"23:30:00\"", s)
		}
		v[i] = n
	}
	return time.Duration(v[0])*time.Hour + time.Duration(v[1])*time.Minute + time.Duration(v[2])*time.Second, nil
}

// Move is a passage between two zones, From one To the other. The zero Move
// is a lane without zones.
type Move struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// IsZero reports whether the move is unset (a lane without zones).
func (m Move) IsZero() bool { return m.From == "" && m.To == "" }

// Reverse returns the move the other way.
func (m Move) Reverse() Move { return Move{From: m.To, To: m.From} }

// Inner reports whether the move stays inside the venue: neither side is
// Outside. An inner move spends no entry of the ticket's event (see
// DecideMove); a move from Outside is an entry, one to Outside an exit.
func (m Move) Inner() bool { return !m.IsZero() && m.From != Outside && m.To != Outside }

// String returns "from -> to".
func (m Move) String() string { return fmt.Sprintf("%s -> %s", m.From, m.To) }

// Inward returns the lane's move for a scan in: From to To for a lane whose
// direction is in, To to From for an exit lane (direction out, whose From
// and To are the move of its own exits).
func (l *Lane) Inward() Move {
	m := Move{From: l.From, To: l.To}
	if m.IsZero() {
		return m
	}
	if l.Direction == Out {
		return m.Reverse()
	}
	return m
}

// Move returns the passage the scan makes: the lane's inward move for a scan
// in, its reverse for a scan out; zero at a lane without zones.
func (s *Scan) Move() Move {
	if s.Direction == Out {
		return s.Zones.Reverse()
	}
	return s.Zones
}

// ZoneStatus is a zone as the operator page and /metrics show it.
type ZoneStatus struct {
	Zone
	// Occupancy is the tickets inside now (and guests a supervisor let in
	// without a ticket, until the zone is emptied).
	Occupancy int `json:"occupancy"`
	// Pending is the admissions into the zone being committed now: they
	// hold a place, so the capacity is never passed.
	Pending int `json:"pending"`
	// Full is true while occupancy and pending admissions reach capacity.
	Full bool `json:"full"`
	// LastExitAll is when the zone was last emptied (ExitAllAt).
	LastExitAll time.Time `json:"last_exit_all,omitzero"`
	// Series is the occupancy over the last hours, one sample a minute
	// (since the appliance started), oldest first.
	Series []ZoneSample `json:"series,omitempty"`
}

// ZoneSample is a zone's occupancy at a minute.
type ZoneSample struct {
	At        time.Time `json:"at"`
	Occupancy int       `json:"occupancy"`
}

// ZoneMonitor reports the zones of the appliance, for the API, the operator
// page and /metrics. The index implements it.
type ZoneMonitor interface {
	// Zones returns every configured zone's status in configuration order;
	// series says whether to include the occupancy series.
	Zones(series bool) []ZoneStatus
}

// DecideMove decides a scan at a lane whose move stays inside the venue
// (Move.Inner): from one zone into another. It spends no entry: a ticket
// going out of a zone is always let through (exit), and one going in is
// admitted (ok) when it is valid and one of the lane's events it admits to
// is open, else refused for its state, wrong_event, not_yet_valid or
// expired as Decide refuses. The decision names no event, so reports count
// no entry for it; Outcome.Redemption.Event names the open event an
// admission was checked against (for entry rules) and Write is false: the
// index records the move itself.
func DecideMove(in Input) Outcome {
	s, t := in.Scan, in.Ticket
	d := s.Refusal(0, "")
	d.Seq = in.Seq
	d.Ticket = t.Info()
	if s.Direction == Out {
		d.Admit, d.Reason = true, ReasonExit
		return Outcome{Decision: d}
	}
	candidates, reason := candidatesFor(in)
	if reason != 0 {
		d.Reason = reason
		return Outcome{Decision: d}
	}
	var shut shutEvents
	for i := range candidates {
		if e := &candidates[i]; shut.open(e, s.At) {
			d.Admit, d.Reason = true, ReasonOK
			return Outcome{Decision: d, Redemption: Redemption{Event: e.ID}}
		}
	}
	return shut.refusal(d)
}
