package bench_test

import (
	"bytes"
	"context"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/admitgate/admit/bench"
	"github.com/admitgate/admit/index"
	"github.com/admitgate/admit/index/indextest"
	"github.com/admitgate/admit/internal/testkit"
)

// testLogger logs nothing unless ADMIT_TEST_LOG is set.
func testLogger() zerolog.Logger { return testkit.Logger(nil) }

// tiny is a whole run at toy sizes: every workload, real Pebble on disk,
// real sockets, in about a second.
func tiny(t *testing.T) bench.Config {
	t.Helper()
	var progress bytes.Buffer
	t.Cleanup(func() {
		if t.Failed() || testing.Verbose() {
			t.Logf("progress:\n%s", progress.String())
		}
	})
	return bench.Config{
		Tickets: 5000, Runs: 2, Duration: 30 * time.Millisecond, Used: 100,
		Lanes: []int{1, 4}, Conns: []int{4}, Rates: []int{300}, RateConns: 4,
		ImportLines: []int{3000}, ImportScanLines: 2000,
		CacheDir: t.TempDir(), Logger: testLogger(), Progress: &progress,
		// A small memtable makes the WAL warm-up of every Open cheap.
		IndexOptions: &index.Options{MemTableSize: 4 << 20},
	}
}

// Every workload runs on real parts and reports what the issues ask: the
// percentiles and throughput of every step, allocations and CPU in process,
// ratios to the fsync floor for durable paths, the first use's ratio to
// bare Pebble, the API's share of a trivial handler and its ratios to the
// naive server, the CPU beyond the floor, and import time and peak RSS; all
// medians of the runs.
func TestRunEveryWorkload(t *testing.T) {
	cfg := tiny(t)
	res, err := bench.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if errs := res.Errors(); len(errs) > 0 {
		t.Fatalf("wrong answers: %v", errs)
	}
	want := map[string][]string{
		"fsync":                                    {"p50", "p99", "p99.9", "max", "rate"},
		"validate/unknown/lanes=1":                 {"p50", "p90", "p99", "p99.9", "max", "rate", "allocs"},
		"validate/already-used/lanes=1":            {"p50", "p99", "rate", "allocs"},
		"validate/first-use/raw":                   {"p50", "p99", "rate", "allocs", "cpu-µs", "p50/fsync", "p99/fsync"},
		"validate/first-use/lanes=1":               {"p50", "p99", "rate", "allocs", "cpu-µs", "p50/fsync", "p99/fsync", "p50/raw"},
		"validate/first-use/lanes=4":               {"p50", "p99", "rate", "cpu-µs", "p50/fsync", "rate/1-lane"},
		"http/closed/conns=4/trivial":              {"p50", "p99", "rate", "cpu-µs", "busy"},
		"http/closed/conns=4/naive":                {"p50", "p99", "p99.9", "rate", "cpu-µs", "busy"},
		"http/closed/conns=4/scan":                 {"p50", "p99", "p99.9", "rate", "rate/trivial", "rate/naive", "p99/naive", "cpu-µs", "busy"},
		"http/open/rate=300/trivial":               {"p50", "p99", "lag-p99"},
		"http/open/rate=300/scan":                  {"p50", "p99", "lag-p99", "rate"},
		"import/secutix/lines=3k":                  {"seconds", "rate", "rss-MiB", "rss-start-MiB"},
		"import/while-scanning/lines=2k":           {"seconds", "rate"},
		"import/first-use-while-importing/lanes=1": {"p50", "p99", "p50/fsync"},
		"validate/ed25519-verify":                  {"p50", "p99", "rate"},
		"validate/forged/lanes=1":                  {"p50", "p99", "rate", "allocs", "p50/verify"},
		"validate/rotating/lanes=1":                {"p50", "p99", "rate", "allocs"},
		"validate/first-use/signed/lanes=1":        {"p50", "p99", "rate", "cpu-µs", "p50/fsync"},
	}
	for name, stats := range want {
		m := res.Find(name)
		if m == nil {
			t.Errorf("no measurement %s", name)
			continue
		}
		if len(m.Runs) != cfg.Runs {
			t.Errorf("%s: %d runs", name, len(m.Runs))
		}
		for _, s := range stats {
			if v, ok := m.Median[s]; !ok || v <= 0 {
				t.Errorf("%s: %s = %v", name, s, v)
			}
		}
	}
	// A signed first use is given against the imported one of the same run.
	signedFU, importedFU := res.Find("validate/first-use/signed/lanes=1"), res.Find("validate/first-use/lanes=1")
	for i, s := range signedFU.Runs {
		want := s[bench.StatP50] - importedFU.Runs[i][bench.StatP50]
		if got, ok := s[bench.StatP50OverFirstUse]; !ok || math.Abs(got-want) > 1e-9 {
			t.Errorf("run %d: p50-over-first-use %v, %v; want %v", i+1, got, ok, want)
		}
	}
	// First-use steps in process say what their slowest admissions met.
	for _, name := range []string{"validate/first-use/lanes=1", "validate/first-use/lanes=4"} {
		m := res.Find(name)
		for _, s := range []string{bench.StatTailFlush, bench.StatTailCompaction, bench.StatFlushTime, bench.StatCompactionTime} {
			if v, ok := m.Median[s]; !ok || v < 0 || v > 1 {
				t.Errorf("%s: %s = %v, %v; want a share", name, s, v, ok)
			}
		}
	}
	// The CPU beyond the floor is the scan's less trivial's and the 4-lane
	// first use's, run by run.
	scan, tr, fu := res.Find("http/closed/conns=4/scan"), res.Find("http/closed/conns=4/trivial"), res.Find("validate/first-use/lanes=4")
	for i, s := range scan.Runs {
		want := s[bench.StatCPU] - tr.Runs[i][bench.StatCPU] - fu.Runs[i][bench.StatCPU]
		if got, ok := s[bench.StatCPUOverFloor]; !ok || math.Abs(got-want) > 1e-9 {
			t.Errorf("run %d: cpu-over-floor %v, %v; want %v", i+1, got, ok, want)
		}
	}
	for _, name := range []string{"validate/first-use/raw", "validate/first-use/lanes=1", "http/closed/conns=4/naive", "http/closed/conns=4/scan",
		"validate/first-use/signed/lanes=1", "validate/forged/lanes=1", "validate/rotating/lanes=1"} {
		if m := res.Find(name); m.Max[bench.StatErrs] > 0 {
			t.Errorf("%s: errors", name)
		}
	}
	// CPU-only steps stop at the cores; first use goes to every lane count.
	if res.Find("validate/unknown/lanes=4") != nil && res.Machine.CPUs < 4 {
		t.Errorf("a CPU-only step ran more lanes than the %d cores", res.Machine.CPUs)
	}
	if m := res.Find("http/open/rate=300/scan"); m != nil && m.Median[bench.StatOps] < 0.9*300*0.03 {
		t.Errorf("the open loop sent %v requests of a 300/s schedule", m.Median[bench.StatOps])
	}
	if res.Machine.CPUs < 1 || res.Machine.Go == "" || res.Machine.Disk == "" || res.Settings.Tickets != 5000 {
		t.Errorf("machine %+v settings %+v", res.Machine, res.Settings)
	}

	// The result survives its file; the table and the gate read it.
	path := filepath.Join(t.TempDir(), "r.json")
	if err := res.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	back, err := bench.ReadResult(path)
	if err != nil || len(back.Measurements) != len(res.Measurements) {
		t.Fatalf("%v: %d measurements", err, len(back.Measurements))
	}
	var table bytes.Buffer
	if err := back.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"admit bench (full): 5k tickets, 2 run(s), 30ms per step", "validate/first-use/lanes=4",
		"% of trivial", "× naive's rate, p99 ", "× naive's", "p50 ", "× raw Pebble's", " over trivial + first use", "RSS ", "p99 tail in flush ",
		"over first use's", "× a verify"} {
		if !strings.Contains(table.String(), s) {
			t.Errorf("table lacks %q:\n%s", s, table.String())
		}
	}
	budgets, err := bench.DefaultBudgets()
	if err != nil {
		t.Fatal(err)
	}
	g := bench.Gate(back, budgets)
	// At toy sizes the 64-lane and 10M budgets have no measurement: they
	// fail as not measured rather than pass unseen.
	missing := 0
	for _, v := range g.Verdicts {
		if !v.Measured {
			missing++
			if !regexp.MustCompile(`lanes=64|lines=10M|conns=8|conns=64`).MatchString(v.Budget.Metric) {
				t.Errorf("%s not measured", v.Budget.String())
			}
		}
	}
	if missing == 0 || g.Pass() {
		t.Errorf("the gate passed a run that lacks budgeted measurements")
	}
}

