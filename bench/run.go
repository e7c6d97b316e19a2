package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/index"
)

// Run runs cfg's workloads cfg.Runs times, each run on a fresh copy of the
// fixture, and returns every measurement with its median and spread. A
// wrong answer (a first use refused, a double admission, an HTTP error) is
// counted in the measurement's errors and shown, not hidden: Gate fails on
// it. Run returns an error when a workload cannot run at all.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if slices.Contains(cfg.Workloads, WorkloadRelay) {
		if cfg.Workloads = slices.DeleteFunc(slices.Clone(cfg.Workloads), func(w string) bool { return w == WorkloadRelay }); len(cfg.Workloads) == 0 {
			return nil, errors.New(RelayNote)
		}
		if cfg.Progress != nil {
			fmt.Fprintf(cfg.Progress, "%s; skipped\n", RelayNote)
		}
	}
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(c.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("bench: data directory: %w", err)
	}
	res := &Result{
		Version:  ResultVersion,
		Started:  time.Now().UTC().Truncate(time.Second),
		Profile:  c.Profile,
		Machine:  machine(c.Dir),
		Settings: Settings{Runs: c.Runs, Duration: c.Duration.String(), Workloads: c.Workloads, Target: c.Target, Dir: c.Dir},
	}
	if c.needsFixture() {
		res.Settings.Tickets = c.Tickets
	}
	if c.has(WorkloadValidate) {
		res.Settings.Lanes = c.Lanes
	}
	if c.has(WorkloadHTTP) {
		res.Settings.Conns, res.Settings.Rates = c.Conns, c.Rates
	}
	if c.has(WorkloadImport) {
		res.Settings.ImportLines = c.ImportLines
	}
	if c.InjectDelay > 0 {
		res.Settings.Injected = c.InjectDelay.String()
	}
	start := time.Now()
	var fx fixtures
	if c.needsFixture() {
		if fx.index, err = Fixture(ctx, c.CacheDir, c.Tickets, c.Progress); err != nil {
			return nil, err
		}
	}
	if c.needsNaive() {
		if fx.naive, err = NaiveFixture(ctx, c.CacheDir, c.Tickets, c.Progress); err != nil {
			return nil, err
		}
	}
	for run := 1; run <= c.Runs; run++ {
		obs, err := c.runOnce(ctx, run, fx)
		// Each of the two fixtures may be found stale once.
		for range 2 {
			if !errors.Is(err, errStale) {
				break
			}
			fmt.Fprintf(c.Progress, "%v: rebuilding it\n", err)
			if err = c.rebuild(ctx, &fx, err); err == nil {
				obs, err = c.runOnce(ctx, run, fx)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("run %d: %w", run, err)
		}
		for _, o := range obs {
			res.add(o)
		}
	}
	res.Seconds = time.Since(start).Seconds()
	res.Machine.LoadEnd = loadAverage()
	res.summarize()
	return res, nil
}

// fixtures are the cached stores a run copies: the index's fixture and
// the naive floor's store of the same tickets ("" when not needed).
type fixtures struct{ index, naive string }

// rebuild rebuilds the fixture that err (an errStale) names as stale.
func (c *Config) rebuild(ctx context.Context, fx *fixtures, err error) error {
	if errors.Is(err, errStaleNaive) {
		fx.naive, err = buildNaiveFixture(ctx, NaiveFixtureDir(c.CacheDir, c.Tickets), c.Tickets, c.Progress)
		return err
	}
	fx.index, err = buildFixture(ctx, FixtureDir(c.CacheDir, c.Tickets), c.Tickets, c.Progress)
	return err
}

