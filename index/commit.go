package index

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// Every commit is bounded. Pebble's commit blocks for as long as it cannot
// go on: a write stall (the memtables full because their flushes fail, as
// on a full disk), a WAL write or sync that hangs. A scan waiting on it
// would hang with it, its lane and its client unanswered, and the admission
// would be applied whenever the disk let it: a guest never answered, a
// ticket spent. So a commit runs in a committer goroutine and its caller
// waits at most Options.CommitTimeout. A commit that has not completed by
// then fails with errCommitTimeout: the caller answers as for any failed
// commit (a scan is refused with reason error) and faults the store, and
// the commit is left to its committer, which keeps the database in use
// until Pebble returns. The recovery reopens the database only then, and
// undoes what such a commit applied late (an admission's fixup, see
// fault.go), so an answer of error never spends a ticket.
//
// Committers are kept: one that finished waits for the next commit, so an
// admission costs a hand-over to a parked goroutine, not a new goroutine;
// there are as many as commits were ever in flight at once.

// errCommitTimeout is the error of a commit that did not complete within
// Options.CommitTimeout.
var errCommitTimeout = errors.New("index: the commit did not complete in time; the disk is full, stalled or failing")

// A commitCall's state: the committer and the caller each try to move it
// from running, and the one that does decides who owns what follows.
const (
	commitRunning   int32 = iota
	commitDone            // Pebble returned first: the caller reads err
	commitAbandoned       // the caller stopped waiting: the committer drops the call
)

// commitCall is one commit handed to a committer.
type commitCall struct {
	b     *pebble.Batch
	o     *pebble.WriteOptions
	err   error
	state atomic.Int32
	done  chan struct{} // buffered: the committer never waits on it
	timer *time.Timer
}

var commitCalls = sync.Pool{New: func() any {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &commitCall{done: make(chan struct{}, 1), timer: t}
}}

// apply commits b with Sync, and closes b (also when the commit times out:
// b then stays with its committer until Pebble is done with it). A
// successful Sync commit also makes durable every commit made before it
// began without a sync (the journal writer's): it records that in
// walSynced.
func (ix *Index) apply(b *pebble.Batch) error {
	covers := ix.walWritten.Load()
	ix.syncing.Add(1)
	err := ix.commitBatch(b, pebble.Sync)
	ix.syncing.Add(-1)
	if err != nil {
		return err
	}
	ix.syncCommits.Add(1)
	if covers > ix.walSynced.Load() {
		ix.markSynced(covers)
	}
	return nil
}

// applyNoSync commits b without waiting for the disk, and closes b; see
// journalWriter.run.
func (ix *Index) applyNoSync(b *pebble.Batch) error { return ix.commitBatch(b, pebble.NoSync) }

// commitBatch commits b through a committer, waiting at most
// Options.CommitTimeout, and closes b.
func (ix *Index) commitBatch(b *pebble.Batch, o *pebble.WriteOptions) error {
	c := commitCalls.Get().(*commitCall)
	c.b, c.o, c.err = b, o, nil
	c.state.Store(commitRunning)
	ix.active.Add(1) // the committer's use of the database, until Pebble returns
	select {
	case ix.committers <- c:
	default:
		go ix.committer(c)
	}
	c.timer.Reset(ix.opts.CommitTimeout)
	select {
	case <-c.done:
		c.timer.Stop()
	case <-c.timer.C:
		if c.state.CompareAndSwap(commitRunning, commitAbandoned) {
			ix.commitTimeouts.Add(1)
			return errCommitTimeout // c is the committer's now, and dropped
		}
		<-c.done // Pebble returned as the wait ended
	}
	err := c.err
	c.b, c.o, c.err = nil, nil, nil
	commitCalls.Put(c)
	return err
}

// committer commits c, then every call handed to it, until the index
// stops.
func (ix *Index) committer(c *commitCall) {
	for {
		b := c.b
		err := ix.commitNow(b, c.o)
		c.err = err
		if c.state.CompareAndSwap(commitRunning, commitDone) {
			c.done <- struct{}{}
		} else if err == nil {
			ix.log.Warn().Msg("a commit answered as failed (it did not complete in time) completed late; the store's recovery undoes an admission it wrote")
		}
		_ = b.Close()
		ix.active.Add(-1)
		select {
		case c = <-ix.committers:
		case <-ix.stop:
			return
		}
	}
}

// commitNow commits b. Pebble reports a WAL failure by calling its logger's
// Fatalf, which panics (see pebbleLogger); commitNow turns that, and any
// other panic from the commit, into an error so a disk fault is a refusal,
// never a crash.
func (ix *Index) commitNow(b *pebble.Batch, o *pebble.WriteOptions) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = panicError(r)
		}
	}()
	return ix.db.Apply(b, o)
}

// panicError turns a value Pebble panicked with into an error, keeping an
// error's chain (a full disk stays errors.Is syscall.ENOSPC).
func panicError(r any) error {
	if err, ok := r.(error); ok {
		return fmt.Errorf("index: pebble: %w", err)
	}
	return fmt.Errorf("index: pebble: %v", r)
}

// markSynced raises walSynced to n and tells the journal writer.
func (ix *Index) markSynced(n uint64) {
	for {
		cur := ix.walSynced.Load()
		if cur >= n || ix.walSynced.CompareAndSwap(cur, n) {
			break
		}
	}
	select {
	case ix.jw.synced <- struct{}{}:
	default:
	}
}

// slowTimeout bounds the database's rare long operations (a flush, an
// import's ingest): they write tens of MiB where a commit writes a few KiB.
func (ix *Index) slowTimeout() time.Duration { return 60 * ix.opts.CommitTimeout }

// bounded runs fn (a flush, an ingest) in a goroutine of its own and waits
// at most limit for it; fn keeps the database in use until it returns, as
// a commit does. A panic in fn is its error.
func (ix *Index) bounded(limit time.Duration, fn func() error) error {
	done := make(chan error, 1)
	ix.active.Add(1)
	go func() {
		defer ix.active.Add(-1)
		done <- func() (err error) {
			defer func() {
				if r := recover(); r != nil {
					err = panicError(r)
				}
			}()
			return fn()
		}()
	}()
	t := time.NewTimer(limit)
	defer t.Stop()
	select {
	case err := <-done:
		return err
	case <-t.C:
		ix.commitTimeouts.Add(1)
		return errCommitTimeout
	}
}
