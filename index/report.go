package index

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/cockroachdb/pebble/v2"
)

// Reports are served from counters kept in memory and updated with every
// change (a redemption, an annulment, a refusal, a ticket change, an import),
// so the operator page can poll them every few seconds with millions of
// tickets loaded. Close saves them; Open loads the saved copy (and deletes
// it, so a crash cannot leave a stale one) or rebuilds them from Pebble.
//
// A ticket key counts once, through its live (not revoked) barcode:
//   - for each event of its list: sold (valid or blocked), cancelled
//     (cancelled or invalidated), used (sold and admitted here or upstream),
//     inside;
//   - a period pass counts sold, cancelled and used-upstream per period, and
//     a report adds every period that covers the event; its admissions count
//     on the event they were made for.

// Report returns the event's figures as of now, from the counters: it costs
// microseconds to milliseconds whatever the number of tickets.
func (ix *Index) Report(ctx context.Context, event string, now time.Time) (gate.Report, error) {
	if ix.closed.Load() {
		return gate.Report{}, ErrClosed
	}
	if c := ix.corrupt.Load(); c != nil {
		return gate.Report{}, c.errOf()
	}
	if ix.faulted.Load() {
		return gate.Report{}, errFaulted
	}
	e, ok := ix.events.Load().Get(event)
	if !ok {
		return gate.Report{}, gate.Errorf(gate.ENOTFOUND, "no event %q", event)
	}
	return ix.ctrs().report(e, now), nil
}

func (c *counters) report(e gate.Event, now time.Time) gate.Report {
	c.mu.Lock()
	defer c.mu.Unlock()
	rep := gate.Report{Event: e.ID, At: now, Rows: []gate.ReportRow{}, Denials: map[gate.Reason]int{}, Minutes: []gate.MinuteCount{}}
	type pk struct{ provider, priceType string }
	rows := map[pk]*gate.ReportRow{}
	get := func(provider, priceType, name string) *gate.ReportRow {
		r := rows[pk{provider, priceType}]
		if r == nil {
			r = &gate.ReportRow{Provider: provider, PriceType: priceType}
			rows[pk{provider, priceType}] = r
		}
		if name != "" {
			r.PriceTypeName = name
		}
		return r
	}
	for k, v := range c.rows {
		if k.event != e.ID || (v.sold == 0 && v.used == 0 && v.inside == 0 && v.cancelled == 0) {
			continue
		}
		r := get(k.provider, k.priceType, v.name)
		r.Sold += int(v.sold)
		r.Used += int(v.used)
		r.Inside += int(v.inside)
		r.Cancelled += int(v.cancelled)
	}
	for k, v := range c.periods {
		p := gate.Period{From: fromNanos(k.from), Until: fromNanos(k.until)}
		if !p.Covers(e) || (v.sold == 0 && v.cancelled == 0) {
			continue
		}
		r := get(k.provider, k.priceType, v.name)
		r.Sold += int(v.sold)
		r.Used += int(v.used)
		r.Cancelled += int(v.cancelled)
	}
	for _, r := range rows {
		r.NoShow = r.Sold - r.Used
		rep.Rows = append(rep.Rows, *r)
		rep.Total.Sold += r.Sold
		rep.Total.Used += r.Used
		rep.Total.Inside += r.Inside
		rep.Total.Cancelled += r.Cancelled
		rep.Total.NoShow += r.NoShow
	}
	slices.SortFunc(rep.Rows, func(a, b gate.ReportRow) int {
		if c := strings.Compare(a.Provider, b.Provider); c != 0 {
			return c
		}
		return strings.Compare(a.PriceType, b.PriceType)
	})
	for r, n := range c.denials[e.ID] {
		if n != 0 {
			rep.Denials[r] = int(n)
		}
	}
	for _, m := range slices.Sorted(maps.Keys(c.minutes[e.ID])) {
		mc := c.minutes[e.ID][m]
		if mc.entries == 0 && mc.exits == 0 {
			continue
		}
		rep.Minutes = append(rep.Minutes, gate.MinuteCount{Minute: time.Unix(m*60, 0).UTC(), Entries: int(mc.entries), Exits: int(mc.exits)})
	}
	return rep
}

// openCounters loads the counters Close saved, or rebuilds them. After a
// recovery (first false) they are always rebuilt.
func (ix *Index) openCounters(first bool) error {
	if first {
		v, closer, err := ix.db.Get(metaCounters)
		if err == nil {
			c, derr := decodeCounters(v)
			closer.Close()
			// Delete it before anything else is written, so a crash later
			// cannot leave a stale copy behind.
			b := ix.db.NewBatch()
			_ = b.Delete(metaCounters, nil)
			if err := ix.apply(b); err != nil {
				return err
			}
			if derr == nil {
				ix.counters.Store(c)
				return nil
			}
			ix.log.Warn().Err(derr).Msg("saved report counters unreadable; rebuilding")
		} else if !errors.Is(err, pebble.ErrNotFound) {
			return err
		}
	}
	start := time.Now()
	c, err := ix.rebuildCounters()
	if err != nil {
		return fmt.Errorf("index: rebuild report counters: %w", err)
	}
	if ix.ctrs() != nil {
		c.imports.Store(ix.ctrs().imports.Load())
	}
	ix.counters.Store(c)
	ix.log.Info().Dur("took_ms", time.Since(start)).Msg("report counters rebuilt")
	return nil
}

