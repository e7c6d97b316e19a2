package index

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/cockroachdb/pebble/v2"
)

// A venue (see gate/venue.go): several appliances keep one redeem-once
// through a hub. With a claimer attached (UseVenue) the index claims every
// write a scan decides at the hub, under the ticket's stripe, between the
// decision and the local commit (venueclaim.go); it learns what the other
// appliances wrote (venuelearn.go), and replays what it admitted while the
// hub did not answer (venuereplay.go). Without one nothing here runs: the
// scan path checks one pointer.
//
// What the index keeps of the venue, beside the redemptions themselves
// (whose Revision is the hub's revision this appliance last saw or wrote):
//
//	vpos                    the last hub revision learned (the watch's position)
//	vsince                  when this store first joined a venue (Unix ns)
//	vu<ticket>\x00<event>   a learned redemption whose ticket is not in the store yet
//	vm<rev:8>               the report minutes a learned revision added
//	o<seq:8>                an offline write waiting for its replay, by journal seq
//
// The position is committed in the batch of what it learned; an offline
// write's record in the batch of its admission (or annulment), and deleted
// in the batch that stores what the hub made of its replay.

// venueState is the index's side of a venue.
type venueState struct {
	claimer gate.Claimer
	me      string // this appliance's venue id
	// since is when this store first joined the venue: a write naming
	// this appliance made before it is not this store's (a reinstalled
	// appliance, a store set up anew) and is never taken for a phantom.
	since time.Time

	learnMu  sync.Mutex    // one Learn at a time: the position only moves forward
	position atomic.Uint64 // the last hub revision learned, as committed

	mu      sync.Mutex
	offline map[uint64]*offlineRec // by journal seq
	byKey   map[uint64][]uint64    // ticket key -> seqs of its offline writes, ascending
	waiting atomic.Int64           // len(offline), read without mu
	pending atomic.Int64           // learned redemptions waiting for their ticket (vu records)
}

var (
	metaVenuePos        = []byte("vpos")
	metaVenueSince      = []byte("vsince")
	prefixVenuePending  = []byte("vu")
	prefixVenueMinutes  = []byte("vm")
	errNoVenue          = errors.New("index: no venue attached (UseVenue)")
	errVenueApplianceID = errors.New("index: the venue link's appliance id is not the index's Options.Appliance")
)

// UseVenue attaches the venue's hub: from now on every admission, re-entry,
// exit and annulment is claimed at the hub through c before it is
// committed, and the index serves as c's gate.VenueStore (Learn,
// ReplayOffline). Call it once, after Open and before the first scan; c's
// appliance id must be Options.Appliance. It loads the venue state kept in
// the store (the learned position, the offline writes waiting).
func (ix *Index) UseVenue(c gate.Claimer) error {
	if c == nil {
		return errors.New("index: UseVenue: nil claimer")
	}
	if c.Appliance() != ix.opts.Appliance {
		return fmt.Errorf("%w: %q, the index's is %q", errVenueApplianceID, c.Appliance(), ix.opts.Appliance)
	}
	if err := ix.enter(); err != nil {
		return err
	}
	defer ix.exit()
	v := &venueState{claimer: c, me: c.Appliance(), offline: map[uint64]*offlineRec{}, byKey: map[uint64][]uint64{}}
	pos, err := ix.getU64(metaVenuePos)
	if err != nil {
		return fmt.Errorf("index: venue position: %w", err)
	}
	v.position.Store(pos)
	since, err := ix.getU64(metaVenueSince)
	if err != nil {
		return fmt.Errorf("index: venue: %w", err)
	}
	if since == 0 {
		since = uint64(time.Now().UnixNano())
		b := ix.db.NewBatch()
		_ = b.Set(metaVenueSince, u64(since), nil)
		if err := ix.apply(b); err != nil {
			ix.fault(err)
			return ix.writeError(fmt.Errorf("index: venue: %w", err))
		}
	}
	v.since = time.Unix(0, int64(since))
	if err := ix.iterPrefix([]byte{prefixOffline}, func(k, val []byte) error {
		o, err := decodeOffline(k, val)
		if err != nil {
			return err
		}
		v.addOffline(o)
		return nil
	}); err != nil {
		return fmt.Errorf("index: offline writes: %w", err)
	}
	var pending int64
	if err := ix.iterPrefix(prefixVenuePending, func(k, val []byte) error { pending++; return nil }); err != nil {
		return fmt.Errorf("index: learned redemptions waiting: %w", err)
	}
	v.pending.Store(pending)
	if !ix.venue.CompareAndSwap(nil, v) {
		return errors.New("index: UseVenue called twice")
	}
	ix.log.Info().Str("appliance", v.me).Uint64("learned", pos).Int64("offline_waiting", v.waiting.Load()).
		Int64("learned_waiting_for_ticket", pending).Msg("venue attached")
	return nil
}

