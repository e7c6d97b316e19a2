package turnstile

// Faults, emergencies, annulments and Halt: what takes a lane out of its
// normal cycle and how it comes back.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/admitgate/admit/gate"
)

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
	if l.halted || !l.started || l.parts.Lock == nil || on == (l.emergency != nil) {
		return // a door has nothing to open or hold; Set.Start brings a lane into a release under way
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
	l.log.Warn().Err(err).Uint64("seq", seq).Dur("retry_in_ms", delay).Msg("annulment failed; retrying")
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
// then on. Set.Stop calls it whenever the appliance stops, while the index is
// still open, so what it annuls is written. It is periph's conn.Resource
// idea; calling it again switches the outputs off again.
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
	if l.parts.Lock != nil {
		if err := l.parts.Lock.Set(false); err != nil {
			errs = append(errs, fmt.Errorf("turnstile: lane %s: relay %s: %w", l.id, l.parts.Lock, err))
		}
	}
	if err := l.sig.halt(); err != nil {
		errs = append(errs, fmt.Errorf("turnstile: lane %s: signals: %w", l.id, err))
	}
	return errors.Join(errs...)
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
