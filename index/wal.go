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
// place; a flush then makes one of them the live WAL.
//
// Measured: with two memtables of filler (the previous warm-up) the live WAL
// was a recycled 4 MiB file and the recycler held 1.4, 2 and 64 MiB files;
// after 5 MiB of journal the WAL grew, and first use from one goroutine went
// from ~150 µs to ~210 µs at p50 (the fresh-WAL figure) once the refusal
// benchmarks had written that much. With six, every WAL file is 16 MiB and
// stays so. The filler goes in 64 KiB batches: a batch over half the
// memtable would bypass the WAL's normal path. It costs ~0.15 s at Open with
// the default 16 MiB memtable.
//
// The filler's tables must overlap no table of records. The scratch key was
// once "warm", which sorts between the tickets (t) and the import meta (x)
// an import ingests into the same table, and the first filler memtable also
// held what Open had written (meta, journal): compacting the filler's
// tombstones then rewrote the tables of tickets at every Open (5 MB for the
// 100k-ticket bench fixture; up to ImportTableBytes, 128 MiB, of a large
// store), in the background while the first scans ran and the block cache
// warm-up read the table it replaced (TestWALWarmupLeavesTicketTables).
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