// VenuePosition is the last hub revision learned (gate.VenueStore).
func (ix *Index) VenuePosition() uint64 {
	if v := ix.venue.Load(); v != nil {
		return v.position.Load()
	}
	return 0
}

// OfflineWaiting is how many offline writes wait for their replay
// (gate.VenueStore).
func (ix *Index) OfflineWaiting() int {
	if v := ix.venue.Load(); v != nil {
		return int(v.waiting.Load())
	}
	return 0
}

var _ gate.VenueStore = (*Index)(nil)

// signedVenueIDPrefix starts the venue-wide id of a signed code's ticket,
// which no barcode of an imported ticket is mistaken for.
const signedVenueIDPrefix = "sig1:"

// venueTicketID is the venue-wide id of rec's ticket: the barcode of its
// origin, found by following Replaces back while the replaced record exists
// and shares the ticket key (a reissue keeps the key), so every barcode of
// a reissue chain claims one key at the hub. It reads Pebble only for a
// reissued ticket. A ticket a signed code made on first sight is named by
// its provider and seed (pretix draws a seed per secret, and each appliance
// makes the ticket itself on first sight, under its own key):
// ticketOfVenueID finds no record for such an id, so a value learned for a
// signed ticket this appliance has not seen waits, and its first sight here
// claims, loses and learns it at the hub.
func (ix *Index) venueTicketID(rec *ticketRec) (string, error) {
	if seed, ok, err := ix.signedSeed(rec); err != nil {
		return "", err
	} else if ok {
		return signedVenueIDPrefix + rec.T.Provider + ":" + seed, nil
	}
	id, r := rec.T.Barcode, rec
	for hops := 0; r.T.Replaces != "" && hops < 64; hops++ {
		prev, ok, err := ix.getTicket(nil, r.T.Replaces)
		if err != nil {
			return "", err
		}
		if !ok || prev.Key != rec.Key {
			break
		}
		id, r = prev.T.Barcode, &prev
	}
	return id, nil
}

// ticketOfVenueID finds the ticket record a venue-wide ticket id names:
// the origin's record (revoked when reissued, sharing the live one's key).
func (ix *Index) ticketOfVenueID(id string) (ticketRec, bool, error) {
	return ix.getTicket(nil, id)
}

// offlineRec is an offline write waiting for its replay at the hub: an
// admission, re-entry or exit a lane's offline policy admitted, or an
// annulment made while the hub did not answer.
type offlineRec struct {
	Seq    uint64 // its journal sequence: the scan's, or the annulment's
	Key    uint64 // the ticket key
	Event  string
	Ticket string      // the venue-wide ticket id
	Kind   gate.Reason // ok, reentry or exit: the movement (for an annulment, the one annulled)
	Annul  bool        // an annulment of the admission Move.Seq
	Move   gate.Movement
}

// ref is how the hub names the offline write's claim.
func (o *offlineRec) ref() gate.ClaimRef {
	return gate.ClaimRef{Appliance: o.Move.Appliance, Seq: o.Seq, At: o.Move.At}
}

