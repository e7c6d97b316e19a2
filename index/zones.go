package index

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/cockroachdb/pebble/v2"
)

// Zones (gate.Zone) and their occupancy. A lane with zones is a move
// between two of them (gate.Scan.Zones); every ticket is somewhere — in a
// zone or outside — and a zone's occupancy is the tickets inside it, plus
// the guests a supervisor let in without a ticket.
//
// Where a ticket is, is a record of its own (zt<key>), written in the same
// batch as the passage that moves it (the admission's, exit's, override's
// or annulment's commit): zone accounting adds no disk sync of its own, and
// after a crash the records say exactly what the journal does. Occupancy
// is counted from these records when the store opens (and after a
// recovery) and kept in memory after that. A zone emptied at its
// exit_all_at keeps the time (zr<zone>): a ticket placed in it before then
// is outside. A passage also keeps what it moved (zp<seq>), so that its
// annulment puts the ticket back where it was.
//
// A place in a zone with a capacity is held from the decision to the end
// of the commit (pending), under one mutex with the check: lanes admitting
// into a zone at once never pass its capacity, and a commit that fails
// gives its place back. Until the venue link counts zones across
// appliances (issue 15), a zone belongs to one appliance.

// The zone records, under prefixZone.
const (
	zoneLocation = 't' // zt<key:8> -> zoneLoc: where a ticket is (absent: outside)
	zonePassage  = 'p' // zp<seq:8> -> passage: what a passage moved, for its annulment
	zoneAnon     = 'a' // za<seq:8> -> zoneLoc: a guest let in without a ticket
	zoneReset    = 'r' // zr<zone> -> time: when the zone was last emptied
	zoneOverride = 'o' // zo<seq:8> -> nothing: the overrides, for the report

	zoneRecordVersion = 1
)

func zoneKey(kind byte, n uint64) []byte {
	var k [10]byte
	k[0], k[1] = prefixZone, kind
	binary.BigEndian.PutUint64(k[2:], n)
	return k[:]
}

func zoneResetKey(zone string) []byte { return append([]byte{prefixZone, zoneReset}, zone...) }

// zoneLoc is where a ticket is: a zone, since when, by which passage.
type zoneLoc struct {
	zone string // gate.Outside when nowhere
	at   time.Time
	seq  uint64
}

func encodeZoneLoc(l zoneLoc) []byte {
	e := encoder{}
	e.byte(zoneRecordVersion)
	e.string(l.zone)
	e.time(l.at)
	e.uvarint(l.seq)
	return e.b
}

func decodeZoneLoc(b []byte) (zoneLoc, error) {
	d := decoder{b: b}
	d.version(zoneRecordVersion)
	l := zoneLoc{zone: d.string(), at: d.time(), seq: d.uvarint()}
	return l, d.finish()
}

// passage is what one passage moved: a ticket (key; 0 for a guest without
// one) from prev to next.
type passage struct {
	key  uint64
	prev zoneLoc
	next zoneLoc
}

func encodePassage(p *passage) []byte {
	e := encoder{}
	e.byte(zoneRecordVersion)
	e.uvarint(p.key)
	for _, l := range [2]*zoneLoc{&p.prev, &p.next} {
		e.string(l.zone)
		e.time(l.at)
		e.uvarint(l.seq)
	}
	return e.b
}

func decodePassage(b []byte) (passage, error) {
	d := decoder{b: b}
	d.version(zoneRecordVersion)
	p := passage{key: d.uvarint()}
	for _, l := range [2]*zoneLoc{&p.prev, &p.next} {
		l.zone, l.at, l.seq = d.string(), d.time(), d.uvarint()
	}
	return p, d.finish()
}

func encodeZoneReset(t time.Time) []byte {
	e := encoder{}
	e.byte(zoneRecordVersion)
	e.time(t)
	return e.b
}

func decodeZoneReset(b []byte) (time.Time, error) {
	d := decoder{b: b}
	d.version(zoneRecordVersion)
	t := d.time()
	return t, d.finish()
}

