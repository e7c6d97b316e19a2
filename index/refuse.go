package index

import (
	"time"

	"github.com/admitgate/admit/gate"
)

// Refusals are numbered at once and journaled by the background writer
// (see journal.go); each is counted in the reports against its event, or,
// when it names none, against the lane's events or every event open at the
// scan's time. The event lists are cached and shared, so a flood of
// refusals allocates nothing for them.

// refuseMaybe refuses (journaling it) when c redeems, else only answers.
func (ix *Index) refuseMaybe(c *scanCall, r gate.Reason, det string) (gate.Decision, bool) {
	if !c.write {
		return c.s.Refusal(r, det), false
	}
	return ix.refuse(c, r, det, 0, nil)
}

// enterScan enters the index for a scan (see enter). When it cannot, ok is
// false and d and full are the scan's answer: a closed store's refusal,
// never journaled, or a faulted store's.
func (ix *Index) enterScan(c *scanCall) (d gate.Decision, full, ok bool) {
	err := ix.enter()
	switch {
	case err == nil:
		return gate.Decision{}, false, true
	case err == ErrClosed:
		return c.s.Refusal(gate.ReasonError, "the ticket store is closed"), false, false
	}
	d, full = ix.refuseMaybe(c, gate.ReasonError, faultDetail(err))
	return d, full, false
}

// refuse assigns the next sequence to a refusal, counts it and queues it for
// the background journal writer, in the backlog slot c holds or a free one.
// With neither it returns full and takes no sequence number, unless the
// store is faulted: nothing drains then, so the refusal is answered at once
// without a journal entry (Seq 0; Stats.Unjournaled) rather than wait.
func (ix *Index) refuse(c *scanCall, r gate.Reason, det string, key uint64, info *gate.TicketInfo) (gate.Decision, bool) {
	if !c.slot {
		if !ix.jw.tryReserve() {
			if ix.faulted.Load() {
				return ix.refuseUnjournaled(c.s, r, det, info), false
			}
			return gate.Decision{}, true
		}
		c.slot = true
	}
	s := c.s
	d := s.Refusal(r, det)
	d.Ticket = info
	d.Seq = ix.seq.Add(1)
	se := entryOf(s, d, key)
	se.Events = ix.denialEvents(s, &d, ix.events.Load())
	ix.ctrs().denied(&d, se.Events)
	ix.queueEntry(se, c)
	ix.noteDecision(s, &d, key)
	return d, false
}

// refuseUnjournaled answers a refusal that can be neither journaled nor wait.
func (ix *Index) refuseUnjournaled(s *gate.Scan, r gate.Reason, det string, info *gate.TicketInfo) gate.Decision {
	ix.unjournaled.Add(1)
	const note = "not journaled: the ticket store is faulted and its journal backlog is full"
	if det == "" {
		det = note
	} else {
		det += "; " + note
	}
	d := s.Refusal(r, det)
	d.Ticket = info
	return d
}

// denialEvents returns the events a refusal counts against: its event, or
// the lane's configured events, or every event open at the scan's time.
func (ix *Index) denialEvents(s *gate.Scan, d *gate.Decision, events *gate.EventSet) []string {
	if d.Admit {
		return nil
	}
	if d.Event != "" {
		return ix.eventIDs(events, d.Event)
	}
	if s.LaneEvents != nil {
		return s.LaneEvents
	}
	return ix.openEvents(events, s.At)
}

// idSlices holds, for one event set, a one-element slice of each event's
// id, shared (never modified) so that refusals do not allocate one each.
type idSlices struct {
	set *gate.EventSet
	ids map[string][]string
}

// eventIDs returns []string{id}.
func (ix *Index) eventIDs(events *gate.EventSet, id string) []string {
	c := ix.ids.Load()
	if c == nil || c.set != events {
		c = &idSlices{set: events, ids: map[string][]string{}}
		for _, e := range events.All() {
			c.ids[e.ID] = []string{e.ID}
		}
		ix.ids.Store(c)
	}
	if ids, ok := c.ids[id]; ok {
		return ids
	}
	return []string{id}
}

// openSet is the events open during [from, until), for one event set.
type openSet struct {
	set         *gate.EventSet
	from, until time.Time // zero: unbounded
	ids         []string  // shared, never modified
}

// openEvents returns the ids of the events open at t. The answer is cached
// for as long as no window opens or closes, so a flood of unknown barcodes
// at a lane without a list allocates nothing for it.
func (ix *Index) openEvents(events *gate.EventSet, t time.Time) []string {
	if c := ix.open.Load(); c != nil && c.set == events && (c.from.IsZero() || !t.Before(c.from)) &&
		(c.until.IsZero() || t.Before(c.until)) {
		return c.ids
	}
	c := &openSet{set: events}
	for _, e := range events.All() {
		if e.WindowAt(t) == gate.WindowOpen {
			c.ids = append(c.ids, e.ID)
		}
		for _, b := range [2]time.Time{e.OpensAt, e.ClosesAt} {
			switch {
			case b.IsZero():
			case b.After(t):
				if c.until.IsZero() || b.Before(c.until) {
					c.until = b
				}
			default:
				if c.from.IsZero() || b.After(c.from) {
					c.from = b
				}
			}
		}
	}
	ix.open.Store(c)
	return c.ids
}