// The cached fixture is reused, and rebuilt when it does not hold what it
// should (here: a store of another size under the right name); fixtures
// and files of older versions are removed.
func TestFixtureRebuiltWhenStale(t *testing.T) {
	cfg := tiny(t)
	cfg.Runs, cfg.Workloads, cfg.Lanes = 1, []string{"validate"}, []int{1}
	dir := bench.FixtureDir(cfg.CacheDir, cfg.Tickets)
	if err := indextest.Build(dir, 1000); err != nil { // stale: 1000 tickets, not 5000
		t.Fatal(err)
	}
	// And a stale naive store: one of 1000 tickets under the name of 5000.
	small, err := bench.NaiveFixture(context.Background(), cfg.CacheDir, 1000, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(small, bench.NaiveFixtureDir(cfg.CacheDir, cfg.Tickets)); err != nil {
		t.Fatal(err)
	}
	old := filepath.Join(filepath.Dir(dir), "v0-5000")
	if err := os.MkdirAll(old, 0o755); err != nil {
		t.Fatal(err)
	}
	var progress bytes.Buffer
	cfg.Progress = &progress
	res, err := bench.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"stale: 1000 tickets, want 5000: rebuilding it", "naive floor: bench: the cached fixture is stale: the naive store of 5000 tickets holds "} {
		if !strings.Contains(progress.String(), want) {
			t.Errorf("progress lacks %q:\n%s", want, progress.String())
		}
	}
	if res.Find("validate/first-use/lanes=1") == nil || len(res.Errors()) > 0 {
		t.Errorf("after the rebuild: %v", res.Errors())
	}
	progress.Reset()
	if _, err := bench.Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(progress.String(), "building") || strings.Contains(progress.String(), "stale") {
		t.Errorf("the rebuilt fixture was not reused:\n%s", progress.String())
	}
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Errorf("the fixture of an older version is still there: %v", err)
	}
	files := filepath.Join(cfg.CacheDir, "files")
	if err := os.MkdirAll(files, 0o755); err != nil {
		t.Fatal(err)
	}
	oldFile := filepath.Join(files, "secutix-v0-0-10.csv")
	if err := os.WriteFile(oldFile, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := bench.SecutixFile(cfg.CacheDir, 0, 10); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(oldFile); !os.IsNotExist(err) {
		t.Errorf("the import file of an older version is still there: %v", err)
	}
	if !slices.Contains(res.Settings.Workloads, "fsync") {
		t.Errorf("validate ran without its fsync floor: %v", res.Settings.Workloads)
	}
}

