package bench_test

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/admitgate/admit/bench"
)

func TestCompare(t *testing.T) {
	old := result("full", []string{"validate"},
		measurement("validate/unknown/lanes=1", "p99", 1.0, 1.1, 1.2, 1.0, 1.1),
		measurement("validate/first-use/lanes=64", "rate", 40000, 41000, 42000, 43000, 44000),
		measurement("validate/already-used/lanes=1", "p99", 5, 6, 7),
		measurement("validate/first-use/lanes=1", "p50", 100),
		measurement("http/closed/conns=64/scan", "rate/naive", 0.8, 0.85, 0.9),
		measurement("validate/first-use/lanes=8", "p50/raw", 1.3, 1.35, 1.4),
		measurement("fsync", "p50", 100, 100, 100))
	cur := result("full", []string{"validate"},
		measurement("validate/unknown/lanes=1", "p99", 2.0, 2.1, 2.2, 2.3, 2.4), // slower: worse
		measurement("validate/first-use/lanes=64", "rate", 50000, 51000, 52000), // faster: better
		measurement("validate/already-used/lanes=1", "p99", 6, 7, 8),            // overlaps: ~
		measurement("validate/first-use/lanes=1", "p50", 50),                    // one run: ?
		measurement("http/closed/conns=64/scan", "rate/naive", 1.0, 1.1, 1.05),  // higher: better
		measurement("validate/first-use/lanes=8", "p50/raw", 1.5, 1.6, 1.45),    // higher: worse
		measurement("http/closed/conns=8/scan", "rate", 1000, 1000, 1000))
	old, cur = roundTrip(t, old), roundTrip(t, cur)
	deltas := bench.Compare(old, cur)
	want := map[string]string{
		"validate/unknown/lanes=1 p99":         "worse",
		"validate/first-use/lanes=64 rate":     "better",
		"validate/already-used/lanes=1 p99":    "~",
		"validate/first-use/lanes=1 p50":       "?",
		"http/closed/conns=64/scan rate/naive": "better",
		"validate/first-use/lanes=8 p50/raw":   "worse",
	}
	only := map[string]bool{}
	for _, d := range deltas {
		if d.Old == nil || d.New == nil {
			only[d.Metric] = true
			continue
		}
		key := d.Metric + " " + d.Stat
		if w, ok := want[key]; ok {
			if d.Verdict != w {
				t.Errorf("%s: verdict %q, want %q", key, d.Verdict, w)
			}
			delete(want, key)
		}
	}
	if len(want) > 0 {
		t.Errorf("no delta for %v", want)
	}
	if !only["fsync"] || !only["http/closed/conns=8/scan"] {
		t.Errorf("measurements in one result only: %v", only)
	}
	var out bytes.Buffer
	if err := bench.WriteComparison(&out, "old", "new", deltas); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"+100.0% worse", "+21.4% better", "~ (", "-50.0% ?", "only in old", "only in new",
		"2 statistics worse beyond the run-to-run spread"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("comparison lacks %q:\n%s", s, out.String())
		}
	}
}

// Every benchfmt line is a benchmark line benchstat reads: a name starting
// with Benchmark, an iteration count, then value-unit pairs.
func TestWriteBenchfmt(t *testing.T) {
	m := measurement("validate/first-use/lanes=8", bench.StatP50, 120, 130, 125)
	m.Unit = "admit"
	for i := range m.Runs {
		m.Runs[i][bench.StatRate] = 20000
		m.Runs[i][bench.StatOps] = 40000
		m.Runs[i][bench.StatP50Fsync] = 1.1
	}
	r := roundTrip(t, result("full", []string{"validate"}, m, measurement("import/secutix/lines=1M", bench.StatSeconds, 2.5)))
	r.Machine = bench.Machine{OS: "linux/amd64", CPUs: 2, CPUModel: "AMD EPYC"}
	var out bytes.Buffer
	if err := r.WriteBenchfmt(&out); err != nil {
		t.Fatal(err)
	}
	lines := 0
	sc := bufio.NewScanner(bytes.NewReader(out.Bytes()))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 || !strings.HasPrefix(f[0], "Benchmark") {
			if len(f) > 0 && !strings.HasSuffix(f[0], ":") {
				t.Errorf("neither a benchmark nor a key: %q", sc.Text())
			}
			continue
		}
		lines++
		if _, err := strconv.Atoi(f[1]); err != nil || len(f)%2 != 0 {
			t.Errorf("bad benchmark line %q", sc.Text())
		}
		for i := 2; i < len(f); i += 2 {
			if _, err := strconv.ParseFloat(f[i], 64); err != nil {
				t.Errorf("%q: %q is not a value", sc.Text(), f[i])
			}
		}
	}
	if lines != 4 || !strings.Contains(out.String(), "BenchmarkAdmit/validate/first-use/lanes=8-2\t40000\t50000 ns/op\t20000 admits/s\t120 p50-µs") {
		t.Errorf("%d lines:\n%s", lines, out.String())
	}
}

func TestReadResultRefusesOthers(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"not json":     "hello",
		"version 99":   `{"version": 99, "measurements": [{"name": "x", "runs": [{}]}]}`,
		"empty":        `{"version": 1}`,
		"nameless run": `{"version": 1, "measurements": [{"runs": [{"p50": 1}]}]}`,
	} {
		path := filepath.Join(dir, strings.ReplaceAll(name, " ", "-"))
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := bench.ReadResult(path); err == nil || !strings.HasPrefix(err.Error(), "bench: ") {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := bench.ReadResult(filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing file reads")
	}
}

// A hand-edited median never counts: ReadResult computes it from the runs.
func TestReadResultRecomputesMedians(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.json")
	body := `{"version": 1, "profile": "full", "measurements": [{"name": "fsync", "unit": "sync",
		"runs": [{"p50": 3}, {"p50": 1}, {"p50": 2}, {"p50": 10}], "median": {"p50": 0.001}}]}`
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := bench.ReadResult(path)
	if err != nil {
		t.Fatal(err)
	}
	m := r.Find("fsync")
	if m.Median["p50"] != 2.5 || m.Min["p50"] != 1 || m.Max["p50"] != 10 || m.Spread("p50") != 3.6 {
		t.Errorf("median %v min %v max %v spread %v", m.Median, m.Min, m.Max, m.Spread("p50"))
	}
}
