package turnstile

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
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

// Parts are the hardware of a lane. Only Lock is required.
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
// Every method is safe for concurrent use. Operations on one lane run one at
// a time (a scan waits for the previous one); Status never waits for them.
type Lane struct {
	lane  gate.Lane
	cfg   Config
	parts Parts
	v     gate.Validator
	clock Clock
	log   zerolog.Logger
	m     laneMetrics
	sig   *signals
	by    string // who annuls: "lane:<id>"

	mu          sync.Mutex
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
	switch {
	case v == nil:
		return nil, fmt.Errorf("turnstile: lane %s: no validator", l.ID)
	case parts.Lock == nil:
		return nil, gate.Errorf(gate.EINVALID, "lane %s has no unlock relay", l.ID)
	case c.Confirm == ConfirmPassage && parts.Passage == nil:
		return nil, gate.Errorf(gate.EINVALID, "lane %s: confirm \"passage\" needs a passage sensor", l.ID)
	}
	ln := &Lane{
		lane:    l,
		cfg:     c,
		parts:   parts,
		v:       v,
		clock:   c.Clock,
		log:     log.With().Str("component", "turnstile").Str("lane", l.ID).Logger(),
		m:       c.Metrics.forLane(l.ID),
		by:      "lane:" + l.ID,
		retries: map[uint64]*annulRetry{},
	}
	ln.sig = newSignals(&c, parts.Green, parts.Red, parts.Buzzer, ln.outputFailed)
	ln.mu.Lock()
	defer ln.mu.Unlock()
	if err := parts.Lock.Set(false); err != nil {
		ln.relayFailed("lock", err)
	} else {
		ln.sig.show(sceneIdle)
	}
	ln.publish()
	return ln, nil
}

// ID returns the lane's id.
func (l *Lane) ID() string { return l.lane.ID }

// Config returns the lane's configuration, defaults filled in.
func (l *Lane) Config() Config { return l.cfg }