// An injected slowdown of the validate path (test-only) shows in the
// figures and breaks the budgets it should: the gate can fail.
func TestInjectedDelayFailsTheGate(t *testing.T) {
	cfg := tiny(t)
	cfg.Runs, cfg.Workloads, cfg.Lanes, cfg.Profile = 3, []string{"validate"}, []int{1}, bench.ProfileShort
	cfg.InjectDelay = 30 * time.Microsecond
	res, err := bench.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Settings.Injected != "30µs" {
		t.Errorf("the result does not say a delay was injected: %+v", res.Settings)
	}
	budgets, err := bench.DefaultBudgets()
	if err != nil {
		t.Fatal(err)
	}
	g := bench.Gate(res, budgets)
	var out bytes.Buffer
	_ = g.Write(&out)
	if g.Pass() || !strings.Contains(out.String(), "FAIL validate/unknown/lanes=1 p50 ≤ 1.00µs") {
		t.Errorf("the gate let a 30µs slowdown through:\n%s", out.String())
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tt := range []struct {
		cfg bench.Config
		err string
	}{
		{bench.Config{Profile: "quick"}, `profile must be full or short, not "quick"`},
		{bench.Config{Workloads: []string{"validate", "turbo"}}, `unknown workload "turbo"`},
		{bench.Config{Lanes: []int{0}}, "lanes must be between 1 and 4096, not 0"},
		{bench.Config{Rates: []int{-5}}, "rates must be between"},
		{bench.Config{Target: "ftp://x"}, "target must be an http:// URL"},
		{bench.Config{Target: "http://127.0.0.1:1"}, "a target needs a scanner token and a lane"},
		{bench.Config{InjectDelay: 2 * time.Second}, "injected delay 2s is out of range"},
	} {
		tt.cfg.CacheDir = t.TempDir()
		if _, err := bench.Run(context.Background(), tt.cfg); err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("%+v: %v, want %q", tt.cfg, err, tt.err)
		}
	}
}
