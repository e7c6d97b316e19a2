package turnstile

// This file is the Set: the appliance's lanes and the boards, scanners and
// emergency inputs they share, started and stopped in order. emergency.go
// holds the emergency release, plan.go what a reload changes, and
// metrics.go the gauges it collects.

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/admitgate/admit/gate"
)

var _ gate.LaneMonitor = (*Set)(nil)

// BoardWait is how long Start waits for its boards to answer before it
// starts the lanes: a board still being claimed then does not leave its
// lanes faulted until their first retest. A board missing after it leaves
// its lanes faulted until it answers.
const BoardWait = 3 * time.Second

// Set is every lane of the appliance with what they share: the relay boards
// their outputs are on, their scanners, the emergency inputs. It implements
// gate.LaneMonitor, takes the emergency release (from an input or the API)
// to every turnstile lane, runs everything in order (Start) and halts it in
// order (Stop), and maps a reloaded configuration onto the running lanes
// (Plan, Apply). It is a prometheus.Collector of the turnstile lanes'
// gauges. Add lanes, boards and inputs before Start and before the set is
// shared; after that every method is safe for concurrent use.
type Set struct {
	clock Clock
	log   zerolog.Logger // component=turnstile
	base  zerolog.Logger // for the lanes Add builds (they add their component)

	members   []*member // in configuration order
	lanes     []*Lane
	byID      map[string]*member
	boards    []Board
	emergency []Input // watched by Start, each once

	mu     sync.Mutex // the emergency release
	em     gate.EmergencyStatus
	inputs map[string]*inputState // emergency inputs by name

	run        sync.Mutex // Start, Stop, Plan, Apply
	started    bool
	stopped    bool
	apiOnly    map[string]bool // configured lanes served without hardware
	stopScan   context.CancelFunc
	stopLanes  context.CancelFunc
	stopBoards context.CancelFunc
	scanWG     sync.WaitGroup
	laneWG     sync.WaitGroup
	boardWG    sync.WaitGroup
}

// member is one lane of the set with its scanner.
type member struct {
	lane     *Lane
	scanner  Scanner // nil: scans come through Lane.Scan only
	hardware string  // LaneSpec.Hardware
}

