package index

import (
	"github.com/cockroachdb/pebble/v2"
)

// warmWAL leaves Pebble writing into a recycled, full-size WAL file. A fresh
// WAL file grows with every commit, and each fdatasync of a growing file
// also writes file-size metadata; a recycled file is overwritten in place.
// Pebble recycles a WAL once its memtable is flushed, so Open writes one
// memtable's worth of filler (under a scratch key, deleted at once) and
// flushes twice: the second rotation picks up the first, full-size file.
func (ix *Index) warmWAL() error {
	const chunk = 1 << 20
	filler := make([]byte, chunk)
	key := []byte{'w', 'a', 'r', 'm'}
	for round := 0; round < 2; round++ {
		for written := uint64(0); written < ix.opts.MemTableSize/2; written += chunk {
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
	}
	return nil
}
