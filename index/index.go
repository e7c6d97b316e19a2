package index

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/rs/zerolog"
)

var _ gate.Index = (*Index)(nil)

// ErrClosed is returned by every method called after Close.
var ErrClosed = errors.New("index: closed")

// errFaulted is returned while the store is recovering from a write fault.
var errFaulted = gate.Errorf(gate.EUNAVAILABLE, "storage fault; recovering")

// errDiskFull is returned while the store waits for space on its disk.
var errDiskFull = gate.Errorf(gate.ENOSPACE, "the data disk is full")

// Index is the ticket store: Pebble on disk with a bloom filter in front. It
// implements gate.Index. All methods are safe for concurrent use; see the
// package documentation for what each waits on.
type Index struct {
	dir  string
	opts *Options
	log  zerolog.Logger
	fs   vfs.FS

	db      *pebble.DB // replaced only by recovery, with active == 0
	active  atomic.Int64
	closed  atomic.Bool
	faulted atomic.Bool

	stripes  []stripe
	tcache   ticketCache   // decoded ticket records of recent scans; see cache.go
	redeemed *redeemedSet  // ticket keys that may have redemptions stored; see redeemed.go
	adminMu  chan struct{} // serializes ticket-record writers: imports and admin changes

	catMu     sync.Mutex
	chg       changeState // the record of changes and the venue position (changes.go)
	events    atomic.Pointer[gate.EventSet]
	rules     eventRules // the events' compiled entry rules (rules.go)
	zs        zoneSet    // zones, overrides, supervisor cards (zones.go, override.go)
	providers atomic.Pointer[map[string]gate.Provider]
	signed    signedState // code providers: signed.go

	filter atomic.Pointer[filter]
	open   atomic.Pointer[openSet] // cache of the events open now
	ids    atomic.Pointer[idSlices]

	// recVersion counts the changes of ticket records that can alter a
	// decision (admin changes, reissues, withdrawals, import updates). Each
	// is bumped after the write, under the ticket's stripe, so a scan that
	// read the ticket before taking the stripe reads it again only when
	// the counter moved meanwhile.
	recVersion atomic.Uint64

	// walWritten counts the journal writer's commits made without a sync;
	// walSynced is the highest of them a later Sync commit has made durable.
	walWritten atomic.Uint64
	walSynced  atomic.Uint64

	// syncing counts Sync commits in flight (see walMinSyncInterval).
	syncing atomic.Int64
	// syncCommits counts Sync commits since Open.
	syncCommits atomic.Uint64

	seq      atomic.Uint64 // the last journal sequence assigned
	wm       watermark
	jw       journalWriter
	nonces   nonceTable
	counters atomic.Pointer[counters]

	// Under adminMu.
	nextKey    uint64
	nextImport uint64
	bloomGen   uint64
	tickets    atomic.Int64

	storeID [storeIDLen]byte // this store's, written once when it is created (bloom.go)
	format  uint64           // the store's format (formatversion.go)

	backupMu sync.Mutex // one backup at a time (backup.go)

	faults     atomic.Uint64
	recoveries atomic.Uint64
	diskFull   atomic.Bool                // the fault being recovered is a full disk
	corrupt    atomic.Pointer[corruption] // on-disk corruption found: everything is refused (corrupt.go)

	committers     chan *commitCall // parked committers take commits from it (commit.go)
	commitTimeouts atomic.Uint64
	unjournaled    atomic.Uint64 // refusals answered without a journal entry
	fixMu          sync.Mutex
	fixups         []fixup
	recovering     atomic.Bool
	warmed         atomic.Bool // the block cache warm-up after Open is over
	// warmedTickets is how many ticket records the last warm-up loaded.
	warmedTickets atomic.Int64

	bgLog backgroundLog // Pebble's flushes and compactions (BackgroundSpans)
	compactionCounters
	warmingUp bool // Open's WAL warm-up is writing filler (wal.go)

	born     time.Time    // Open's time: lastScan counts from it (monotonic)
	lastScan atomic.Int64 // when the last durable scan began, ns since born; see pacer

	venue atomic.Pointer[venueState] // the venue's hub, nil without one (venue.go)

	stop chan struct{}
	bg   sync.WaitGroup
}