// zoneSet is the zones in memory: their configuration and counts, the
// supervisor cards, each lane's last refusal, the overrides.
type zoneSet struct {
	mu      sync.Mutex
	byID    map[string]*zoneCount // configured zones and zones counted on disk
	order   []string              // configured, in order
	fixups  []zoneFixup           // passages whose commit failed (see loadZones)
	timer   *time.Timer           // the next exit_all_at
	timerAt time.Time             // when timer fires

	cards atomic.Pointer[map[[sha256.Size]byte]*gate.SupervisorCard] // supervisor cards (override.go)
	lanes laneLasts                                                  // each lane's last decision (override.go)

	omu       sync.Mutex
	overrides []uint64 // the overrides' sequence numbers, oldest first

	anonMu sync.Mutex // annulments of passages without a ticket (zones_annul.go)
}

// zoneCount is one zone: its configuration and count. Under zoneSet.mu.
type zoneCount struct {
	cfg        gate.Zone
	configured bool
	exitAt     time.Duration // ExitAllAt parsed; -1 none
	occupancy  int64
	pending    int64
	reset      time.Time // last emptied
	series     []gate.ZoneSample
}

// maxSeries is how many samples (minutes with a change) a zone keeps.
const maxSeries = 24 * 60

func (zs *zoneSet) zone(id string) *zoneCount {
	z := zs.byID[id]
	if z == nil {
		if zs.byID == nil {
			zs.byID = map[string]*zoneCount{}
		}
		z = &zoneCount{cfg: gate.Zone{ID: id}, exitAt: -1}
		zs.byID[id] = z
	}
	return z
}

// counts reports whether a ticket placed at l counts in its zone now: it
// is in a zone, placed there after the zone was last emptied. zs.mu is held.
func (zs *zoneSet) counts(l zoneLoc) bool {
	if l.zone == gate.Outside || l.zone == "" {
		return false
	}
	z := zs.byID[l.zone]
	return z == nil || l.at.After(z.reset)
}

// add changes a zone's occupancy by n at t, and samples it. zs.mu is held.
func (z *zoneCount) add(n int64, t time.Time) {
	z.occupancy += n
	z.sample(t)
}

func (z *zoneCount) sample(t time.Time) {
	m := t.Truncate(time.Minute).UTC()
	if n := len(z.series); n > 0 && !m.After(z.series[n-1].At) {
		z.series[n-1].Occupancy = int(z.occupancy)
		return
	}
	if len(z.series) >= maxSeries {
		z.series = slices.Delete(z.series, 0, len(z.series)-maxSeries+1)
	}
	z.series = append(z.series, gate.ZoneSample{At: m, Occupancy: int(z.occupancy)})
}

// SetZones configures the zones (at start and on every reload): their
// names, capacities, exit_all_at and passback and override settings.
// Occupancy is kept; a zone no longer configured keeps counting (a lane
// may still lead into it) without a capacity. A zone whose exit_all_at
// passed since it was last emptied (also while admit was stopped) is
// emptied now.
func (ix *Index) SetZones(zones []gate.Zone) error {
	seen := map[string]bool{}
	for _, z := range zones {
		if err := z.Validate(); err != nil {
			return err
		}
		if seen[z.ID] {
			return gate.Errorf(gate.EINVALID, "zone %q is configured twice", z.ID)
		}
		seen[z.ID] = true
	}
	zs := &ix.zs
	zs.mu.Lock()
	for _, z := range zs.byID {
		z.configured = false
		z.cfg = gate.Zone{ID: z.cfg.ID}
		z.exitAt = -1
	}
	zs.order = zs.order[:0]
	for _, c := range zones {
		z := zs.zone(c.ID)
		z.cfg, z.configured, z.exitAt = c, true, -1
		if c.ExitAllAt != "" {
			z.exitAt, _ = gate.ParseClock(c.ExitAllAt)
		}
		zs.order = append(zs.order, c.ID)
	}
	zs.mu.Unlock()
	ix.exitAllDue(time.Now())
	return nil
}

