package bench

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"
	pebblebloom "github.com/cockroachdb/pebble/v2/bloom"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/index"
	"github.com/admitgate/admit/index/indextest"
)

// The naive floor: the durable check-in service a venue could write in an
// afternoon instead of running admit, measured in the same run so that
// admit's figures can be read as ratios to it. A Pebble database holding
// each ticket under its barcode, one status byte as value; a scan takes the
// barcode's lock (striped mutexes), Gets the ticket, checks it, and Sets it
// used in a batch committed with pebble.Sync before it answers. No journal,
// no nonces, no caches, no reports, no bloom filter of our own.
//
// It opens Pebble as the index does (the same block cache and memtable,
// table bloom filters, the WAL warmed, the block cache read once), so that
// admit's ratio to it measures admit's path and not a tuning the floor was
// denied; it does not get admit's own work (group commit pacing, compaction
// pacing, caches).

// Values of the naive store: one status byte, then for a used ticket when
// (unix nanoseconds, 8 bytes) and at which lane.
const (
	naiveValid     = 'v'
	naiveCancelled = 'c'
	naiveUsed      = 'u'
)

// naiveVersion names the layout of the cached naive stores; change it when
// the keys or values change.
const naiveVersion = "naive1"

// naiveStripes is how many barcode locks the naive store has (the index's
// default count).
const naiveStripes = 4096

// naiveWarmKey is the scratch key of the WAL warm-up: beyond every barcode.
var naiveWarmKey = []byte{0xff, 'w', 'a', 'r', 'm'}

// NaiveFixtureDir returns where the naive store of the fixture of n
// tickets is cached under cacheDir.
func NaiveFixtureDir(cacheDir string, n int) string {
	return filepath.Join(cacheDir, "fixtures", fmt.Sprintf("%s-%s-%d", indextest.FixtureVersion, naiveVersion, n))
}

// NaiveFixture returns the cached naive store of the fixture of n tickets,
// built from the same synthetic source as the index's fixture
// (indextest.Tickets), so the same barcodes are valid, and built when
// missing. Never open it in place: copy it with CopyFixture.
func NaiveFixture(ctx context.Context, cacheDir string, n int, progress io.Writer) (string, error) {
	dir := NaiveFixtureDir(cacheDir, n)
	if _, err := os.Stat(filepath.Join(dir, "complete")); err == nil {
		return dir, nil
	}
	return buildNaiveFixture(ctx, dir, n, progress)
}

func buildNaiveFixture(ctx context.Context, dir string, n int, progress io.Writer) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	fmt.Fprintf(progress, "building the naive store of %s tickets in %s (once; later runs reuse it)\n", count(n), dir)
	start := time.Now()
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return "", fmt.Errorf("bench: naive store: %w", err)
	}
	removeStale(parent, indextest.FixtureVersion+"-naive", indextest.FixtureVersion+"-"+naiveVersion+"-")
	tmp := dir + ".building-" + strconv.Itoa(os.Getpid())
	if err := writeNaive(ctx, tmp, n); err != nil {
		_ = os.RemoveAll(tmp)
		return "", fmt.Errorf("bench: build the naive store: %w", err)
	}
	if err := os.RemoveAll(dir); err != nil {
		return "", fmt.Errorf("bench: naive store: %w", err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		_ = os.RemoveAll(tmp)
		return "", fmt.Errorf("bench: naive store: %w", err)
	}
	fmt.Fprintf(progress, "naive store built in %v\n", time.Since(start).Round(time.Millisecond))
	return dir, nil
}

// writeNaive writes the tickets of indextest.Tickets(n) into a new Pebble
// database in dir, in key order, compacted, and marks it complete.
func writeNaive(ctx context.Context, dir string, n int) error {
	type rec struct {
		barcode string
		state   byte
	}
	recs := make([]rec, 0, n)
	src := indextest.Tickets(n)
	for {
		l, err := src.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		st := byte(naiveValid)
		if l.Ticket.State != gate.StateValid {
			st = naiveCancelled
		}
		recs = append(recs, rec{l.Ticket.Barcode, st})
	}
	slices.SortFunc(recs, func(a, b rec) int { return strings.Compare(a.barcode, b.barcode) })
	db, err := pebble.Open(dir, naivePebbleOptions(nil))
	if err != nil {
		return err
	}
	b := db.NewBatch()
	for i, r := range recs {
		if err := b.Set([]byte(r.barcode), []byte{r.state}, nil); err != nil {
			_ = db.Close()
			return err
		}
		if b.Count() >= 65536 || i == len(recs)-1 {
			if err := b.Commit(pebble.NoSync); err != nil {
				_ = db.Close()
				return err
			}
			_ = b.Close()
			b = db.NewBatch()
			if err := ctx.Err(); err != nil {
				_ = db.Close()
				return err
			}
		}
	}
	_ = b.Close()
	err = db.Flush()
	if err == nil {
		err = db.Compact(ctx, []byte{0}, []byte{0xff, 0xff}, false)
	}
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "complete"), nil, 0o644)
}