// Open opens (creating when missing) the store in dir. It replays Pebble's
// WAL, fills journal holes left by a crash with gate.KindLost entries, loads
// events, providers, nonces, the bloom filter (rebuilding it when its
// snapshot is missing, corrupt or stale) and the report counters. A store
// whose files are corrupt opens all the same, refusing everything, with
// Health.Corruption saying what is damaged and how to recover (corrupt.go).
func Open(dir string, opts *Options) (*Index, error) {
	o := *opts.EnsureDefaults()
	ix := &Index{
		dir:        dir,
		opts:       &o,
		log:        o.Logger.With().Str("component", "index").Logger(),
		fs:         o.FS,
		stripes:    make([]stripe, o.LockStripes),
		redeemed:   &redeemedSet{},
		adminMu:    make(chan struct{}, 1),
		committers: make(chan *commitCall),
		stop:       make(chan struct{}),
		born:       time.Now(),
	}
	if o.TempDir == "" {
		ix.opts.TempDir = ix.fs.PathJoin(dir, "tmp")
	} else {
		// A folder of our own inside it: Open empties it.
		ix.opts.TempDir = ix.fs.PathJoin(o.TempDir, "admit-index-tmp")
	}
	ix.jw.init(o.JournalBacklog, &ix.faulted)
	ix.signed.init()
	ix.nonces.init()
	ix.tcache.init()
	for i := range ix.stripes {
		ix.stripes[i].redeemed = ix.redeemed
	}
	if err := ix.fs.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("index: open %s: %w", dir, err)
	}
	if err := ix.resetTempDir(); err != nil {
		return nil, fmt.Errorf("index: open %s: %w", dir, err)
	}
	db, err := pebble.Open(ix.pebbleDir(), ix.pebbleOptions())
	if err != nil {
		if isCorruption(err) || ix.corrupt.Load() != nil {
			return ix.openCorrupt(err), nil
		}
		return nil, fmt.Errorf("index: open %s: %w", dir, err)
	}
	ix.db = db
	if err := ix.checkFormat(); err != nil { // a newer admit's store is refused untouched
		if isCorruption(err) {
			return ix.openCorrupt(err), nil
		}
		ix.abandonOpen()
		return nil, fmt.Errorf("index: open %s: %w", dir, err)
	}
	if err := ix.load(true); err != nil {
		if isCorruption(err) || ix.corrupt.Load() != nil {
			return ix.openCorrupt(err), nil
		}
		ix.abandonOpen()
		return nil, fmt.Errorf("index: open %s: %w", dir, err)
	}
	if err := ix.recordFormat(); err != nil {
		ix.abandonOpen()
		return nil, fmt.Errorf("index: open %s: %w", dir, err)
	}
	if !o.DisableWALWarmup {
		if err := ix.warmWAL(); err != nil {
			ix.abandonOpen()
			return nil, fmt.Errorf("index: open %s: %w", dir, err)
		}
	}
	ix.bg.Add(1)
	go ix.jw.run(ix)
	if err := ix.resumeWithdrawals(); err != nil {
		// The import stays marked pending (GET /v1/imports shows it) and
		// the next Withdraw of it or the next Open finishes it.
		ix.log.Error().Err(err).Msg("an unfinished withdrawal could not be finished; withdraw the import again")
	}
	ix.bg.Add(1)
	go ix.loadRedeemed()
	if o.DisableCacheWarmup {
		ix.warmed.Store(true)
	} else {
		ix.bg.Add(1)
		go ix.warmCache()
	}
	ix.log.Info().Str("dir", dir).Int64("tickets", ix.tickets.Load()).Uint64("seq", ix.seq.Load()).
		Uint64("bloom_capacity", ix.filter.Load().capacity).Msg("index opened")
	return ix, nil
}

func (ix *Index) pebbleDir() string { return ix.fs.PathJoin(ix.dir, "db") }

// abandonOpen closes what a failed Open opened: the committers, and the
// database unless a commit still holds it (see Close); then it removes the
// files of a WAL warm-up that failed.
func (ix *Index) abandonOpen() {
	ix.closed.Store(true)
	close(ix.stop)
	if !ix.quiesce(nil, time.Now().Add(closeWait)) {
		ix.log.Error().Msg("a failed open left commits waiting for the disk; the store was not closed")
		return
	}
	if err := ix.db.Close(); err != nil {
		ix.log.Warn().Err(err).Msg("closing the store after a failed open")
	}
	if ix.warmingUp {
		ix.removeWarmupFiles()
	}
}

// resetTempDir empties the temporary folder: an import killed mid-way
// leaves its runs and SSTables there, and they were never part of the store.
func (ix *Index) resetTempDir() error {
	if err := ix.fs.RemoveAll(ix.opts.TempDir); err != nil {
		return err
	}
	return ix.fs.MkdirAll(ix.opts.TempDir, 0o755)
}

// load reads everything the index keeps in memory from the database. It
// runs at Open and after a recovery (first false: the journal sequence and
// nonces in memory are kept).
func (ix *Index) load(first bool) error {
	var err error
	get := func(k []byte) uint64 {
		if err != nil {
			return 0
		}
		var v uint64
		v, err = ix.getU64(k)
		return v
	}
	ix.nextKey = get(metaNextKey)
	ix.nextImport = get(metaNextImport)
	ix.tickets.Store(int64(get(metaTickets)))
	ix.bloomGen = get(metaBloomGen)
	if err != nil {
		return err
	}
	if ix.nextKey == 0 {
		ix.nextKey = 1
	}
	if ix.nextImport == 0 {
		ix.nextImport = 1
	}
	if err := ix.loadCatalog(); err != nil {
		return err
	}
	if err := ix.loadChanges(); err != nil {
		return err
	}
	if first {
		if err := ix.openStoreID(); err != nil {
			return err
		}
		if err := ix.openJournal(); err != nil {
			return err
		}
		if err := ix.loadNonces(time.Now()); err != nil {
			return err
		}
		// After a recovery the filter in memory is kept: it holds every
		// barcode ever added (a few extra are harmless false positives).
		if err := ix.openFilter(); err != nil {
			return err
		}
	}
	if err := ix.loadZones(first); err != nil {
		return err
	}
	return ix.openCounters(first)
}

