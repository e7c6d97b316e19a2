package main

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/httpapi"
	"github.com/admitgate/admit/venue"
)

// seenAppliance is an appliance the hub has shown, as last seen.
type seenAppliance struct {
	a  httpapi.VenueAppliance
	up bool // listed at the hub's last answer
}

// venueControl is httpapi.VenueControl over the running venue.
type venueControl struct{ slot *venueSlot }

var _ httpapi.VenueControl = venueControl{}

func (c venueControl) run() (*venueRun, error) {
	v := c.slot.get()
	if v == nil {
		return nil, gate.Errorf(gate.EUNAVAILABLE, "the venue link is opening")
	}
	return v, nil
}

// Appliance implements httpapi.VenueControl.
func (c venueControl) Appliance() string {
	if v := c.slot.get(); v != nil {
		return v.id
	}
	return ""
}

// Status implements httpapi.VenueControl.
func (c venueControl) Status(ctx context.Context) httpapi.VenueStatus {
	v, err := c.run()
	if err != nil {
		return httpapi.VenueStatus{At: time.Now().UTC(), Link: httpapi.VenueLink{State: venue.StateConnecting, LastError: gate.ErrorMessage(err)}}
	}
	return v.status(ctx)
}

// DoubleEntries implements httpapi.VenueControl.
func (c venueControl) DoubleEntries(ctx context.Context) ([]httpapi.VenueDoubleEntry, error) {
	v, err := c.run()
	if err != nil {
		return nil, err
	}
	list, err := v.red.DoubleEntries(ctx)
	switch {
	case errors.Is(err, venue.ErrRefused):
		return nil, gate.Errorf(gate.EUNAVAILABLE, "the venue hub refuses this appliance: the double entries are kept there")
	case err != nil && (errors.Is(err, venue.ErrOffline) || errors.Is(err, venue.ErrClosed) || errors.Is(err, context.DeadlineExceeded)):
		return nil, gate.Errorf(gate.EUNAVAILABLE, "the venue hub does not answer: the double entries are kept there")
	case err != nil:
		return nil, err
	}
	out := make([]httpapi.VenueDoubleEntry, 0, len(list))
	for _, d := range list {
		out = append(out, httpapi.VenueDoubleEntry{Event: d.Event, Ticket: d.Ticket, Hub: d.Hub, Offline: d.Offline,
			Reason: d.Reason, RecordedAt: d.RecordedAt})
	}
	return out, nil
}

// SkipRedemption implements httpapi.VenueControl.
func (c venueControl) SkipRedemption(ctx context.Context, rev uint64, by string) error {
	v, err := c.run()
	if err != nil {
		return err
	}
	if err := v.red.SkipBadValue(ctx, rev); err != nil {
		return err
	}
	v.log.Warn().Str("by", by).Uint64("revision", rev).Msg("learning skipped a hub redemption that does not decode")
	return nil
}

// RetryChanges implements httpapi.VenueControl.
func (c venueControl) RetryChanges(ctx context.Context, by string) error {
	v, err := c.run()
	if err != nil {
		return err
	}
	st := v.app.Stopped()
	if st == nil {
		return gate.Errorf(gate.ECONFLICT, "the venue's changes are not stopped: there is nothing to retry")
	}
	v.log.Info().Str("by", by).Uint64("position", st.Position).Msg("an operator retries the change the venue's changes stopped at")
	v.app.Retry()
	return nil
}

// SkipChange implements httpapi.VenueControl.
func (c venueControl) SkipChange(ctx context.Context, pos uint64, by string) error {
	v, err := c.run()
	if err != nil {
		return err
	}
	return v.app.Skip(ctx, pos, by)
}

