package main

// This file wires a venue into the daemon ([venue] in the configuration,
// venue_wiring.go): the link to the hub, the Redeemer (the index claims
// every first use at the hub through it), the Applier (the venue's changes,
// in the hub's order) and the Publisher (this appliance's changes go to the
// hub first). cmd only wires: what each part does is package venue's.
//
// Open order: the store, the link, the Redeemer attached to the store
// before any scan (UseVenue) and started, the Applier, the Publisher; then
// the API and the lanes. Close order: the API, the drop folders, the
// scanners and lanes, the catalog publisher, the Applier, the Redeemer,
// the link, the store.
//
// What the lanes see (venue_lanes.go): while the appliance catches up with
// the changes it missed, admissions are refused as decisions (stale_data,
// "catching up: ..."), not with a 503: the lanes stay closed, and the API
// keeps answering. A lane's max_lag refuses (or warns about) data older
// than it allows. A lane's offline policy rides on its gate.Lane into every
// scan, the API's included.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/importfile"
	"github.com/admitgate/admit/index"
	"github.com/admitgate/admit/venue"
)

// venueRun is a running venue: the parts and the lanes' venue policies.
type venueRun struct {
	id   string
	log  zerolog.Logger
	ix   *index.Index
	link *venue.Link
	red  *venue.Redeemer
	app  *venue.Applier
	pub  *venue.Publisher

	// policies are the lanes' venue policies by lane id, replaced whole at
	// SIGHUP.
	policies atomic.Pointer[map[string]lanePolicy]

	// seen are the appliances the hub has shown since the start, for
	// GET /v1/venue (one that stops is shown down, not forgotten).
	seenMu sync.Mutex
	seen   map[string]seenAppliance

	// after runs what waits for the catch-up (afterCatchUp) until close.
	afterCtx  context.Context
	afterStop context.CancelFunc
	afterWG   sync.WaitGroup

	// catalog publishes the configuration's providers and events through
	// the hub (catalog).
	catalogMu   sync.Mutex
	catalogStop context.CancelFunc
	catalogDone chan struct{}
}

// lanePolicy is what a venue does to one lane.
type lanePolicy struct {
	offline gate.OfflinePolicy
	lag     gate.LagPolicy
}

// venueSlot holds the running venue, nil until it is open: the lanes are
// built before it, and ask it at every scan.
type venueSlot struct {
	p atomic.Pointer[venueRun]
}

func (s *venueSlot) get() *venueRun {
	if s == nil {
		return nil
	}
	return s.p.Load()
}

// openVenue opens the link, attaches and starts the Redeemer, starts the
// Applier and makes the Publisher. A hub that does not answer within the
// link's connect timeout is no error (the appliance starts offline); a hub
// that refuses this appliance (its buckets do not have the venue's
// settings, another live appliance holds its id) is.
func openVenue(ctx context.Context, c *Config, ix *index.Index, local *importfile.Service, log zerolog.Logger) (_ *venueRun, err error) {
	v := &venueRun{id: c.applianceID(), log: log.With().Str("component", "venue").Logger(), ix: ix, seen: map[string]seenAppliance{}}
	v.afterCtx, v.afterStop = context.WithCancel(context.Background())
	v.setPolicies(c)
	tmp, err := c.venueTempDir()
	if err != nil {
		return nil, err
	}
	if v.link, err = venue.Open(ctx, c.linkConfig(), log); err != nil {
		return nil, fmt.Errorf("admit: venue: %w", err)
	}
	defer func() {
		if err != nil {
			_ = v.close()
		}
	}()
	v.red = venue.NewRedeemer(v.link, ix, venue.RedeemerConfig{ClaimTimeout: time.Duration(c.Venue.ClaimTimeout), Logger: log})
	if err := ix.UseVenue(v.red); err != nil {
		return nil, fmt.Errorf("admit: venue: %w", err)
	}
	v.red.Start()
	if v.app, err = venue.StartApplier(venue.ApplierConfig{Link: v.link, Store: ix, Importer: local, TempDir: tmp,
		StartWait: time.Duration(c.Venue.StartWait), Logger: log}); err != nil {
		return nil, fmt.Errorf("admit: venue: %w", err)
	}
	if v.pub, err = venue.NewPublisher(venue.PublisherConfig{Link: v.link, Applier: v.app, Local: local, TempDir: tmp, Logger: log}); err != nil {
		return nil, fmt.Errorf("admit: venue: %w", err)
	}
	st := v.link.Status()
	v.log.Info().Str("appliance", v.id).Str("link", st.State).Str("server", st.ServerURL).
		Int("offline_waiting", ix.OfflineWaiting()).Uint64("changes_applied", v.app.Applied()).Msg("venue open")
	return v, nil
}