// Handle decides one read from the lane's scanner: a malformed read is
// refused (and journaled) as malformed, anything else is scanned in the
// lane's direction at the read's time, with its source.
func (l *Lane) Handle(ctx context.Context, r gate.Read) gate.Decision {
	at := r.At
	if at.IsZero() {
		at = l.clock.Now()
	}
	s := l.lane.Scan(r.Text, at)
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
// A replayed decision (a repeated nonce) moves nothing.
func (l *Lane) Scan(ctx context.Context, s gate.Scan) gate.Decision {
	start := time.Now()
	if s.Lane == "" {
		s.Lane = l.lane.ID
	}
	if s.Direction == 0 {
		s.Direction = l.lane.Direction
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if s.Lane != l.lane.ID && s.Deny == 0 {
		s.Deny, s.Detail = gate.ReasonError, fmt.Sprintf("a scan for lane %s reached lane %s", s.Lane, l.lane.ID)
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
	l.log.Debug().Uint64("seq", d.Seq).Str("reason", d.Reason.String()).Str("barcode", d.Barcode).Msg("decision")
	l.publish()
	return d
}

// refusal returns why the lane cannot take an admission now, or 0. l.mu is held.
func (l *Lane) refusal() (gate.Reason, string) {
	switch {
	case l.halted:
		return gate.ReasonError, fmt.Sprintf("lane %s is halted", l.lane.ID)
	case l.emergency != nil:
		return gate.ReasonError, fmt.Sprintf("lane %s: emergency release by %s since %s", l.lane.ID, l.emergency.by, l.emergency.since.Format(time.RFC3339))
	case l.relayFault != "":
		return gate.ReasonError, fmt.Sprintf("lane %s is faulted: %s", l.lane.ID, l.relayFault)
	case l.sensorFault != "" && l.cfg.Confirm == ConfirmPassage:
		return gate.ReasonError, fmt.Sprintf("lane %s is faulted: %s", l.lane.ID, l.sensorFault)
	case l.cur != nil && !l.cfg.Queue:
		return gate.ReasonLaneBusy, fmt.Sprintf("lane %s is still open for scan %d", l.lane.ID, l.cur.d.Seq)
	case l.cur != nil && len(l.queue) >= l.cfg.MaxQueue:
		return gate.ReasonLaneBusy, fmt.Sprintf("lane %s has %d admissions waiting", l.lane.ID, len(l.queue))
	}
	return 0, ""
}

// admit unlocks for d, or queues it behind the current admission. l.mu is held.
func (l *Lane) admit(d gate.Decision) gate.Decision {
	a := &admission{d: d}
	if l.cur != nil {
		l.queue = append(l.queue, a)
		l.log.Info().Uint64("seq", d.Seq).Int("waiting", len(l.queue)).Msg("admission queued")
		return d
	}
	if !l.unlock(a) {
		d.Admit, d.Reason = false, gate.ReasonError
		d.Detail = fmt.Sprintf("lane %s: %s; the admission was annulled", l.lane.ID, l.relayFault)
	}
	return d
}

// unlock switches the relay on for a and starts its unlock time. A relay
// that fails faults the lane and annuls a (and every queued admission).
// l.mu is held.
func (l *Lane) unlock(a *admission) bool {
	t0 := time.Now()
	err := l.parts.Lock.Set(true)
	l.m.unlocked(time.Since(t0))
	if err != nil {
		l.annul(a.d.Seq, CauseRelay, 1)
		l.relayFailed("unlock", err)
		return false
	}
	a.unlockedAt = l.clock.Now()
	l.cur, l.lateSeq = a, 0
	if l.cfg.Confirm == ConfirmNone {
		a.final = true
		l.admits++
	}
	l.arm(l.cfg.UnlockTime, l.unlockElapsed)
	l.sig.show(sceneAdmit)
	l.log.Info().Uint64("seq", a.d.Seq).Str("barcode", a.d.Barcode).Msg("unlocked")
	return true
}

// arm replaces the admission timer with fn after d. l.mu is held.
func (l *Lane) arm(d time.Duration, fn func()) {
	l.stopTimer()
	gen := l.gen
	l.timer = l.clock.AfterFunc(d, func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.gen != gen || l.cur == nil {
			return // replaced, or the admission ended while this waited for the lock
		}
		l.timer = nil
		fn()
		l.publish()
	})
}

func (l *Lane) stopTimer() {
	l.gen++
	if l.timer != nil {
		l.timer.Stop()
		l.timer = nil
	}
}

// unlockElapsed locks the turnstile when nobody passed in the unlock time.
// l.mu is held.
func (l *Lane) unlockElapsed() {
	a := l.cur
	if err := l.parts.Lock.Set(false); err != nil {
		l.relayFailed("lock", err)
		return
	}
	a.locked = true
	if a.final {
		l.finish()
		return
	}
	rest := l.cfg.PassageTimeout - l.cfg.UnlockTime
	if rest <= 0 {
		l.passageTimedOut()
		return
	}
	l.sig.show(sceneIdle)
	l.arm(rest, l.passageTimedOut)
}

// passageTimedOut annuls an admission nobody passed on. l.mu is held.
func (l *Lane) passageTimedOut() {
	a := l.cur
	l.cur = nil
	l.log.Info().Uint64("seq", a.d.Seq).Str("barcode", a.d.Barcode).Dur("timeout", l.cfg.PassageTimeout).
		Msg("nobody passed; annulling the admission")
	l.annul(a.d.Seq, CauseTimeout, 1)
	l.lateSeq = a.d.Seq
	l.next()
}

// finish ends the current admission and unlocks for the next. l.mu is held.
func (l *Lane) finish() {
	l.cur = nil
	l.stopTimer()
	l.next()
}

// next unlocks for the first queued admission, or shows idle. l.mu is held.
func (l *Lane) next() {
	if len(l.queue) == 0 {
		l.sig.show(l.standingScene())
		return
	}
	a := l.queue[0]
	l.queue = l.queue[1:]
	l.unlock(a)
}

// Passage is a passage sensor edge; the lane's Run delivers its sensor's
// edges here, and a sensor wired some other way can call it. An active edge
// confirms the current admission and locks the turnstile; Initial and
// inactive edges only show the sensor works.
func (l *Lane) Passage(e Edge) {
	l.mu.Lock()
	defer l.mu.Unlock()
	defer l.publish()
	if l.sensorFault != "" {
		l.log.Info().Msg("passage sensor answers again")
		l.sensorFault = ""
		l.sensorGen++
		l.sig.show(l.standingScene())
	}
	if e.Initial || !e.Active {
		return
	}
	if e.At.IsZero() {
		e.At = l.clock.Now()
	}
	a := l.cur
	switch {
	case l.halted:
		l.m.passage(PassageUnexpected)
		return
	case l.emergency != nil:
		l.m.passage(PassageEmergency)
		return
	case a == nil && l.lateSeq != 0:
		l.m.passage(PassageLate)
		l.log.Warn().Uint64("seq", l.lateSeq).Time("at", e.At).
			Msg("passage after the admission was annulled at its timeout; the ticket was given back")
		l.lateSeq = 0
		return
	case a == nil || e.At.Before(a.unlockedAt):
		l.m.passage(PassageUnexpected)
		l.log.Warn().Time("at", e.At).Msg("passage without an admission")
		return
	}
	if !a.final {
		a.final = true
		l.admits++
	}
	l.m.passage(PassageAdmitted)
	l.m.passed(e.At.Sub(a.unlockedAt))
	l.log.Info().Uint64("seq", a.d.Seq).Dur("after", e.At.Sub(a.unlockedAt)).Msg("passed")
	if !a.locked {
		if err := l.parts.Lock.Set(false); err != nil {
			l.relayFailed("lock", err)
			return
		}
	}
	l.finish()
}

// relayFailed faults the lane: what is pending and not final is annulled, the
// relay is set to its wanted level once more, and a retest is scheduled.
// l.mu is held.
func (l *Lane) relayFailed(op string, err error) {
	l.relayFault = fmt.Sprintf("relay %s failed to %s: %v", l.parts.Lock, op, err)
	l.m.relayFault()
	l.log.Error().Err(err).Str("relay", l.parts.Lock.String()).Str("op", op).Msg("relay fault; the lane refuses scans until it answers")
	l.dropPending(CauseRelay)
	_ = l.parts.Lock.Set(l.wantRelay()) // best effort; the retest finds out
	l.sig.show(l.standingScene())
	l.scheduleRetest()
}

// dropPending annuls the current admission unless final and every queued
// one (none of them got an unlock). l.mu is held.
func (l *Lane) dropPending(cause string) {
	l.stopTimer()
	if a := l.cur; a != nil && !a.final {
		l.annul(a.d.Seq, cause, 1)
	}
	l.cur = nil
	for _, a := range l.queue {
		l.annul(a.d.Seq, cause, 1)
	}
	l.queue = nil
}

func (l *Lane) wantRelay() bool {
	return l.emergency != nil && l.cfg.Emergency == EmergencyOpen && !l.halted
}

func (l *Lane) scheduleRetest() {
	if l.retest != nil || l.halted {
		return
	}
	l.retest = l.clock.AfterFunc(l.cfg.RetestInterval, l.retestRelay)
}

// retestRelay switches a faulted relay to its wanted level; success clears
// the fault.
func (l *Lane) retestRelay() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.retest = nil
	if l.halted || l.relayFault == "" {
		return
	}
	if err := l.parts.Lock.Set(l.wantRelay()); err != nil {
		l.log.Debug().Err(err).Msg("relay still faulted")
		l.scheduleRetest()
		return
	}
	l.relayRecovered()
	l.publish()
}

func (l *Lane) relayRecovered() {
	l.log.Info().Str("relay", l.parts.Lock.String()).Str("fault", l.relayFault).Msg("relay answers again; the lane is back in service")
	l.relayFault = ""
	if l.retest != nil {
		l.retest.Stop()
		l.retest = nil
	}
	l.sig.show(l.standingScene())
}

func (l *Lane) standingScene() scene {
	switch {
	case l.emergency != nil:
		return sceneEmergency
	case l.relayFault != "", l.sensorFault != "" && l.cfg.Confirm == ConfirmPassage:
		return sceneFault
	case l.cur != nil && !l.cur.locked:
		return sceneAdmit
	}
	return sceneIdle
}

// setEmergency starts or ends an emergency release at this lane. Starting
// annuls what is pending and holds the relay on (open) or off (hold).
func (l *Lane) setEmergency(on bool, by string, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	defer l.publish()
	if l.halted || on == (l.emergency != nil) {
		return
	}
	if on {
		l.emergency = &emergency{by: by, since: at}
		l.dropPending(CauseEmergency)
		l.log.Warn().Str("by", by).Str("mode", string(l.cfg.Emergency)).Msg("emergency release")
	} else {
		l.emergency = nil
		l.log.Warn().Str("by", by).Msg("emergency cleared; the lane is back in service")
	}
	op := "lock"
	if l.wantRelay() {
		op = "unlock"
	}
	if err := l.parts.Lock.Set(l.wantRelay()); err != nil {
		l.relayFailed(op, err)
		return
	}
	if l.relayFault != "" {
		l.relayRecovered()
		return
	}
	l.sig.show(l.standingScene())
}

// annul gives an admission back through the validator. A storage fault is
// retried (RetestInterval apart, doubling) up to AnnulAttempts; a refusal
// (unknown seq, already annulled) is logged. l.mu is held.
func (l *Lane) annul(seq uint64, cause string, attempt int) {
	ctx, cancel := context.WithTimeout(context.Background(), l.cfg.AnnulTimeout)
	_, err := l.v.Annul(ctx, seq, l.by)
	cancel()
	if err == nil {
		l.m.annulled(cause)
		l.log.Info().Uint64("seq", seq).Str("cause", cause).Msg("admission annulled; the ticket can be used again")
		return
	}
	l.m.annulFailed()
	switch gate.ErrorCode(err) {
	case gate.ENOTFOUND, gate.ECONFLICT, gate.EINVALID:
		l.log.Error().Err(err).Uint64("seq", seq).Str("cause", cause).Msg("the index refused the annulment")
		return
	}
	if attempt >= l.cfg.AnnulAttempts || l.halted {
		l.log.Error().Err(err).Uint64("seq", seq).Str("cause", cause).Int("attempts", attempt).
			Msgf("could not annul scan %d: the ticket stays used until it is annulled by hand (POST /v1/scans/%d/annul)", seq, seq)
		return
	}
	delay := l.cfg.RetestInterval << (attempt - 1)
	l.log.Warn().Err(err).Uint64("seq", seq).Dur("retry_in", delay).Msg("annulment failed; retrying")
	r := &annulRetry{cause: cause, attempt: attempt + 1}
	r.timer = l.clock.AfterFunc(delay, func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.retries[seq] != r {
			return // flushed by Halt
		}
		delete(l.retries, seq)
		l.annul(seq, r.cause, r.attempt)
	})
	l.retries[seq] = r
}