// Zones implements gate.ZoneMonitor: every configured zone in order, then
// zones that are counted without being configured.
func (ix *Index) Zones(series bool) []gate.ZoneStatus {
	ix.exitAllDue(time.Now())
	zs := &ix.zs
	zs.mu.Lock()
	defer zs.mu.Unlock()
	out := make([]gate.ZoneStatus, 0, len(zs.byID))
	add := func(z *zoneCount) {
		st := gate.ZoneStatus{Zone: z.cfg, Occupancy: int(z.occupancy), Pending: int(z.pending), LastExitAll: z.reset}
		st.Full = z.cfg.Capacity > 0 && z.occupancy+z.pending >= int64(z.cfg.Capacity)
		if series {
			st.Series = slices.Clone(z.series)
		}
		out = append(out, st)
	}
	for _, id := range zs.order {
		add(zs.byID[id])
	}
	var rest []string
	for id, z := range zs.byID {
		if !z.configured && (z.occupancy != 0 || z.pending != 0) {
			rest = append(rest, id)
		}
	}
	slices.Sort(rest)
	for _, id := range rest {
		add(zs.byID[id])
	}
	return out
}

// loadZones counts the zones from their records: at Open (first) and after
// a recovery, which first undoes what the passages whose commit failed
// left on disk.
func (ix *Index) loadZones(first bool) error {
	if !first {
		if err := ix.undoFailedPassages(); err != nil {
			return fmt.Errorf("index: undo failed passages: %w", err)
		}
	}
	resets := map[string]time.Time{}
	if err := ix.iterPrefix([]byte{prefixZone, zoneReset}, func(k, v []byte) error {
		t, err := decodeZoneReset(v)
		if err != nil {
			return fmt.Errorf("zone reset %q: %w", k[2:], err)
		}
		resets[string(k[2:])] = t
		return nil
	}); err != nil {
		return err
	}
	counts := map[string]int64{}
	count := func(k, v []byte) error {
		l, err := decodeZoneLoc(v)
		if err != nil {
			return fmt.Errorf("zone record %x: %w", k, err)
		}
		if l.zone != gate.Outside && l.at.After(resets[l.zone]) {
			counts[l.zone]++
		}
		return nil
	}
	if err := ix.iterPrefix([]byte{prefixZone, zoneLocation}, count); err != nil {
		return err
	}
	if err := ix.iterPrefix([]byte{prefixZone, zoneAnon}, count); err != nil {
		return err
	}
	var overrides []uint64
	if first {
		if err := ix.iterPrefix([]byte{prefixZone, zoneOverride}, func(k, _ []byte) error {
			if len(k) != 10 {
				return fmt.Errorf("override record %x: %w", k, errCorrupt)
			}
			overrides = append(overrides, binary.BigEndian.Uint64(k[2:]))
			return nil
		}); err != nil {
			return err
		}
	}
	now := time.Now()
	zs := &ix.zs
	zs.mu.Lock()
	for _, z := range zs.byID {
		z.occupancy = 0
	}
	for id, t := range resets {
		zs.zone(id).reset = t
	}
	for id, n := range counts {
		zs.zone(id).add(n, now)
	}
	zs.mu.Unlock()
	if first {
		zs.omu.Lock()
		zs.overrides = overrides
		zs.omu.Unlock()
	}
	return nil
}