// close stops the venue's parts in order: the catalog publisher, the
// Applier, the Redeemer, the link. The store is closed after it.
func (v *venueRun) close() error {
	v.afterStop()
	v.afterWG.Wait()
	v.stopCatalog()
	var errs []error
	if v.app != nil {
		errs = append(errs, v.app.Close())
	}
	if v.red != nil {
		errs = append(errs, v.red.Close())
	}
	if v.link != nil {
		errs = append(errs, v.link.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("admit: venue: %w", err)
	}
	return nil
}

// afterCatchUp runs fn once the appliance has caught up with the venue's
// changes, unless it closes first.
func (v *venueRun) afterCatchUp(fn func(ctx context.Context)) {
	v.afterWG.Add(1)
	go func() {
		defer v.afterWG.Done()
		for v.app.CatchingUp() != nil {
			select {
			case <-v.afterCtx.Done():
				return
			case <-time.After(200 * time.Millisecond):
			}
		}
		fn(v.afterCtx)
	}()
}

// setPolicies takes the lanes' venue policies from c.
func (v *venueRun) setPolicies(c *Config) {
	m := make(map[string]lanePolicy, len(c.Lanes))
	for i := range c.Lanes {
		l := &c.Lanes[i]
		m[l.ID] = lanePolicy{offline: l.offlinePolicy(), lag: l.lagPolicy()}
	}
	v.policies.Store(&m)
}

// policy is lane's venue policy (the zero one, deny and no max_lag, for a
// lane the configuration does not name).
func (v *venueRun) policy(lane string) lanePolicy {
	return (*v.policies.Load())[lane]
}

// publishCatalog publishes the configuration's providers and events that
// the store does not hold as written, through the hub, once the appliance
// has caught up, retrying while the hub does not take them: in a venue the
// catalog is the venue's, and every appliance applies it in the hub's
// order. It does not wait; a newer call replaces one still trying.
func (v *venueRun) publishCatalog(c *Config) {
	providers := slices.Clone(c.Providers)
	events := make([]gate.Event, 0, len(c.Events))
	for _, e := range c.Events {
		events = append(events, e.event())
	}
	if len(providers) == 0 && len(events) == 0 {
		return
	}
	v.stopCatalog()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	v.catalogMu.Lock()
	v.catalogStop, v.catalogDone = cancel, done
	v.catalogMu.Unlock()
	go func() {
		defer close(done)
		wait := 100 * time.Millisecond // the catch-up is often done at once
		for {
			err := v.app.CatchingUp()
			if err == nil {
				err = v.putCatalog(ctx, providers, events)
			}
			if err == nil || ctx.Err() != nil {
				return
			}
			v.log.Debug().Err(err).Dur("retry_in_ms", wait).Msg("the configuration's providers and events wait for the hub")
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
			wait = min(2*wait, 30*time.Second)
		}
	}()
}

func (v *venueRun) stopCatalog() {
	v.catalogMu.Lock()
	stop, done := v.catalogStop, v.catalogDone
	v.catalogStop, v.catalogDone = nil, nil
	v.catalogMu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
}

// putCatalog publishes what differs from the store. A change the venue
// refuses (a bad event) is logged and not tried again: the file is wrong.
func (v *venueRun) putCatalog(ctx context.Context, providers []ProviderConfig, events []gate.Event) error {
	ctx = gate.WithBy(ctx, "config:"+v.id)
	have, err := v.ix.Providers(ctx)
	if err != nil {
		return err
	}
	for _, p := range providers {
		name := p.Name
		if name == "" {
			name = p.ID
		}
		if slices.ContainsFunc(have, func(h gate.Provider) bool { return h.ID == p.ID && h.Name == name }) {
			continue
		}
		if _, err := v.pub.PutProvider(ctx, gate.Provider{ID: p.ID, Name: p.Name}); err != nil {
			if gate.IsChangeRefusal(err) {
				v.log.Error().Err(err).Str("provider", p.ID).Msg("the venue refused a provider of the configuration")
				continue
			}
			return err
		}
		v.log.Info().Str("provider", p.ID).Msg("provider of the configuration published to the venue")
	}
	evs, err := v.ix.Events(ctx)
	if err != nil {
		return err
	}
	for _, e := range events {
		if slices.ContainsFunc(evs, func(h gate.Event) bool { return sameEvent(h, e) }) {
			continue
		}
		if _, err := v.pub.PutEvent(ctx, e); err != nil {
			if gate.IsChangeRefusal(err) {
				v.log.Error().Err(err).Str("event", e.ID).Msg("the venue refused an event of the configuration")
				continue
			}
			return err
		}
		v.log.Info().Str("event", e.ID).Msg("event of the configuration published to the venue")
	}
	return nil
}

// sameEvent says whether the store's event a is the configuration's b as
// the store would keep it.
func sameEvent(a, b gate.Event) bool {
	name := func(e gate.Event) string {
		if e.Name == "" {
			return e.ID
		}
		return e.Name
	}
	return a.ID == b.ID && name(a) == name(b) && a.OpensAt.Equal(b.OpensAt) && a.ClosesAt.Equal(b.ClosesAt) &&
		a.Reentry == b.Reentry && a.AllowedEntries() == b.AllowedEntries() && a.TimeZone == b.TimeZone &&
		a.StartsAt.Equal(b.StartsAt) && a.EndsAt.Equal(b.EndsAt) && a.Rule == b.Rule
}

// ready is the API's readiness in a venue: the store's, then the Applier's
// (catching up, with its progress; stopped at a change an operator must
// retry or skip); a hub that refuses this appliance too.
func (v *venueRun) ready() error {
	if err := v.app.Ready(); err != nil {
		return err
	}
	if st := v.link.Status(); st.State == venue.StateRefused {
		return gate.Errorf(gate.EUNAVAILABLE, "the venue hub refuses this appliance: %s", st.Refused)
	}
	return nil
}
