package index

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// The import reads its source in a goroutine of its own, a batch of lines
// ahead (lineReader). These tests hold what that must not change: a source
// is called by one goroutine at a time and never after Load returned, a
// failing or cancelled import changes nothing and leaves no goroutine
// behind, and the lines arrive in their order.

// recordingSource yields good tickets (and a parser rejection every
// rejectEvery lines, when set): with fails, failAt lines then errDisk, else
// total lines then io.EOF. Its counters
// are plain fields, read and written by Next, Format and Digest: under
// -race, two goroutines calling it without ordering are reported. It also
// notes itself any overlap of two calls and any call after done.
type recordingSource struct {
	total, failAt int
	fails         bool
	rejectEvery   int
	cancelAt      int                // cancel is called when Next reaches this line
	cancel        context.CancelFunc // with cancelAt

	calls         int      // plain: the race detector watches it
	digest        [32]byte // plain: a running hash of what was read
	hash          []byte   // scratch
	busy          atomic.Bool
	done          atomic.Bool // set by the test once Load returned
	calls2        atomic.Int64
	overlap, late atomic.Bool
}

func (s *recordingSource) Next() (gate.ImportLine, error) {
	if !s.busy.CompareAndSwap(false, true) {
		s.overlap.Store(true)
	}
	defer s.busy.Store(false)
	if s.done.Load() {
		s.late.Store(true)
	}
	s.calls2.Add(1)
	s.calls++
	n := s.calls
	if n%64 == 0 {
		runtime.Gosched() // give another caller, if any, the chance to overlap
	}
	if s.cancel != nil && n == s.cancelAt {
		s.cancel()
	}
	if s.fails && n > s.failAt {
		return gate.ImportLine{}, errDisk
	}
	if !s.fails && n > s.total {
		return gate.ImportLine{}, io.EOF
	}
	barcode := fmt.Sprintf("R%07d", n)
	s.hash = append(s.hash[:0], s.digest[:]...)
	s.digest = sha256.Sum256(append(s.hash, barcode...))
	if s.rejectEvery > 0 && n%s.rejectEvery == 0 {
		return badLine(n, gate.RejectControlChar), nil
	}
	return gate.ImportLine{Line: n, Ticket: tk(barcode, "derby")}, nil
}

func (s *recordingSource) Format() gate.Format { _ = s.calls; return gate.FormatLines }
func (s *recordingSource) Digest() string      { return hex.EncodeToString(s.digest[:]) }

// readerGoroutines counts the goroutines running a lineReader's loop,
// waiting up to a second for it to be 0: Load returns once the reader closed
// its done channel, a moment before the goroutine itself ends.
func readerGoroutines() int {
	buf := make([]byte, 1<<20)
	for deadline := time.Now().Add(time.Second); ; {
		n := runtime.Stack(buf, true)
		if n == len(buf) {
			buf = make([]byte, 2*len(buf))
			continue
		}
		c := strings.Count(string(buf[:n]), "index.startReader.func")
		if c == 0 || time.Now().After(deadline) {
			return c
		}
		time.Sleep(time.Millisecond)
	}
}

// storeDump is every key and value in the store, the bloom filter in use
// and the import temp folder's entries: "changes nothing" compares two.
type storeDump struct {
	kv     []byte
	filter *filter
	tmp    []string
	stats  Stats
}

func dumpStore(t *testing.T, ix *Index) storeDump {
	t.Helper()
	it, err := ix.db.NewIter(nil)
	if err != nil {
		t.Fatal(err)
	}
	var kv bytes.Buffer
	for it.First(); it.Valid(); it.Next() {
		fmt.Fprintf(&kv, "%q=%q\n", it.Key(), it.Value())
	}
	if err := it.Close(); err != nil {
		t.Fatal(err)
	}
	tmp, _ := ix.fs.List(ix.opts.TempDir)
	return storeDump{kv: kv.Bytes(), filter: ix.filter.Load(), tmp: tmp, stats: ix.Stats()}
}

