package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/admitgate/admit/bench"
	"github.com/admitgate/admit/index"
)

const benchUsage = `Usage:
  admit bench [flags]                 run the benchmarks, print a table, write a JSON result
  admit bench -short -gate            the short gate CI runs (under a minute)
  admit bench compare OLD.json NEW.json
                                      the differences between two results
  admit bench gate [-budgets FILE] RESULT.json
                                      hold the budgets against a saved result
  admit bench benchfmt RESULT.json    the result as Go benchmark lines, for benchstat

Workloads: fsync (the disk's floor), validate (in process: unknown, already
used, first use at 1, 8 and 64 lanes, beside the bare Pebble Get + Sync commit
of the same tickets), http (/v1/scan of an in-process daemon, or of -target,
closed-loop and open-loop beside a trivial handler and, in process, beside the
naive durable check-in server a user would write), import (SecuTix files of 1M
and 10M lines, and first uses while 1M lines import). The scan-to-relay
latency on emulated USB devices is a Go benchmark: go test -run '^$' -bench
ScanToRelay ./internal/e2e (it needs umockdev).
Each step reports p50, p90, p99, p99.9, max and throughput from HDR histograms;
durable steps also as ratios to the same run's fsync probe, first use to bare
Pebble, /v1/scan to the naive server. Figures are the medians of -runs runs,
each on a fresh copy of a cached ticket fixture.

-gate exits 1 when a budget of bench/budgets.toml (or -budgets) is broken.`

