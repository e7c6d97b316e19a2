package venue

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/admitgate/admit/gate"
)

// Start runs the Redeemer's work until Close: the watch that learns the
// hub's redemptions, the offline replay, and the status counts. Calling it
// again does nothing.
func (r *Redeemer) Start() {
	r.start.Do(func() {
		r.wg.Add(3)
		go r.watchLoop()
		go r.replayLoop()
		go r.statusLoop()
	})
}

// Close stops what Start runs and waits for it. Claims still work as long
// as the link is open; close the Redeemer before the link and the store.
func (r *Redeemer) Close() error {
	r.cancel()
	r.wg.Wait()
	return nil
}

// watchLoop learns every write of the hub's redemptions after the store's
// position, in order, for as long as the Redeemer runs; when learning stops
// (a store fault, a phantom that could not be released yet, a value that
// does not decode) it starts again from the position after RetryInterval.
func (r *Redeemer) watchLoop() {
	defer r.wg.Done()
	for r.ctx.Err() == nil {
		err := r.link.Watch(r.ctx, r.store.VenuePosition(), r.learn)
		if r.ctx.Err() != nil || errors.Is(err, ErrClosed) {
			return
		}
		var de *DecodeError
		if !errors.As(err, &de) {
			r.noteLearnErr(err)
		}
		select {
		case <-r.ctx.Done():
			return
		case <-r.skip:
		case <-time.After(r.cfg.RetryInterval):
		}
	}
}

// learn applies one write the watch delivered.
func (r *Redeemer) learn(e Entry) error {
	if e.Err != nil {
		var de *DecodeError
		if !errors.As(e.Err, &de) {
			de = &DecodeError{Bucket: BucketRedemptions, Key: e.Key, Rev: e.Rev, Err: e.Err}
		}
		r.setBad(de)
		return de
	}
	if err := r.store.Learn(r.ctx, hubOf(e.Record, e.Rev)); err != nil {
		return fmt.Errorf("venue: learn revision %d: %w", e.Rev, err)
	}
	r.mu.Lock()
	r.learnedAt, r.learnErr = e.At, ""
	if r.bad != nil && e.Rev > r.bad.Rev {
		r.log.Info().Str("key", r.bad.Key).Uint64("revision", r.bad.Rev).Msg("learning went past the value that did not decode; claims go to the hub again")
		r.bad = nil
	}
	r.mu.Unlock()
	if r.store.OfflineWaiting() > 0 {
		r.nudge() // a replay waiting for learning to catch up goes on
	}
	return nil
}

func (r *Redeemer) setBad(de *DecodeError) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.bad == nil || r.bad.Rev != de.Rev {
		r.bad, r.badAt = de, time.Now()
		r.log.Error().Err(de).Msg("a redemption at the hub does not decode: learning stops there and scans that need the hub fail closed " +
			"until an operator corrects the hub or skips the revision")
	}
}

func (r *Redeemer) noteLearnErr(err error) {
	r.mu.Lock()
	changed := r.learnErr != err.Error()
	r.learnErr = err.Error()
	r.mu.Unlock()
	if changed {
		r.log.Warn().Err(err).Msg("learning from the hub stopped; it starts again from the last revision learned")
	}
}

// SkipBadValue moves learning past revision rev, the value the watch stopped
// at because it does not decode: an operator's decision, logged, after
// which claims go to the hub again. Any other revision is refused.
func (r *Redeemer) SkipBadValue(ctx context.Context, rev uint64) error {
	r.mu.Lock()
	bad := r.bad
	r.mu.Unlock()
	if bad == nil || bad.Rev != rev {
		return gate.Errorf(gate.ECONFLICT, "learning is not stopped at revision %d", rev)
	}
	if err := r.store.SkipLearn(ctx, rev); err != nil {
		return err
	}
	r.mu.Lock()
	if r.bad != nil && r.bad.Rev == rev {
		r.bad = nil
	}
	r.mu.Unlock()
	r.log.Warn().Str("key", bad.Key).Uint64("revision", rev).Msg("an operator skipped a redemption that does not decode")
	select {
	case r.skip <- struct{}{}:
	default:
	}
	return nil
}

func (r *Redeemer) nudge() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// replayLoop replays the offline writes whenever some wait and the link is
// up: when it comes up, when learning moves on, and every RetryInterval.
func (r *Redeemer) replayLoop() {
	defer r.wg.Done()
	wait := r.cfg.RetryInterval
	for {
		_, changed := r.link.stateNow()
		select {
		case <-r.ctx.Done():
			return
		case <-r.kick:
		case <-changed:
		case <-time.After(wait):
		}
		wait = r.cfg.RetryInterval
		if r.store.OfflineWaiting() == 0 {
			continue
		}
		if _, err := r.link.ready(); err != nil {
			continue
		}
		st, err := r.store.ReplayOffline(r.ctx)
		r.replayed.Add(uint64(st.Replayed))
		if st.Replayed > 0 {
			r.log.Info().Int("replayed", st.Replayed).Int("double_entries", st.DoubleEntries).Int("waiting", st.Waiting).
				Msg("offline admissions replayed at the hub")
		}
		r.mu.Lock()
		prev := r.replayErr
		switch {
		case err != nil && r.ctx.Err() == nil:
			r.replayErr = err.Error()
		case st.Waiting == 0:
			r.replayErr = ""
		}
		now := r.replayErr
		r.mu.Unlock()
		if now != "" && now != prev {
			r.log.Error().Str("error", now).Msg("the offline replay stopped; it is tried again")
		}
		if st.Behind {
			wait = min(50*time.Millisecond, r.cfg.RetryInterval) // learning is about to catch up
		}
	}
}

