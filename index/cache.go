package index

import (
	"hash/maphash"
	"sync"

	"github.com/admitgate/admit/gate"
)

// Two small caches let a repeated scan of a ticket (already used, an exit,
// a re-entry: nearly always a ticket scanned minutes before) decide without
// reading Pebble.
//
// The ticket cache maps a barcode to its decoded record, tagged with the
// recVersion read before the record was: every change of a ticket record
// bumps recVersion after its write, so an entry whose version is not the
// current one is never used (any ticket change, or import, empties the
// cache in effect). It is exactly the check a scan already made before
// deciding on a record read without its stripe lock.
//
// The redemption cache lives in the lock stripes: each stripe keeps the
// redemptions of a few ticket keys, read and written only under that
// stripe's lock. Every write of redemptions (an admission, an exit, an
// annulment) happens under the lock and updates the entry after its commit
// succeeded, or drops it when the commit failed; a recovery, whose fixups
// rewrite redemptions, empties every stripe. So an entry always equals what
// the store holds. It is keyed by ticket key, not barcode, because a reissued
// barcode shares its original's redemptions.

const (
	ticketCacheShards = 64
	ticketCacheShard  = 256 // entries per shard: 16k tickets in all
	stripeRedemptions = 8   // ticket keys whose redemptions a stripe keeps
)

type ticketCache struct {
	seed   maphash.Seed
	shards [ticketCacheShards]ticketShard
}

type ticketShard struct {
	mu   sync.RWMutex
	m    map[string]*cachedTicket
	ring [ticketCacheShard]string // barcodes in insertion order: the oldest is evicted
	hand int
	_    [32]byte // keep neighbours off the same cache line
}

// cachedTicket is a decoded ticket record; never modified once cached.
type cachedTicket struct {
	version uint64
	rec     ticketRec
}

func (c *ticketCache) init() {
	c.seed = maphash.MakeSeed()
	for i := range c.shards {
		c.shards[i].m = make(map[string]*cachedTicket)
	}
}

func (c *ticketCache) shard(barcode string) *ticketShard {
	return &c.shards[maphash.String(c.seed, barcode)%ticketCacheShards]
}

// get returns the cached record of barcode if it was read at version.
func (c *ticketCache) get(barcode string, version uint64) *ticketRec {
	sh := c.shard(barcode)
	sh.mu.RLock()
	e := sh.m[barcode]
	sh.mu.RUnlock()
	if e == nil || e.version != version {
		return nil
	}
	return &e.rec
}

// put caches rec, read after recVersion was version, and returns the
// cached copy (which the caller must not modify).
func (c *ticketCache) put(barcode string, version uint64, rec ticketRec) *ticketRec {
	e := &cachedTicket{version: version, rec: rec}
	sh := c.shard(barcode)
	sh.mu.Lock()
	if _, ok := sh.m[barcode]; !ok {
		if old := sh.ring[sh.hand]; old != "" {
			delete(sh.m, old)
		}
		sh.ring[sh.hand] = barcode
		sh.hand = (sh.hand + 1) % ticketCacheShard
	}
	sh.m[barcode] = e
	sh.mu.Unlock()
	return &e.rec
}

// clear empties the cache.
func (c *ticketCache) clear() {
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		clear(sh.m)
		clear(sh.ring[:])
		sh.mu.Unlock()
	}
}

// stripeReds is the redemption cache of one stripe: a few ticket keys,
// replaced oldest first. Key 0 is never a ticket key and marks a free slot.
type stripeReds struct {
	keys [stripeRedemptions]uint64
	rs   [stripeRedemptions][]gate.Redemption
	hand uint8
}

// redemptions returns the cached redemptions of key (nil, false when not
// cached). The stripe's lock is held.
func (s *stripe) redemptions(key uint64) ([]gate.Redemption, bool) {
	if s.reds == nil {
		return nil, false
	}
	for i, k := range s.reds.keys {
		if k == key {
			return s.reds.rs[i], true
		}
	}
	return nil, false
}

// remember caches the redemptions the store now holds for key, which the
// caller must not modify afterwards. The stripe's lock is held.
func (s *stripe) remember(key uint64, rs []gate.Redemption) {
	if len(rs) > 0 && s.redeemed != nil {
		s.redeemed.mark(key)
	}
	if s.reds == nil {
		s.reds = &stripeReds{}
	}
	r := s.reds
	for i, k := range r.keys {
		if k == key {
			r.rs[i] = rs
			return
		}
	}
	r.keys[r.hand], r.rs[r.hand] = key, rs
	r.hand = (r.hand + 1) % stripeRedemptions
}

// forget drops the cached redemptions of key: a write of them failed and
// the store's state is not known. The stripe's lock is held.
func (s *stripe) forget(key uint64) {
	if s.redeemed != nil {
		s.redeemed.mark(key) // its record may have reached the disk after all
	}
	if s.reds == nil {
		return
	}
	for i, k := range s.reds.keys {
		if k == key {
			s.reds.keys[i], s.reds.rs[i] = 0, nil
		}
	}
}

// forgetCached empties both caches (after a recovery rewrote records).
func (ix *Index) forgetCached() {
	ix.tcache.clear()
	for i := range ix.stripes {
		s := &ix.stripes[i]
		s.Lock()
		s.reds = nil
		s.Unlock()
	}
}