func (d storeDump) diff(o storeDump) string {
	switch {
	case !bytes.Equal(d.kv, o.kv):
		return fmt.Sprintf("the stored keys changed (%d bytes of dump, then %d)", len(d.kv), len(o.kv))
	case d.filter != o.filter:
		return "another bloom filter was published"
	case len(d.tmp) != len(o.tmp):
		return fmt.Sprintf("temporary files: %v, then %v", d.tmp, o.tmp)
	case d.stats != o.stats:
		return fmt.Sprintf("stats: %+v, then %+v", d.stats, o.stats)
	}
	return ""
}

// openWithTickets opens a store holding a first import and one admission,
// its journal settled, so a failed import has something to leave alone. A
// small ImportBatchLines sends larger imports down the SSTable path.
func openWithTickets(t *testing.T) *Index {
	t.Helper()
	o := testOptions(vfs.NewMem())
	o.ImportBatchLines = 300
	ix := openDerby(t, o)
	load(t, ix, tk("KEEP1", "derby"), tk("KEEP2", "derby"), tk("R0000001", "derby"))
	if d := scanAt(ix, "KEEP1", during); !d.Admit {
		t.Fatalf("setup scan: %s", d.Reason)
	}
	settleJournal(t, ix)
	return ix
}

// settleJournal waits until the journal writer has nothing queued and the
// entries are written, and the block cache warm-up is over, so Stats and
// the keys stop moving.
func settleJournal(t *testing.T, ix *Index) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; {
		st := ix.Stats()
		if st.JournalBacklog == 0 && st.WrittenSeq == st.LastSeq && st.CacheWarmed {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the journal did not settle: %+v", st)
		}
		time.Sleep(time.Millisecond)
	}
}

// A source failing after n lines fails the import with its error and the
// line it failed at, whatever the error policy, dry run or not; the store
// is exactly as before (keys, bloom filter, temporary files, stats), the
// source was called n+1 times (never again after its error), by one
// goroutine at a time, never after Load returned, and the reading
// goroutine is gone when Load returns.
func TestLoadSourceErrorChangesNothing(t *testing.T) {
	ix := openWithTickets(t)
	for _, n := range []int{0, 1, readBatch - 1, readBatch, readBatch + 1, 8*readBatch + 3} {
		for _, policy := range []gate.OnError{gate.OnErrorReject, gate.OnErrorSkip} {
			for _, dry := range []bool{false, true} {
				for _, rejects := range []int{0, 7} {
					name := fmt.Sprintf("n=%d/%s/dry=%t/rejectEvery=%d", n, policy, dry, rejects)
					before := dumpStore(t, ix)
					src := &recordingSource{failAt: n, fails: true, rejectEvery: rejects}
					res, err := ix.Load(context.Background(), gate.ImportRequest{Provider: "p1", Source: "t", OnError: policy, DryRun: dry}, src)
					src.done.Store(true)
					if !errors.Is(err, errDisk) || !strings.Contains(err.Error(), fmt.Sprintf("read line %d:", n+1)) {
						t.Fatalf("%s: error %v, want errDisk at line %d", name, err, n+1)
					}
					if res.Lines != 0 || res.Added != 0 {
						t.Errorf("%s: a failed import reported %s", name, counts(res))
					}
					if g := readerGoroutines(); g != 0 {
						t.Fatalf("%s: %d reader goroutines left after Load returned", name, g)
					}
					if got := src.calls2.Load(); got != int64(n+1) {
						t.Errorf("%s: Next called %d times, want %d (never after its error)", name, got, n+1)
					}
					if src.overlap.Load() {
						t.Fatalf("%s: Next called by two goroutines at once", name)
					}
					if d := before.diff(dumpStore(t, ix)); d != "" {
						t.Fatalf("%s: %s", name, d)
					}
				}
			}
		}
	}
	time.Sleep(10 * time.Millisecond)
	// The store still answers as before: the kept tickets, and none of
	// the failed imports' barcodes (R0000001 was loaded by the setup).
	if d := scanAt(ix, "KEEP1", during); d.Reason != gate.ReasonAlreadyUsed {
		t.Errorf("KEEP1: %s", d.Reason)
	}
	if d := scanAt(ix, "KEEP2", during); !d.Admit {
		t.Errorf("KEEP2: %s", d.Reason)
	}
	if d := scanAt(ix, "R0000002", during); d.Reason != gate.ReasonUnknown {
		t.Errorf("R0000002 from a failed import: %s", d.Reason)
	}
}