// bench runs `admit bench` and its subcommands.
func (m *Main) bench(ctx context.Context, args []string) error {
	if len(args) > 0 {
		switch args[0] {
		case "compare":
			return m.benchCompare(args[1:])
		case "gate":
			return m.benchGateFile(args[1:])
		case "benchfmt":
			return m.benchFmt(args[1:])
		case importChildCmd:
			return m.benchImportChild(ctx, args[1:])
		}
	}
	var (
		short, gate, verbose             bool
		runs, tickets, used, rateConns   int
		duration                         time.Duration
		workloads, lanes, conns, rates   string
		importLines, importScan          string
		dir, cacheDir, jsonPath, budgets string
		target, token, lane, freshPath   string
		cpuProfile                       string
	)
	fs := m.flags("bench", benchUsage)
	fs.BoolVar(&short, "short", false, "the short profile: 100k tickets, 200ms steps, fewer steps (the CI gate)")
	fs.BoolVar(&gate, "gate", false, "exit 1 when a budget is broken")
	fs.StringVar(&budgets, "budgets", "", "the budgets file (default: bench/budgets.toml, built in)")
	fs.IntVar(&runs, "runs", 0, "runs of every workload; figures are medians (default 5)")
	fs.IntVar(&tickets, "tickets", 0, "tickets in the fixture (default 1M; short 100k)")
	fs.IntVar(&used, "used", 0, "tickets admitted for the already-used steps (default 10k; short 2k)")
	fs.DurationVar(&duration, "duration", 0, "length of each measured step (default 2s; short 200ms)")
	fs.StringVar(&workloads, "workloads", "", "workloads to run, comma-separated: fsync,validate,http,import (default all; with -target http)")
	fs.StringVar(&lanes, "lanes", "", "concurrent lanes of the validate steps (default 1,8,64; short 1,64)")
	fs.StringVar(&conns, "conns", "", "closed-loop HTTP connections (default 8,64; short 8)")
	fs.StringVar(&rates, "rates", "", "open-loop HTTP rates, requests/s (default 1000,5000; short none; 0 for none)")
	fs.IntVar(&rateConns, "rate-conns", 0, "connections of the open-loop generator (default 64)")
	fs.StringVar(&importLines, "import-lines", "", "SecuTix import sizes, lines (default 1M,10M; short 100k)")
	fs.StringVar(&importScan, "import-scan-lines", "", "lines imported beside first-use scans (default 1M; short 0: skipped)")
	fs.StringVar(&dir, "dir", "", "data directory whose disk is measured (default CACHE/runs)")
	fs.StringVar(&cacheDir, "cache-dir", "", "where fixtures, import files and results are kept (default "+bench.DefaultCacheDir()+")")
	fs.StringVar(&jsonPath, "json", "", "write the JSON result here (default CACHE/results/TIME-PROFILE.json; none: do not)")
	fs.StringVar(&target, "target", "", "an appliance's URL: load its /v1/scan instead of an in-process daemon")
	// The token is read from the environment after parsing, never set as
	// the flag's default: -h prints defaults, and a secret is never shown.
	fs.StringVar(&token, "token", "", "with -target: a scanner token (default: ADMIT_TOKEN)")
	fs.StringVar(&lane, "lane", m.Getenv("ADMIT_LANE"), "with -target: the lane to scan at (ADMIT_LANE)")
	fs.StringVar(&freshPath, "fresh", "", "with -target: a file of barcodes never scanned, one a line, for first uses")
	fs.BoolVar(&verbose, "v", false, "log what the stores and servers do")
	fs.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the whole run (client and in-process appliance) here, for go tool pprof")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if token == "" {
		token = m.Getenv("ADMIT_TOKEN")
	}
	if fs.NArg() > 0 {
		return usageError(fs, fmt.Errorf("bench: unexpected argument %q", fs.Arg(0)))
	}
	if target == "" {
		var stray []string
		fs.Visit(func(f *flag.Flag) {
			if f.Name == "fresh" || f.Name == "lane" || f.Name == "token" {
				stray = append(stray, "-"+f.Name)
			}
		})
		if len(stray) > 0 {
			return &exitError{code: 2, err: fmt.Errorf("bench: %s go with -target; without it the appliance runs in process with its own", strings.Join(stray, ", "))}
		}
	}
	cfg := bench.Config{Runs: runs, Tickets: tickets, Used: used, Duration: duration, RateConns: rateConns,
		Dir: dir, CacheDir: cacheDir, Target: target, Token: token, Lane: lane, Progress: m.Stderr}
	if short {
		cfg.Profile = bench.ProfileShort
	}
	var err error
	usage := func(err error) error { return &exitError{code: 2, err: err} }
	if workloads != "" {
		cfg.Workloads = strings.Split(workloads, ",")
	}
	if cfg.Lanes, err = parseCounts("lanes", lanes); err != nil {
		return usage(err)
	}
	if cfg.Conns, err = parseCounts("conns", conns); err != nil {
		return usage(err)
	}
	if rates == "0" || rates == "none" {
		cfg.Rates = []int{}
	} else if cfg.Rates, err = parseCounts("rates", rates); err != nil {
		return usage(err)
	}
	if cfg.ImportLines, err = parseCounts("import-lines", importLines); err != nil {
		return usage(err)
	}
	if importScan != "" {
		n, err := parseCounts("import-scan-lines", importScan)
		if err != nil {
			return usage(err)
		}
		cfg.ImportScanLines = n[0]
		if n[0] == 0 {
			cfg.ImportScanLines = -1
		}
	}
	if freshPath != "" {
		if cfg.Fresh, err = readLines(freshPath); err != nil {
			return fmt.Errorf("bench: -fresh: %w", err)
		}
	}
	if d := m.Getenv("ADMIT_BENCH_INJECT_DELAY"); d != "" {
		// Test-only: proves the gate fails a slowdown of the validate path.
		if cfg.InjectDelay, err = time.ParseDuration(d); err != nil {
			return usage(fmt.Errorf("bench: ADMIT_BENCH_INJECT_DELAY: %w", err))
		}
	}
	var held []bench.Budget
	if gate {
		if held, err = loadBudgets(budgets); err != nil {
			return err
		}
	}
	log := zerolog.Nop()
	if verbose {
		// The stores' and servers' lines, without one per scan.
		log = newLogger(LogConfig{Level: "info", Format: "console"}, m.Stderr).Hook(withoutDecisions{})
	}
	cfg.Logger = log
	cfg.Serve = serveDaemon
	cfg.Import = importInChild

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if cpuProfile != "" {
		f, err := os.Create(cpuProfile)
		if err != nil {
			return fmt.Errorf("bench: -cpuprofile: %w", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			_ = f.Close()
			return fmt.Errorf("bench: -cpuprofile: %w", err)
		}
		defer func() {
			pprof.StopCPUProfile()
			_ = f.Close()
		}()
	}
	res, err := bench.Run(ctx, cfg)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("bench: interrupted: %w", err)
		}
		return err
	}
	fmt.Fprintln(m.Stdout)
	if err := res.WriteTable(m.Stdout); err != nil {
		return err
	}
	if jsonPath == "" {
		base := cacheDir
		if base == "" {
			base = bench.DefaultCacheDir()
		}
		jsonPath = filepath.Join(base, "results", res.Started.Local().Format("20060102-150405")+"-"+res.Profile+".json")
	}
	if jsonPath != "none" {
		if err := res.WriteFile(jsonPath); err != nil {
			return err
		}
		fmt.Fprintf(m.Stdout, "\nresult: %s\n", jsonPath)
	}
	var failed []string
	if errs := res.Errors(); len(errs) > 0 {
		failed = append(failed, fmt.Sprintf("%d measurements counted wrong answers", len(errs)))
	}
	if gate {
		fmt.Fprintln(m.Stdout)
		g := bench.Gate(res, held)
		if err := g.Write(m.Stdout); err != nil {
			return err
		}
		if !g.Pass() {
			failed = append(failed, "the gate failed: a budget is broken")
		}
	}
	if len(failed) > 0 {
		return &exitError{code: 1, err: errors.New("bench: " + strings.Join(failed, "; "))}
	}
	return nil
}

