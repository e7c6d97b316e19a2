package index

import (
	"bytes"
	"context"
	"fmt"
	"slices"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/objstorage/objstorageprovider"
	"github.com/cockroachdb/pebble/v2/sstable"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// An import writes its records through a sink: one Pebble batch when it is
// small (batchSink), SSTables ingested together when it is large (sstSink,
// fed by pipeSink in its own goroutine). Either way the whole import becomes
// visible at once, also across a crash.

// kv is one key and value an import writes besides its tickets.
type kv struct{ k, v []byte }

// sink receives an import's records in key order (tickets), then the
// remaining keys (all sorting before the tickets) at finish, and writes them
// atomically at commit.
type sink interface {
	set(k, v []byte) error
	finish(rest []kv) error
	prepare() error // before the stripes are taken
	commit() error
	committed() bool
	abort()
}

// batchSink writes a small import as one batch committed with Sync.
type batchSink struct {
	b    *pebble.Batch
	ix   *Index
	done bool
}

func (s *batchSink) set(k, v []byte) error { return s.b.Set(k, v, nil) }
func (s *batchSink) finish(rest []kv) error {
	for _, x := range rest {
		if err := s.b.Set(x.k, x.v, nil); err != nil {
			return err
		}
	}
	return nil
}
func (s *batchSink) prepare() error { return nil }

func (s *batchSink) commit() error {
	err := s.ix.apply(s.b) // closes the batch
	s.b = nil
	if err == nil {
		s.done = true
	}
	return err
}
func (s *batchSink) committed() bool { return s.done }
func (s *batchSink) abort() {
	if s.b != nil {
		_ = s.b.Close()
		s.b = nil
	}
}

// sstSink writes SSTables of at most ImportTableBytes each and ingests them
// all in one DB.Ingest, which Pebble applies as one atomic version edit.
type sstSink struct {
	ix    *Index
	dir   string
	w     *sstable.Writer
	size  int
	files []string
	done  bool
}

func (s *sstSink) open() error {
	name := s.ix.fs.PathJoin(s.dir, fmt.Sprintf("ingest-%04d.sst", len(s.files)))
	f, err := s.ix.fs.Create(name, vfs.WriteCategoryUnspecified)
	if err != nil {
		return err
	}
	// Start writeback every 1 MiB: a large file's dirty pages would
	// otherwise be flushed inside the next WAL fdatasync (ext4 orders data
	// before the journal commit) and stall the scans waiting on it.
	f = vfs.NewSyncingFile(f, vfs.SyncingFileOptions{BytesPerSync: 1 << 20})
	s.w = sstable.NewWriter(objstorageprovider.NewFileWritable(f), s.ix.pebbleOptions().MakeWriterOptions(0, s.ix.db.TableFormat()))
	s.files = append(s.files, name)
	s.size = 0
	return nil
}

func (s *sstSink) set(k, v []byte) error {
	if s.w == nil {
		if err := s.open(); err != nil {
			return err
		}
	}
	if err := s.w.Set(k, v); err != nil {
		return err
	}
	s.size += len(k) + len(v)
	if s.size >= s.ix.opts.ImportTableBytes {
		err := s.w.Close()
		s.w = nil
		return err
	}
	return nil
}

func (s *sstSink) finish(rest []kv) error {
	if s.w != nil {
		if err := s.w.Close(); err != nil {
			s.w = nil
			return err
		}
		s.w = nil
	}
	slices.SortFunc(rest, func(a, b kv) int { return bytes.Compare(a.k, b.k) })
	if err := s.open(); err != nil {
		return err
	}
	for _, x := range rest {
		if err := s.w.Set(x.k, x.v); err != nil {
			return err
		}
	}
	err := s.w.Close()
	s.w = nil
	return err
}

// prepare flushes the memtable, so that the ingest does not overlap it
// (a recent admin change of a ticket would): an overlapping ingest makes
// Pebble flush inside the commit pipeline, and every scan's commit waits.
// Flush itself runs beside the commits.
func (s *sstSink) prepare() error { return s.ix.bounded(s.ix.slowTimeout(), s.ix.db.Flush) }

// commit ingests the tables, waiting for it as long as for a flush. An
// ingest that did not complete in time may still complete later: the
// import is then applied whole, though its caller was told it failed.
func (s *sstSink) commit() error {
	err := s.ix.bounded(s.ix.slowTimeout(), func() error { return s.ix.db.Ingest(context.Background(), s.files) })
	if err == nil {
		s.done = true
	}
	return err
}

func (s *sstSink) committed() bool { return s.done }

func (s *sstSink) abort() {
	if s.w != nil {
		_ = s.w.Close()
		s.w = nil
	}
	for _, f := range s.files {
		_ = s.ix.fs.Remove(f)
	}
}