// naivePebbleOptions are the Pebble options of a naive store: the sizes
// of the index's store opened with opts (nil: the index's defaults), and
// table bloom filters as the index sets them.
func naivePebbleOptions(opts *index.Options) *pebble.Options {
	var o index.Options
	if opts != nil {
		o = *opts
	}
	o.EnsureDefaults()
	po := &pebble.Options{
		CacheSize:          o.CacheSize,
		MemTableSize:       o.MemTableSize,
		FormatMajorVersion: pebble.FormatNewest,
		Logger:             quietPebble{},
	}
	for i := range po.Levels {
		po.Levels[i].FilterPolicy = pebblebloom.FilterPolicy(10)
	}
	po.EnsureDefaults()
	return po
}

// quietPebble drops Pebble's informational lines.
type quietPebble struct{}

func (quietPebble) Infof(string, ...any)  {}
func (quietPebble) Errorf(string, ...any) {}
func (quietPebble) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf("bench: naive store: "+format, args...))
}

// NaiveStore is the naive floor's store (see the top of this file). Its
// methods are safe for concurrent use.
type NaiveStore struct {
	db    *pebble.DB
	seed  maphash.Seed
	locks [naiveStripes]sync.Mutex
}

// OpenNaive opens a copy of a naive fixture of n tickets in dir with the
// sizes of opts (nil: the index's defaults): the WAL warmed as the index
// warms its own (unless opts disables it) and the block cache read once.
// It checks that the copy holds the fixture's first and last tickets and
// neither the next one nor an unknown barcode, and reports errStale
// otherwise.
func OpenNaive(ctx context.Context, dir string, n int, opts *index.Options) (*NaiveStore, error) {
	po := naivePebbleOptions(opts)
	db, err := pebble.Open(dir, po)
	if err != nil {
		return nil, fmt.Errorf("%w: naive store: %w", errStale, err)
	}
	s := &NaiveStore{db: db, seed: maphash.MakeSeed()}
	fail := func(err error) (*NaiveStore, error) {
		_ = db.Close()
		return nil, err
	}
	for _, c := range []struct {
		barcode string
		held    bool
	}{{indextest.Barcode(0), true}, {indextest.Barcode(n - 1), true}, {indextest.Barcode(n), false}, {indextest.Unknown(0), false}} {
		got, err := s.state(c.barcode)
		if err != nil {
			return fail(err)
		}
		if (got != 0) != c.held {
			return fail(fmt.Errorf("%w: the naive store of %d tickets holds %s: %v", errStale, n, c.barcode, got != 0))
		}
	}
	if opts == nil || !opts.DisableWALWarmup {
		if err := warmNaiveWAL(db, uint64(po.MemTableSize)); err != nil {
			return fail(fmt.Errorf("bench: naive store: WAL warm-up: %w", err))
		}
	}
	if err := s.readAll(); err != nil {
		return fail(fmt.Errorf("bench: naive store: cache warm-up: %w", err))
	}
	if err := s.settle(ctx, SettleLimit); err != nil {
		return fail(err)
	}
	return s, nil
}

// state returns the status byte of barcode, 0 when it is not held.
func (s *NaiveStore) state(barcode string) (byte, error) {
	v, closer, err := s.db.Get([]byte(barcode))
	if errors.Is(err, pebble.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("bench: naive store: %w", err)
	}
	defer closer.Close()
	if len(v) == 0 {
		return 0, fmt.Errorf("bench: naive store: %s has an empty value", barcode)
	}
	return v[0], nil
}

// warmNaiveWAL leaves Pebble writing into a recycled WAL file of full
// size, as index.Open does (see index/wal.go): six memtables of filler
// under a scratch key, deleted, flushed.
func warmNaiveWAL(db *pebble.DB, memtable uint64) error {
	const chunk = 64 << 10
	filler := make([]byte, chunk)
	if err := db.Flush(); err != nil {
		return err
	}
	for written := uint64(0); written < 6*memtable; written += chunk {
		if err := db.Set(naiveWarmKey, filler, pebble.NoSync); err != nil {
			return err
		}
	}
	if err := db.Delete(naiveWarmKey, pebble.NoSync); err != nil {
		return err
	}
	if err := db.Flush(); err != nil {
		return err
	}
	if err := db.Delete(naiveWarmKey, pebble.Sync); err != nil {
		return err
	}
	return db.Flush()
}

