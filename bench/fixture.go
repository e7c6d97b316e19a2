package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/index"
	"github.com/admitgate/admit/index/indextest"
)

// FixtureDir returns where the fixture of n tickets is cached under
// cacheDir. The name carries indextest.FixtureVersion, which changes with
// the store's on-disk format or the synthetic tickets.
func FixtureDir(cacheDir string, n int) string {
	return filepath.Join(cacheDir, "fixtures", fmt.Sprintf("%s-%d", indextest.FixtureVersion, n))
}

// Fixture returns the cached store of n synthetic tickets (indextest), built
// when missing. It is built in a temporary directory and renamed into
// place, so an interrupted build leaves nothing that looks complete. Never
// open it in place: copy it with CopyFixture.
func Fixture(ctx context.Context, cacheDir string, n int, progress io.Writer) (string, error) {
	dir := FixtureDir(cacheDir, n)
	if _, err := os.Stat(filepath.Join(dir, "complete")); err == nil {
		return dir, nil
	}
	return buildFixture(ctx, dir, n, progress)
}

func buildFixture(ctx context.Context, dir string, n int, progress io.Writer) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	fmt.Fprintf(progress, "building the fixture of %s tickets in %s (once; later runs reuse it)\n", count(n), dir)
	start := time.Now()
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return "", fmt.Errorf("bench: fixture: %w", err)
	}
	removeStale(filepath.Dir(dir), "", indextest.FixtureVersion+"-")
	tmp := dir + ".building-" + strconv.Itoa(os.Getpid())
	if err := indextest.Build(tmp, n); err != nil {
		_ = os.RemoveAll(tmp)
		return "", fmt.Errorf("bench: build the fixture: %w", err)
	}
	if err := os.RemoveAll(dir); err != nil {
		return "", fmt.Errorf("bench: fixture: %w", err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		_ = os.RemoveAll(tmp)
		return "", fmt.Errorf("bench: fixture: %w", err)
	}
	fmt.Fprintf(progress, "fixture built in %v\n", time.Since(start).Round(time.Millisecond))
	return dir, nil
}

// removeStale removes the entries of dir whose names start with prefix but
// not with current: fixtures and files of an older version, which no run
// will read again (a 10M-line file is over a gigabyte).
func removeStale(dir, prefix, current string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, prefix) && !strings.HasPrefix(name, current) && !strings.HasPrefix(name, ".") {
			_ = os.RemoveAll(filepath.Join(dir, name))
		}
	}
}

// CopyFixture copies the fixture in src to dst, a directory that must not
// exist yet, for one run to open and change.
func CopyFixture(dst, src string) error {
	if _, err := os.Stat(dst); err == nil {
		return fmt.Errorf("bench: copy fixture: %s exists", dst)
	}
	if err := indextest.CopyDir(dst, src); err != nil {
		return fmt.Errorf("bench: copy fixture: %w", err)
	}
	_ = os.Remove(filepath.Join(dst, "complete"))
	return nil
}

// errStale says a fixture copy does not hold what it should; errStaleNaive
// (wrapping it) that the copy is the naive floor's store.
var (
	errStale      = errors.New("bench: the cached fixture is stale")
	errStaleNaive = errors.New("naive floor")
)

// openFixture opens a run's copy of the fixture of n tickets and checks it
// holds them: n tickets, the first and last known and unused, an unknown
// barcode unknown. A copy that fails (a store written by another version of
// the index) is reported as errStale so the fixture is rebuilt.
func openFixture(ctx context.Context, dir string, n int, opts *index.Options) (*index.Index, error) {
	ix, err := index.Open(dir, opts)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errStale, err)
	}
	fail := func(format string, args ...any) (*index.Index, error) {
		_ = ix.Close()
		return nil, fmt.Errorf("%w: "+format, append([]any{errStale}, args...)...)
	}
	if st := ix.Stats(); st.Tickets != int64(n) {
		return fail("%d tickets, want %d", st.Tickets, n)
	}
	for _, c := range []struct {
		barcode string
		want    gate.Reason
	}{{indextest.Barcode(0), gate.ReasonOK}, {indextest.Barcode(n - 1), gate.ReasonOK}, {indextest.Unknown(0), gate.ReasonUnknown}} {
		d := ix.Check(ctx, gate.Scan{Barcode: c.barcode, Lane: "bench-check", Direction: gate.In})
		if d.Reason != c.want {
			return fail("%s checks %s, want %s", c.barcode, d.Reason, c.want)
		}
	}
	return ix, nil
}

// SettleLimit is how long WaitSettled waits at most before a step.
const SettleLimit = 2 * time.Minute

// WaitSettled waits until ix has done the background work that opening it
// and the steps before left: the block cache warm-up after Open, the
// journal writer's backlog of refusals (written and synced), and Pebble's
// memtable flushes and compactions. It returns when all are done on two
// polls in a row 10 ms apart (a finished flush schedules its compaction), or
// an error when ctx ends or limit passes first.
//
// Steps wait for it because each measures its own operation, not the
// writeback of the one before: the CPU-only steps refuse 0.5-1.2 M scans a
// second, a journal a door fills in days, and leave tens of thousands of
// refusals queued and tens of megabytes of memtables to flush and compact,
// which took a first use that followed from a p99 of ~0.3 ms to 3-10 ms. A
// store at a door's rate flushes a memtable about once per 200 k decisions.
// A step's own background work (the 64-lane first uses fill a memtable
// every second or so) stays in its figures.
func WaitSettled(ctx context.Context, ix *index.Index, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	quiet := 0
	for {
		st := ix.Stats()
		busy := !st.CacheWarmed || st.JournalBacklog > 0 || st.WrittenSeq < st.LastSeq ||
			st.FlushesRunning > 0 || st.CompactionsRunning > 0
		if st.Closed || st.Faulted {
			return fmt.Errorf("bench: the store is closed or faulted")
		}
		if busy {
			quiet = 0
		} else if quiet++; quiet == 2 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("bench: the store did not settle in %v: cache warmed %t, %d refusals queued, %d entries unwritten, %d flushes and %d compactions running",
				limit, st.CacheWarmed, st.JournalBacklog, st.LastSeq-st.WrittenSeq, st.FlushesRunning, st.CompactionsRunning)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}
