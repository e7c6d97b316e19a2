package index

import (
	"runtime"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// warmCache reads the ticket records once, in key order, in the background
// after Open, so that Pebble's block cache holds them: the first scan of a
// ticket (at doors-open, nearly every scan) then finds its block in memory
// instead of paying a file read, a block allocation and a decompression
// (and a disk read when the page cache is cold too).
// It stops at warmBudget, so the other records keep room, and gives way to
// scans every few hundred records. It ends early
// when the store closes or faults.
func (ix *Index) warmCache() {
	defer ix.bg.Done()
	defer ix.warmed.Store(true)
	if err := ix.enter(); err != nil {
		return
	}
	defer ix.exit()
	start := time.Now()
	it, err := ix.db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixTicket}, UpperBound: []byte{prefixTicket + 1}})
	if err != nil {
		return
	}
	defer it.Close()
	budget := ix.warmBudget()
	var bytes int64
	n := 0
	for it.First(); it.Valid() && bytes < budget; it.Next() {
		// The value is what loads the block (a ticket's value stays in its
		// data block); the key alone could come from the index block.
		bytes += int64(len(it.Key()) + len(it.Value()) + 8)
		n++
		if n&255 == 0 {
			if ix.closed.Load() || ix.faulted.Load() {
				return
			}
			runtime.Gosched()
		}
	}
	ix.warmedTickets.Store(int64(n))
	if it.Valid() {
		// Stopped at the budget: the first scan of every other ticket
		// reads its block from the disk (and evicts another's).
		ix.log.Warn().Int("warmed", n).Int64("tickets", ix.tickets.Load()).Int64("cache_bytes", ix.opts.CacheSize).
			Msg("the block cache holds the records of only part of the tickets: give the store more cache (admit: [store] cache_size, about 150 bytes a ticket)")
		return
	}
	ix.log.Debug().Int("tickets", n).Int64("bytes", bytes).Dur("took_ms", time.Since(start)).Msg("block cache warmed with ticket records")
}

// warmBudget is how many bytes of ticket records the warm-up reads: the
// block cache less what Pebble reserves in it for memtables (the live one
// and one being flushed) and an eighth kept for the other records.
func (ix *Index) warmBudget() int64 {
	return ix.opts.CacheSize - 2*int64(ix.opts.MemTableSize) - ix.opts.CacheSize/8
}
