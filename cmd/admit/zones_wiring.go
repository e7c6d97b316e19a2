package main

// Entry rules, zones and supervisor overrides (issue 18): the [[zones]] and
// [[supervisor_cards]] tables, the rule, time_zone, starts_at and ends_at
// keys of [[events]] and the from, to and rule keys of [[lanes]]; how rules
// are compiled (package rules, handed to the index for events and carried
// compiled in a lane's policy), how zones and cards reach the index, and
// the zone gauges on /metrics. docs/config.md and docs/rules.md document
// the keys.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/rules"
)

// ZoneConfig is one [[zones]] table: an area of the venue behind lanes.
type ZoneConfig struct {
	ID               string `toml:"id"`
	Name             string `toml:"name"`
	Capacity         int    `toml:"capacity"`           // default 0: no limit
	ExitAllAt        string `toml:"exit_all_at"`        // "04:00": emptied every day then, in the venue's time zone
	NoPassback       bool   `toml:"no_passback"`        // refuse a ticket still inside
	OverrideZoneFull bool   `toml:"override_zone_full"` // a supervisor's override may pass zone_full
}

func (z ZoneConfig) zone() gate.Zone {
	return gate.Zone{ID: z.ID, Name: z.Name, Capacity: z.Capacity, ExitAllAt: z.ExitAllAt, NoPassback: z.NoPassback,
		OverrideFull: z.OverrideZoneFull}
}

// SupervisorCardConfig is one [[supervisor_cards]] table: a barcode that,
// scanned at a lane after a refusal, lets the refused guest through in its
// holder's name. Only the barcode's SHA-256 is configured.
type SupervisorCardConfig struct {
	Name   string   `toml:"name"`
	SHA256 string   `toml:"sha256"` // hex SHA-256 of the card's barcode: printf %s 'BARCODE' | sha256sum
	Lanes  []string `toml:"lanes"`  // default every lane
	Reason string   `toml:"reason"` // journaled with its overrides; default "supervisor card scanned at the lane"
}

// compileRule is the index's and the lanes' rule compiler: package rules.
func compileRule(src []byte) (gate.Rule, error) {
	r, err := rules.Compile(src)
	if err != nil {
		return nil, err
	}
	return r, nil
}

// move returns the zones a scan in the lane's direction moves between:
// from defaults to outside when to is set.
func (l *LaneConfig) move() (from, to string) {
	from, to = l.From, l.To
	if to != "" && from == "" {
		from = gate.Outside
	}
	return from, to
}

// refusingRule stands in for a lane rule that does not compile, should a
// policy be built from a configuration that was not validated: it refuses,
// so a rule never silently lapses.
type refusingRule struct{ why string }

func (r refusingRule) Eval(*gate.RuleFacts) (bool, string) { return false, r.why }

var laneRules sync.Map // rule source -> gate.Rule: each lane rule is compiled once

// compiledRule returns the lane's rule compiled, nil for none.
func (l *LaneConfig) compiledRule() gate.Rule {
	src := strings.TrimSpace(l.Rule)
	if src == "" {
		return nil
	}
	if r, ok := laneRules.Load(src); ok {
		return r.(gate.Rule)
	}
	r, err := compileRule([]byte(src))
	if err != nil {
		return refusingRule{"the lane's rule does not compile: " + gate.ErrorMessage(err)}
	}
	laneRules.Store(src, r)
	return r
}

// validateZones checks the zones, the lanes' moves between them, the rules
// of events and lanes (with the position of a fault) and the supervisor
// cards; each issue names its key from the top ("zones[0].capacity").
func (c *Config) validateZones() []issue {
	var errs []issue
	add := func(key, format string, args ...any) { errs = append(errs, issuef(key, format, args...)) }
	zones := map[string]bool{}
	for i, z := range c.Zones {
		at := indexPath("zones", i)
		if err := z.zone().Validate(); err != nil {
			add(at, "%s", gate.ErrorMessage(err))
		}
		if zones[z.ID] {
			add(at+".id", "%q is declared twice; declare each zone once", z.ID)
		}
		zones[z.ID] = true
	}
	for i, e := range c.Events {
		if strings.TrimSpace(e.Rule) == "" {
			continue
		}
		if _, err := compileRule([]byte(strings.TrimSpace(e.Rule))); err != nil {
			add(indexPath("events", i)+".rule", "%s", gate.ErrorMessage(err))
		}
	}
	for i := range c.Lanes {
		l := &c.Lanes[i]
		at := indexPath("lanes", i)
		from, to := l.move()
		switch {
		case from != "" && to == "":
			add(at+".from", "is set without to; name the zone the lane leads into")
		case to != "" && from == to:
			add(at+".to", "is the same zone as from (%q); a lane moves between two zones", to)
		}
		for key, z := range map[string]string{"from": from, "to": to} {
			if z != "" && z != gate.Outside && !zones[z] {
				add(at+"."+key, "%q is not declared in [[zones]]", z)
			}
		}
		if src := strings.TrimSpace(l.Rule); src != "" {
			if _, err := compileRule([]byte(src)); err != nil {
				add(at+".rule", "%s", gate.ErrorMessage(err))
			}
		}
	}
	lanes := map[string]bool{}
	for _, l := range c.Lanes {
		lanes[l.ID] = true
	}
	if _, err := c.cards(); err != nil {
		add("supervisor_cards", "%s", gate.ErrorMessage(err))
	}
	for i, s := range c.SupervisorCards {
		for j, l := range s.Lanes {
			if !lanes[l] {
				add(indexPath("supervisor_cards", i)+"."+indexPath("lanes", j), "%q is not among the configured lanes", l)
			}
		}
	}
	return errs
}