// NewSet returns a set of the given lanes (built with NewLane or NewDoor);
// ids must be unique. More lanes, boards and inputs can be added before
// Start. A nil clock is the system clock.
func NewSet(clock Clock, log zerolog.Logger, lanes ...*Lane) (*Set, error) {
	if clock == nil {
		clock = SystemClock()
	}
	s := &Set{byID: map[string]*member{}, clock: clock, inputs: map[string]*inputState{}, apiOnly: map[string]bool{},
		log: log.With().Str("component", "turnstile").Logger(), base: log}
	for _, l := range lanes {
		if err := s.add(&member{lane: l}); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (s *Set) add(m *member) error {
	if _, dup := s.byID[m.lane.ID()]; dup {
		return gate.Errorf(gate.EINVALID, "lane %s is configured twice", m.lane.ID())
	}
	s.byID[m.lane.ID()] = m
	s.members = append(s.members, m)
	s.lanes = append(s.lanes, m.lane)
	return nil
}

// LaneSpec is a lane for [Set.Add]: NewLane's arguments, the lane's own
// scanner, and its hardware settings.
type LaneSpec struct {
	Lane      gate.Lane
	Validator gate.Validator
	// Parts are the lane's outputs and inputs; without Parts.Lock the lane
	// is a door (NewDoor) and has no other part.
	Parts  Parts
	Config *Config
	// Scanner, when set, is the lane's scanner: Start runs it and the lane
	// decides its reads (it is Parts.Scanner too unless that is set). Nil:
	// scans reach the lane through Lane.Scan only.
	Scanner Scanner
	// Hardware is every setting of the lane but its policy, in any form that
	// compares (cmd/admit marshals them): Plan tells a lane whose hardware
	// changed from one whose name, direction or events did.
	Hardware string
}

// Add builds the lane spec describes and adds it to the set. Its outputs are
// left alone until Start, which switches them to idle once the boards
// answer; until then the lane refuses scans without asking its validator.
func (s *Set) Add(spec LaneSpec) (*Lane, error) {
	s.run.Lock()
	defer s.run.Unlock()
	if s.started {
		return nil, fmt.Errorf("turnstile: lane %s: added to a started set", spec.Lane.ID)
	}
	if spec.Scanner != nil && spec.Parts.Scanner == nil {
		spec.Parts.Scanner = spec.Scanner
	}
	l, err := newLane(spec.Lane, spec.Validator, spec.Parts, spec.Config, s.base)
	if err != nil {
		return nil, err
	}
	if err := s.add(&member{lane: l, scanner: spec.Scanner, hardware: spec.Hardware}); err != nil {
		return nil, err
	}
	return l, nil
}

// AddBoard adds a board: Start runs it before the lanes, Stop halts it after
// them.
func (s *Set) AddBoard(b Board) {
	s.run.Lock()
	defer s.run.Unlock()
	s.boards = append(s.boards, b)
}

// AddEmergency adds an emergency-release input for Start to watch (see
// WatchEmergency). An input whose name was added already is watched once.
func (s *Set) AddEmergency(in Input) {
	s.run.Lock()
	defer s.run.Unlock()
	for _, have := range s.emergency {
		if have.String() == in.String() {
			return
		}
	}
	s.emergency = append(s.emergency, in)
}

// Lane returns the lane with id, or nil.
func (s *Set) Lane(id string) *Lane {
	if m := s.byID[id]; m != nil {
		return m.lane
	}
	return nil
}

// ScannerConnected calls fn, in configuration order, for every lane with a
// scanner of its own and whether that scanner is connected now. Safe from
// any goroutine once the set is built (GET /v1/lanes asks the same).
func (s *Set) ScannerConnected(fn func(lane string, connected bool)) {
	for _, m := range s.members {
		if m.scanner != nil {
			fn(m.lane.ID(), m.scanner.Connected())
		}
	}
}

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

// Overlay fills in, over statuses of the same lanes kept elsewhere (the
// API's record of its lanes), what the set's lanes know; lanes it does not
// have are left as they are. A turnstile's own record replaces the scans,
// admissions and last decision, since every scan at a turnstile goes
// through it. A door's record is added to the one beside it, since scans
// made over the API at a door go to the index directly.
func (s *Set) Overlay(sts []gate.LaneStatus) {
	for i := range sts {
		m := s.byID[sts[i].ID]
		if m == nil {
			continue
		}
		st, own := &sts[i], m.lane.Status()
		if m.lane.Turnstile() {
			st.ScannerConnected, st.RelayOK, st.State, st.Fault = own.ScannerConnected, own.RelayOK, own.State, own.Fault
			st.Emergency, st.Last, st.Scans, st.Admits = own.Emergency, own.Last, own.Scans, own.Admits
			continue
		}
		if m.lane.parts.Scanner != nil {
			st.ScannerConnected = own.ScannerConnected
		}
		if own.Last != nil && (st.Last == nil || own.Last.Seq > st.Last.Seq) {
			st.Last = own.Last
		}
		st.Scans += own.Scans
		st.Admits += own.Admits
	}
}

// Start runs the set: the boards first (waiting up to BoardWait, or until
// ctx is done, for them to answer), then every lane switches its outputs to
// idle and watches its passage sensor, the emergency inputs are watched, and
// last the scanners run, their reads decided at their lanes (a decision
// under way when Stop comes finishes whole). Everything runs until Stop;
// ctx only bounds the wait for the boards.
func (s *Set) Start(ctx context.Context) error {
	s.run.Lock()
	defer s.run.Unlock()
	if s.started || s.stopped {
		return errors.New("turnstile: the set was started before")
	}
	s.started = true

	bctx, cancel := context.WithCancel(context.Background())
	s.stopBoards = cancel
	for _, b := range s.boards {
		s.boardWG.Add(1)
		go func() {
			defer s.boardWG.Done()
			_ = b.Run(bctx)
		}()
	}
	s.waitBoards(ctx)

	lctx, cancel := context.WithCancel(context.Background())
	s.stopLanes = cancel
	em := s.Emergency()
	for _, l := range s.lanes {
		l.start()
		if em.Active { // released over the API before the lanes started
			l.setEmergency(true, em.By, em.Since)
		}
		if l.parts.Passage != nil {
			s.laneWG.Add(1)
			go func() {
				defer s.laneWG.Done()
				l.watchPassage(lctx)
			}()
		}
	}
	for _, in := range s.emergency {
		s.laneWG.Add(1)
		go func() {
			defer s.laneWG.Done()
			_ = s.WatchEmergency(lctx, in, 0)
		}()
	}

	sctx, cancel := context.WithCancel(context.Background())
	s.stopScan = cancel
	decide := context.WithoutCancel(sctx)
	for _, m := range s.members {
		if m.scanner == nil {
			continue
		}
		reads := make(chan gate.Read, 16)
		s.scanWG.Add(2)
		go func() {
			defer s.scanWG.Done()
			_ = m.scanner.Run(sctx, reads)
		}()
		go func() {
			defer s.scanWG.Done()
			m.lane.read(sctx, decide, reads)
		}()
	}
	return nil
}

// waitBoards waits up to BoardWait for every board to answer.
func (s *Set) waitBoards(ctx context.Context) {
	if len(s.boards) == 0 {
		return
	}
	deadline := time.Now().Add(BoardWait)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		var missing []string
		for _, b := range s.boards {
			if !b.Connected() {
				missing = append(missing, b.String())
			}
		}
		if len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			s.log.Warn().Strs("boards", missing).
				Msg("relay boards not found: their lanes refuse scans (faulted) until the boards answer; `admit devices` lists what is attached")
			return
		}
		select {
		case <-ctx.Done():
		case <-tick.C:
		}
	}
}

