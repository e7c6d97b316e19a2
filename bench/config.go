package bench

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/rs/zerolog"

	"github.com/admitgate/admit/index"
	"github.com/admitgate/admit/internal/defaults"
)

// Workload names, in the order they run.
const (
	WorkloadFsync    = "fsync"
	WorkloadValidate = "validate"
	WorkloadHTTP     = "http"
	WorkloadImport   = "import"
)

// Workloads lists every workload, in the order they run.
var Workloads = []string{WorkloadFsync, WorkloadValidate, WorkloadHTTP, WorkloadImport}

// WorkloadRelay is the scan-to-relay latency on the emulated USB bus,
// which Run does not run: it needs umockdev and the test harness that
// re-executes a test binary under it, so internal/e2e's
// BenchmarkScanToRelay measures it and can write a result file that
// `admit bench gate` holds (RelayNote).
const WorkloadRelay = "relay"

// RelayNote is what Run says when asked for the relay workload.
const RelayNote = "bench: the relay workload runs on the emulated USB bus (umockdev), not in admit bench: " +
	"go test -run '^$' -bench ScanToRelay -benchtime 400x ./internal/e2e (ADMIT_BENCH_JSON=FILE writes a result for admit bench gate)"

// Profiles: the full run engineers read, and the short gate CI runs.
const (
	ProfileFull  = "full"
	ProfileShort = "short"
)

// Config is one `admit bench` invocation. Every field's comment states its
// default, which depends on Profile; the zero Config is the full run.
type Config struct {
	// Profile is ProfileFull (default) or ProfileShort: the short gate, a
	// smaller fixture and shorter steps so it ends well under a minute.
	Profile string

	// Tickets is the fixture's size. Default 1,000,000 (short: 100,000).
	Tickets int
	// Runs is how many times every workload runs; figures are the medians
	// across runs. Default 5.
	Runs int
	// Duration is how long each measured step lasts, warm-up excluded.
	// Default 2s (short: 200ms).
	Duration time.Duration
	// Workloads are the workloads to run (see Workloads). Default all of
	// them; with Target, only http. fsync always runs when a durable
	// workload (validate, import) does: their figures are ratios to it.
	Workloads []string

	// Lanes are the concurrent lanes the validate workload runs at.
	// Default 1, 8, 64 (short: 1, 64).
	Lanes []int
	// Used is how many tickets are admitted before the already-used steps,
	// which then cycle through them. Default 10,000 (short: 2,000).
	Used int

	// Conns are the closed-loop HTTP connection counts. Default 8, 64
	// (short: 8).
	Conns []int
	// Rates are the open-loop request rates (requests/s). Default 1,000
	// and 5,000 (short: none).
	Rates []int
	// RateConns is how many connections the open-loop generator holds.
	// Default 64.
	RateConns int

	// ImportLines are the sizes of the SecuTix files imported into an
	// empty store. Default 1M and 10M (short: 100k).
	ImportLines []int
	// ImportScanLines is the size of the import that runs beside first-use
	// scans on the fixture; negative skips it. Default 1M (short: skipped).
	ImportScanLines int

	// Dir is the data directory: each run's copy of the fixture and the
	// fsync probe live there, so its disk is the one measured. Default
	// CacheDir/runs.
	Dir string
	// CacheDir holds the fixtures and import files between invocations.
	// Default the user's cache directory (or the temp directory)/admit-bench.
	CacheDir string

	// Target, when set, is the URL of a running appliance whose /v1/scan the
	// http workload loads instead of an in-process one; Token (a scanner
	// token) and Lane are then required. Fresh are barcodes it holds that
	// were never scanned, for first uses; without them first uses and
	// already-used scans become unknown ones.
	Target string
	Token  string
	Lane   string
	Fresh  []string

	// Serve starts the in-process appliance the http workload loads.
	// Default ServeAPIWith(IndexOptions); cmd/admit passes the daemon.
	Serve ServeFunc

	// Import runs each import of an empty store. Default RunImport, in this
	// process, whose resident set then holds what the workloads before it
	// left (allocators keep freed memory); cmd/admit runs each import in a
	// child process of its own, so the peak RSS is the import's.
	Import ImportFunc

	// IndexOptions is the template of the options of every store the
	// workloads open (Logger and Appliance are the bench's). Default nil:
	// the index's defaults, as the daemon opens a store. Tests shrink
	// MemTableSize, which makes the WAL warm-up of every Open cheap.
	IndexOptions *index.Options

	// InjectDelay, for tests of the gate only, adds a busy wait of this
	// length to every scan of the validate workload (never to a product
	// path), so a run can prove the gate fails a slowdown. Default 0.
	InjectDelay time.Duration

	// Logger receives the logs of the stores and servers the workloads
	// open. Default zerolog.Nop().
	Logger zerolog.Logger
	// Progress receives one line per measured step as it ends. Default
	// io.Discard.
	Progress io.Writer
}