const offlineVersion = 1

func offlineKey(seq uint64) []byte {
	var k [9]byte
	k[0] = prefixOffline
	copy(k[1:], u64(seq))
	return k[:]
}

func encodeOffline(o *offlineRec) []byte {
	e := encoder{}
	e.byte(offlineVersion)
	e.uvarint(o.Key)
	e.string(o.Event)
	e.string(o.Ticket)
	e.byte(byte(o.Kind))
	e.bool(o.Annul)
	encodeMovement(&e, &o.Move)
	return e.b
}

func decodeOffline(k, v []byte) (*offlineRec, error) {
	if len(k) != 9 {
		return nil, fmt.Errorf("index: offline key %x: %w", k, errCorrupt)
	}
	seq, _ := decodeU64(k[1:])
	d := decoder{b: v}
	d.version(offlineVersion)
	o := &offlineRec{Seq: seq, Key: d.uvarint(), Event: d.string(), Ticket: d.string(), Kind: gate.Reason(d.byte()), Annul: d.bool()}
	o.Move = decodeMovement(&d)
	if err := d.finish(); err != nil {
		return nil, fmt.Errorf("index: offline write %d: %w", seq, err)
	}
	return o, nil
}

// addOffline records o as waiting (after its commit).
func (v *venueState) addOffline(o *offlineRec) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if _, ok := v.offline[o.Seq]; ok {
		return
	}
	v.offline[o.Seq] = o
	seqs := append(v.byKey[o.Key], o.Seq)
	slices.Sort(seqs)
	v.byKey[o.Key] = seqs
	v.waiting.Store(int64(len(v.offline)))
}

// dropOffline forgets o (after the commit that deleted its record).
func (v *venueState) dropOffline(seq uint64) {
	v.mu.Lock()
	defer v.mu.Unlock()
	o, ok := v.offline[seq]
	if !ok {
		return
	}
	delete(v.offline, seq)
	seqs := slices.DeleteFunc(v.byKey[o.Key], func(s uint64) bool { return s == seq })
	if len(seqs) == 0 {
		delete(v.byKey, o.Key)
	} else {
		v.byKey[o.Key] = seqs
	}
	v.waiting.Store(int64(len(v.offline)))
}

