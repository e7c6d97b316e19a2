package index

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/admitgate/admit/gate"
)

// The report counters in memory (see report.go): what each ticket key
// counts, added and taken back under the counters' mutex by every change.

type rowKey struct{ event, provider, priceType string }

type rowCounts struct {
	name                          string
	sold, used, inside, cancelled int64
}

type periodKey struct {
	from, until         int64
	provider, priceType string
}

type minuteCounts struct{ entries, exits int64 }

type counters struct {
	mu      sync.Mutex
	rows    map[rowKey]*rowCounts
	periods map[periodKey]*rowCounts // sold, cancelled, used (upstream) only
	denials map[string]map[gate.Reason]int64
	minutes map[string]map[int64]*minuteCounts
	imports atomic.Uint64
}

func newCounters() *counters {
	return &counters{
		rows:    map[rowKey]*rowCounts{},
		periods: map[periodKey]*rowCounts{},
		denials: map[string]map[gate.Reason]int64{},
		minutes: map[string]map[int64]*minuteCounts{},
	}
}

func (c *counters) row(event string, t *gate.Ticket) *rowCounts {
	return countsOf(c.rows, rowKey{event, t.Provider, t.PriceType.Code}, t.PriceType.Name)
}

// countsOf returns m's counts for k, made when there are none yet, named
// name when name is set.
func countsOf[K comparable](m map[K]*rowCounts, k K, name string) *rowCounts {
	r := m[k]
	if r == nil {
		r = &rowCounts{}
		m[k] = r
	}
	if name != "" {
		r.name = name
	}
	return r
}

// ticket adds (sign 1) or removes (sign -1) what one ticket key counts. c.mu
// is held.
func (c *counters) ticket(t *gate.Ticket, rs []gate.Redemption, sign int64) {
	if t == nil || t.State == gate.StateRevoked {
		return
	}
	sold := t.State == gate.StateValid || t.State == gate.StateBlocked
	cancelled := t.State == gate.StateCancelled || t.State == gate.StateInvalidated
	b := func(v bool) int64 {
		if v {
			return sign
		}
		return 0
	}
	for _, ev := range t.Events {
		r := c.row(ev, t)
		red := findRed(rs, ev)
		r.sold += b(sold)
		r.cancelled += b(cancelled)
		r.used += b(sold && (t.UsedUpstream || (red != nil && red.Admissions > 0)))
		r.inside += b(red != nil && red.Inside)
	}
	if t.Period.IsZero() {
		return
	}
	pk := periodKey{nanos(t.Period.From), nanos(t.Period.Until), t.Provider, t.PriceType.Code}
	p := countsOf(c.periods, pk, t.PriceType.Name)
	p.sold += b(sold)
	p.cancelled += b(cancelled)
	p.used += b(sold && t.UsedUpstream)
	for i := range rs {
		red := &rs[i]
		if slices.Contains(t.Events, red.Event) {
			continue
		}
		r := c.row(red.Event, t)
		r.used += b(sold && !t.UsedUpstream && red.Admissions > 0)
		r.inside += b(red.Inside)
	}
}

func findRed(rs []gate.Redemption, event string) *gate.Redemption {
	for i := range rs {
		if rs[i].Event == event {
			return &rs[i]
		}
	}
	return nil
}

func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

func minuteOf(t time.Time) int64 { return t.Unix() / 60 }

func (c *counters) movement(event string, at time.Time, reason gate.Reason, sign int64) {
	if event == "" {
		return
	}
	m := c.minutes[event]
	if m == nil {
		m = map[int64]*minuteCounts{}
		c.minutes[event] = m
	}
	mc := m[minuteOf(at)]
	if mc == nil {
		mc = &minuteCounts{}
		m[minuteOf(at)] = mc
	}
	switch reason {
	case gate.ReasonOK, gate.ReasonReentry:
		mc.entries += sign
	case gate.ReasonExit:
		mc.exits += sign
	}
}

// add adds the ticket counts of o (what an import's new tickets count) to
// c: its rows and periods.
func (c *counters) add(o *counters) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, v := range o.rows {
		countsOf(c.rows, k, "").add(v)
	}
	for k, v := range o.periods {
		countsOf(c.periods, k, "").add(v)
	}
}

// add adds o's counts to r, and o's price type name when it has one: an
// import of tickets without price type names keeps the row's name.
func (r *rowCounts) add(o *rowCounts) {
	if o.name != "" {
		r.name = o.name
	}
	r.sold += o.sold
	r.used += o.used
	r.inside += o.inside
	r.cancelled += o.cancelled
}

// changed replaces one ticket's contribution (before -> after), same key.
func (c *counters) changed(before *gate.Ticket, beforeRs []gate.Redemption, after *gate.Ticket, afterRs []gate.Redemption) {
	c.mu.Lock()
	c.ticket(before, beforeRs, -1)
	c.ticket(after, afterRs, 1)
	c.mu.Unlock()
}

// redeemed counts an admission or exit that changed redemptions.
func (c *counters) redeemed(t *gate.Ticket, before, after []gate.Redemption, d *gate.Decision) {
	c.mu.Lock()
	c.ticket(t, before, -1)
	c.ticket(t, after, 1)
	c.movement(d.Event, d.At, d.Reason, 1)
	c.mu.Unlock()
}

// annulled counts the undoing of admission d.
func (c *counters) annulled(t *gate.Ticket, before, after []gate.Redemption, d *gate.Decision) {
	c.mu.Lock()
	c.ticket(t, before, -1)
	c.ticket(t, after, 1)
	c.movement(d.Event, d.At, d.Reason, -1)
	c.mu.Unlock()
}

// denied counts a refusal against events.
func (c *counters) denied(d *gate.Decision, events []string) {
	if d.Admit || len(events) == 0 {
		return
	}
	c.mu.Lock()
	for _, ev := range events {
		m := c.denials[ev]
		if m == nil {
			m = map[gate.Reason]int64{}
			c.denials[ev] = m
		}
		m[d.Reason]++
	}
	c.mu.Unlock()
}
