package turnstile

// This file is the lane itself: its parts, how it is made, how a scan is
// decided at it and what it shows. admission.go holds the unlock and
// passage transitions, fault.go relay faults, emergencies, annulments and
// Halt.

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/rs/zerolog"
)

// Lane states, as gate.LaneStatus.State shows them.
const (
	StateIdle            = "idle"             // locked, nothing pending
	StateUnlocked        = "unlocked"         // the unlock relay is on for an admission
	StateAwaitingPassage = "awaiting_passage" // locked again; a rotation begun in time may still confirm the admission
	StateFaulted         = "faulted"          // the relay (or, with confirm "passage", the sensor) failed: scans are refused
	StateEmergencyOpen   = "emergency_open"   // emergency release: held unlocked
	StateEmergencyHold   = "emergency_hold"   // emergency release: held locked
	StateHalted          = "halted"           // Halt was called: every output off, scans refused
)

// States lists every lane state.
func States() []string {
	return []string{StateIdle, StateUnlocked, StateAwaitingPassage, StateFaulted, StateEmergencyOpen, StateEmergencyHold, StateHalted}
}

// Parts are the hardware of a lane. Only Lock is required, except for a
// door (NewDoor), which has a scanner and nothing else.
type Parts struct {
	Lock    Output      // the relay that unlocks the turnstile (on: unlocked)
	Passage Input       // the passage sensor; required with confirm "passage"
	Green   Output      // the green light
	Red     Output      // the red light
	Buzzer  Output      // the buzzer
	Scanner ScannerLink // the lane's scanner, for status; nil shows as not connected
}

// admission is an admitted scan the lane owes an unlock.
type admission struct {
	d          gate.Decision
	unlockedAt time.Time // when the relay went on; zero while queued
	locked     bool      // the relay went off again, waiting for a late passage
	final      bool      // the redemption stands: passed, or confirm "none" and unlocked
}

type emergency struct {
	by    string
	since time.Time
}

type annulRetry struct {
	cause   string
	attempt int
	timer   Timer
}

// Lane turns the decisions of one passage into relay pulses, lights and
// annulments. It consumes reads (Handle, Run) or ready scans (Scan), asks a
// gate.Validator, and keeps the turnstile's state machine:
//
//	idle ──admit──> unlocked ──passage──> idle (admission final)
//	                   │
//	                   └─unlock time─> idle (confirm "none": final)
//	                               └─> awaiting_passage ──passage──> idle (final)
//	                                         └─passage timeout──> idle (annulled)
//
// A relay that fails to switch annuls what is pending and faults the lane
// until the relay answers a retest; an emergency release (from [Set]) annuls
// what is pending and holds the lane open or locked. While the lane is
// unlocked for an admission it refuses further scans with lane_busy, or
// queues their admissions when Config.Queue is set.
//
// A door ([NewDoor]) is a lane without a turnstile: its scanner's reads are
// decided, counted and shown like a turnstile's, an admission is final at
// once, and emergencies pass it by.
//
// Every method is safe for concurrent use. Operations on one lane run one at
// a time (a scan waits for the previous one); Status never waits for them.
type Lane struct {
	id     string
	policy atomic.Pointer[gate.Lane] // name, direction, events: SetPolicy changes them
	cfg    Config
	parts  Parts
	v      gate.Validator
	clock  Clock
	log    zerolog.Logger
	m      laneMetrics
	sig    *signals
	by     string // who annuls: "lane:<id>"

	mu          sync.Mutex
	started     bool // the outputs were set to idle: scans are taken
	halted      bool
	emergency   *emergency
	relayFault  string
	sensorFault string
	sensorGen   uint64
	cur         *admission   // the admission the lane is unlocked (or awaiting passage) for
	queue       []*admission // admissions waiting their unlock (Config.Queue)
	timer       Timer        // the current admission's unlock or passage timeout
	gen         uint64       // bumped when timer is replaced; a stale timer sees it
	retest      Timer
	retries     map[uint64]*annulRetry
	lateSeq     uint64 // the admission last annulled at its timeout, until the next unlock
	last        *gate.Decision
	scans       uint64
	admits      uint64

	smu  sync.Mutex
	snap gate.LaneStatus
}

