package gate

import "time"

// Input is what Decide needs about one scan of a ticket the index found.
type Input struct {
	Scan        *Scan
	Ticket      *Ticket
	Redemptions []Redemption // the ticket's redemptions, any order
	Events      *EventSet    // the events the appliance knows
	Seq         uint64       // the journal sequence the decision will carry
	Appliance   string       // this appliance's id, kept in every movement
}

// Outcome is a decision and, when it changes a redemption, the new state of
// that redemption for the index to write durably before answering.
type Outcome struct {
	Decision   Decision
	Write      bool       // Redemption must be stored
	Redemption Redemption // the new state of the redemption for Decision.Event
}

// Decide applies steps 3 and 4 of the decision order to a known ticket: the
// ticket's state, the lane's events against the ticket's, the event windows,
// then entries and re-entry per (ticket, event). It is pure: the caller holds
// the ticket's lock across reading the inputs, Decide, and the durable write.
//
// Entering (In):
//   - a ticket that is not valid is refused with its state's reason;
//   - no event both the lane and the ticket admit to: wrong_event;
//   - none of those open at the scan's time: not_yet_valid if one is still to
//     open, else expired;
//   - for each open event in order, the first that admits wins: reentry when
//     the event allows it and the ticket has entered and left; ok while
//     admissions (plus one if used upstream) are below the event's entries;
//   - otherwise already_used, with the first admission of the first event.
//
// Leaving (Out): every known ticket may leave, whatever its state; the exit is
// recorded on an event the ticket is inside (preferring the lane's events).
func Decide(in Input) Outcome {
	s, t := in.Scan, in.Ticket
	d := s.Refusal(0, "")
	d.Seq = in.Seq
	d.Ticket = t.Info()
	move := Movement{At: s.At, Lane: s.Lane, Seq: in.Seq, Appliance: in.Appliance}

	if s.Direction == Out {
		return decideExit(in, d, move)
	}

	candidates, reason := candidatesFor(in)
	if reason != 0 {
		d.Reason = reason
		return Outcome{Decision: d}
	}

	var refusal *Outcome
	var shut shutEvents
	for i := range candidates {
		e := &candidates[i]
		if !shut.open(e, s.At) {
			continue
		}
		r := findRedemption(in.Redemptions, e.ID)
		d.Event = e.ID
		used := r.Admissions
		if t.UsedUpstream {
			used++
		}
		switch {
		case e.Reentry && !r.Inside && r.Admissions > 0:
			r.Reentries++
			r.arrive(move)
			d.Admit, d.Reason = true, ReasonReentry
			return Outcome{Decision: d, Write: true, Redemption: r}
		case used < e.AllowedEntries():
			r.admit(move)
			d.Admit, d.Reason = true, ReasonOK
			return Outcome{Decision: d, Write: true, Redemption: r}
		}
		if refusal == nil {
			first := r.First
			if r.Admissions == 0 && t.UsedUpstream {
				first = Movement{Lane: UpstreamLane}
			}
			refused := d
			refused.Reason = ReasonAlreadyUsed
			refused.FirstUsed = &first
			refusal = &Outcome{Decision: refused}
		}
	}
	if refusal != nil {
		return *refusal
	}
	return shut.refusal(d)
}

// candidatesFor returns the lane's events the ticket admits to, or the
// reason it is refused before any event is looked at: its state, or
// wrong_event.
func candidatesFor(in Input) ([]Event, Reason) {
	if r := in.Ticket.State.Reason(); r != 0 {
		return nil, r
	}
	c := EventsFor(in.Scan.LaneEvents, in.Ticket, in.Events)
	if len(c) == 0 {
		return nil, ReasonWrongEvent
	}
	return c, 0
}

// shutEvents keeps, of the candidate events not open at a scan, the one
// that opens first and the one that closed last: the refusal when none is
// open.
type shutEvents struct{ upcoming, closed *Event }

