package index

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/admitgate/admit/gate"
)

// Entry rules (docs/rules.md). An event's rule is compiled when the event is
// put (PutEvent refuses one that does not compile, saying where) and when
// the store opens, with Options.CompileRule: the index never imports the
// compiler. A lane's rule comes compiled in the scan (gate.Scan.LaneRule).
// Both are evaluated under the ticket's stripe once the decision order
// would admit a scan in (gate.Decide's ok or reentry, gate.DecideMove's
// ok), against the ticket, the scan, the event's dates and time zone and
// the ticket's earlier entries into the event (gate.Redemption.Entries, as
// read before this scan): a rule that does not hold refuses the scan with
// reason rule, its detail naming the rule ("event rule: ..." or "lane
// rule: ...") and the part that failed. Exits are never refused by a rule:
// every ticket may leave.

// eventRule is what the index keeps of an event for its rules: the
// compiled rule and the event's time zone.
type eventRule struct {
	rule gate.Rule      // nil: the event has none
	loc  *time.Location // the event's time zone, or the venue's
	bad  string         // a stored rule that no longer compiles: its scans in are refused with this
}

// eventRules are the events' rules by id, replaced whole by every change
// (under catMu) before the event set itself, so that a scan that sees an
// event sees its rule.
type eventRules struct {
	p atomic.Pointer[map[string]*eventRule]
}

func (r *eventRules) get(id string) *eventRule {
	if m := r.p.Load(); m != nil {
		return (*m)[id]
	}
	return nil
}

// compileEvent compiles e's rule and finds its time zone: EINVALID, with
// the position of the fault, for a rule that does not compile.
func (ix *Index) compileEvent(e *gate.Event) (*eventRule, error) {
	er := &eventRule{loc: ix.opts.Location}
	if e.TimeZone != "" {
		loc, err := gate.LoadLocation(e.TimeZone)
		if err != nil {
			return nil, gate.Errorf(gate.EINVALID, "event %s time_zone: %s", e.ID, gate.ErrorMessage(err))
		}
		er.loc = loc
	}
	if e.Rule == "" {
		return er, nil
	}
	if ix.opts.CompileRule == nil {
		return nil, gate.Errorf(gate.EINVALID, "event %s has a rule, and this ticket store was opened without a rule compiler", e.ID)
	}
	r, err := ix.opts.CompileRule([]byte(e.Rule))
	if err != nil {
		return nil, gate.Errorf(gate.EINVALID, "event %s rule: %s", e.ID, gate.ErrorMessage(err))
	}
	er.rule = r
	return er, nil
}

// setEventRule publishes the rule of one event (catMu is held).
func (ix *Index) setEventRule(id string, er *eventRule) {
	next := map[string]*eventRule{}
	if m := ix.rules.p.Load(); m != nil {
		for k, v := range *m {
			next[k] = v
		}
	}
	next[id] = er
	ix.rules.p.Store(&next)
}

// loadEventRules compiles the rules of the stored events (at Open and after
// a recovery). A rule that no longer compiles is logged, and its event
// refuses every scan in with reason rule until the event is put again.
func (ix *Index) loadEventRules(events []gate.Event) {
	m := make(map[string]*eventRule, len(events))
	for i := range events {
		e := &events[i]
		er, err := ix.compileEvent(e)
		if err != nil {
			msg := gate.ErrorMessage(err)
			ix.log.Error().Str("event", e.ID).Str("error", msg).Msg("the event's stored rule does not compile; its scans in are refused until it is put again")
			er = &eventRule{loc: ix.opts.Location, bad: "the event's rule does not compile: " + msg}
		}
		m[e.ID] = er
	}
	ix.rules.p.Store(&m)
}

// checkRules refuses an admission in (out) whose event's or lane's rule
// does not hold: the outcome becomes a refusal with reason rule that writes
// nothing. zone is the zone the passage leads into ("" without zones). It
// costs nothing when neither the event nor the lane has a rule.
func (ix *Index) checkRules(sc *scratch, rec *ticketRec, rs []gate.Redemption, out *gate.Outcome, events *gate.EventSet, zone string) {
	d := &out.Decision
	s := &sc.scan
	if !d.Admit || s.Direction != gate.In || d.Reason == gate.ReasonOverride {
		return
	}
	evID := d.Event
	if evID == "" {
		evID = out.Redemption.Event // an inner move: the event it was checked against
	}
	er := ix.rules.get(evID)
	if (er == nil || er.rule == nil && er.bad == "") && s.LaneRule == nil {
		return
	}
	if er != nil && er.bad != "" {
		refuseOutcome(out, gate.ReasonRule, er.bad)
		return
	}
	loc := ix.opts.Location
	if er != nil {
		loc = er.loc
	}
	var entries []time.Time
	if r := findRed(rs, evID); r != nil {
		entries = r.Entries
	}
	ev, _ := events.Get(evID)
	sc.facts = ev.Facts(&rec.T, s, loc, entries)
	sc.facts.Zone = zone
	if er != nil && er.rule != nil {
		if ok, why := er.rule.Eval(&sc.facts); !ok {
			refuseOutcome(out, gate.ReasonRule, "event rule: "+why)
			return
		}
	}
	if s.LaneRule != nil {
		if ok, why := s.LaneRule.Eval(&sc.facts); !ok {
			refuseOutcome(out, gate.ReasonRule, fmt.Sprintf("lane %s rule: %s", s.Lane, why))
		}
	}
}

// refuseOutcome turns an admission into a refusal for reason r that writes
// nothing; the event, ticket and sequence number stay.
func refuseOutcome(out *gate.Outcome, r gate.Reason, detail string) {
	out.Write = false
	out.Redemption = gate.Redemption{}
	d := &out.Decision
	d.Admit, d.Reason, d.Detail = false, r, detail
}

// decideScan is gate's decision for a scan of a known ticket: gate.Decide,
// or gate.DecideMove for a move between two zones inside the venue.
func decideScan(in gate.Input) gate.Outcome {
	if in.Scan.Zones.Inner() {
		return gate.DecideMove(in)
	}
	return gate.Decide(in)
}