// NewLane returns the lane for l, deciding with v, driving parts. A nil cfg
// is the default Config. It switches the outputs to their idle state; a
// relay that does not answer leaves the lane faulted (and retested), not an
// error, so an unplugged board does not stop the appliance from starting.
func NewLane(l gate.Lane, v gate.Validator, parts Parts, cfg *Config, log zerolog.Logger) (*Lane, error) {
	if parts.Lock == nil {
		return nil, gate.Errorf(gate.EINVALID, "lane %s has no unlock relay", l.ID)
	}
	ln, err := newLane(l, v, parts, cfg, log)
	if err != nil {
		return nil, err
	}
	ln.start()
	return ln, nil
}

// NewDoor returns a lane without a turnstile: scans at it (its scanner's
// reads through Handle or Run, others through Scan) are decided with v and
// shown in its status, an admission is final at once, and nothing else
// happens. A nil clock is the system clock.
func NewDoor(l gate.Lane, v gate.Validator, scanner ScannerLink, clock Clock, log zerolog.Logger) (*Lane, error) {
	ln, err := newLane(l, v, Parts{Scanner: scanner}, &Config{Clock: clock}, log)
	if err != nil {
		return nil, err
	}
	ln.start()
	return ln, nil
}

// newLane checks and builds the lane without touching its outputs; start
// sets them to idle. Without parts.Lock it is a door.
func newLane(l gate.Lane, v gate.Validator, parts Parts, cfg *Config, log zerolog.Logger) (*Lane, error) {
	var c Config
	if cfg != nil {
		c = *cfg
	}
	c.EnsureDefaults()
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("turnstile: lane %s: %w", l.ID, err)
	}
	if err := gate.CheckID("lane", l.ID); err != nil {
		return nil, err
	}
	if l.Direction == 0 {
		l.Direction = gate.In
	}
	door := parts.Lock == nil
	switch {
	case v == nil:
		return nil, fmt.Errorf("turnstile: lane %s: no validator", l.ID)
	case door && (parts.Passage != nil || parts.Green != nil || parts.Red != nil || parts.Buzzer != nil):
		return nil, gate.Errorf(gate.EINVALID, "lane %s has a sensor or lights but no unlock relay", l.ID)
	case c.Confirm == ConfirmPassage && parts.Passage == nil:
		return nil, gate.Errorf(gate.EINVALID, "lane %s: confirm \"passage\" needs a passage sensor", l.ID)
	}
	ln := &Lane{
		id:      l.ID,
		cfg:     c,
		parts:   parts,
		v:       v,
		clock:   c.Clock,
		log:     log.With().Str("component", "turnstile").Str("lane", l.ID).Logger(),
		m:       c.Metrics.forLane(l.ID),
		by:      "lane:" + l.ID,
		retries: map[uint64]*annulRetry{},
	}
	l.Events = slices.Clone(l.Events)
	ln.policy.Store(&l)
	ln.sig = newSignals(&c, parts.Green, parts.Red, parts.Buzzer, ln.outputFailed)
	ln.mu.Lock()
	ln.publish()
	ln.mu.Unlock()
	return ln, nil
}

// start switches the outputs to their idle state and takes scans from then
// on; a lane already started or halted is left alone.
func (l *Lane) start() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.started || l.halted {
		return
	}
	l.started = true
	if l.parts.Lock != nil {
		if err := l.parts.Lock.Set(false); err != nil {
			l.relayFailed("lock", err)
		} else {
			l.sig.show(sceneIdle)
		}
	}
	l.publish()
}

// ID returns the lane's id.
func (l *Lane) ID() string { return l.id }

// Config returns the lane's configuration, defaults filled in.
func (l *Lane) Config() Config { return l.cfg }

// Turnstile reports whether the lane drives a turnstile (it has an unlock
// relay); a door does not.
func (l *Lane) Turnstile() bool { return l.parts.Lock != nil }

