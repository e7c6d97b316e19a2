package turnstile

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

var _ gate.LaneMonitor = (*Set)(nil)

// Set is every lane of the appliance: it implements gate.LaneMonitor for the
// API, takes the emergency release (from an input or the API) to every lane,
// and halts them all on shutdown. It is a prometheus.Collector of the lanes'
// gauges. Safe for concurrent use.
type Set struct {
	lanes []*Lane
	byID  map[string]*Lane
	clock Clock
	log   zerolog.Logger

	mu     sync.Mutex
	em     gate.EmergencyStatus   // Lanes unset: status fills them in
	inputs map[string]*inputState // emergency inputs by name
}

// inputState is what the set knows of one emergency input.
type inputState struct {
	active bool
	fault  string
	gen    uint64 // bumped on each failure
}

// NewSet returns the set of lanes; ids must be unique. A nil clock is the
// system clock.
func NewSet(clock Clock, log zerolog.Logger, lanes ...*Lane) (*Set, error) {
	if clock == nil {
		clock = SystemClock()
	}
	s := &Set{byID: make(map[string]*Lane, len(lanes)), clock: clock, inputs: map[string]*inputState{},
		log: log.With().Str("component", "turnstile").Logger()}
	for _, l := range lanes {
		if _, dup := s.byID[l.ID()]; dup {
			return nil, gate.Errorf(gate.EINVALID, "lane %s is configured twice", l.ID())
		}
		s.byID[l.ID()] = l
		s.lanes = append(s.lanes, l)
	}
	return s, nil
}

// Lane returns the lane with id, or nil.
func (s *Set) Lane(id string) *Lane { return s.byID[id] }

// All returns the lanes in configuration order. The slice must not be modified.
func (s *Set) All() []*Lane { return s.lanes }

// Lanes implements gate.LaneMonitor: every lane's status, in configuration order.
func (s *Set) Lanes() []gate.LaneStatus {
	out := make([]gate.LaneStatus, len(s.lanes))
	for i, l := range s.lanes {
		out[i] = l.Status()
	}
	return out
}

// Release starts an emergency release on every lane: each annuls what it
// holds and opens or holds per its Config.Emergency, refusing scans until
// the release is cleared. by names who asked ("input:<name>", a token's
// name). Releasing again changes nothing.
func (s *Set) Release(by string) gate.EmergencyStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.em.Active {
		s.em.Active, s.em.Since, s.em.By = true, s.clock.Now(), by
		s.log.Warn().Str("by", by).Msg("emergency release: every lane")
	}
	for _, l := range s.lanes {
		l.setEmergency(true, s.em.By, s.em.Since)
	}
	return s.status()
}

// Clear ends the emergency release: the lanes lock and return to service. It
// is refused with ECONFLICT while the emergency input is still asserted: the
// release latches, so a person decides when the lanes go back.
func (s *Set) Clear(by string) (gate.EmergencyStatus, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, in := range s.inputs {
		if in.active {
			return s.status(), gate.Errorf(gate.ECONFLICT, "the emergency input %s is still active", name)
		}
	}
	if !s.em.Active {
		return s.status(), nil
	}
	s.log.Warn().Str("by", by).Str("released_by", s.em.By).Msg("emergency cleared: every lane back in service")
	s.em.Active, s.em.Since, s.em.By = false, time.Time{}, ""
	for _, l := range s.lanes {
		l.setEmergency(false, by, s.clock.Now())
	}
	return s.status(), nil
}

// Emergency returns the state of the emergency release, with the mode and
// state of every lane it acts on.
func (s *Set) Emergency() gate.EmergencyStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.status()
}

// status is the release with its lanes. s.mu is held.
func (s *Set) status() gate.EmergencyStatus {
	st := s.em
	st.Lanes = make([]gate.EmergencyLane, 0, len(s.lanes))
	for _, l := range s.lanes {
		st.Lanes = append(st.Lanes, gate.EmergencyLane{ID: l.ID(), Mode: string(l.Config().Emergency), State: l.Status().State})
	}
	return st
}