// withDefaults returns a copy of c with every unset field at its default.
func (c Config) withDefaults() (Config, error) {
	short := c.Profile == ProfileShort
	switch c.Profile {
	case "":
		c.Profile = ProfileFull
	case ProfileFull, ProfileShort:
	default:
		return c, fmt.Errorf("bench: profile must be %s or %s, not %q", ProfileFull, ProfileShort, c.Profile)
	}
	pick := func(full, shortV int) int {
		if short {
			return shortV
		}
		return full
	}
	defaults.Set(&c.Tickets, pick(1_000_000, 100_000))
	defaults.Set(&c.Runs, 5)
	defaults.Set(&c.Duration, time.Duration(pick(int(2*time.Second), int(200*time.Millisecond))))
	if len(c.Workloads) == 0 {
		if c.Target != "" {
			c.Workloads = []string{WorkloadHTTP}
		} else {
			c.Workloads = slices.Clone(Workloads)
		}
	}
	for _, w := range c.Workloads {
		if !slices.Contains(Workloads, w) {
			return c, fmt.Errorf("bench: unknown workload %q; the workloads are %v", w, Workloads)
		}
	}
	if (c.has(WorkloadValidate) || c.has(WorkloadImport)) && !c.has(WorkloadFsync) {
		c.Workloads = append([]string{WorkloadFsync}, c.Workloads...)
	}
	// Keep the documented order whatever order they were asked in.
	slices.SortStableFunc(c.Workloads, func(a, b string) int {
		return slices.Index(Workloads, a) - slices.Index(Workloads, b)
	})
	c.Workloads = slices.Compact(c.Workloads)
	if len(c.Lanes) == 0 {
		c.Lanes = []int{1, 8, 64}
		if short {
			c.Lanes = []int{1, 64}
		}
	}
	defaults.Set(&c.Used, pick(10_000, 2_000))
	if len(c.Conns) == 0 {
		c.Conns = []int{8, 64}
		if short {
			c.Conns = []int{8}
		}
	}
	if c.Rates == nil && !short {
		c.Rates = []int{1000, 5000}
	}
	defaults.Set(&c.RateConns, 64)
	if len(c.ImportLines) == 0 {
		c.ImportLines = []int{1_000_000, 10_000_000}
		if short {
			c.ImportLines = []int{100_000}
		}
	}
	switch {
	case c.ImportScanLines < 0:
		c.ImportScanLines = 0
	case c.ImportScanLines == 0 && !short:
		c.ImportScanLines = 1_000_000
	}
	if c.CacheDir == "" {
		c.CacheDir = DefaultCacheDir()
	}
	defaults.Set(&c.Dir, filepath.Join(c.CacheDir, "runs"))
	if c.Serve == nil {
		c.Serve = ServeAPIWith(c.IndexOptions)
	}
	if c.Import == nil {
		c.Import = RunImport
	}
	if c.Progress == nil {
		c.Progress = io.Discard
	}
	for _, xs := range []struct {
		name string
		v    []int
		max  int
	}{{"lanes", c.Lanes, 4096}, {"conns", c.Conns, 4096}, {"rates", c.Rates, 1_000_000}, {"import lines", c.ImportLines, 100_000_000}} {
		for _, v := range xs.v {
			if v < 1 || v > xs.max {
				return c, fmt.Errorf("bench: %s must be between 1 and %d, not %d", xs.name, xs.max, v)
			}
		}
	}
	if c.Target != "" {
		u, err := url.Parse(c.Target)
		if err != nil || u.Scheme != "http" || u.Host == "" {
			return c, fmt.Errorf("bench: target must be an http:// URL, not %q", c.Target)
		}
		if c.Token == "" || c.Lane == "" {
			return c, errors.New("bench: a target needs a scanner token and a lane")
		}
	}
	if c.InjectDelay < 0 || c.InjectDelay > time.Second {
		return c, fmt.Errorf("bench: injected delay %v is out of range", c.InjectDelay)
	}
	return c, nil
}

// DefaultCacheDir is where fixtures, import files and results are kept
// unless told otherwise: admit-bench in the user's cache directory (not the
// temp directory, which may be a tmpfs whose fsync costs nothing).
func DefaultCacheDir() string {
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	return filepath.Join(base, "admit-bench")
}

// storeOptions returns the options of a store the bench opens: a copy of
// tmpl (nil: the defaults) logging to log, as appliance "bench".
func storeOptions(tmpl *index.Options, log zerolog.Logger) *index.Options {
	var o index.Options
	if tmpl != nil {
		o = *tmpl
	}
	o.Logger = log
	defaults.Set(&o.Appliance, "bench")
	return &o
}

// has reports whether workload w is to run.
func (c *Config) has(w string) bool { return slices.Contains(c.Workloads, w) }

// needsNaive reports whether a workload runs the naive floor: the raw
// Pebble step of the validate workload, the naive server beside an
// in-process appliance.
func (c *Config) needsNaive() bool {
	return c.has(WorkloadValidate) || (c.has(WorkloadHTTP) && c.Target == "")
}

// needsFixture reports whether a workload works on the ticket fixture.
func (c *Config) needsFixture() bool {
	return c.has(WorkloadValidate) || (c.has(WorkloadHTTP) && c.Target == "") ||
		(c.has(WorkloadImport) && c.ImportScanLines > 0)
}

// Limit bounds a measured step: it ends after Ops operations or after
// Duration, whichever comes first. A zero field does not bound.
type Limit struct {
	Ops      int64
	Duration time.Duration
}

func (l Limit) valid() error {
	if l.Ops <= 0 && l.Duration <= 0 {
		return errors.New("bench: a step needs an operation count or a duration")
	}
	return nil
}

// spend takes from l what r, one batch of size n, used, and reports
// whether the step goes on with another batch: it used the whole batch and
// l is not spent.
func (l *Limit) spend(r *lanesResult, n int) bool {
	if r.ops < int64(n) {
		return false // the limit ended the batch
	}
	if l.Ops > 0 {
		if l.Ops -= r.ops; l.Ops <= 0 {
			return false
		}
	}
	if l.Duration > 0 {
		if l.Duration -= r.elapsed; l.Duration <= 0 {
			return false
		}
	}
	return true
}

// warmup is the limit of the unmeasured warm-up before a step of limit l:
// a tenth of it, at least 20ms and a few operations.
func (l Limit) warmup() Limit {
	w := Limit{Duration: max(l.Duration/10, 20*time.Millisecond)}
	if l.Ops > 0 {
		w.Ops = max(l.Ops/10, 16)
	}
	return w
}