// Policy returns the lane as the gate sees it: id, name, direction, events.
func (l *Lane) Policy() gate.Lane { return *l.policy.Load() }

// SetPolicy changes the lane's name, direction and events (a reload); the
// id stays. Reads decided from then on carry the new policy.
func (l *Lane) SetPolicy(p gate.Lane) error {
	if p.ID != l.id {
		return gate.Errorf(gate.EINVALID, "lane %s cannot become lane %s", l.id, p.ID)
	}
	l.setPolicy(p)
	return nil
}

// setPolicy is SetPolicy for a policy of this lane.
func (l *Lane) setPolicy(p gate.Lane) {
	if p.Direction == 0 {
		p.Direction = gate.In
	}
	p.Events = slices.Clone(p.Events)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.policy.Store(&p)
	l.publish()
}

// Handle decides one read from the lane's scanner: a malformed read is
// refused (and journaled) as malformed, anything else is scanned with the
// lane's policy at the read's time, with its source.
func (l *Lane) Handle(ctx context.Context, r gate.Read) gate.Decision {
	at := r.At
	if at.IsZero() {
		at = l.clock.Now()
	}
	s := l.policy.Load().Scan(r.Text, at)
	s.Source = r.Source
	if r.Malformed != "" {
		s.Deny, s.Detail = gate.ReasonMalformed, r.Malformed
	}
	return l.Scan(ctx, s)
}

// Scan decides s at this lane and acts on the decision: an admission
// unlocks the turnstile (or waits in the queue), a refusal plays the deny
// signals. A lane that cannot take an admission now (busy, faulted, in an
// emergency, halted) sets s.Deny so the index journals the refusal without
// redeeming anything. The returned decision is what happened: an admission
// whose relay failed to unlock comes back as an error refusal, annulled.
// A replayed decision (a repeated nonce) moves nothing. A lane a Set has not
// started yet refuses without asking the validator.
func (l *Lane) Scan(ctx context.Context, s gate.Scan) gate.Decision {
	start := time.Now()
	if s.Lane == "" {
		s.Lane = l.id
	}
	if s.Direction == 0 {
		s.Direction = l.policy.Load().Direction
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.started && !l.halted {
		return s.Refusal(gate.ReasonError, fmt.Sprintf("lane %s is starting", l.id))
	}
	if s.Lane != l.id && s.Deny == 0 {
		s.Deny, s.Detail = gate.ReasonError, fmt.Sprintf("a scan for lane %s reached lane %s", s.Lane, l.id)
	}
	if s.Deny == 0 {
		s.Deny, s.Detail = l.refusal()
	}
	d := l.v.Scan(ctx, s)
	switch {
	case d.Admit && d.Replayed:
	case d.Admit && s.Deny != 0:
		// A validator must not admit what the lane refused; give it back.
		l.log.Error().Uint64("seq", d.Seq).Str("deny", s.Deny.String()).Msg("the index admitted a scan the lane refused; annulling it")
		l.annul(d.Seq, CauseRefused, 1)
		d.Admit, d.Reason, d.Detail = false, s.Deny, s.Detail
		l.sig.deny()
	case d.Admit:
		d = l.admit(d)
	default:
		l.sig.deny()
	}
	l.scans++
	last := d
	l.last = &last
	l.m.decision(d.Reason, time.Since(start))
	l.log.Debug().Uint64("seq", d.Seq).Str("reason", d.Reason.String()).Msg("lane decided")
	l.publish()
	return d
}

// refusal returns why the lane cannot take an admission now, or 0. l.mu is held.
func (l *Lane) refusal() (gate.Reason, string) {
	switch {
	case l.halted:
		return gate.ReasonError, fmt.Sprintf("lane %s is halted", l.id)
	case l.emergency != nil:
		return gate.ReasonError, fmt.Sprintf("lane %s: emergency release by %s since %s", l.id, l.emergency.by, l.emergency.since.Format(time.RFC3339))
	case l.relayFault != "":
		return gate.ReasonError, fmt.Sprintf("lane %s is faulted: %s", l.id, l.relayFault)
	case l.sensorFault != "" && l.cfg.Confirm == ConfirmPassage:
		return gate.ReasonError, fmt.Sprintf("lane %s is faulted: %s", l.id, l.sensorFault)
	case l.cur != nil && !l.cfg.Queue:
		return gate.ReasonLaneBusy, fmt.Sprintf("lane %s is still open for scan %d", l.id, l.cur.d.Seq)
	case l.cur != nil && len(l.queue) >= l.cfg.MaxQueue:
		return gate.ReasonLaneBusy, fmt.Sprintf("lane %s has %d admissions waiting", l.id, len(l.queue))
	}
	return 0, ""
}

// Run handles reads until ctx is done, and meanwhile watches the passage
// sensor (a sensor that fails is watched again after RetestInterval). A
// closed reads channel (or nil, for a lane fed only through Scan) leaves the
// sensor watched until ctx is done. It returns ctx.Err().
func (l *Lane) Run(ctx context.Context, reads <-chan gate.Read) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	if l.parts.Passage != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l.watchPassage(ctx)
		}()
	}
	l.read(ctx, ctx, reads)
	return ctx.Err()
}