// Halt puts every output of the lane in its safe state (off), annuls what is
// pending, tries pending annulment retries once more, and refuses scans from
// then on. The daemon calls it on shutdown, before closing the index, and on
// fatal errors. It implements periph's conn.Resource idea; calling it again
// switches the outputs off again.
func (l *Lane) Halt() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	defer l.publish()
	if !l.halted {
		l.log.Info().Msg("halting")
	}
	l.dropPending(CauseHalt)
	l.halted = true
	if l.retest != nil {
		l.retest.Stop()
		l.retest = nil
	}
	for seq, r := range l.retries {
		r.timer.Stop()
		delete(l.retries, seq)
		l.annul(seq, r.cause, r.attempt)
	}
	var errs []error
	if err := l.parts.Lock.Set(false); err != nil {
		errs = append(errs, fmt.Errorf("turnstile: lane %s: relay %s: %w", l.lane.ID, l.parts.Lock, err))
	}
	if err := l.sig.halt(); err != nil {
		errs = append(errs, fmt.Errorf("turnstile: lane %s: signals: %w", l.lane.ID, err))
	}
	return errors.Join(errs...)
}

// Run handles reads until ctx is done, and meanwhile watches the passage
// sensor (a sensor that fails is watched again after RetestInterval). A
// closed reads channel (or nil, for a lane fed only through Scan) leaves the
// sensor watched until ctx is done. It returns ctx.Err().
func (l *Lane) Run(ctx context.Context, reads <-chan gate.Read) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	if in := l.parts.Passage; in != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			watchInput(ctx, l.clock, l.cfg.RetestInterval, in, l.Passage, l.sensorFailed, l.sensorRestarted)
		}()
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case r, ok := <-reads:
			if !ok {
				reads = nil
				continue
			}
			l.Handle(ctx, r)
		}
	}
}