// rebuildCounters counts everything again from the tickets, redemptions,
// journal and import records.
func (ix *Index) rebuildCounters() (*counters, error) {
	c := newCounters()
	reds := map[uint64][]gate.Redemption{}
	if err := ix.iterPrefix([]byte{prefixRedemption}, func(k, v []byte) error {
		key, err := decodeU64(k[1:])
		if err != nil {
			return err
		}
		rs, err := decodeRedemptions(v)
		if err != nil {
			return fmt.Errorf("redemptions of %d: %w", key, err)
		}
		reds[key] = rs
		return nil
	}); err != nil {
		return nil, err
	}
	if err := ix.iterPrefix([]byte{prefixTicket}, func(k, v []byte) error {
		rec, err := decodeTicket(string(k[1:]), v)
		if err != nil {
			return fmt.Errorf("ticket %q: %w", k[1:], err)
		}
		c.ticket(&rec.T, reds[rec.Key], 1)
		return nil
	}); err != nil {
		return nil, err
	}
	if err := ix.iterPrefix([]byte{prefixJournal}, func(k, v []byte) error {
		seq, err := decodeU64(k[1:])
		if err != nil {
			return err
		}
		se, err := decodeEntry(seq, v)
		if err != nil {
			return fmt.Errorf("journal entry %d: %w", seq, err)
		}
		d := &se.Decision
		switch {
		case se.Kind != gate.KindDecision:
		case d.Admit && se.Annulled == 0 && d.Event != "":
			c.movement(d.Event, d.At, d.Reason, 1)
		case !d.Admit:
			c.denied(d, se.Events)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	if err := ix.rebuildLearnedMinutes(c); err != nil { // a venue's: see venue.go
		return nil, err
	}
	var imports uint64
	if err := ix.iterPrefix(prefixImport, func(k, v []byte) error { imports++; return nil }); err != nil {
		return nil, err
	}
	c.imports.Store(imports)
	return c, nil
}

// saveCounters writes the counters for the next Open (at Close).
func (ix *Index) saveCounters() error {
	if ix.ctrs() == nil {
		return nil
	}
	b := ix.db.NewBatch()
	_ = b.Set(metaCounters, encodeCounters(ix.ctrs()), nil)
	return ix.apply(b)
}

const countersVersion = 1

func encodeCounters(c *counters) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := encoder{}
	e.byte(countersVersion)
	e.uvarint(c.imports.Load())
	e.uvarint(uint64(len(c.rows)))
	for k, v := range c.rows {
		e.string(k.event)
		e.string(k.provider)
		e.string(k.priceType)
		encodeRowCounts(&e, v)
	}
	e.uvarint(uint64(len(c.periods)))
	for k, v := range c.periods {
		e.varint(k.from)
		e.varint(k.until)
		e.string(k.provider)
		e.string(k.priceType)
		encodeRowCounts(&e, v)
	}
	e.uvarint(uint64(len(c.denials)))
	for ev, m := range c.denials {
		e.string(ev)
		e.uvarint(uint64(len(m)))
		for r, n := range m {
			e.byte(byte(r))
			e.varint(n)
		}
	}
	e.uvarint(uint64(len(c.minutes)))
	for ev, m := range c.minutes {
		e.string(ev)
		e.uvarint(uint64(len(m)))
		for min, mc := range m {
			e.varint(min)
			e.varint(mc.entries)
			e.varint(mc.exits)
		}
	}
	return e.b
}

func encodeRowCounts(e *encoder, v *rowCounts) {
	e.string(v.name)
	e.varint(v.sold)
	e.varint(v.used)
	e.varint(v.inside)
	e.varint(v.cancelled)
}

func decodeRowCounts(d *decoder) *rowCounts {
	return &rowCounts{name: d.string(), sold: d.varint(), used: d.varint(), inside: d.varint(), cancelled: d.varint()}
}

func decodeCounters(b []byte) (*counters, error) {
	c := newCounters()
	d := decoder{b: b}
	d.version(countersVersion)
	c.imports.Store(d.uvarint())
	for n := d.uvarint(); n > 0 && d.err == nil; n-- {
		k := rowKey{d.string(), d.string(), d.string()}
		c.rows[k] = decodeRowCounts(&d)
	}
	for n := d.uvarint(); n > 0 && d.err == nil; n-- {
		k := periodKey{from: d.varint(), until: d.varint(), provider: d.string(), priceType: d.string()}
		c.periods[k] = decodeRowCounts(&d)
	}
	for n := d.uvarint(); n > 0 && d.err == nil; n-- {
		ev := d.string()
		m := map[gate.Reason]int64{}
		for k := d.uvarint(); k > 0 && d.err == nil; k-- {
			m[gate.Reason(d.byte())] = d.varint()
		}
		c.denials[ev] = m
	}
	for n := d.uvarint(); n > 0 && d.err == nil; n-- {
		ev := d.string()
		m := map[int64]*minuteCounts{}
		for k := d.uvarint(); k > 0 && d.err == nil; k-- {
			min := d.varint()
			m[min] = &minuteCounts{entries: d.varint(), exits: d.varint()}
		}
		c.minutes[ev] = m
	}
	return c, d.finish()
}