// Stop shuts the set down in order: the scanners stop (a read being decided
// finishes), every lane halts (pending admissions annulled while the index
// is still open, every output off), every board halts, then the sensor and
// emergency watchers end and last the boards' Run, which lets the devices
// go. Errors of devices that are not attached (ErrNotConnected) are logged,
// not returned: an unpowered relay is open. Stop before Start only keeps
// the set from starting; calling it again does nothing.
func (s *Set) Stop() error {
	s.run.Lock()
	defer s.run.Unlock()
	if s.stopped {
		return nil
	}
	s.stopped = true
	if !s.started {
		return nil
	}
	s.stopScan()
	s.scanWG.Wait()
	var errs []error
	for _, l := range s.lanes {
		if err := l.Halt(); err != nil {
			errs = s.haltError(errs, err, "lane "+l.ID())
		}
	}
	for _, b := range s.boards {
		if err := b.Halt(); err != nil {
			errs = s.haltError(errs, err, b.String())
		}
	}
	s.stopLanes()
	s.laneWG.Wait()
	s.stopBoards()
	s.boardWG.Wait()
	if len(errs) == 0 {
		s.log.Info().Int("lanes", len(s.lanes)).Msg("lanes halted: every relay open")
	}
	return errors.Join(errs...)
}

// haltError keeps err unless it only says the device is not attached.
func (s *Set) haltError(errs []error, err error, what string) []error {
	if errors.Is(err, ErrNotConnected) {
		s.log.Warn().Err(err).Str("device", what).Msg("halt: the device is not attached (an unpowered relay is open)")
		return errs
	}
	s.log.Error().Err(err).Str("device", what).Msg("halt failed")
	return append(errs, fmt.Errorf("turnstile: halt %s: %w", what, err))
}

// Halt halts every lane (see Lane.Halt) and returns their errors joined;
// Stop does it in its place in the shutdown order.
func (s *Set) Halt() error {
	var errs []error
	for _, l := range s.lanes {
		errs = append(errs, l.Halt())
	}
	return errors.Join(errs...)
}
