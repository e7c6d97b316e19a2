package turnstile

// The emergency release: from the API (Release, Clear) or an input
// (WatchEmergency), to every turnstile lane of the set.

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/admitgate/admit/gate"
)

// inputState is what the set knows of one emergency input.
type inputState struct {
	active bool
	fault  string
	gen    uint64 // bumped on each failure
}

// Release starts an emergency release on every turnstile lane: each annuls what it
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
		l.setEmergency(true, s.em.By, s.em.Since) // a door is passed by
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
		if l.Turnstile() {
			st.Lanes = append(st.Lanes, gate.EmergencyLane{ID: l.ID(), Mode: string(l.Config().Emergency), State: l.Status().State})
		}
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
