package main

import (
	"context"
	"strconv"
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/venue"
)

// screen is what the venue does to a scan before the store decides it: an
// admission is refused as stale_data while the appliance catches up with
// the changes it missed (its sets may lack a cancellation), and when the
// lane's max_lag refuses data as old as this appliance's. The refusal goes
// through the store (gate.Scan.Deny), so it is journaled like any other.
// Exits are never held back. It reads atomics only; nothing is allocated
// unless it refuses.
func (v *venueRun) screen(s *gate.Scan) {
	if s.Deny != 0 || s.Direction == gate.Out {
		return
	}
	if err := v.app.CatchingUp(); err != nil {
		s.Deny, s.Detail = gate.ReasonStaleData, "this appliance is "+gate.ErrorMessage(err)+" (the venue's changes it missed); admissions wait until it has them"
		return
	}
	p := v.policy(s.Lane).lag
	if p.MaxLag == 0 {
		return
	}
	if verdict, age := v.app.CheckLag(p, time.Now()); verdict == gate.LagRefuse {
		s.Deny, s.Detail = gate.ReasonStaleData, gate.StaleDetail(age, p.MaxLag)
	}
}

// venueLanes is the lanes' gate.Validator in a venue: the store's, each
// scan screened first (screen). Built before the venue is open, it passes
// scans as they are until then (the store refuses them: not open).
type venueLanes struct {
	inner laneValidator
	slot  *venueSlot
}

var (
	_ gate.Validator   = venueLanes{}
	_ gate.Overrider   = venueLanes{}
	_ gate.Validator   = (*venueAPI)(nil)
	_ gate.Overrider   = (*venueAPI)(nil)
	_ gate.ZoneMonitor = (*venueAPI)(nil)
)

func (l venueLanes) Scan(ctx context.Context, s gate.Scan) gate.Decision {
	if v := l.slot.get(); v != nil {
		v.screen(&s)
	}
	return l.inner.Scan(ctx, s)
}

func (l venueLanes) Check(ctx context.Context, s gate.Scan) gate.Decision {
	if v := l.slot.get(); v != nil {
		v.screen(&s)
	}
	return l.inner.Check(ctx, s)
}

func (l venueLanes) Annul(ctx context.Context, seq uint64, by string) (gate.JournalEntry, error) {
	return l.inner.Annul(ctx, seq, by)
}

func (l venueLanes) Override(ctx context.Context, req gate.OverrideRequest) (gate.Decision, error) {
	return l.inner.Override(ctx, req)
}

// venueAPI is the index as the API sees it in a venue: changes go through
// the hub (venue.Publisher.Index), scans are screened like the lanes', and
// what the API asks of the local store beyond gate.Index (overrides, zones)
// goes to it.
type venueAPI struct {
	gate.Index // the Publisher's view of the local store
	v          *venueRun
}

func (a *venueAPI) Scan(ctx context.Context, s gate.Scan) gate.Decision {
	a.v.screen(&s)
	return a.Index.Scan(ctx, s)
}

func (a *venueAPI) Check(ctx context.Context, s gate.Scan) gate.Decision {
	a.v.screen(&s)
	return a.Index.Check(ctx, s)
}

func (a *venueAPI) Override(ctx context.Context, req gate.OverrideRequest) (gate.Decision, error) {
	return a.v.ix.Override(ctx, req)
}

func (a *venueAPI) Zones(series bool) []gate.ZoneStatus { return a.v.ix.Zones(series) }

func (a *venueAPI) Overrides(ctx context.Context, event string) ([]gate.JournalEntry, error) {
	return a.v.ix.Overrides(ctx, event)
}

// laneStates fills in each lane's venue state (GET /v1/lanes).
func (v *venueRun) laneStates(sts []gate.LaneStatus) {
	now := time.Now()
	catching := v.app.CatchingUp()
	st := v.red.Status()
	stopped := v.app.Stopped()
	age := v.app.Age(now)
	up := st.Link.State == venue.StateUp
	for i := range sts {
		p := v.policy(sts[i].ID)
		lv := &gate.LaneVenue{State: gate.LaneOnline, Offline: p.offline, MaxLagSeconds: p.lag.MaxLag.Seconds(),
			DataAgeSeconds: age.Seconds()}
		if p.lag.MaxLag > 0 {
			lv.OnMaxLag = map[bool]string{true: "refuse", false: "warn"}[p.lag.Refuse]
		}
		verdict := p.lag.Check(age)
		switch {
		case st.Failing != "":
			lv.State, lv.Detail = gate.LaneFailing, st.Failing+": admissions are refused until an operator acts (GET /v1/venue)"
		case catching != nil:
			lv.State, lv.Detail = gate.LaneCatchingUp, gate.ErrorMessage(catching)+": admissions are refused until then"
		case verdict == gate.LagRefuse:
			lv.State, lv.Detail = gate.LaneStaleData, gate.StaleDetail(age, p.lag.MaxLag)+": admissions are refused"
		case !up:
			lv.State = gate.LaneOffline
			if p.offline == gate.OfflineAdmit {
				lv.Detail = "the venue hub does not answer: admissions are decided by this appliance's own data (offline = admit) and replayed at the hub later"
			} else {
				lv.Detail = "the venue hub does not answer: admissions are refused (offline = deny)"
			}
			if verdict == gate.LagWarn {
				lv.Detail += "; " + gate.StaleDetail(age, p.lag.MaxLag) + " (on_max_lag = warn: scans go on)"
			}
		case verdict == gate.LagWarn:
			lv.State, lv.Detail = gate.LaneStaleData, gate.StaleDetail(age, p.lag.MaxLag)+" (on_max_lag = warn: scans go on)"
		}
		if stopped != nil && lv.State == gate.LaneOnline {
			lv.Detail = "the venue's changes stopped at position " + strconv.FormatUint(stopped.Position, 10) + ": the data ages until an operator retries or skips it"
		}
		sts[i].Venue = lv
	}
}
