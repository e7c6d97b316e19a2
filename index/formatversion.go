package index

import (
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// StoreFormat is the format of the stores this admit writes, and the newest
// it reads. A store records its format (meta mformat): Open refuses a store
// of a newer format before it writes anything to it, and records this
// format in a store of an older one once it has converted what needs
// converting (Open's conversions run on every older store, so a crash in
// between only repeats them).
//
// Raise it with every change an older admit would misread or lose: a record
// encoding's new version, a new kind of key that must be kept in step with
// others. Add the step to the list, keep a store written by the new code in
// testdata/stores (storefixture_test.go), and say in the commit what an
// older admit would have done with it.
//
//	1  the first stores (testdata/stores/2026-12)
//	2  a store id (mstoreid); bloom snapshots name their store (2026-12-store-id)
//	3  redemptions and journal entries version 2: entry times, the hub's
//	   revision, offline and override (2026-12-entries)
//	4  a venue's state and offline writes (v, o), signed and rotating
//	   providers (provider and ticket records version 2, s keys), events
//	   version 2 (time zone, dates, rule), zones and overrides (z), the
//	   record of changes and the venue position (cr, cp, xcr, xcp)
//	   (2026-12-venue): an older admit would read a ticket's customer key,
//	   a provider's kind and an event's rule as corrupt records
//
// Stores written before formats were recorded (1 to 3) record none; Open
// reads them as older and records StoreFormat.
const StoreFormat = 4

// FormatError is Open's refusal of a store written by a newer admit.
type FormatError struct {
	Found     uint64 // the store's format
	Supported uint64 // StoreFormat
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("this store was written by admit format %d; this admit reads up to %d: upgrade admit or restore a backup",
		e.Found, e.Supported)
}

// readFormat returns the format the store records, 0 for none.
func readFormat(db *pebble.DB) (uint64, error) { return readU64(db, metaFormat) }

// checkFormat refuses a store of a newer format (Open, before anything is
// written) and remembers the store's format for recordFormat.
func (ix *Index) checkFormat() error {
	f, err := readFormat(ix.db)
	if err != nil {
		return err
	}
	if f > StoreFormat {
		return &FormatError{Found: f, Supported: StoreFormat}
	}
	ix.format = f
	return nil
}

// recordFormat writes StoreFormat into a store that records an older one
// (or none), after Open's conversions. Without a sync of its own: the WAL
// is written in order, so any record this admit writes later is durable
// only with the format before it, and a format lost to a crash is written
// again at the next Open. (A conversion that rewrites records an older
// admit would misread must set metaFormat in its own batch.)
func (ix *Index) recordFormat() error {
	if ix.format == StoreFormat {
		return nil
	}
	b := ix.db.NewBatch()
	_ = b.Set(metaFormat, u64(StoreFormat), nil)
	if err := ix.applyNoSync(b); err != nil {
		return err
	}
	if ix.format == 0 && ix.seq.Load() == 0 && ix.tickets.Load() == 0 {
		ix.log.Debug().Int("format", StoreFormat).Msg("new store")
	} else {
		ix.log.Info().Uint64("from", ix.format).Int("to", StoreFormat).Msg("store format upgraded")
	}
	ix.format = StoreFormat
	return nil
}

// Format is the store's format: StoreFormat once Open returned.
func (ix *Index) Format() uint64 { return ix.format }