// exitAllDue empties every zone whose exit_all_at passed since it was last
// emptied (the time is the one configured, so passages since then count),
// and arms a timer for the next one. The reset is written without a sync:
// should a crash lose it, the next Open empties the zone again.
func (ix *Index) exitAllDue(now time.Time) {
	if ix.closed.Load() {
		return
	}
	zs := &ix.zs
	zs.mu.Lock()
	type reset struct {
		zone string
		at   time.Time
	}
	var due []reset
	var next time.Time
	for _, id := range zs.order {
		z := zs.byID[id]
		if z.exitAt < 0 {
			continue
		}
		last := lastClock(now, z.exitAt, ix.opts.Location)
		if last.After(z.reset) {
			due = append(due, reset{id, last})
		}
		// The next one: the latest at or before a day from now, or the
		// one before it when a short day (a clock change) holds two.
		n := lastClock(now.Add(24*time.Hour), z.exitAt, ix.opts.Location)
		if p := lastClock(n.Add(-time.Second), z.exitAt, ix.opts.Location); p.After(now) {
			n = p
		}
		if next.IsZero() || n.Before(next) {
			next = n
		}
	}
	if len(due) > 0 && ix.enter() == nil {
		b := ix.db.NewBatch()
		for _, r := range due {
			_ = b.Set(zoneResetKey(r.zone), encodeZoneReset(r.at), nil)
		}
		err := ix.applyNoSync(b)
		ix.exit()
		if err != nil {
			ix.log.Error().Err(err).Msg("zones: the exit_all_at reset was not written; it is tried again")
		} else {
			for _, r := range due {
				z := zs.byID[r.zone]
				z.reset = r.at
				z.occupancy = 0
				z.sample(now)
				ix.log.Info().Str("zone", r.zone).Time("at", r.at).Msg("zone emptied (exit_all_at)")
			}
		}
	}
	if !next.Equal(zs.timerAt) || zs.timer == nil && !next.IsZero() {
		if zs.timer != nil {
			zs.timer.Stop()
			zs.timer = nil
		}
		zs.timerAt = next
		if !next.IsZero() {
			wait := max(next.Sub(now), time.Second)
			zs.timer = time.AfterFunc(wait, func() { ix.exitAllDue(time.Now()) })
		}
	}
	zs.mu.Unlock()
}

// lastClock is the latest instant at or before now whose time of day in
// loc is clock (since midnight).
func lastClock(now time.Time, clock time.Duration, loc *time.Location) time.Time {
	n := now.In(loc)
	y, m, d := n.Date()
	h, mi, s := int(clock/time.Hour), int(clock%time.Hour/time.Minute), int(clock%time.Minute/time.Second)
	t := time.Date(y, m, d, h, mi, s, 0, loc)
	if t.After(now) {
		t = time.Date(y, m, d-1, h, mi, s, 0, loc)
	}
	return t
}

// stopZones stops the exit_all_at timer (Close).
func (ix *Index) stopZones() {
	ix.zs.mu.Lock()
	if ix.zs.timer != nil {
		ix.zs.timer.Stop()
		ix.zs.timer = nil
	}
	ix.zs.timerAt = time.Time{}
	ix.zs.mu.Unlock()
}

// zoneFixup is a passage whose commit failed: the scan was refused, so if
// its records reached the disk after all they are undone when the store is
// reopened.
type zoneFixup struct {
	seq     uint64
	key     uint64 // 0: a guest without a ticket
	prev    []byte // the location record before, nil for none
	written []byte // the location record the failed commit wrote, nil for a delete
}

// undoFailedPassages undoes the records of passages whose commit failed
// and reached the disk all the same (the recovery, before the count).
func (ix *Index) undoFailedPassages() error {
	zs := &ix.zs
	zs.mu.Lock()
	fixups := zs.fixups
	zs.mu.Unlock()
	if len(fixups) == 0 {
		return nil
	}
	b := ix.db.NewBatch()
	for _, f := range fixups {
		pk := zoneKey(zonePassage, f.seq)
		_, closer, err := ix.db.Get(pk)
		if errors.Is(err, pebble.ErrNotFound) {
			continue
		}
		if err != nil {
			_ = b.Close()
			return err
		}
		closer.Close()
		_ = b.Delete(pk, nil)
		if f.key == 0 {
			_ = b.Delete(zoneKey(zoneAnon, f.seq), nil)
			continue
		}
		lk := zoneKey(zoneLocation, f.key)
		v, closer, err := ix.db.Get(lk)
		switch {
		case errors.Is(err, pebble.ErrNotFound):
			if f.written != nil {
				continue // moved again since
			}
		case err != nil:
			_ = b.Close()
			return err
		default:
			same := string(v) == string(f.written)
			closer.Close()
			if !same {
				continue
			}
		}
		if f.prev == nil {
			_ = b.Delete(lk, nil)
		} else {
			_ = b.Set(lk, f.prev, nil)
		}
	}
	if err := ix.apply(b); err != nil {
		return err
	}
	zs.mu.Lock()
	zs.fixups = zs.fixups[len(fixups):]
	zs.mu.Unlock()
	return nil
}