// WatchEmergency watches an emergency-release input until ctx is done: an
// active edge (or an input already active when watching starts) releases
// every lane; an inactive one lets the release be cleared. Call it once per
// input (a fire alarm contact, a button per lane); any active input holds
// the release. An input that fails is shown in gate.EmergencyStatus.InputFault
// and watched again after retry (0: DefaultRetestInterval). It returns
// ctx.Err().
func (s *Set) WatchEmergency(ctx context.Context, in Input, retry time.Duration) error {
	if retry <= 0 {
		retry = DefaultRetestInterval
	}
	name := in.String()
	s.mu.Lock()
	st := s.inputs[name]
	if st == nil {
		st = &inputState{}
		s.inputs[name] = st
	}
	s.mu.Unlock()
	by := "input:" + name
	watchInput(ctx, s.clock, retry, in, func(e Edge) {
		s.mu.Lock()
		st.fault, st.active = "", e.Active
		s.refreshInputs()
		s.mu.Unlock()
		if e.Active {
			s.Release(by)
		} else if !e.Initial {
			s.log.Warn().Str("input", name).Msg("emergency input released; clear the emergency to return the lanes to service")
		}
	}, func(err error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		st.gen++
		st.fault = fmt.Sprintf("emergency input %s: %v", name, err)
		s.refreshInputs()
		s.log.Error().Err(err).Str("input", name).Msg("emergency input failed; watching it again shortly")
	}, func() {
		s.mu.Lock()
		gen := st.gen
		s.mu.Unlock()
		s.clock.AfterFunc(retry, func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			if st.gen == gen {
				st.fault = ""
				s.refreshInputs()
			}
		})
	})
	return ctx.Err()
}

// refreshInputs derives the status's input fields. s.mu is held.
func (s *Set) refreshInputs() {
	names := make([]string, 0, len(s.inputs))
	for name := range s.inputs {
		names = append(names, name)
	}
	sort.Strings(names)
	var faults []string
	s.em.InputActive = false
	for _, name := range names {
		in := s.inputs[name]
		s.em.InputActive = s.em.InputActive || in.active
		if in.fault != "" {
			faults = append(faults, in.fault)
		}
	}
	s.em.InputFault = strings.Join(faults, "; ")
}

// Halt halts every lane (see Lane.Halt) and returns their errors joined.
func (s *Set) Halt() error {
	var errs []error
	for _, l := range s.lanes {
		errs = append(errs, l.Halt())
	}
	return errors.Join(errs...)
}

var (
	descState     = prometheus.NewDesc("admit_lane_state", "1 for the lane's current state, 0 for the others.", []string{"lane", "state"}, nil)
	descRelayOK   = prometheus.NewDesc("admit_lane_relay_ok", "1 when the lane's unlock relay answers.", []string{"lane"}, nil)
	descScanner   = prometheus.NewDesc("admit_lane_scanner_connected", "1 when the lane's scanner is attached.", []string{"lane"}, nil)
	descEmergency = prometheus.NewDesc("admit_lane_emergency", "1 while an emergency release holds the lane.", []string{"lane"}, nil)
	descScans     = prometheus.NewDesc("admit_lane_scans_total", "Scans decided at the lane since start.", []string{"lane"}, nil)
	descAdmits    = prometheus.NewDesc("admit_lane_admits_total", "Admissions that became final at the lane since start.", []string{"lane"}, nil)
)

// Describe implements prometheus.Collector.
func (s *Set) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descState, descRelayOK, descScanner, descEmergency, descScans, descAdmits} {
		ch <- d
	}
}

// Collect implements prometheus.Collector: the lanes' gauges, read from
// their status at scrape time.
func (s *Set) Collect(ch chan<- prometheus.Metric) {
	b := func(v bool) float64 {
		if v {
			return 1
		}
		return 0
	}
	for _, st := range s.Lanes() {
		for _, name := range States() {
			ch <- prometheus.MustNewConstMetric(descState, prometheus.GaugeValue, b(st.State == name), st.ID, name)
		}
		ch <- prometheus.MustNewConstMetric(descRelayOK, prometheus.GaugeValue, b(st.RelayOK), st.ID)
		ch <- prometheus.MustNewConstMetric(descScanner, prometheus.GaugeValue, b(st.ScannerConnected), st.ID)
		ch <- prometheus.MustNewConstMetric(descEmergency, prometheus.GaugeValue, b(st.Emergency), st.ID)
		ch <- prometheus.MustNewConstMetric(descScans, prometheus.CounterValue, float64(st.Scans), st.ID)
		ch <- prometheus.MustNewConstMetric(descAdmits, prometheus.CounterValue, float64(st.Admits), st.ID)
	}
}
