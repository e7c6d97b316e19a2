package venue

import (
	"context"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"time"
)

// reconnectDelay is the wait after a round of failed connection attempts:
// ReconnectWait doubled each round up to MaxReconnectWait, ±20%.
func (l *Link) reconnectDelay(attempts int) time.Duration {
	d := l.cfg.ReconnectWait
	for i := 1; i < attempts && d < l.cfg.MaxReconnectWait; i++ {
		d *= 2
	}
	d = min(d, l.cfg.MaxReconnectWait)
	return d - d/5 + time.Duration(mrand.Int64N(int64(d/5)*2+1))
}

// supervise brings the link up after every (re)connection and keeps the
// presence key fresh while it is up.
func (l *Link) supervise() {
	defer l.wg.Done()
	timer := time.NewTimer(0)
	defer timer.Stop()
	retry := l.cfg.ReconnectWait
	for {
		select {
		case <-l.ctx.Done():
			return
		case <-l.kick:
		case <-timer.C:
		}
		next := l.cfg.Heartbeat
		st, _ := l.stateNow()
		switch {
		case !l.nc.IsConnected():
			if st != StateRefused {
				l.kvs.Store(nil)
				l.setState(StateConnecting, "")
			}
		case st == StateUp && !l.recheck.Load():
			if err := l.beat(); err != nil {
				if errors.Is(err, ErrRefused) {
					l.kvs.Store(nil)
					l.setState(StateRefused, refusal(err))
				}
				l.noteErr(err)
				next = min(next, time.Second)
			}
		default:
			if st != StateRefused {
				l.kvs.Store(nil)
				l.setState(StateChecking, "")
			}
			l.recheck.Store(false)
			if err := l.establish(); err != nil {
				if l.noteErr(err) {
					l.log.Warn().Err(err).Msg("the venue link is not up yet")
				}
				next, retry = retry, min(retry*2, l.cfg.MaxReconnectWait)
				if errors.Is(err, ErrRefused) {
					// Looked at again now and then: an operator may fix
					// the hub, or the other holder of the id may go.
					l.setState(StateRefused, refusal(err))
					next = refusedRetry
				}
				break
			}
			retry = l.cfg.ReconnectWait
			l.setState(StateUp, "")
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(next)
	}
}

func refusal(err error) string {
	var re *RefusedError
	if errors.As(err, &re) {
		return re.Reason
	}
	return err.Error()
}

// establish checks the layout, binds the buckets and registers presence.
func (l *Link) establish() error {
	// Each step has its own bound: a request lost in a leader change is
	// retried soon rather than waited for.
	ctx, cancel := l.opContext(l.stepTimeout())
	defer cancel()
	if _, err := l.cfg.Layout.Ensure(ctx, l.js); err != nil {
		var se *SettingError
		if errors.As(err, &se) || errors.Is(err, ErrMissing) {
			return &RefusedError{Reason: "the hub's buckets are not the venue's: " + err.Error()}
		}
		return err
	}
	var b buckets
	var err error
	if b.redemptions, err = l.js.KeyValue(ctx, BucketRedemptions); err != nil {
		return fmt.Errorf("venue: %s: %w", BucketRedemptions, err)
	}
	if b.appliances, err = l.js.KeyValue(ctx, BucketAppliances); err != nil {
		return fmt.Errorf("venue: %s: %w", BucketAppliances, err)
	}
	pctx, pcancel := l.opContext(2*l.cfg.Heartbeat + l.stepTimeout())
	defer pcancel()
	if err := l.registerPresence(pctx, b.appliances); err != nil {
		return err
	}
	if l.recheck.Load() {
		return errors.New("venue: the connection dropped while checking the hub")
	}
	l.kvs.Store(&b)
	return nil
}

// opContext is the context of one of the supervisor's steps: bounded by d,
// and ended at once when the connection drops.
func (l *Link) opContext(d time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(l.ctx, d)
	l.mu.Lock()
	l.opCancel = cancel
	l.mu.Unlock()
	return ctx, cancel
}

func (l *Link) cancelOps() {
	l.mu.Lock()
	cancel := l.opCancel
	l.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}

// stepTimeout bounds one step of bringing the link up.
func (l *Link) stepTimeout() time.Duration { return min(l.cfg.ConnectTimeout, 5*time.Second) }

// beat refreshes the presence key and measures the round trip.
func (l *Link) beat() error {
	b := l.kvs.Load()
	if b == nil {
		return ErrOffline
	}
	start := time.Now()
	if err := l.nc.FlushTimeout(min(l.cfg.Heartbeat, 2*time.Second)); err == nil {
		l.mu.Lock()
		l.rtt = time.Since(start)
		l.mu.Unlock()
	}
	ctx, cancel := l.opContext(2*l.cfg.Heartbeat + l.stepTimeout())
	defer cancel()
	return l.refreshPresence(ctx, b.appliances)
}

// ready returns the bound buckets when an operation can go to the hub now,
// else why not (ErrOffline, ErrRefused or ErrClosed).
func (l *Link) ready() (*buckets, error) {
	b := l.kvs.Load()
	if b != nil && l.nc.IsConnected() {
		return b, nil
	}
	st, _ := l.stateNow()
	switch st {
	case StateRefused:
		return nil, &RefusedError{Reason: l.Status().Refused}
	case StateClosed:
		return nil, ErrClosed
	}
	return nil, fmt.Errorf("%w: link %s", ErrOffline, st)
}