// loadBudgets reads path, or the built-in budgets when path is empty.
func loadBudgets(path string) ([]bench.Budget, error) {
	if path == "" {
		return bench.DefaultBudgets()
	}
	return bench.ReadBudgets(path)
}

func (m *Main) benchCompare(args []string) error {
	fs := m.flags("bench compare", "Usage: admit bench compare OLD.json NEW.json\n\nPrint how every statistic moved: medians with their spread, the change, and\n\"better\"/\"worse\" only when the runs of the two results do not overlap.")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return usageError(fs, errors.New("bench compare takes two result files"))
	}
	old, err := bench.ReadResult(fs.Arg(0))
	if err != nil {
		return err
	}
	cur, err := bench.ReadResult(fs.Arg(1))
	if err != nil {
		return err
	}
	if old.Settings.Tickets != cur.Settings.Tickets || old.Profile != cur.Profile {
		fmt.Fprintf(m.Stdout, "note: the results differ in profile or fixture (%s %s tickets vs %s %s)\n",
			old.Profile, strconv.Itoa(old.Settings.Tickets), cur.Profile, strconv.Itoa(cur.Settings.Tickets))
	}
	return bench.WriteComparison(m.Stdout, "old", "new", bench.Compare(old, cur))
}

func (m *Main) benchGateFile(args []string) error {
	var budgets string
	fs := m.flags("bench gate", "Usage: admit bench gate [-budgets FILE] RESULT.json\n\nHold the budgets against a saved result; exit 1 when one is broken.")
	fs.StringVar(&budgets, "budgets", "", "the budgets file (default: bench/budgets.toml, built in)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError(fs, errors.New("bench gate takes one result file"))
	}
	held, err := loadBudgets(budgets)
	if err != nil {
		return err
	}
	res, err := bench.ReadResult(fs.Arg(0))
	if err != nil {
		return err
	}
	g := bench.Gate(res, held)
	if err := g.Write(m.Stdout); err != nil {
		return err
	}
	if !g.Pass() {
		return &exitError{code: 1, err: errors.New("bench: the gate failed: a budget is broken")}
	}
	return nil
}

func (m *Main) benchFmt(args []string) error {
	fs := m.flags("bench benchfmt", "Usage: admit bench benchfmt RESULT.json...\n\nPrint results as Go benchmark lines, one per run, for benchstat:\n  benchstat <(admit bench benchfmt old.json) <(admit bench benchfmt new.json)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usageError(fs, errors.New("bench benchfmt takes result files"))
	}
	for _, path := range fs.Args() {
		res, err := bench.ReadResult(path)
		if err != nil {
			return err
		}
		if err := res.WriteBenchfmt(m.Stdout); err != nil {
			return err
		}
	}
	return nil
}