func (ix *Index) getU64(k []byte) (uint64, error) { return readU64(ix.db, k) }

// readU64 reads the number stored at the meta key k, 0 when there is none.
func readU64(db *pebble.DB, k []byte) (uint64, error) {
	v, closer, err := db.Get(k)
	if errors.Is(err, pebble.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	defer closer.Close()
	n, err := decodeU64(v)
	if err != nil {
		return 0, fmt.Errorf("index: meta %s: %w", k, err)
	}
	return n, nil
}

// enter registers an operation on the database. It returns an error (and
// registers nothing) when the store is closed or recovering; otherwise the
// caller must call exit when done with ix.db.
func (ix *Index) enter() error {
	ix.active.Add(1)
	if ix.closed.Load() {
		ix.active.Add(-1)
		return ErrClosed
	}
	if c := ix.corrupt.Load(); c != nil {
		ix.active.Add(-1)
		return c.errOf()
	}
	if ix.faulted.Load() {
		ix.active.Add(-1)
		if ix.diskFull.Load() {
			return errDiskFull
		}
		return errFaulted
	}
	return nil
}

func (ix *Index) exit() { ix.active.Add(-1) }

// ctrs returns the report counters (replaced whole by a rebuild).
func (ix *Index) ctrs() *counters { return ix.counters.Load() }

// quiesce waits until no operation uses the database, and reports whether
// it got there before stop closed or the deadline (none when zero) passed.
// New operations are turned away by the closed or faulted flag the caller
// set before; a commit that timed out keeps the database in use until
// Pebble returns (commit.go).
func (ix *Index) quiesce(stop <-chan struct{}, deadline time.Time) bool {
	pause := 200 * time.Microsecond
	for ix.active.Load() > 0 {
		if !deadline.IsZero() && time.Now().After(deadline) {
			return false
		}
		select {
		case <-stop:
			return false
		case <-time.After(pause):
		}
		pause = min(2*pause, 20*time.Millisecond)
	}
	return true
}

// closeWait is how long Close waits for the calls in flight.
const closeWait = 10 * time.Second

// lockAdmin takes the lock that serializes ticket-record writers (imports,
// admin changes), giving up when ctx is done.
func (ix *Index) lockAdmin(ctx context.Context) error {
	select {
	case ix.adminMu <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("index: waiting for another import or change: %w", ctx.Err())
	}
}

func (ix *Index) unlockAdmin() { <-ix.adminMu }

// enterAdmin enters the index and takes the admin lock, as every import
// and change does; done gives both back.
func (ix *Index) enterAdmin(ctx context.Context) (done func(), err error) {
	if err := ix.enter(); err != nil {
		return nil, err
	}
	if err := ix.lockAdmin(ctx); err != nil {
		ix.exit()
		return nil, err
	}
	return func() { ix.unlockAdmin(); ix.exit() }, nil
}

// Close writes the refusals still queued, saves the bloom filter and the
// report counters so the next Open needs no rebuild, and closes the
// database. Calls in flight finish first (an import in flight stops); later
// calls fail with ErrClosed (scans are refused with reason error). Commits
// a stalled disk holds (see commit.go) are waited for at most closeWait;
// then the database is left as it is, and the next Open recovers it as
// after a crash.
func (ix *Index) Close() error {
	if !ix.closed.CompareAndSwap(false, true) {
		return ErrClosed
	}
	close(ix.stop)
	ix.stopZones()
	deadline := time.Now().Add(closeWait)
	ix.quiesce(nil, deadline)
	ix.bg.Wait() // the journal writer drains its queue before it returns
	if !ix.quiesce(nil, deadline) {
		ix.log.Error().Int64("operations", ix.active.Load()).
			Msg("index closed with commits still waiting for the disk; the next open recovers the store as after a crash")
		return fmt.Errorf("index: close: %d operations still wait for the disk; the database was left open", ix.active.Load())
	}
	var errs []error
	if !ix.faulted.Load() && ix.corrupt.Load() == nil {
		if err := ix.saveFilter(); err != nil {
			errs = append(errs, fmt.Errorf("index: close: save bloom filter: %w", err))
		}
		if err := ix.saveCounters(); err != nil {
			errs = append(errs, fmt.Errorf("index: close: save counters: %w", err))
		}
	}
	if ix.db != nil { // nil when a recovery was cut short by Close
		if err := ix.db.Close(); err != nil {
			errs = append(errs, fmt.Errorf("index: close: %w", err))
		}
	}
	ix.log.Info().Uint64("seq", ix.seq.Load()).Msg("index closed")
	return errors.Join(errs...)
}
