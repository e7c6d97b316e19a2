package venue

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/admitgate/admit/gate"
)

// The applier's view of how far behind the venue this appliance is: the
// hub's last position (read every ProbeInterval, and from each message's
// count of those after it), the position applied here, and asOf, the time
// up to which every change the hub held is applied here. The data age is
// now - asOf: near zero while the hub answers and nothing waits, growing
// while the hub is away or a change waits (an import being applied counts
// from the hub's time of that change).

// probeLoop reads the hub's last position until Close.
func (a *Applier) probeLoop() {
	defer a.wg.Done()
	t := time.NewTicker(a.cfg.ProbeInterval)
	defer t.Stop()
	for {
		a.probe()
		select {
		case <-a.ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (a *Applier) probe() {
	start := time.Now()
	// Read before asking: every change applied by now was at the hub when
	// it answered.
	applied := a.applied.Load()
	ctx, cancel := context.WithTimeout(a.ctx, max(2*a.cfg.ProbeInterval, 2*time.Second))
	st, err := a.link.js.Stream(ctx, StreamChanges)
	cancel()
	if err != nil {
		seen := a.hubSeen.Load()
		since := a.started
		if seen != 0 {
			since = time.Unix(0, seen)
		}
		if !a.open.Load() && time.Since(since) > a.cfg.StartWait && a.open.CompareAndSwap(false, true) {
			a.log.Warn().Err(err).Dur("waited_ms", time.Since(since)).Uint64("applied", a.applied.Load()).
				Msg("the venue hub does not answer: opening on this appliance's data as it is (its age grows; each lane's max_lag decides)")
		}
		return
	}
	lastSeq := st.CachedInfo().State.LastSeq
	a.hubSeen.Store(start.UnixNano())
	if lastSeq < applied {
		if a.stopped.Load() == nil {
			a.stop(&stopError{pos: applied + 1, gone: true, err: fmt.Errorf(
				"venue: the hub's changes stream ends at position %d but this appliance applied up to %d: the stream was made anew, "+
					"and its changes are not the ones applied here", lastSeq, applied)})
		}
		return
	}
	for {
		cur := a.last.Load()
		if lastSeq <= cur || a.last.CompareAndSwap(cur, lastSeq) {
			break
		}
	}
	if a.target.Load() == 0 {
		a.target.Store(lastSeq + 1) // +1: 0 is "not known yet"
	}
	if applied >= lastSeq {
		a.advanceAsOf(start.UnixNano())
	}
	a.checkCaughtUp()
}

// checkCaughtUp opens the appliance once it has applied what the hub held
// when it started.
func (a *Applier) checkCaughtUp() {
	if a.open.Load() {
		return
	}
	target := a.target.Load()
	if target == 0 || a.applied.Load() < target-1 {
		return
	}
	if a.open.CompareAndSwap(false, true) {
		a.log.Info().Uint64("from", a.catchFrom.Load()).Uint64("applied", a.applied.Load()).
			Dur("took_ms", time.Since(a.started)).Msg("caught up with the venue's changes")
	}
}

// CatchingUp returns nil once the appliance has caught up with the changes
// the hub held when it started (or the hub did not answer for StartWait),
// and until then an EUNAVAILABLE error with the progress: "catching up:
// 812 of 2,000 changes". It reads atomics only (cheap enough for every
// request): cmd gives it to the API's Serving and Ready, so the lanes open
// after the catch-up.
func (a *Applier) CatchingUp() error {
	if a.open.Load() {
		return nil
	}
	target := a.target.Load()
	if target == 0 {
		return gate.Errorf(gate.EUNAVAILABLE, "catching up: waiting for the venue hub to say how far behind this appliance is")
	}
	from, applied := a.catchFrom.Load(), a.applied.Load()
	msg := fmt.Sprintf("catching up: %s of %s changes", thousands(applied-min(from, applied)), thousands(target-1-min(from, target-1)))
	if st := a.stopped.Load(); st != nil {
		msg += fmt.Sprintf("; stopped at position %d: %s", st.Position, st.Error)
	}
	return gate.Errorf(gate.EUNAVAILABLE, "%s", msg)
}

// Ready is CatchingUp, and an error while the applier is stopped at a
// change it cannot apply (an operator must act).
func (a *Applier) Ready() error {
	if err := a.CatchingUp(); err != nil {
		return err
	}
	if st := a.stopped.Load(); st != nil {
		return a.stoppedError(st)
	}
	return nil
}

func (a *Applier) stoppedError(st *StopInfo) error {
	return gate.Errorf(gate.EUNAVAILABLE, "this appliance stopped applying the venue's changes at position %d: %s", st.Position, st.Error)
}

// Stopped returns why the applier stopped, or nil.
func (a *Applier) Stopped() *StopInfo { return a.stopped.Load() }

// Applied returns the last position applied here.
func (a *Applier) Applied() uint64 { return a.applied.Load() }

// Age returns how old this appliance's copy of the venue's data is at now:
// every change the hub held Age ago is applied here. Atomic reads only.
func (a *Applier) Age(now time.Time) time.Duration {
	asOf := a.asOf.Load()
	if asOf == 0 {
		return now.Sub(a.started) // never current: as old as this process at least
	}
	return max(now.Sub(time.Unix(0, asOf)), 0)
}

// CheckLag says what a lane's max_lag policy does now: LagOK, LagWarn or
// LagRefuse (refuse with gate.ReasonStaleData and gate.StaleDetail), and
// the age it judged. Atomic reads only: the scan path may call it.
func (a *Applier) CheckLag(p gate.LagPolicy, now time.Time) (gate.LagVerdict, time.Duration) {
	if p.MaxLag <= 0 {
		return gate.LagOK, 0
	}
	age := a.Age(now)
	return p.Check(age), age
}

// ChangesStatus is the applier's state, for GET /v1/venue and /metrics.
type ChangesStatus struct {
	// State: "catching_up" (lanes wait), "current" (nothing waits),
	// "behind" (changes wait), "stopped" (an operator must act).
	State   string `json:"state"`
	Applied uint64 `json:"applied"` // the last position applied here
	Last    uint64 `json:"last"`    // the hub's last position, as last seen
	Behind  uint64 `json:"behind"`  // changes at the hub not applied here
	// OldestAge is how long the oldest change not applied here has been at
	// the hub (0: none known).
	OldestAge time.Duration `json:"oldest_age_ns"`
	// Age is how old this appliance's copy of the venue's data is; AsOf the
	// time up to which every change is applied here.
	Age      time.Duration `json:"age_ns"`
	AsOf     time.Time     `json:"as_of,omitzero"`
	HubSeen  time.Time     `json:"hub_seen,omitzero"` // the hub's last answer
	CatchUp  string        `json:"catch_up,omitempty"`
	Applying string        `json:"applying,omitempty"` // the change being applied now
	Stopped  *StopInfo     `json:"stopped,omitempty"`
	// LastError is the latest fault retried (the hub away, the disk).
	LastError   string    `json:"last_error,omitempty"`
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
}

// Status returns the applier's state now.
func (a *Applier) Status() ChangesStatus {
	now := time.Now()
	s := ChangesStatus{Applied: a.applied.Load(), Last: a.last.Load(), Age: a.Age(now), Stopped: a.stopped.Load()}
	if s.Last > s.Applied {
		s.Behind = s.Last - s.Applied
	}
	if ns := a.pendingAt.Load(); ns != 0 {
		s.OldestAge = max(now.Sub(time.Unix(0, ns)), 0)
	} else if s.Behind > 0 {
		s.OldestAge = s.Age
	}
	if ns := a.asOf.Load(); ns != 0 {
		s.AsOf = time.Unix(0, ns).UTC()
	}
	if ns := a.hubSeen.Load(); ns != 0 {
		s.HubSeen = time.Unix(0, ns).UTC()
	}
	a.mu.Lock()
	s.Applying, s.LastError, s.LastErrorAt = a.applying, a.lastErr, a.lastErrAt
	a.mu.Unlock()
	switch err := a.CatchingUp(); {
	case s.Stopped != nil:
		s.State = "stopped"
		if err != nil {
			s.CatchUp = gate.ErrorMessage(err)
		}
	case err != nil:
		s.State, s.CatchUp = "catching_up", gate.ErrorMessage(err)
	case s.Behind > 0:
		s.State = "behind"
	default:
		s.State = "current"
	}
	return s
}

// WaitApplied waits until position pos is applied here, ctx ends, or the
// applier stops (its error).
func (a *Applier) WaitApplied(ctx context.Context, pos uint64) error {
	for a.applied.Load() < pos {
		if st := a.stopped.Load(); st != nil {
			return a.stoppedError(st)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("venue: waiting for change %d (applied %d): %w", pos, a.applied.Load(), ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
	return nil
}

// thousands writes n with commas: 2,000.
func thousands(n uint64) string {
	s := strconv.FormatUint(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