// statusLoop counts what Status reports from the hub (its last revision,
// the double entries) and applies learned writes whose tickets arrived.
func (r *Redeemer) statusLoop() {
	defer r.wg.Done()
	t := time.NewTicker(min(r.cfg.StatusInterval, r.cfg.RetryInterval))
	defer t.Stop()
	var last time.Time
	for {
		select {
		case <-r.ctx.Done():
			return
		case <-t.C:
		}
		if n, err := r.store.LearnPending(r.ctx); err == nil {
			r.mu.Lock()
			r.waitTicket = n
			r.mu.Unlock()
		} else if r.ctx.Err() == nil {
			r.log.Warn().Err(err).Msg("learned redemptions waiting for their tickets could not be applied; tried again")
		}
		if time.Since(last) >= r.cfg.StatusInterval {
			last = time.Now()
			r.countHub()
		}
	}
}

// countHub reads the hub's last redemption revision and its double
// entries' count.
func (r *Redeemer) countHub() {
	if _, err := r.link.ready(); err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(r.ctx, r.link.stepTimeout())
	defer cancel()
	red, err := r.link.js.Stream(ctx, kvStream(BucketRedemptions))
	if err != nil {
		return
	}
	dbl, err := r.link.js.Stream(ctx, kvStream(BucketDoubleEntries))
	if err != nil {
		return
	}
	r.mu.Lock()
	r.hubLast, r.doubleSeen, r.hubAt = red.CachedInfo().State.LastSeq, int(dbl.CachedInfo().State.Msgs), time.Now()
	r.mu.Unlock()
}

// RedeemerStatus is the venue's redeem-once as this appliance sees it, for
// /v1/venue, /metrics and the operator page.
type RedeemerStatus struct {
	Link Status `json:"link"` // the link's state: connected, the node, the last claim's latency
	// Failing says why scans that need the hub fail closed now (a refused
	// link, a value that does not decode); "" when they do not.
	Failing   string    `json:"failing,omitempty"`
	FailingAt time.Time `json:"failing_at,omitzero"`
	// Claims by outcome since start; Released counts the phantom claims
	// this appliance took back.
	Won      uint64 `json:"claims_won"`
	Lost     uint64 `json:"claims_lost"`
	Offline  uint64 `json:"claims_offline"`
	Failed   uint64 `json:"claims_failed"`
	Released uint64 `json:"released"`
	// OfflineWaiting is the offline writes (admissions, exits,
	// annulments) waiting for their replay; Replayed those replayed since
	// start; ReplayError why the last replay stopped ("" when none did).
	OfflineWaiting int    `json:"offline_waiting"`
	Replayed       uint64 `json:"replayed"`
	ReplayError    string `json:"replay_error,omitempty"`
	// DoubleEntries is the double entries recorded at the hub,
	// venue-wide, as of HubAt; DoubleEntriesHere those this appliance's
	// replays found since start.
	DoubleEntries     int    `json:"double_entries"`
	DoubleEntriesHere uint64 `json:"double_entries_here"`
	// Learned is the last hub revision learned and LearnedAt the hub's
	// time of it; HubLast the hub's last revision as of HubAt, and Lag
	// the revisions between them (0 when caught up or not known).
	Learned   uint64    `json:"learned"`
	LearnedAt time.Time `json:"learned_at,omitzero"`
	HubLast   uint64    `json:"hub_last"`
	HubAt     time.Time `json:"hub_at,omitzero"`
	Lag       uint64    `json:"lag"`
	// LearnError is why learning last stopped ("" while it runs);
	// WaitingForTicket the learned writes whose tickets are not in the
	// store yet.
	LearnError       string `json:"learn_error,omitempty"`
	WaitingForTicket int    `json:"waiting_for_ticket"`
}

// Status returns the Redeemer's state now.
func (r *Redeemer) Status() RedeemerStatus {
	s := RedeemerStatus{Link: r.link.Status(), Won: r.won.Load(), Lost: r.lost.Load(), Offline: r.offline.Load(),
		Failed: r.failed.Load(), Released: r.released.Load(), OfflineWaiting: r.store.OfflineWaiting(),
		Replayed: r.replayed.Load(), DoubleEntriesHere: r.doublesHere.Load(), Learned: r.store.VenuePosition()}
	s.Failing = r.failing()
	r.mu.Lock()
	if r.bad != nil {
		s.FailingAt = r.badAt
	} else if s.Failing != "" {
		s.FailingAt = s.Link.Since
	}
	s.ReplayError, s.DoubleEntries, s.LearnedAt, s.HubLast, s.HubAt = r.replayErr, r.doubleSeen, r.learnedAt, r.hubLast, r.hubAt
	s.LearnError, s.WaitingForTicket = r.learnErr, r.waitTicket
	r.mu.Unlock()
	if s.HubLast > s.Learned {
		s.Lag = s.HubLast - s.Learned
	}
	return s
}