// parseCounts reads a comma-separated list of counts such as "1,8,64" or
// "1M,10M" (k and M suffixes); "" is nil.
func parseCounts(name, s string) ([]int, error) {
	if s == "" {
		return nil, nil
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		mult := 1
		switch {
		case strings.HasSuffix(f, "M"):
			mult, f = 1_000_000, strings.TrimSuffix(f, "M")
		case strings.HasSuffix(f, "k"):
			mult, f = 1000, strings.TrimSuffix(f, "k")
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("bench: -%s: %q is not a count", name, f)
		}
		out = append(out, n*mult)
	}
	return out, nil
}

// serveDaemon is the bench's in-process appliance: the daemon itself, as
// `admit serve` runs it, on the run's copy of the fixture, listening on
// 127.0.0.1:0 with one scanner token and one lane.
func serveDaemon(ctx context.Context, dir string, log zerolog.Logger) (bench.Target, func() error, error) {
	c := DefaultConfig()
	c.DataDir = dir
	c.Appliance = "bench"
	c.HTTP.Listen = "127.0.0.1:0"
	c.Log = LogConfig{Level: "warn", Format: "json"}
	secret := bench.Secret()
	c.Tokens = []TokenConfig{{Name: "bench", Role: "scanner", Secret: secret}}
	c.Lanes = []LaneConfig{{ID: bench.ServeLane, Name: "Bench"}}
	if err := c.Validate(); err != nil {
		return bench.Target{}, nil, err
	}
	ln, err := net.Listen("tcp", c.HTTP.Listen)
	if err != nil {
		return bench.Target{}, nil, fmt.Errorf("bench: listen: %w", err)
	}
	d := &Daemon{Config: c, Logger: log, Listener: ln}
	if err := d.Open(ctx); err != nil {
		return bench.Target{}, nil, err
	}
	stop := func() error {
		cctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		return d.Close(cctx)
	}
	return bench.Target{URL: "http://" + d.Addr().String(), Token: secret, Lane: bench.ServeLane}, stop, nil
}

// importChildCmd is the hidden subcommand that runs one import of the
// import workload in a process of its own: admit bench import-child DIR
// CACHE LINES prints the observation as JSON.
const importChildCmd = "import-child"

// importInChild runs one import in a child process (this executable, as
// admit bench import-child), so the peak RSS it reports is the import's
// own and not what the workloads before it left in this process's
// allocators.
func importInChild(ctx context.Context, dir, cacheDir string, lines int, _ *index.Options) (bench.Observation, error) {
	exe, err := os.Executable()
	if err != nil {
		return bench.Observation{}, fmt.Errorf("bench: import in a child process: %w", err)
	}
	cmd := exec.CommandContext(ctx, exe, "bench", importChildCmd, dir, cacheDir, strconv.Itoa(lines))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return bench.Observation{}, fmt.Errorf("bench: import in a child process: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	var o bench.Observation
	if err := json.Unmarshal(stdout.Bytes(), &o); err != nil || o.Name == "" {
		return bench.Observation{}, fmt.Errorf("bench: import in a child process: no observation in its output %.200q: %v", stdout.String(), err)
	}
	return o, nil
}

func (m *Main) benchImportChild(ctx context.Context, args []string) error {
	if len(args) != 3 {
		return &exitError{code: 2, err: errors.New("bench import-child takes DIR CACHE LINES")}
	}
	lines, err := strconv.Atoi(args[2])
	if err != nil || lines <= 0 {
		return &exitError{code: 2, err: fmt.Errorf("bench import-child: %q is not a line count", args[2])}
	}
	o, err := bench.RunImport(ctx, args[0], args[1], lines, nil)
	if err != nil {
		return err
	}
	return json.NewEncoder(m.Stdout).Encode(o)
}

func readLines(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			out = append(out, l)
		}
	}
	return out, sc.Err()
}
