package turnstile

// The admission transitions: unlock, the unlock time, passage, passage
// timeout, the queue.

import (
	"fmt"
	"time"

	"github.com/admitgate/admit/gate"
)

// admit unlocks for d, or queues it behind the current admission; at a
// door the admission is final at once. l.mu is held.
func (l *Lane) admit(d gate.Decision) gate.Decision {
	if l.parts.Lock == nil { // a door: nothing to unlock
		l.admits++
		return d
	}
	a := &admission{d: d}
	if l.cur != nil {
		l.queue = append(l.queue, a)
		l.log.Info().Uint64("seq", d.Seq).Int("waiting", len(l.queue)).Msg("admission queued")
		return d
	}
	if !l.unlock(a) {
		d.Admit, d.Reason = false, gate.ReasonError
		d.Detail = fmt.Sprintf("lane %s: %s; the admission was annulled", l.id, l.relayFault)
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
	l.log.Info().Uint64("seq", a.d.Seq).Msg("unlocked") // the decision's line (index) shows the barcode
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
	l.log.Info().Uint64("seq", a.d.Seq).Dur("timeout_ms", l.cfg.PassageTimeout).
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
	l.log.Info().Uint64("seq", a.d.Seq).Dur("after_ms", e.At.Sub(a.unlockedAt)).Msg("passed")
	if !a.locked {
		if err := l.parts.Lock.Set(false); err != nil {
			l.relayFailed("lock", err)
			return
		}
	}
	l.finish()
}
