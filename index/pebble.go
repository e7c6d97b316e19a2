package index

import (
	"fmt"

	"github.com/cockroachdb/pebble/v2"
	pebblebloom "github.com/cockroachdb/pebble/v2/bloom"
	"github.com/rs/zerolog"
)

// pebbleOptions are the options the database is opened with (at Open and
// by every recovery).
func (ix *Index) pebbleOptions() *pebble.Options {
	po := &pebble.Options{
		FS:                 ix.fs,
		CacheSize:          ix.opts.CacheSize,
		MemTableSize:       ix.opts.MemTableSize,
		FormatMajorVersion: pebble.FormatNewest,
		Logger:             pebbleLogger{ix.log},
	}
	// Table bloom filters let a Get of a ticket skip the levels that do not
	// hold it.
	for i := range po.Levels {
		po.Levels[i].FilterPolicy = pebblebloom.FilterPolicy(10)
	}
	po.WALMinSyncInterval = ix.walMinSyncInterval
	po.EventListener = ix.eventListener()
	// Compactions leave scans the cores (compaction.go).
	po.Experimental.CompactionScheduler = newCompactionScheduler(ix)
	po.EnsureDefaults()
	return po
}

// pebbleLogger sends Pebble's log lines to zerolog. Pebble calls Fatalf when
// a commit's WAL write or sync fails (in the committing goroutine, after the
// commit pipeline is done with the batch) and when its own state can no
// longer be trusted (a MANIFEST write failed, in a background goroutine).
// Fatalf logs and panics with a pebbleFatal: commitNow recovers the first
// kind and turns it into a write fault; the second stops the process, and
// Open recovers from the disk as after a crash.
type pebbleLogger struct{ log zerolog.Logger }

func (l pebbleLogger) Infof(format string, args ...any) {
	l.log.Debug().Str("from", "pebble").Msgf(format, args...)
}

func (l pebbleLogger) Errorf(format string, args ...any) {
	l.log.Error().Str("from", "pebble").Msgf(format, args...)
}

func (l pebbleLogger) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	l.log.Error().Str("from", "pebble").Msg("fatal: " + msg)
	f := &pebbleFatal{msg: msg}
	for _, a := range args {
		if err, ok := a.(error); ok {
			f.err = err // so a full disk stays errors.Is syscall.ENOSPC
			break
		}
	}
	panic(f)
}

// pebbleFatal is what pebbleLogger.Fatalf panics with: Pebble's message,
// and the error it reported, if any.
type pebbleFatal struct {
	msg string
	err error
}

func (f *pebbleFatal) Error() string { return f.msg }
func (f *pebbleFatal) Unwrap() error { return f.err }
