package turnstile

import "github.com/admitgate/admit/gate"

// Configured is a lane as a (reloaded) configuration describes it: its
// policy, and its hardware settings as LaneSpec.Hardware gives them, ""
// for a lane without hardware (its scans come over the API alone).
type Configured struct {
	Lane     gate.Lane
	Hardware string
}

// Wait says what of a lane's new configuration waits for a restart: a
// running set keeps its hardware, and only a lane's policy (name,
// direction, events) changes in place.
type Wait int

// What waits.
const (
	WaitNothing  Wait = iota // the lane is as configured
	WaitHardware             // its hardware settings changed: it keeps running on the old ones, with the new policy
	WaitRemoved              // it is no longer configured: it keeps running
	WaitNew                  // it is new and names hardware: it is not served until then
	WaitDriven               // it named no hardware when the set started: it is served without until then
)

// Planned is one lane of a Plan.
type Planned struct {
	Policy gate.Lane
	// Lane is the set's lane that serves it; nil for a lane the set does
	// not run (its scans go to the index directly).
	Lane *Lane
	Wait Wait
}

// Plan is what reloading a configuration does to a set: made by Set.Plan,
// carried out by Set.Apply.
type Plan struct {
	// Lanes are the configured lanes in order, then the running lanes the
	// configuration no longer names (WaitRemoved). Those with WaitNew are
	// not served.
	Lanes []Planned

	apiOnly map[string]bool
}

// Plan maps a configuration's lanes onto the set: lanes the set runs keep
// their hardware and take the new policy; lanes without hardware come and
// go; what needs a restart is marked. A set that has not started yet runs
// exactly the lanes it was given, so nothing waits for it. Plan changes
// nothing: Apply does.
func (s *Set) Plan(lanes []Configured) *Plan {
	s.run.Lock()
	defer s.run.Unlock()
	p := &Plan{apiOnly: map[string]bool{}}
	seen := map[string]bool{}
	for _, c := range lanes {
		seen[c.Lane.ID] = true
		if m := s.byID[c.Lane.ID]; m != nil {
			w := WaitNothing
			if m.hardware != c.Hardware {
				w = WaitHardware
			}
			p.Lanes = append(p.Lanes, Planned{Policy: c.Lane, Lane: m.lane, Wait: w})
			continue
		}
		w := WaitNothing
		if c.Hardware != "" && s.started {
			if !s.apiOnly[c.Lane.ID] {
				p.Lanes = append(p.Lanes, Planned{Policy: c.Lane, Wait: WaitNew})
				continue
			}
			w = WaitDriven
		}
		p.Lanes = append(p.Lanes, Planned{Policy: c.Lane, Wait: w})
		p.apiOnly[c.Lane.ID] = true
	}
	for _, m := range s.members {
		if !seen[m.lane.ID()] {
			p.Lanes = append(p.Lanes, Planned{Policy: m.lane.Policy(), Lane: m.lane, Wait: WaitRemoved})
		}
	}
	return p
}

// Apply carries out a plan: every running lane takes its new policy.
func (s *Set) Apply(p *Plan) {
	s.run.Lock()
	defer s.run.Unlock()
	for _, pl := range p.Lanes {
		if pl.Lane != nil && pl.Wait != WaitRemoved {
			pl.Lane.setPolicy(pl.Policy)
		}
	}
	s.apiOnly = p.apiOnly
}