// zones returns the configured zones.
func (c *Config) zones() []gate.Zone {
	out := make([]gate.Zone, 0, len(c.Zones))
	for _, z := range c.Zones {
		out = append(out, z.zone())
	}
	return out
}

// cards returns the supervisor cards.
func (c *Config) cards() ([]gate.SupervisorCard, error) {
	out := make([]gate.SupervisorCard, 0, len(c.SupervisorCards))
	names := map[string]bool{}
	for i, s := range c.SupervisorCards {
		if s.Name == "" {
			return nil, gate.Errorf(gate.EINVALID, "supervisor_cards[%d]: name is empty", i)
		}
		if names[s.Name] {
			return nil, gate.Errorf(gate.EINVALID, "supervisor_cards[%d]: %q is declared twice", i, s.Name)
		}
		names[s.Name] = true
		h, err := hex.DecodeString(strings.TrimSpace(s.SHA256))
		if err != nil || len(h) != sha256.Size {
			return nil, gate.Errorf(gate.EINVALID, "supervisor_cards[%d] (%s): sha256 must be the 64 hex digits of the card's barcode's SHA-256 (printf %%s 'BARCODE' | sha256sum)", i, s.Name)
		}
		if len(s.Reason) > gate.MaxOverrideReason {
			return nil, gate.Errorf(gate.EINVALID, "supervisor_cards[%d] (%s): reason is longer than %d bytes", i, s.Name, gate.MaxOverrideReason)
		}
		card := gate.SupervisorCard{Name: s.Name, Lanes: s.Lanes, Why: s.Reason}
		copy(card.Hash[:], h)
		out = append(out, card)
	}
	return out, nil
}

// applyZones hands the zones and supervisor cards to the store (at start
// and on every reload, with the catalog).
func (d *Daemon) applyZones(c *Config) error {
	ix := d.store.get()
	if err := ix.SetZones(c.zones()); err != nil {
		return fmt.Errorf("admit: zones: %w", err)
	}
	cards, err := c.cards()
	if err == nil {
		err = ix.SetSupervisorCards(cards)
	}
	if err != nil {
		return fmt.Errorf("admit: supervisor cards: %w", err)
	}
	return nil
}

// Override lets the turnstile lanes, built before the store opens, force a
// refusal (gate.Overrider).
func (v laneValidator) Override(ctx context.Context, req gate.OverrideRequest) (gate.Decision, error) {
	if ix := v.p.get(); ix != nil {
		return ix.Override(ctx, req)
	}
	return gate.Decision{}, gate.Errorf(gate.EUNAVAILABLE, errStoreNotOpen)
}

var _ gate.Overrider = laneValidator{}

// zoneCollector exports each zone's occupancy and capacity on /metrics.
type zoneCollector struct {
	p                            *openStore
	occupancy, capacity, pending *prometheus.Desc
}

func newZoneCollector(p *openStore) *zoneCollector {
	return &zoneCollector{p: p,
		occupancy: prometheus.NewDesc("admit_zone_occupancy", "Tickets (and guests let in without one) inside the zone now.", []string{"zone"}, nil),
		capacity:  prometheus.NewDesc("admit_zone_capacity", "The zone's capacity; 0 is no limit.", []string{"zone"}, nil),
		pending:   prometheus.NewDesc("admit_zone_pending", "Admissions into the zone being committed, each holding a place.", []string{"zone"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *zoneCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.occupancy
	ch <- c.capacity
	ch <- c.pending
}

// Collect implements prometheus.Collector.
func (c *zoneCollector) Collect(ch chan<- prometheus.Metric) {
	ix := c.p.get()
	if ix == nil {
		return
	}
	for _, z := range ix.Zones(false) {
		ch <- prometheus.MustNewConstMetric(c.occupancy, prometheus.GaugeValue, float64(z.Occupancy), z.ID)
		ch <- prometheus.MustNewConstMetric(c.capacity, prometheus.GaugeValue, float64(z.Capacity), z.ID)
		ch <- prometheus.MustNewConstMetric(c.pending, prometheus.GaugeValue, float64(z.Pending), z.ID)
	}
}
