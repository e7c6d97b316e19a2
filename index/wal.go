package index

import (
	"github.com/cockroachdb/pebble/v2"
)

// warmWAL leaves Pebble writing into a recycled WAL file of full size, and
// its recycler holding only full-size files. A fresh WAL file grows with
// every commit, and each fdatasync of a growing file also writes file-size
// metadata (a journal commit); a recycled file is overwritten in place, so
// its fdatasync writes data only. Pebble recycles a WAL once its memtable is
// flushed, keeps at most MemTableStopWritesThreshold+1 (3) such files, and
// hands the oldest to the next WAL it creates. Memtables (and so WAL files)
// start at 256 KiB and double up to MemTableSize, about two memtables'
// worth in all; the recycler keeps the first, small files it is offered.
// So Open writes six memtables of filler (under a scratch key beyond every
// record's range, deleted after): two to reach full size, then four full-size WALs, which push the
// small recycled files out (each new WAL takes the oldest) and take their
// place; a flush then makes one of them the live WAL. Fewer memtables of
// filler leave small recycled files behind, and the live WAL grows again
// after a few MiB of journal (BENCHMARKS.md, "The WAL warm-up"). The filler
// goes in 64 KiB batches: a batch over half the memtable would bypass the
// WAL's normal path.
//
// The filler's tables must overlap no table of records, and Open's own
// writes are flushed first so that no filler memtable holds them: otherwise
// compacting the filler's tombstones rewrites a table of tickets at every
// Open, in the background while the first scans run and the block cache
// warm-up reads the table being replaced (TestWALWarmupLeavesTicketTables).
const warmMemtables = 6

func (ix *Index) warmWAL() error {
	const chunk = 64 << 10
	filler := make([]byte, chunk)
	key := warmKey
	// What Open wrote so far goes to a table of its own first, so the
	// filler's memtables hold the scratch key only and their tables
	// overlap no table of records.
	if err := ix.db.Flush(); err != nil {
		return err
	}
	total := ix.opts.MemTableSize * warmMemtables
	for written := uint64(0); written < total; written += chunk {
		if err := ix.db.Set(key, filler, pebble.NoSync); err != nil {
			return err
		}
	}
	if err := ix.db.Delete(key, pebble.NoSync); err != nil {
		return err
	}
	if err := ix.db.Flush(); err != nil {
		return err
	}
	if err := ix.db.Delete(key, pebble.Sync); err != nil {
		return err
	}
	return ix.db.Flush()
}