// offlineOf returns the offline writes of ticket key waiting, in journal
// order (copies of the pointers; the records are never modified).
func (v *venueState) offlineOf(key uint64) []*offlineRec {
	if v.waiting.Load() == 0 {
		return nil
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	seqs := v.byKey[key]
	if len(seqs) == 0 {
		return nil
	}
	out := make([]*offlineRec, len(seqs))
	for i, s := range seqs {
		out[i] = v.offline[s]
	}
	return out
}

// firstOffline returns the offline write with the lowest sequence, nil
// when none waits.
func (v *venueState) firstOffline() *offlineRec {
	v.mu.Lock()
	defer v.mu.Unlock()
	var first *offlineRec
	for _, o := range v.offline {
		if first == nil || o.Seq < first.Seq {
			first = o
		}
	}
	return first
}

// getOffline returns the offline write of seq, if it waits.
func (v *venueState) getOffline(seq uint64) (*offlineRec, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	o, ok := v.offline[seq]
	return o, ok
}

// pendingKey is the key of a learned redemption waiting for its ticket.
func pendingKey(ticket, event string) []byte {
	k := make([]byte, 0, len(prefixVenuePending)+len(ticket)+1+len(event))
	k = append(k, prefixVenuePending...)
	k = append(k, ticket...)
	k = append(k, 0)
	return append(k, event...)
}

const hubRedemptionVersion = 1

// encodeHub encodes a redemption as the hub holds it (a vu record): the
// redemption and the one before it in the redemptions' own encoding,
// length-prefixed, then the write's claim.
func encodeHub(h *gate.HubRedemption) []byte {
	rs := []gate.Redemption{h.Redemption}
	if h.Prev != nil {
		rs = append(rs, *h.Prev)
	}
	e := encoder{}
	e.byte(hubRedemptionVersion)
	e.string(h.Event)
	e.string(h.Ticket)
	e.string(string(encodeRedemptions(nil, rs)))
	e.string(h.By.Appliance)
	e.uvarint(h.By.Seq)
	e.time(h.By.At)
	return e.b
}

func decodeHub(v []byte) (*gate.HubRedemption, error) {
	d := decoder{b: v}
	d.version(hubRedemptionVersion)
	h := &gate.HubRedemption{Event: d.string(), Ticket: d.string()}
	reds := d.string()
	h.By = gate.ClaimRef{Appliance: d.string(), Seq: d.uvarint(), At: d.time()}
	if err := d.finish(); err != nil {
		return nil, err
	}
	rs, err := decodeRedemptions([]byte(reds))
	if err != nil {
		return nil, err
	}
	if len(rs) < 1 || len(rs) > 2 {
		return nil, fmt.Errorf("index: learned redemption holds %d redemptions: %w", len(rs), errCorrupt)
	}
	h.Redemption = rs[0]
	if len(rs) == 2 {
		p := rs[1]
		h.Prev = &p
	}
	return h, nil
}

// minuteDelta is what one learned revision adds to one minute of an
// event's report.
type minuteDelta struct {
	event          string
	minute         int64
	entries, exits int64
}

func learnedMinutesKey(rev uint64) []byte {
	return append(append([]byte(nil), prefixVenueMinutes...), u64(rev)...)
}

const learnedMinutesVersion = 1

func encodeMinutes(ms []minuteDelta) []byte {
	e := encoder{}
	e.byte(learnedMinutesVersion)
	e.uvarint(uint64(len(ms)))
	for _, m := range ms {
		e.string(m.event)
		e.varint(m.minute)
		e.varint(m.entries)
		e.varint(m.exits)
	}
	return e.b
}

func decodeMinutes(v []byte) ([]minuteDelta, error) {
	d := decoder{b: v}
	d.version(learnedMinutesVersion)
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		return nil, errCorrupt
	}
	ms := make([]minuteDelta, 0, n)
	for range n {
		ms = append(ms, minuteDelta{event: d.string(), minute: d.varint(), entries: d.varint(), exits: d.varint()})
	}
	return ms, d.finish()
}

// rebuildLearnedMinutes adds the report minutes of every learned revision
// to c (rebuildCounters: the journal holds only this appliance's
// movements).
func (ix *Index) rebuildLearnedMinutes(c *counters) error {
	return ix.iterPrefix(prefixVenueMinutes, func(k, v []byte) error {
		ms, err := decodeMinutes(v)
		if err != nil {
			return fmt.Errorf("learned minutes %x: %w", k, err)
		}
		c.addMinutes(ms)
		return nil
	})
}

// addMinutes adds learned minute deltas.
func (c *counters) addMinutes(ms []minuteDelta) {
	for _, d := range ms {
		m := c.minutes[d.event]
		if m == nil {
			m = map[int64]*minuteCounts{}
			c.minutes[d.event] = m
		}
		mc := m[d.minute]
		if mc == nil {
			mc = &minuteCounts{}
			m[d.minute] = mc
		}
		mc.entries += d.entries
		mc.exits += d.exits
	}
}

// learned counts a redemption learned from the hub: the ticket's rows
// before and after, and the minutes its movements fell in.
func (c *counters) learned(t *gate.Ticket, before, after []gate.Redemption, ms []minuteDelta) {
	c.mu.Lock()
	c.ticket(t, before, -1)
	c.ticket(t, after, 1)
	c.addMinutes(ms)
	c.mu.Unlock()
}

// isNotFound reports a Pebble miss.
func isNotFound(err error) bool { return errors.Is(err, pebble.ErrNotFound) }