// status is GET /v1/venue: the parts' states (atomics and locks), then what
// only the hub can say (the appliances, the leader), bounded by ctx.
func (v *venueRun) status(ctx context.Context) httpapi.VenueStatus {
	now := time.Now()
	rs := v.red.Status()
	cs := v.app.Status()
	ls := rs.Link
	out := httpapi.VenueStatus{Appliance: v.id, At: now.UTC(),
		Link: httpapi.VenueLink{State: ls.State, HubReachable: ls.State == venue.StateUp, Since: ls.Since, Server: ls.ServerURL,
			RTTMs: ms(ls.RTT), LastClaimMs: ms(ls.LastClaim), Reconnects: ls.Reconnects, LastError: ls.LastError,
			LastErrorAt: ls.LastErrAt, Refused: ls.Refused},
		Redemptions: httpapi.VenueRedemptions{Learned: rs.Learned, HubLast: rs.HubLast, Lag: rs.Lag, LearnedAt: rs.LearnedAt,
			HubAt: rs.HubAt, WaitingForTicket: rs.WaitingForTicket, LearnError: rs.LearnError, Failing: rs.Failing,
			FailingAt: rs.FailingAt, Won: rs.Won, Lost: rs.Lost, Offline: rs.Offline, Failed: rs.Failed, Released: rs.Released},
		Offline: httpapi.VenueOffline{Waiting: rs.OfflineWaiting, Replayed: rs.Replayed, ReplayError: rs.ReplayError},
		Doubles: httpapi.VenueDoubleCounts{Total: rs.DoubleEntries, Here: rs.DoubleEntriesHere},
		Changes: httpapi.VenueChanges{State: cs.State, Applied: cs.Applied, Last: cs.Last, Behind: cs.Behind,
			DataAgeSeconds: cs.Age.Seconds(), OldestSeconds: cs.OldestAge.Seconds(), AsOf: cs.AsOf, HubSeen: cs.HubSeen,
			CatchUp: cs.CatchUp, Applying: cs.Applying, LastError: cs.LastError, LastErrorAt: cs.LastErrorAt},
	}
	if s := cs.Stopped; s != nil {
		out.Changes.Stopped = &httpapi.VenueStop{Position: s.Position, ChangeID: s.ChangeID, Kind: string(s.Kind), Error: s.Error, At: s.At}
	}
	fresh := false
	if ls.State == venue.StateUp {
		out.Hub = v.hubHealth(ctx)
		if list, err := v.link.Appliances(ctx); err == nil {
			v.sawAppliances(list)
			fresh = true
		} else if out.Hub.Error == "" {
			out.Hub.Error = "the appliances: " + err.Error()
		}
	} else {
		out.Hub.Error = "the link is " + ls.State
		if ls.LastError != "" {
			out.Hub.Error += ": " + ls.LastError
		}
	}
	out.Appliances = v.appliances(fresh)
	return out
}

// hubHealth asks the hub who leads the redemptions and whether the other
// nodes are current: the leader is the node whose loss stalls claims.
func (v *venueRun) hubHealth(ctx context.Context) httpapi.VenueHub {
	s, err := v.link.JetStream().Stream(ctx, "KV_"+venue.BucketRedemptions)
	if err != nil {
		return httpapi.VenueHub{Error: err.Error()}
	}
	h := httpapi.VenueHub{Reachable: true}
	if ci := s.CachedInfo().Cluster; ci != nil {
		h.Leader = ci.Leader
		for _, r := range ci.Replicas {
			if r != nil {
				h.Replicas = append(h.Replicas, httpapi.VenueHubReplica{Name: r.Name, Current: r.Current && !r.Offline, Lag: r.Lag})
			}
		}
	}
	return h
}

// sawAppliances records the appliances whose presence is live at the hub
// now: those listed are up, those seen before and not listed down.
func (v *venueRun) sawAppliances(list []venue.Appliance) {
	v.seenMu.Lock()
	defer v.seenMu.Unlock()
	for id, s := range v.seen {
		s.up = false
		v.seen[id] = s
	}
	for _, a := range list {
		lanes := a.Lanes
		if lanes == nil {
			lanes = []string{}
		}
		v.seen[a.ID] = seenAppliance{up: true, a: httpapi.VenueAppliance{ID: a.ID, LastHeard: a.LastHeard, Lanes: lanes,
			Version: a.Version, Started: a.Started}}
	}
}

