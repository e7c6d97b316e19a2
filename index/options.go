package index

import (
	"os"
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/internal/defaults"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/rs/zerolog"
)

// The defaults of the Options an operator may want to size (admit's
// [store] configuration section).
const (
	DefaultCacheSize      = 512 << 20 // Options.CacheSize
	DefaultMemTableSize   = 16 << 20  // Options.MemTableSize
	DefaultJournalBacklog = 65536     // Options.JournalBacklog

	DefaultCommitTimeout = 500 * time.Millisecond // Options.CommitTimeout
)

// Options configures an Index. Every field's comment states its default; a
// nil *Options is valid and means all defaults.
type Options struct {
	// FS is the file system the store lives on. Default vfs.Default. Tests use
	// vfs.NewMem() and vfs/errorfs.
	FS vfs.FS

	// Appliance is this appliance's id, kept in every movement so that
	// redemptions from several appliances can be reconciled. Default the
	// hostname (or "admit" when it cannot be read).
	Appliance string

	// Logger receives the index's log lines, with component=index, and a
	// line per decision at info (decisionlog.go). Default zerolog.Nop().
	Logger zerolog.Logger

	// LogBarcodes says how log lines show barcodes. Default (zero):
	// gate.BarcodeLast4, the last four characters.
	LogBarcodes gate.BarcodeLog

	// BloomFalsePositiveRate is the bloom filter's target false-positive
	// rate. Default 0.001 (0.1%).
	BloomFalsePositiveRate float64

	// BloomMinCapacity is the smallest number of barcodes the bloom filter is
	// sized for; it grows (doubling) when the ticket count outgrows it.
	// Default 1,000,000.
	BloomMinCapacity uint64

	// LockStripes is the number of redeem-once locks; tickets are spread over
	// them by ticket key. Rounded up to a power of two. Default 4096.
	LockStripes int

	// ImportSpillBytes is how many bytes of parsed import lines are held in
	// memory before a sorted run is spilled to a temporary file; one more
	// buffer fills while a run is written. Default 128 MiB.
	ImportSpillBytes int

	// ImportBatchLines is the largest import applied as one Pebble batch;
	// larger imports are written as SSTables and ingested. Default 20,000.
	ImportBatchLines int

	// ImportTableBytes is the size at which an ingested SSTable is cut and a
	// new one started. Default 128 MiB.
	ImportTableBytes int

	// TempDir is where imports spill sorted runs and build SSTables: the
	// index uses a folder "admit-index-tmp" inside it, which Open empties.
	// Default the "tmp" folder inside the data directory (keep it on the
	// data's file system, so an ingest links files instead of copying them).
	TempDir string

	// CacheSize is Pebble's block cache, in bytes. Pebble takes the memory
	// of its memtables (two of MemTableSize while one is flushed) out of it;
	// the rest should hold the ticket records (about 150 bytes each). Default
	// 512 MiB: room for the records of about 2M tickets.
	CacheSize int64

	// MemTableSize is Pebble's memtable size; it is also the size of the WAL
	// files Pebble recycles, and Open writes six of it as WAL warm-up.
	// Default 16 MiB.
	MemTableSize uint64

	// DisableWALWarmup turns off the WAL warm-up at Open. By default Open
	// leaves Pebble with pre-written, recyclable WAL files of full size, so
	// durable admits never pay for growing a fresh file. Default false
	// (warm-up on).
	DisableWALWarmup bool

	// DisableCacheWarmup turns off the block cache warm-up. By default Open
	// starts reading the ticket records in the background (as many as fit
	// in CacheSize beside two memtables), so the first scan of each ticket
	// finds its record in memory; Stats.CacheWarmed says when it is over.
	// Default false (warm-up on).
	DisableCacheWarmup bool

	// DisableCompactionPacing lets Pebble's compactions use the cores
	// unpaced while scans are made (by default they get half a core then;
	// see compaction.go). For comparisons.
	DisableCompactionPacing bool

	// RecoveryInterval is how often a store that hit a write fault tries to
	// reopen its database. Default 500ms.
	RecoveryInterval time.Duration

	// CommitTimeout bounds every commit (a scan's Sync commit, an admin
	// change, the journal writer's batches). A commit that has not
	// completed by then fails: a scan is refused with reason error, the
	// store faults, and what the commit applies later, should the disk let
	// it, is undone by the recovery (see commit.go). A disk that stalls
	// (full, or failing) so never hangs a scan. Default 500ms.
	CommitTimeout time.Duration

	// JournalBatch is the largest number of refusals the background journal
	// writer commits in one batch. Default 4096.
	JournalBatch int

	// JournalBacklog is the most journal entries waiting for the
	// background writer: refusals queued or being written and synced. A
	// scan whose refusal finds it full waits for room (or until its context
	// ends) before it is decided, so a flood of refusals cannot grow memory
	// without limit; admissions never wait for it. Each entry holds about
	// 300 bytes of heap (BenchmarkJournalBacklog). Default 65,536 (some
	// 20 MiB): large enough that the writer, not the bound, sets the pace of
	// a flood of refusals (BenchmarkJournalFlood; BENCHMARKS.md).
	JournalBacklog int

	// CompileRule compiles the entry rules of events (gate.Event.Rule) when
	// they are put and when the store opens; cmd/admit passes package
	// rules' compiler. Default nil: an event with a rule is refused by
	// PutEvent, and one stored with a rule refuses its scans (rule).
	CompileRule gate.RuleCompiler

	// Location is the venue's time zone: entry rules of events without a
	// time zone of their own count days in it, and zones are emptied at
	// their exit_all_at in it. Default time.Local.
	Location *time.Location

	// piggybackWait is how long the journal writer waits for an admission's
	// Sync commit to make its refusals durable before it syncs them itself.
	// Default 2ms; tests change it.
	piggybackWait time.Duration

	// beforeJournalWrite, when set, is called by the journal writer before
	// it writes what it took from its queue. Tests block in it to hold the
	// writer.
	beforeJournalWrite func()
}

// EnsureDefaults fills unset fields with their defaults and returns o. It is
// safe to call on a nil *Options, which it replaces with a new one.
func (o *Options) EnsureDefaults() *Options {
	if o == nil {
		o = &Options{}
	}
	if o.FS == nil {
		o.FS = vfs.Default
	}
	if o.Appliance == "" {
		if h, err := os.Hostname(); err == nil && h != "" {
			o.Appliance = h
		} else {
			o.Appliance = "admit"
		}
	}
	if o.BloomFalsePositiveRate <= 0 || o.BloomFalsePositiveRate >= 1 {
		o.BloomFalsePositiveRate = 0.001
	}
	defaults.Set(&o.BloomMinCapacity, 1_000_000)
	defaults.Set(&o.LockStripes, 4096)
	n := 1
	for n < o.LockStripes {
		n <<= 1
	}
	o.LockStripes = n
	defaults.Set(&o.ImportSpillBytes, 128<<20)
	defaults.Set(&o.ImportBatchLines, 20_000)
	defaults.Set(&o.ImportTableBytes, 128<<20)
	defaults.Set(&o.CacheSize, DefaultCacheSize)
	defaults.Set(&o.MemTableSize, DefaultMemTableSize)
	defaults.Set(&o.RecoveryInterval, 500*time.Millisecond)
	defaults.Set(&o.CommitTimeout, DefaultCommitTimeout)
	defaults.Set(&o.JournalBatch, 4096)
	defaults.Set(&o.JournalBacklog, DefaultJournalBacklog)
	if o.Location == nil {
		o.Location = time.Local
	}
	defaults.Set(&o.piggybackWait, 2*time.Millisecond)
	return o
}