// runOnce runs every workload once in a new directory under c.Dir.
func (c *Config) runOnce(ctx context.Context, run int, fx fixtures) (out []Observation, err error) {
	fixture := fx.index
	dir, err := os.MkdirTemp(c.Dir, "run-")
	if err != nil {
		return nil, fmt.Errorf("bench: data directory: %w", err)
	}
	defer os.RemoveAll(dir)
	var fsync Sample
	// The in-process first use's CPU per admission, by lanes: the floor of
	// the HTTP steps' CPU (StatCPUOverFloor).
	floorCPU := map[int]float64{}
	each := func(o Observation) {
		if lanes, ok := strings.CutPrefix(o.Name, "validate/first-use/lanes="); ok {
			if l, err := strconv.Atoi(lanes); err == nil && o.Sample[StatCPU] > 0 {
				floorCPU[l] = o.Sample[StatCPU]
			}
		}
		if o.Durable && fsync != nil {
			if f := fsync[StatP50]; f > 0 {
				o.Sample[StatP50Fsync] = o.Sample[StatP50] / f
			}
			if f := fsync[StatP99]; f > 0 {
				o.Sample[StatP99Fsync] = o.Sample[StatP99] / f
			}
		}
		out = append(out, o)
		c.progress(run, o)
	}
	eachAll := func(obs []Observation, err error) error {
		for _, o := range obs {
			each(o)
		}
		return err
	}
	step := Limit{Duration: c.Duration}

	if c.has(WorkloadFsync) {
		o, err := RunFsync(ctx, dir, step)
		if err != nil {
			return out, err
		}
		fsync = o.Sample
		each(o)
	}

	// The naive floor's store: the raw Pebble step of the validate
	// workload and the naive server of the http workload share it, and
	// its fresh tickets.
	var naive *NaiveStore
	naiveFresh := NewTickets(c.Tickets)
	if fx.naive != "" {
		nd := filepath.Join(dir, "naive")
		if err := CopyFixture(nd, fx.naive); err != nil {
			return out, err
		}
		if naive, err = OpenNaive(ctx, nd, c.Tickets, storeOptions(c.IndexOptions, c.Logger)); err != nil {
			if errors.Is(err, errStale) {
				err = fmt.Errorf("%w: %w", errStaleNaive, err)
			}
			return out, err
		}
		defer func() {
			if cerr := naive.Close(); err == nil && cerr != nil {
				err = fmt.Errorf("bench: naive store: %w", cerr)
			}
		}()
	}

	store := filepath.Join(dir, "store")
	fresh := NewTickets(c.Tickets)
	if fixture != "" {
		if err := CopyFixture(store, fixture); err != nil {
			return out, err
		}
		ix, err := openFixture(ctx, store, c.Tickets, storeOptions(c.IndexOptions, c.Logger))
		if err != nil {
			return out, err
		}
		if c.has(WorkloadValidate) {
			var v gate.Validator = ix
			if c.InjectDelay > 0 {
				v = slowValidator{Validator: ix, delay: c.InjectDelay}
			}
			settle := func(ctx context.Context) error { return WaitSettled(ctx, ix, SettleLimit) }
			vc := ValidateConfig{Lanes: c.Lanes, Limit: step, Used: c.Used, Fresh: fresh, Each: each, Settle: settle}
			if vc.Codes, err = SetupCodes(ctx, ix); err != nil { // codes.go
				_ = ix.Close()
				return out, err
			}
			if naive != nil {
				vc.Raw = func(ctx context.Context, lim Limit) (Observation, error) {
					if err := naive.settle(ctx, SettleLimit); err != nil {
						return Observation{}, err
					}
					return RunRaw(ctx, naive, naiveFresh, lim)
				}
			}
			_, err = RunValidate(ctx, v, vc)
		}
		if cerr := ix.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return out, err
		}
	}

	if c.has(WorkloadHTTP) {
		hc := HTTPConfig{Conns: c.Conns, Rates: c.Rates, RateConns: c.RateConns, Limit: step, Used: min(c.Used, 2000), Each: each,
			FloorCPU: floorCPU}
		if c.Target != "" {
			hc.Target = Target{URL: c.Target, Token: c.Token, Lane: c.Lane}
			if len(c.Fresh) > 0 {
				hc.Fresh = NewTicketList(c.Fresh)
			}
			_, err = RunHTTP(ctx, hc)
		} else {
			var stop func() error
			// Its goroutines (and those they start: the server's workers,
			// the store's writers) carry the label in a CPU profile.
			pprof.Do(ctx, pprof.Labels("bench", "appliance"), func(ctx context.Context) {
				hc.Target, stop, err = c.Serve(ctx, store, c.Logger)
			})
			if err != nil {
				return out, fmt.Errorf("bench: start the appliance: %w", err)
			}
			hc.Fresh = fresh
			var stopNaive func() error
			if naive != nil {
				if err = naive.settle(ctx, SettleLimit); err == nil {
					hc.Naive, stopNaive, err = ServeNaive(ctx, naive)
				}
				hc.NaiveFresh = naiveFresh
			}
			if err == nil {
				_, err = RunHTTP(ctx, hc)
			}
			if stopNaive != nil {
				if serr := stopNaive(); err == nil {
					err = serr
				}
			}
			if serr := stop(); err == nil {
				err = serr
			}
		}
		if err != nil {
			return out, err
		}
	}

	if c.has(WorkloadImport) {
		for _, n := range c.ImportLines {
			o, err := c.Import(ctx, dir, c.CacheDir, n, storeOptions(c.IndexOptions, c.Logger))
			if err != nil {
				return out, err
			}
			each(o)
		}
		if c.ImportScanLines > 0 {
			ix, err := index.Open(store, storeOptions(c.IndexOptions, c.Logger))
			if err != nil {
				return out, err
			}
			// As the daemon's doors open after its start, and as the
			// validate steps begin: after the cache warm-up and the
			// writeback the reopen and the http workload left.
			if err = WaitSettled(ctx, ix, SettleLimit); err == nil {
				err = eachAll(RunImportWhileScanning(ctx, ix, fresh, c.CacheDir, c.Tickets, c.ImportScanLines, c.Logger))
			}
			if cerr := ix.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return out, err
			}
		}
	}
	return out, ctx.Err()
}

// progress prints one observation as a line.
func (c *Config) progress(run int, o Observation) {
	s := o.Sample
	var b strings.Builder
	fmt.Fprintf(&b, "run %d/%d  %-44s", run, c.Runs, o.Name)
	if v, ok := s[StatRate]; ok {
		fmt.Fprintf(&b, " %9s %s/s", rate(v), o.Unit)
	}
	if _, ok := s[StatP50]; ok {
		fmt.Fprintf(&b, "  p50 %s p99 %s p99.9 %s", dur(s[StatP50]), dur(s[StatP99]), dur(s[StatP999]))
	}
	if v, ok := s[StatP50Fsync]; ok {
		fmt.Fprintf(&b, "  %.2f× fsync p50", v)
	}
	if v, ok := s[StatAlloc]; ok {
		fmt.Fprintf(&b, "  %.1f allocs/op", v)
	}
	if o := other(s); o != "-" {
		b.WriteString("  " + o)
	}
	if o.FirstError != "" {
		fmt.Fprintf(&b, "\n      first error: %s", o.FirstError)
	}
	fmt.Fprintln(c.Progress, b.String())
}