// open reports whether e is open at at, and keeps it when it is not.
func (sh *shutEvents) open(e *Event, at time.Time) bool {
	switch e.WindowAt(at) {
	case WindowBefore:
		if sh.upcoming == nil || e.OpensAt.Before(sh.upcoming.OpensAt) {
			sh.upcoming = e
		}
		return false
	case WindowAfter:
		if sh.closed == nil || e.ClosesAt.After(sh.closed.ClosesAt) {
			sh.closed = e
		}
		return false
	}
	return true
}

// refusal refuses d when no candidate was open: not_yet_valid for the
// event that opens first, else expired for the one that closed last.
func (sh *shutEvents) refusal(d Decision) Outcome {
	if sh.upcoming != nil {
		d.Event, d.Reason = sh.upcoming.ID, ReasonNotYetValid
		return Outcome{Decision: d}
	}
	d.Event, d.Reason = sh.closed.ID, ReasonExpired
	return Outcome{Decision: d}
}

// admit records an admission on r: the event's first, when it is, and the
// guest inside.
func (r *Redemption) admit(move Movement) {
	r.Admissions++
	if r.First.At.IsZero() && r.First.Lane == "" {
		r.First = move
	}
	r.arrive(move)
}

// arrive records the guest inside since move, an admission or a re-entry.
func (r *Redemption) arrive(move Movement) {
	r.Inside = true
	r.Last = move
	r.Entries = WithEntry(r.Entries, move.At)
}

func decideExit(in Input, d Decision, move Movement) Outcome {
	d.Admit, d.Reason = true, ReasonExit
	var inside *Redemption
	for _, e := range EventsFor(in.Scan.LaneEvents, in.Ticket, in.Events) {
		for i := range in.Redemptions {
			if r := &in.Redemptions[i]; r.Event == e.ID && r.Inside {
				inside = r
				break
			}
		}
		if inside != nil {
			break
		}
	}
	if inside == nil {
		for i := range in.Redemptions {
			if in.Redemptions[i].Inside {
				inside = &in.Redemptions[i]
				break
			}
		}
	}
	if inside == nil {
		return Outcome{Decision: d}
	}
	r := *inside
	r.Inside = false
	r.Exits++
	r.Last = move
	d.Event = r.Event
	return Outcome{Decision: d, Write: true, Redemption: r}
}

func findRedemption(rs []Redemption, event string) Redemption {
	for _, r := range rs {
		if r.Event == event {
			return r
		}
	}
	return Redemption{Event: event}
}

// Annul undoes the admission d made on r, for a turnstile that did not turn:
// an ok (or a supervisor's override that redeemed an entry) gives its entry
// back, a reentry and an exit are reversed. It returns
// ECONFLICT when d is not an admission or r no longer reflects it.
func Annul(r Redemption, d Decision) (Redemption, error) {
	switch d.Reason {
	case ReasonOK, ReasonOverride:
		if r.Admissions == 0 {
			return r, Errorf(ECONFLICT, "scan %d has no admission left to annul", d.Seq)
		}
		r.Admissions--
		if r.Admissions == 0 && r.Reentries == 0 {
			r.First = Movement{}
		}
		r.Inside = false
		r.Entries = withoutEntry(r.Entries, d.At)
	case ReasonReentry:
		if r.Reentries == 0 {
			return r, Errorf(ECONFLICT, "scan %d has no re-entry left to annul", d.Seq)
		}
		r.Reentries--
		r.Inside = false
		r.Entries = withoutEntry(r.Entries, d.At)
	case ReasonExit:
		if r.Exits == 0 {
			return r, Errorf(ECONFLICT, "scan %d has no exit left to annul", d.Seq)
		}
		r.Exits--
		r.Inside = true
	default:
		return r, Errorf(ECONFLICT, "scan %d was refused (%s); there is nothing to annul", d.Seq, d.Reason)
	}
	return r, nil
}

// withoutEntry returns entries without the latest entry at at (an annulled
// admission's), in a new array: the caller's copy may share entries'.
func withoutEntry(entries []time.Time, at time.Time) []time.Time {
	for i := len(entries) - 1; i >= 0; i-- {
		if entries[i].Equal(at) {
			out := make([]time.Time, 0, len(entries)-1)
			out = append(out, entries[:i]...)
			return append(out, entries[i+1:]...)
		}
	}
	return entries
}