// read decides reads until ctx is done, each under decide. A closed (or
// nil) reads channel waits for ctx.
func (l *Lane) read(ctx, decide context.Context, reads <-chan gate.Read) {
	for {
		select {
		case <-ctx.Done():
			return
		case r, ok := <-reads:
			if !ok {
				reads = nil
				continue
			}
			l.Handle(decide, r)
		}
	}
}

// watchPassage watches the passage sensor until ctx is done.
func (l *Lane) watchPassage(ctx context.Context) {
	watchInput(ctx, l.clock, l.cfg.RetestInterval, l.parts.Passage, l.Passage, l.sensorFailed, l.sensorRestarted)
}

// Status returns what an operator sees of the lane. It never waits for a
// scan in progress.
func (l *Lane) Status() gate.LaneStatus {
	l.smu.Lock()
	st := l.snap
	l.smu.Unlock()
	st.ScannerConnected = l.parts.Scanner != nil && l.parts.Scanner.Connected()
	return st
}

// publish refreshes the status snapshot. l.mu is held.
func (l *Lane) publish() {
	p := l.policy.Load()
	st := gate.LaneStatus{
		ID:        l.id,
		Name:      p.Name,
		Direction: p.Direction,
		Events:    p.Events,
		RelayOK:   l.parts.Lock != nil && l.relayFault == "",
		State:     l.state(),
		Emergency: l.emergency != nil,
		Last:      l.last,
		Scans:     l.scans,
		Admits:    l.admits,
	}
	var faults []string
	if l.relayFault != "" {
		faults = append(faults, l.relayFault)
	}
	if l.sensorFault != "" {
		faults = append(faults, l.sensorFault)
	}
	st.Fault = strings.Join(faults, "; ")
	l.smu.Lock()
	l.snap = st
	l.smu.Unlock()
}

func (l *Lane) state() string {
	switch {
	case l.halted:
		return StateHalted
	case l.emergency != nil && l.cfg.Emergency == EmergencyHold:
		return StateEmergencyHold
	case l.emergency != nil:
		return StateEmergencyOpen
	case l.relayFault != "", l.sensorFault != "" && l.cfg.Confirm == ConfirmPassage:
		return StateFaulted
	case l.cur != nil && l.cur.locked:
		return StateAwaitingPassage
	case l.cur != nil:
		return StateUnlocked
	}
	return StateIdle
}

// Pending returns the journal sequence numbers of the admission the lane is
// open for (first) and those queued behind it, for status pages and tests.
func (l *Lane) Pending() []uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	var seqs []uint64
	if l.cur != nil {
		seqs = append(seqs, l.cur.d.Seq)
	}
	for _, a := range l.queue {
		seqs = append(seqs, a.d.Seq)
	}
	return seqs
}