// A source is called by one goroutine at a time, in order, and not after
// io.EOF: a successful import of many batches (some lines rejected by the
// parser, on_error=skip) keeps every line's number in order, and Load reads
// Format and Digest only once the reader is done with the source (under
// -race, its plain fields would report any unordered access).
func TestLoadSourceReadByOneGoroutine(t *testing.T) {
	ix := openWithTickets(t)
	const total = 10*readBatch + 17
	src := &recordingSource{total: total, rejectEvery: 97}
	res, err := ix.Load(context.Background(), gate.ImportRequest{Provider: "p1", Source: "t", OnError: gate.OnErrorSkip}, src)
	src.done.Store(true)
	if err != nil {
		t.Fatal(err)
	}
	if src.overlap.Load() {
		t.Fatal("Next called by two goroutines at once")
	}
	if got := src.calls2.Load(); got != total+1 {
		t.Errorf("Next called %d times, want %d (the lines and one io.EOF)", got, total+1)
	}
	rejected := total / 97
	// R0000001 was stored by the setup: unchanged, not added.
	if res.Lines != total || res.Rejected != rejected || res.Added != total-rejected-1 || res.Unchanged != 1 {
		t.Errorf("result %s, want lines=%d rejected=%d added=%d unchanged=1", counts(res), total, rejected, total-rejected-1)
	}
	for i, e := range res.Errors {
		if want := 97 * (i + 1); e.Line != want {
			t.Fatalf("rejection %d at line %d, want %d: lines out of order", i, e.Line, want)
		}
	}
	if res.Digest != src.Digest() || res.Format != gate.FormatLines {
		t.Errorf("format %q digest %q, want lines and the source's %q", res.Format, res.Digest, src.Digest())
	}
	if g := readerGoroutines(); g != 0 {
		t.Errorf("%d reader goroutines left", g)
	}
	time.Sleep(10 * time.Millisecond)
	if src.late.Load() {
		t.Error("the source was called after Load returned")
	}
}

// A context cancelled while the source is being read stops the reader:
// Load returns the cancellation, the source is no longer called, its
// goroutine is gone and the store is as before. The source never ends, so
// only the cancellation can stop the import.
func TestLoadCancelStopsReader(t *testing.T) {
	ix := openWithTickets(t)
	for _, at := range []int{1, readBatch, 5000} {
		before := dumpStore(t, ix)
		ctx, cancel := context.WithCancel(context.Background())
		src := &recordingSource{total: 1 << 30, cancelAt: at, cancel: cancel}
		_, err := ix.Load(ctx, gate.ImportRequest{Provider: "p1", Source: "t"}, src)
		src.done.Store(true)
		calls := src.calls2.Load()
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled at line %d: %v", at, err)
		}
		if g := readerGoroutines(); g != 0 {
			t.Fatalf("cancelled at line %d: %d reader goroutines left", at, g)
		}
		// Load looks at the context every 4096 lines; the reader is at most
		// its queue (8 batches), the batch it fills and the one handed over
		// ahead of that.
		if limit := int64(at + 4096 + 10*readBatch); calls > limit {
			t.Errorf("cancelled at line %d: the source was read %d times (at most %d)", at, calls, limit)
		}
		time.Sleep(10 * time.Millisecond)
		if src.late.Load() || src.calls2.Load() != calls {
			t.Fatalf("cancelled at line %d: the source was read after Load returned", at)
		}
		if src.overlap.Load() {
			t.Fatalf("cancelled at line %d: Next called by two goroutines at once", at)
		}
		if d := before.diff(dumpStore(t, ix)); d != "" {
			t.Fatalf("cancelled at line %d: %s", at, d)
		}
		cancel()
	}
}
