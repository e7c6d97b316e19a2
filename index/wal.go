package index

import (
	"fmt"
	"strings"
	"syscall"

	"github.com/admitgate/admit/gate"
	"github.com/cockroachdb/pebble/v2/vfs"
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
	need := warmMemtables * ix.opts.MemTableSize
	if err := ix.roomForWarmup(need, need); err != nil {
		return err
	}
	filler := make([]byte, chunk)
	key := warmKey
	// What Open wrote so far goes to a table of its own first, so the
	// filler's memtables hold the scratch key only and their tables
	// overlap no table of records.
	if err := ix.bounded(ix.slowTimeout(), ix.db.Flush); err != nil {
		return err
	}
	ix.warmingUp = true // from here the WAL files hold filler only
	set := func(k, v []byte, sync bool) error {
		b := ix.db.NewBatch()
		if v == nil {
			_ = b.Delete(k, nil)
		} else {
			_ = b.Set(k, v, nil)
		}
		if sync {
			return ix.apply(b)
		}
		return ix.applyNoSync(b)
	}
	for written := uint64(0); written < need; written += chunk {
		// The disk may fill meanwhile (another writer): stop while the
		// WAL can still be written rather than meet ENOSPC in it.
		if written%ix.opts.MemTableSize == 0 && written > 0 {
			if err := ix.roomForWarmup(need, need-written); err != nil {
				return err
			}
		}
		if err := set(key, filler, false); err != nil {
			return err
		}
	}
	if err := set(key, nil, false); err != nil {
		return err
	}
	if err := ix.bounded(ix.slowTimeout(), ix.db.Flush); err != nil {
		return err
	}
	if err := set(key, nil, true); err != nil {
		return err
	}
	if err := ix.bounded(ix.slowTimeout(), ix.db.Flush); err != nil {
		return err
	}
	ix.warmingUp = false
	return nil
}

// warmupReserve is the file the WAL warm-up reserves its space with.
const warmupReserve = "warmup.reserve"

// roomForWarmup checks that the data disk has room for the remaining
// bytes of the warm-up's need, less what the WAL files there already take
// (they are reused or deleted). A WAL write that meets a full disk is a
// crash inside Pebble (it cannot rotate to a new file), so the warm-up asks
// first: the file system's free space when it can tell, and a reservation
// of the space (fallocate, freed at once) that a full disk refuses.
func (ix *Index) roomForWarmup(need, remaining uint64) error {
	have := ix.walBytes()
	if remaining <= have {
		return nil
	}
	more := remaining - have
	if u, err := ix.fs.GetDiskUsage(ix.dir); err == nil && u.AvailBytes < more {
		return errWarmupSpace(need, u.AvailBytes)
	}
	name := ix.fs.PathJoin(ix.dir, warmupReserve)
	f, err := ix.fs.Create(name, vfs.WriteCategoryUnspecified)
	if err != nil {
		if isNoSpace(err) {
			return errWarmupSpace(need, 0)
		}
		return err
	}
	err = f.Preallocate(0, int64(more))
	_ = f.Close()
	_ = ix.fs.Remove(name)
	if isNoSpace(err) {
		return errWarmupSpace(need, 0)
	}
	return nil // a file system without fallocate: the free space said enough
}

// walBytes is the size of the WAL files in the store's directory.
func (ix *Index) walBytes() uint64 {
	names, err := ix.fs.List(ix.pebbleDir())
	if err != nil {
		return 0
	}
	var n uint64
	for _, name := range names {
		if !strings.HasSuffix(name, ".log") {
			continue
		}
		if st, err := ix.fs.Stat(ix.fs.PathJoin(ix.pebbleDir(), name)); err == nil {
			n += uint64(st.Size())
		}
	}
	return n
}

// errWarmupSpace is the error of a warm-up the disk has no room for (free
// zero when unknown).
func errWarmupSpace(need, free uint64) error {
	msg := fmt.Sprintf("no space for the store's WAL warm-up (needs %d MiB", (need+1<<20-1)>>20)
	if free > 0 {
		msg += fmt.Sprintf(", %d MiB free", free>>20)
	}
	msg += "): free space on the data disk, or give the store a smaller memtable size"
	return fmt.Errorf("%w: %w", gate.Errorf(gate.ENOSPACE, "%s", msg), syscall.ENOSPC)
}

// removeWarmupFiles removes the WAL files of a warm-up that failed, once
// the database is closed: the warm-up began with a flush of everything
// else, so they hold nothing but filler, and a disk it filled gets its
// space back.
func (ix *Index) removeWarmupFiles() {
	names, err := ix.fs.List(ix.pebbleDir())
	if err != nil {
		return
	}
	for _, name := range names {
		if strings.HasSuffix(name, ".log") {
			if err := ix.fs.Remove(ix.fs.PathJoin(ix.pebbleDir(), name)); err != nil {
				ix.log.Warn().Err(err).Str("file", name).Msg("a WAL file of the failed warm-up was not removed")
			}
		}
	}
}
