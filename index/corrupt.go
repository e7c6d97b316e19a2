package index

import (
	"errors"
	"fmt"
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/cockroachdb/pebble/v2"
)

// On-disk corruption (bit rot in a table, a damaged MANIFEST, a record that
// does not decode) cannot be repaired by reopening: the store stays up and
// fails closed. Every scan is refused with reason error, without a journal
// entry (the journal may be what is damaged), every other call returns
// gate.EUNAVAILABLE with the words below, Health and Stats name the damaged
// file, and no compaction runs any more (it would read the damage again).
// The way back is to restore the data directory from a backup. Pebble's
// default reaction, a Fatalf from whatever goroutine read the block, killed
// the process at every start.

// corruption is the first on-disk corruption found.
type corruption struct {
	file string // the damaged file, when known
	err  error  // what was found, for the log
	msg  string // for people
}

// corrupted records on-disk corruption found in file (empty when unknown).
// Only the first is kept.
func (ix *Index) corrupted(file string, err error) {
	c := &corruption{file: file, err: err,
		msg: "the ticket store is corrupt: restore the data directory from a backup"}
	if file != "" {
		c.msg = fmt.Sprintf("the ticket store is corrupt (%s is damaged): restore the data directory from a backup", file)
	}
	if ix.corrupt.CompareAndSwap(nil, c) {
		ix.log.Error().Str("file", file).Err(err).Msg(c.msg)
	}
}

// dataCorruption is Pebble's DataCorruption event: a block whose checksum
// failed, found by a read, a compaction or the cache warm-up.
func (ix *Index) dataCorruption(info pebble.DataCorruptionInfo) {
	ix.corrupted(info.Path, info.Details)
}

// isCorruption reports whether err says the data on disk is damaged.
func isCorruption(err error) bool {
	return pebble.IsCorruptionError(err) || errors.Is(err, errCorrupt)
}

// corruptionOf is the file a corruption error names, if any.
func corruptionOf(err error) string {
	if info := pebble.ExtractDataCorruptionInfo(err); info != nil {
		return info.Path
	}
	return ""
}

// errOf is the error a call on a corrupt store returns.
func (c *corruption) errOf() error { return gate.Errorf(gate.EUNAVAILABLE, "%s", c.msg) }

// openCorrupt turns an Open that found its store corrupt into an Index that
// refuses everything: the database is closed, and what the index keeps in
// memory is empty.
func (ix *Index) openCorrupt(err error) *Index {
	ix.corrupted(corruptionOf(err), err)
	if ix.db != nil {
		if ix.quiesce(nil, time.Now().Add(closeWait)) {
			_ = ix.db.Close()
		}
		ix.db = nil
	}
	if ix.events.Load() == nil {
		ix.events.Store(gate.NewEventSet())
	}
	if ix.providers.Load() == nil {
		ix.providers.Store(&map[string]gate.Provider{})
	}
	if ix.filter.Load() == nil {
		ix.filter.Store(ix.newFilter(ix.opts.BloomMinCapacity))
	}
	if ix.ctrs() == nil {
		ix.counters.Store(newCounters())
	}
	ix.warmed.Store(true)
	return ix
}
