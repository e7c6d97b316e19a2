package gate

import (
	"slices"
	"time"
)

// Lane is one passage of the entrance: a turnstile or a door with its
// scanners. Its policy says which events it admits now.
type Lane struct {
	ID        string
	Name      string
	Direction Direction // the direction of scans that do not say
	// Events the lane admits; nil means every event whose window is open.
	Events []string
	// Offline is what the lane does with an admission when the venue's hub
	// does not answer (in a venue only). Default OfflineDeny: fail closed.
	Offline OfflinePolicy
	// From and To are the zones a scan in the lane's direction moves
	// between (Outside is the world beyond the venue); both "" for a lane
	// without zones. See Move.
	From, To string
	// Rule is the lane's compiled entry rule, nil for none: a scan the
	// decision order would admit through the lane is refused unless it holds.
	Rule Rule
}

// Scan returns a scan of barcode at this lane at t, in the lane's direction,
// carrying the lane's policy.
func (l *Lane) Scan(barcode string, at time.Time) Scan {
	return Scan{Barcode: barcode, Lane: l.ID, Direction: l.Direction, At: at, LaneEvents: l.Events,
		Offline: l.Offline, Zones: l.Inward(), LaneRule: l.Rule}
}

// EventSet is an immutable set of events, as the index keeps them in memory.
// It is safe for concurrent use; build a new one to change it.
type EventSet struct {
	byID map[string]Event
	all  []Event // sorted by id
}

// NewEventSet returns a set of the given events. A later duplicate id wins.
func NewEventSet(events ...Event) *EventSet {
	s := &EventSet{byID: make(map[string]Event, len(events))}
	for _, e := range events {
		s.byID[e.ID] = e
	}
	s.all = make([]Event, 0, len(s.byID))
	for _, e := range s.byID {
		s.all = append(s.all, e)
	}
	slices.SortFunc(s.all, func(a, b Event) int {
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
	return s
}

// Get returns the event with id.
func (s *EventSet) Get(id string) (Event, bool) {
	if s == nil {
		return Event{}, false
	}
	e, ok := s.byID[id]
	return e, ok
}

// All returns every event sorted by id. The slice must not be modified.
func (s *EventSet) All() []Event {
	if s == nil {
		return nil
	}
	return s.all
}

// With returns a new set with e added or replaced.
func (s *EventSet) With(e Event) *EventSet {
	events := append(slices.Clone(s.All()), e)
	return NewEventSet(events...)
}

// Len returns the number of events.
func (s *EventSet) Len() int {
	if s == nil {
		return 0
	}
	return len(s.all)
}

// EventsFor returns the events a ticket may use at a lane, before windows:
// the lane's configured events the ticket admits to, or, for a lane without a
// list, every event the ticket admits to. Events missing from the set are
// skipped. The order follows the lane's list, else the ticket's list, then
// period-pass events by id.
func EventsFor(laneEvents []string, t *Ticket, events *EventSet) []Event {
	var out []Event
	if laneEvents != nil {
		for _, id := range laneEvents {
			if e, ok := events.Get(id); ok && t.AdmitsTo(e) {
				out = append(out, e)
			}
		}
		return out
	}
	for _, id := range t.Events {
		if e, ok := events.Get(id); ok {
			out = append(out, e)
		}
	}
	if !t.Period.IsZero() {
		for _, e := range events.All() {
			if t.Period.Covers(e) && !slices.Contains(t.Events, e.ID) {
				out = append(out, e)
			}
		}
	}
	return out
}