func (l *Lane) sensorFailed(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sensorGen++
	l.sensorFault = fmt.Sprintf("passage sensor %s: %v", l.parts.Passage, err)
	l.log.Error().Err(err).Str("sensor", l.parts.Passage.String()).Msg("passage sensor failed; watching it again shortly")
	l.sig.show(l.standingScene())
	l.publish()
}

// sensorRestarted is called when the sensor is watched again: if it runs a
// RetestInterval without failing (or delivers an edge sooner), the fault clears.
func (l *Lane) sensorRestarted() {
	l.mu.Lock()
	defer l.mu.Unlock()
	gen := l.sensorGen
	l.clock.AfterFunc(l.cfg.RetestInterval, func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.sensorGen != gen || l.sensorFault == "" {
			return
		}
		l.log.Info().Msg("passage sensor watched again")
		l.sensorFault = ""
		l.sig.show(l.standingScene())
		l.publish()
	})
}

// watchInput watches in until ctx is done, watching it again retry after
// each failure.
func watchInput(ctx context.Context, c Clock, retry time.Duration, in Input, fn func(Edge), failed func(error), restarted func()) {
	for first := true; ; first = false {
		if !first {
			restarted()
		}
		err := in.Watch(ctx, fn)
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			err = errors.New("watch ended")
		}
		failed(err)
		if !sleep(ctx, c, retry) {
			return
		}
	}
}

func (l *Lane) outputFailed(o Output, err error) {
	l.m.outputError(o.String())
	l.log.Warn().Err(err).Str("output", o.String()).Msg("signal output failed to switch")
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
	st := gate.LaneStatus{
		ID:        l.lane.ID,
		Name:      l.lane.Name,
		Direction: l.lane.Direction,
		Events:    l.lane.Events,
		RelayOK:   l.relayFault == "",
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
