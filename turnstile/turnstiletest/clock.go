package turnstiletest

import (
	"slices"
	"sync"
	"time"

	"github.com/admitgate/admit/turnstile"
)

var _ turnstile.Clock = (*Clock)(nil)

// Clock is a fake turnstile.Clock. Time stands still until Advance moves it;
// timers fire in Advance, in deadline order (ties in the order they were
// made), each with Now at its deadline, in the goroutine that calls Advance.
// Safe for concurrent use.
type Clock struct {
	mu     sync.Mutex
	cond   *sync.Cond // broadcast when timers are added; for BlockUntil
	now    time.Time
	seq    uint64
	timers []*timer
}

type timer struct {
	c    *Clock
	at   time.Time
	seq  uint64
	f    func()
	dead bool
}

// NewClock returns a clock reading now.
func NewClock(now time.Time) *Clock {
	c := &Clock{now: now}
	c.cond = sync.NewCond(&c.mu)
	return c
}

// Now returns the fake time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// AfterFunc schedules f for Now()+d; it never calls f itself, even for d <= 0.
func (c *Clock) AfterFunc(d time.Duration, f func()) turnstile.Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	t := &timer{c: c, at: c.now.Add(d), seq: c.seq, f: f}
	c.timers = append(c.timers, t)
	c.cond.Broadcast()
	return t
}

// BlockUntil waits until at least n timers are pending: a test uses it to
// know that a goroutine (a watcher waiting to retry) has scheduled its
// timer before advancing the clock past it.
func (c *Clock) BlockUntil(n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.timers) < n {
		c.cond.Wait()
	}
}

// Stop implements turnstile.Timer.
func (t *timer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	if t.dead {
		return false
	}
	t.dead = true
	t.c.timers = slices.DeleteFunc(t.c.timers, func(x *timer) bool { return x == t })
	return true
}

// Advance moves the clock d forward, firing every timer that falls due on
// the way, including timers that fired callbacks schedule within d. It
// returns how many fired.
func (c *Clock) Advance(d time.Duration) int {
	c.mu.Lock()
	end := c.now.Add(d)
	c.mu.Unlock()
	return c.AdvanceTo(end)
}

// AdvanceTo moves the clock to t (never backwards), firing timers as Advance does.
func (c *Clock) AdvanceTo(t time.Time) int {
	fired := 0
	for {
		c.mu.Lock()
		next := c.due(t)
		if next == nil {
			if t.After(c.now) {
				c.now = t
			}
			c.mu.Unlock()
			return fired
		}
		next.dead = true
		c.timers = slices.DeleteFunc(c.timers, func(x *timer) bool { return x == next })
		if next.at.After(c.now) {
			c.now = next.at
		}
		c.mu.Unlock()
		next.f()
		fired++
	}
}

// due returns the earliest timer at or before t. c.mu is held.
func (c *Clock) due(t time.Time) *timer {
	var best *timer
	for _, x := range c.timers {
		if x.at.After(t) {
			continue
		}
		if best == nil || x.at.Before(best.at) || (x.at.Equal(best.at) && x.seq < best.seq) {
			best = x
		}
	}
	return best
}

// Pending returns how many timers wait to fire.
func (c *Clock) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// Next returns when the earliest pending timer fires.
func (c *Clock) Next() (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var best *timer
	for _, x := range c.timers {
		if best == nil || x.at.Before(best.at) {
			best = x
		}
	}
	if best == nil {
		return time.Time{}, false
	}
	return best.at, true
}