// appliances are those seen, by id, as the hub showed them at its last
// answer; fresh says that answer is this status's (else Stale: the hub
// did not answer now).
func (v *venueRun) appliances(fresh bool) []httpapi.VenueAppliance {
	v.seenMu.Lock()
	defer v.seenMu.Unlock()
	if _, ok := v.seen[v.id]; !ok {
		v.seen[v.id] = seenAppliance{a: httpapi.VenueAppliance{ID: v.id, Lanes: []string{}}}
	}
	out := make([]httpapi.VenueAppliance, 0, len(v.seen))
	for id, s := range v.seen {
		a := s.a
		a.This, a.Up, a.Stale = id == v.id, s.up, !fresh
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b httpapi.VenueAppliance) int { return strings.Compare(a.ID, b.ID) })
	return out
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// venueCollector exports the venue's state on /metrics, read at each
// scrape from the parts' own status (no hub round trip).
type venueCollector struct {
	slot                                                    *venueSlot
	connected, claims, claimSec, waiting, doubles, learnLag *prometheus.Desc
	behind, age, stopped, failing, catchingUp, doublesHere  *prometheus.Desc
}

func newVenueCollector(slot *venueSlot) *venueCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("admit_venue_"+name, help, labels, nil)
	}
	return &venueCollector{slot: slot,
		connected:   d("hub_connected", "1 while this appliance's link to the venue hub is up (claims go to the hub); 0: the lanes' offline policy decides."),
		claims:      d("claims_total", "First uses (and exits, annulments) claimed at the hub since the start, by outcome: won, lost, offline, failed.", "outcome"),
		claimSec:    d("claim_seconds", "The last claim's round trip to the hub."),
		waiting:     d("offline_waiting", "Admissions (and exits, annulments) made while the hub did not answer, waiting for their replay."),
		doubles:     d("double_entries_total", "Double entries recorded at the hub, venue-wide: offline admissions whose entry another appliance had spent."),
		doublesHere: d("double_entries_here_total", "Double entries this appliance's replays found since it started."),
		learnLag:    d("learn_lag", "The hub's redemption writes this appliance has not learned yet."),
		behind:      d("changes_behind", "The venue's changes at the hub not applied here yet."),
		age:         d("data_age_seconds", "How old this appliance's copy of the venue's data is: every change the hub held this long ago is applied here."),
		stopped:     d("changes_stopped", "1 while applying the venue's changes is stopped at one an operator must retry or skip (GET /v1/venue)."),
		failing:     d("failing", "1 while scans that need the hub fail closed because the venue is wrong (a refused link, a hub value that does not decode)."),
		catchingUp:  d("catching_up", "1 while this appliance catches up with the venue's changes it missed (admissions wait)."),
	}
}

func (c *venueCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.connected, c.claims, c.claimSec, c.waiting, c.doubles, c.doublesHere, c.learnLag,
		c.behind, c.age, c.stopped, c.failing, c.catchingUp} {
		ch <- d
	}
}

func (c *venueCollector) Collect(ch chan<- prometheus.Metric) {
	v := c.slot.get()
	gauge := func(d *prometheus.Desc, x float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, x, labels...)
	}
	counter := func(d *prometheus.Desc, x float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, x, labels...)
	}
	if v == nil {
		gauge(c.connected, 0)
		return
	}
	rs := v.red.Status()
	cs := v.app.Status()
	gauge(c.connected, b2f(rs.Link.State == venue.StateUp))
	for _, o := range []struct {
		name string
		n    uint64
	}{{"won", rs.Won}, {"lost", rs.Lost}, {"offline", rs.Offline}, {"failed", rs.Failed}} {
		counter(c.claims, float64(o.n), o.name)
	}
	gauge(c.claimSec, rs.Link.LastClaim.Seconds())
	gauge(c.waiting, float64(rs.OfflineWaiting))
	counter(c.doubles, float64(rs.DoubleEntries))
	counter(c.doublesHere, float64(rs.DoubleEntriesHere))
	gauge(c.learnLag, float64(rs.Lag))
	gauge(c.behind, float64(cs.Behind))
	gauge(c.age, cs.Age.Seconds())
	gauge(c.stopped, b2f(cs.Stopped != nil))
	gauge(c.failing, b2f(rs.Failing != ""))
	gauge(c.catchingUp, b2f(v.app.CatchingUp() != nil))
}