// readAll reads every ticket once, so their blocks are in the cache.
func (s *NaiveStore) readAll() error {
	it, err := s.db.NewIter(nil)
	if err != nil {
		return err
	}
	for ok := it.First(); ok; ok = it.Next() {
		_ = it.Value()
	}
	return errors.Join(it.Error(), it.Close())
}

// settle waits until the store runs no flush or compaction, on two polls
// in a row 10 ms apart, or fails after limit.
func (s *NaiveStore) settle(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	quiet := 0
	for {
		m := s.db.Metrics()
		if m.Flush.NumInProgress > 0 || m.Compact.NumInProgress > 0 {
			quiet = 0
		} else if quiet++; quiet == 2 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("bench: the naive store did not settle in %v", limit)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// Close closes the store.
func (s *NaiveStore) Close() error { return s.db.Close() }

// The reasons the naive store answers, spelled as admit's API spells them.
const (
	naiveOK          = "ok"
	naiveUnknown     = "unknown"
	naiveAlreadyUsed = "already_used"
	naiveIsCancelled = "cancelled"
)

// Redeem is a scan of the naive floor: under the barcode's lock, Get the
// ticket, check it, and when it admits Set it used in a batch committed
// with pebble.Sync, before returning the reason.
func (s *NaiveStore) Redeem(barcode, lane string) (string, error) {
	mu := &s.locks[maphash.String(s.seed, barcode)%naiveStripes]
	mu.Lock()
	defer mu.Unlock()
	return s.redeem([]byte(barcode), lane)
}

// redeem is Redeem without the lock: the bare Get, check and Sync commit.
func (s *NaiveStore) redeem(key []byte, lane string) (string, error) {
	v, closer, err := s.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return naiveUnknown, nil
	}
	if err != nil {
		return "", err
	}
	st := byte(0)
	if len(v) > 0 {
		st = v[0]
	}
	_ = closer.Close()
	switch st {
	case naiveValid:
	case naiveUsed:
		return naiveAlreadyUsed, nil
	case naiveCancelled:
		return naiveIsCancelled, nil
	default:
		return "", fmt.Errorf("ticket %s: status %q", key, st)
	}
	val := make([]byte, 9, 9+len(lane))
	val[0] = naiveUsed
	binary.BigEndian.PutUint64(val[1:], uint64(time.Now().UnixNano()))
	val = append(val, lane...)
	b := s.db.NewBatch()
	defer b.Close()
	if err := b.Set(key, val, nil); err != nil {
		return "", err
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return "", err
	}
	return naiveOK, nil
}

// RunRaw is the floor of the in-process durable path:
// "validate/first-use/raw", fresh tickets of the naive store redeemed from
// one lane with nothing but Pebble: Get, check, Set in a batch committed
// with pebble.Sync. Every redemption must admit. A durable step: its
// ratios to the fsync probe are added, and the first use at one lane is
// given as a ratio to its p50 (StatP50Raw).
func RunRaw(ctx context.Context, s *NaiveStore, t *Tickets, lim Limit) (Observation, error) {
	if err := lim.valid(); err != nil {
		return Observation{}, err
	}
	step := func(lim Limit, barcodes [][]byte) lanesResult {
		return runLanes(ctx, 1, lim, int64(len(barcodes)), nil, func(_ int, i int64) string {
			reason, err := s.redeem(barcodes[i], "lane-1")
			switch {
			case err != nil:
				return err.Error()
			case reason != naiveOK:
				return fmt.Sprintf("%s: %s, want ok", barcodes[i], reason)
			}
			return ""
		})
	}
	keys := func(k int) (int, [][]byte) {
		first, barcodes := t.Take(k)
		out := make([][]byte, len(barcodes))
		for i, b := range barcodes {
			out[i] = []byte(b)
		}
		return first, out
	}
	// As RunFirstUse: the warm-up tells the rate, so the step's keys are
	// made beforehand; a step that runs out goes on with twice as many.
	warm := lim.warmup()
	first, barcodes := keys(int(max(warm.Ops, 32)))
	w := step(warm, barcodes)
	t.Used(first, int(w.last+1))
	chunk := lim.Ops
	if chunk <= 0 {
		perSec := float64(w.ops) / max(w.elapsed.Seconds(), 1e-3)
		chunk = int64(2*perSec*lim.Duration.Seconds()) + 64
	}
	var total lanesResult
	left := lim
	for {
		first, barcodes := keys(int(chunk))
		if len(barcodes) == 0 {
			return Observation{}, errors.New("bench: the raw first-use step ran out of fresh tickets; use a larger fixture")
		}
		r := step(left, barcodes)
		t.Used(first, int(r.last+1))
		total.merge(&r)
		if !left.spend(&r, len(barcodes)) || ctx.Err() != nil {
			break
		}
		chunk *= 2
	}
	return observe("validate/first-use/raw", "admit", &total, true, true)
}
