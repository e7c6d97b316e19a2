package index

import (
	"encoding/binary"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// A first use is, by definition, a scan of a ticket that has no
// redemptions, yet finding that out costs a Pebble Get of a key that is not
// there (the memtables and every level's filter: a noticeable share of a
// first use's CPU when many lanes admit at once). redeemedSet remembers, by
// ticket key, which
// tickets may have redemptions stored, so that getRedemptions answers "none"
// from memory for the others.
//
// The invariant: once the set is ready, a ticket key whose bit is clear has
// no redemption record on disk. Bits are only ever set, never cleared (a set
// bit only costs a Get). Every write of a redemption record happens under
// the ticket's stripe lock, and the stripe sets the bit (remember) before
// the lock is released and before the scan is answered; a failed write
// (forget) sets it too, since its record may have reached the disk. A
// recovery's fixups only restore earlier records, whose bits are set. At
// Open a background goroutine sets the bits of every stored record
// (loadRedeemed) and only then marks the set ready; until then, and forever
// if that read fails, every lookup reads Pebble.
type redeemedSet struct {
	ready  atomic.Bool
	chunks [redeemedChunks]atomic.Pointer[redeemedChunk]
}

const (
	redeemedChunkKeys = 1 << 20 // ticket keys per chunk (128 KiB of bits)
	redeemedChunks    = 4096    // chunks: ticket keys up to 2^32; others are never known
)

type redeemedChunk [redeemedChunkKeys / 64]atomic.Uint64

// mark records that key may have redemptions stored.
func (s *redeemedSet) mark(key uint64) {
	i := key / redeemedChunkKeys
	if i >= redeemedChunks {
		return // never known: mayHave is always true for it
	}
	c := s.chunks[i].Load()
	if c == nil {
		c = new(redeemedChunk)
		if !s.chunks[i].CompareAndSwap(nil, c) {
			c = s.chunks[i].Load()
		}
	}
	off := key % redeemedChunkKeys
	w, bit := &c[off/64], uint64(1)<<(off%64)
	if w.Load()&bit == 0 {
		w.Or(bit)
	}
}

// mayHave reports whether key may have redemptions stored: false only when
// the set is ready and key's bit is clear.
func (s *redeemedSet) mayHave(key uint64) bool {
	if !s.ready.Load() {
		return true
	}
	i := key / redeemedChunkKeys
	if i >= redeemedChunks {
		return true
	}
	c := s.chunks[i].Load()
	if c == nil {
		return false
	}
	off := key % redeemedChunkKeys
	return c[off/64].Load()&(uint64(1)<<(off%64)) != 0
}

// loadRedeemed marks the ticket keys of every stored redemption record,
// then makes the set ready. A record written meanwhile is marked by its
// writer, so the set is complete when the iteration ends.
func (ix *Index) loadRedeemed() {
	defer ix.bg.Done()
	if err := ix.enter(); err != nil {
		return
	}
	defer ix.exit()
	start := time.Now()
	it, err := ix.db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixRedemption}, UpperBound: []byte{prefixRedemption + 1}})
	if err != nil {
		ix.log.Warn().Err(err).Msg("redeemed tickets not loaded; first uses read Pebble for their redemptions")
		return
	}
	n := 0
	for it.First(); it.Valid(); it.Next() {
		k := it.Key()
		if len(k) != 9 {
			_ = it.Close()
			ix.log.Warn().Hex("key", k).Msg("redeemed tickets not loaded: a redemption key of the wrong length; first uses read Pebble for their redemptions")
			return
		}
		ix.redeemed.mark(binary.BigEndian.Uint64(k[1:]))
		n++
		if n&4095 == 0 && (ix.closed.Load() || ix.faulted.Load()) {
			_ = it.Close()
			return
		}
	}
	if err := it.Close(); err != nil {
		ix.log.Warn().Err(err).Msg("redeemed tickets not loaded; first uses read Pebble for their redemptions")
		return
	}
	ix.redeemed.ready.Store(true)
	ix.log.Debug().Int("tickets", n).Dur("took_ms", time.Since(start)).Msg("redeemed tickets loaded")
}
