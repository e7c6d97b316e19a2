package httpapi

import (
	"context"
	"slices"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/admitgate/admit/gate"
)

// LaneInfo is a configured lane as the API knows it: its policy, and the
// state of its hardware as the daemon last saw it.
type LaneInfo struct {
	gate.Lane
	// HasScanner says the lane has a scanner of its own (a USB or serial
	// scanner the daemon reads), not only scans over the API.
	HasScanner       bool
	ScannerConnected bool
	RelayOK          bool
	State            string // "idle" when empty
	Fault            string
	// Turnstile, when set, decides the lane's scans (POST /v1/scan) instead
	// of Config.Index: the lane's turnstile, so that an admission unlocks
	// it and a scan while it holds an admission is refused with lane_busy.
	// Checks (POST /v1/check) still go to the index.
	Turnstile LaneScanner
}

// LaneScanner decides scans at a lane that drives hardware (a
// turnstile.Lane); the scan carries the lane's policy. It never fails: a
// fault is a refusal with gate.ReasonError.
type LaneScanner interface {
	Scan(ctx context.Context, s gate.Scan) gate.Decision
}

// laneBoard holds the configured lanes and the last decision the API made
// for each. It implements gate.LaneMonitor. The lane table is immutable and
// swapped whole on reload, so the scan path reads it without locks.
type laneBoard struct {
	table   atomic.Pointer[laneTable]
	metrics *Metrics
}

type laneTable struct {
	byID  map[string]*laneState
	order []*laneState
}

// laneState is one lane: its configuration, counters and pre-resolved metric
// children (so the scan path allocates nothing for metrics).
type laneState struct {
	info    LaneInfo
	last    atomic.Pointer[gate.Decision]
	scans   atomic.Uint64
	admits  atomic.Uint64
	reasons []prometheus.Counter // indexed by gate.Reason
}

func newLaneBoard(m *Metrics) *laneBoard { return &laneBoard{metrics: m} }

// checkLanes validates lane configuration: unique valid ids and a direction.
func checkLanes(lanes []LaneInfo) error {
	seen := make(map[string]bool, len(lanes))
	for _, l := range lanes {
		if err := gate.CheckID("lane", l.ID); err != nil {
			return err
		}
		if seen[l.ID] {
			return gate.Errorf(gate.EINVALID, "lane %q is configured twice", l.ID)
		}
		seen[l.ID] = true
		if l.Direction != gate.In && l.Direction != gate.Out {
			return gate.Errorf(gate.EINVALID, "lane %q has no direction", l.ID)
		}
	}
	return nil
}

// set replaces the lanes. Lanes that stay keep their counters and last
// decision.
func (b *laneBoard) set(lanes []LaneInfo) error {
	if err := checkLanes(lanes); err != nil {
		return err
	}
	old := b.table.Load()
	t := &laneTable{byID: make(map[string]*laneState, len(lanes))}
	for _, l := range lanes {
		l.Events = slices.Clone(l.Events)
		st := &laneState{info: l}
		if old != nil {
			if prev, ok := old.byID[l.ID]; ok {
				st.last.Store(prev.last.Load())
				st.scans.Store(prev.scans.Load())
				st.admits.Store(prev.admits.Load())
			}
		}
		st.reasons = b.metrics.laneReasons(l.ID)
		t.byID[l.ID] = st
		t.order = append(t.order, st)
	}
	b.table.Store(t)
	return nil
}

// lane returns the state of lane id.
func (b *laneBoard) lane(id string) (*laneState, bool) {
	t := b.table.Load()
	if t == nil {
		return nil, false
	}
	st, ok := t.byID[id]
	return st, ok
}

// id returns the configured id equal to b, or a copy of b when no lane has
// it (or b is nil).
func (b *laneBoard) id(lane []byte) string {
	if b != nil {
		if t := b.table.Load(); t != nil {
			if st, ok := t.byID[string(lane)]; ok {
				return st.info.ID
			}
		}
	}
	return string(lane)
}

// record notes a decision the API made (or checked) at st.
func (st *laneState) record(d *gate.Decision, redeemed bool) {
	if !redeemed {
		return
	}
	st.scans.Add(1)
	if d.Admit {
		st.admits.Add(1)
	}
	st.last.Store(d)
	if int(d.Reason) < len(st.reasons) && st.reasons[d.Reason] != nil {
		st.reasons[d.Reason].Inc()
	}
}

// Lanes implements gate.LaneMonitor.
func (b *laneBoard) Lanes() []gate.LaneStatus {
	t := b.table.Load()
	if t == nil {
		return []gate.LaneStatus{}
	}
	out := make([]gate.LaneStatus, 0, len(t.order))
	for _, st := range t.order {
		state := st.info.State
		if state == "" {
			state = "idle"
		}
		out = append(out, gate.LaneStatus{
			ID:               st.info.ID,
			Name:             st.info.Name,
			Direction:        st.info.Direction,
			Events:           slices.Clone(st.info.Events),
			HasScanner:       st.info.HasScanner,
			HasRelay:         st.info.Turnstile != nil,
			ScannerConnected: st.info.ScannerConnected,
			RelayOK:          st.info.RelayOK,
			State:            state,
			Fault:            st.info.Fault,
			Last:             st.last.Load(),
			Scans:            st.scans.Load(),
			Admits:           st.admits.Load(),
		})
	}
	return out
}
