package bench_test

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/admitgate/admit/bench"
)

func TestParseBudgets(t *testing.T) {
	tests := []struct {
		name, src, err string
		want           int
	}{
		{"at most", "[[budget]]\nmetric = \"fsync\"\nstat = \"p99\"\nat_most = 5.0\nprofiles = [\"full\"]\n", "", 1},
		{"at least, two", "[[budget]]\nmetric = \"a/b\"\nstat = \"rate\"\nat_least = 5.0\nprofiles = [\"short\"]\n" +
			"[[budget]]\nmetric = \"a/c\"\nstat = \"p50/fsync\"\nat_most = 1.3\nprofiles = [\"full\", \"short\"]\n", "", 2},
		{"empty", "", "no [[budget]]", 0},
		{"typo in a key", "[[budget]]\nmetric = \"a\"\nstat = \"p99\"\nat_mots = 5.0\nprofiles = [\"full\"]\n", "unknown key budget.at_mots", 0},
		{"unknown stat", "[[budget]]\nmetric = \"a\"\nstat = \"p42\"\nat_most = 5.0\nprofiles = [\"full\"]\n", `stat "p42" is not one of`, 0},
		{"no bound", "[[budget]]\nmetric = \"a\"\nstat = \"p99\"\nprofiles = [\"full\"]\n", "exactly one of at_most and at_least", 0},
		{"two bounds", "[[budget]]\nmetric = \"a\"\nstat = \"p99\"\nat_most = 1.0\nat_least = 0.5\nprofiles = [\"full\"]\n", "exactly one of", 0},
		{"no metric", "[[budget]]\nstat = \"p99\"\nat_most = 1.0\nprofiles = [\"full\"]\n", "no metric", 0},
		{"no profiles", "[[budget]]\nmetric = \"a\"\nstat = \"p99\"\nat_most = 1.0\n", "no profiles", 0},
		{"bad profile", "[[budget]]\nmetric = \"a\"\nstat = \"p99\"\nat_most = 1.0\nprofiles = [\"quick\"]\n", `profile "quick"`, 0},
		{"negative", "[[budget]]\nmetric = \"a\"\nstat = \"p99\"\nat_most = -1.0\nprofiles = [\"full\"]\n", "not a number ≥ 0", 0},
		{"nan", "[[budget]]\nmetric = \"a\"\nstat = \"p99\"\nat_most = nan\nprofiles = [\"full\"]\n", "not a number ≥ 0", 0},
		{"not toml", "[[budget]\n", "bench: budgets t.toml", 0},
		{"a string bound", "[[budget]]\nmetric = \"a\"\nstat = \"p99\"\nat_most = \"2us\"\nprofiles = [\"full\"]\n", "bench: budgets t.toml", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := bench.ParseBudgets(strings.NewReader(tt.src), "t.toml")
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil || len(got) != tt.want {
				t.Fatalf("%d budgets, %v; want %d", len(got), err, tt.want)
			}
		})
	}
}

// The checked-in budgets parse, name measurements the workloads make, and
// hold the issue's figures in the full profile.
func TestDefaultBudgets(t *testing.T) {
	budgets, err := bench.DefaultBudgets()
	if err != nil {
		t.Fatal(err)
	}
	names := regexp.MustCompile(`^(fsync|validate/(unknown|already-used|first-use)/lanes=\d+|http/(closed/conns|open/rate)=\d+/(scan|trivial)|import/(secutix|while-scanning)/lines=\d+[kM]?|import/first-use-while-importing/lanes=1)$`)
	profiles := map[string]int{}
	for _, b := range budgets {
		if !names.MatchString(b.Metric) {
			t.Errorf("%s: no workload makes this measurement", b.String())
		}
		if b.Why == "" {
			t.Errorf("%s: no why", b.String())
		}
		for _, p := range b.Profiles {
			profiles[p]++
		}
	}
	issue := []string{
		"validate/unknown/lanes=1 p99 ≤ 2.00µs",
		"validate/already-used/lanes=1 p99 ≤ 10.0µs",
		"validate/first-use/lanes=1 p50/fsync ≤ 1.30×",
		"validate/first-use/lanes=1 p99 ≤ 999µs",
		"validate/first-use/lanes=64 rate ≥ 40,000/s",
		"http/closed/conns=64/scan rate/trivial ≥ 0.50×",
		"http/closed/conns=8/scan p99 ≤ 999µs",
		"import/secutix/lines=10M seconds ≤ 25.00s",
		"import/secutix/lines=10M rss-MiB ≤ 1024 MiB",
	}
	for _, want := range issue {
		found := false
		for _, b := range budgets {
			found = found || (b.String() == want && b.Profiles[0] == bench.ProfileFull)
		}
		if !found {
			t.Errorf("the full profile lacks the issue's budget %q", want)
		}
	}
	if profiles[bench.ProfileShort] < 5 {
		t.Errorf("only %d short budgets", profiles[bench.ProfileShort])
	}
}

func result(profile string, workloads []string, ms ...bench.Measurement) *bench.Result {
	r := &bench.Result{Version: bench.ResultVersion, Profile: profile, Settings: bench.Settings{Workloads: workloads, Runs: 3}}
	r.Measurements = ms
	return r
}

// measurement makes a measurement with one sample per run of stat.
func measurement(name, stat string, runs ...float64) bench.Measurement {
	m := bench.Measurement{Name: name, Unit: "scan"}
	for _, v := range runs {
		m.Runs = append(m.Runs, bench.Sample{stat: v, bench.StatErrs: 0})
	}
	return m
}

func roundTrip(t *testing.T, r *bench.Result) *bench.Result {
	t.Helper()
	path := t.TempDir() + "/r.json"
	if err := r.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	back, err := bench.ReadResult(path)
	if err != nil {
		t.Fatal(err)
	}
	return back
}

func TestGate(t *testing.T) {
	most := func(v float64) *float64 { return &v }
	budgets := []bench.Budget{
		{Metric: "validate/unknown/lanes=1", Stat: "p99", AtMost: most(2), Profiles: []string{"full", "short"}},
		{Metric: "validate/first-use/lanes=64", Stat: "rate", AtLeast: most(40000), Profiles: []string{"full"}},
		{Metric: "http/closed/conns=8/scan", Stat: "rate/trivial", AtLeast: most(0.5), Profiles: []string{"full"}},
	}
	all := []string{"fsync", "validate", "http", "import"}
	tests := []struct {
		name    string
		r       *bench.Result
		pass    bool
		verdict []bool // per verdict, in order
		skipped int
		out     string
	}{
		{"pass on the median though one run is slow", result("full", all,
			measurement("validate/unknown/lanes=1", "p99", 1.5, 9.0, 1.9),
			measurement("validate/first-use/lanes=64", "rate", 45000, 41000, 20000),
			measurement("http/closed/conns=8/scan", "rate/trivial", 0.6, 0.55, 0.7)),
			true, []bool{true, true, true}, 0, "gate: PASS (3 budgets)"},
		{"at most broken", result("full", all,
			measurement("validate/unknown/lanes=1", "p99", 2.5, 2.1, 2.2),
			measurement("validate/first-use/lanes=64", "rate", 45000),
			measurement("http/closed/conns=8/scan", "rate/trivial", 0.6)),
			false, []bool{false, true, true}, 0, "FAIL validate/unknown/lanes=1 p99 ≤ 2.00µs: median 2.20µs (runs 2.10µs … 2.50µs)"},
		{"at least broken", result("full", all,
			measurement("validate/unknown/lanes=1", "p99", 1),
			measurement("validate/first-use/lanes=64", "rate", 30000, 39999, 50000),
			measurement("http/closed/conns=8/scan", "rate/trivial", 0.6)),
			false, []bool{true, false, true}, 0, "FAIL validate/first-use/lanes=64 rate ≥ 40,000/s: median 39,999/s"},
		{"a measurement of a workload that ran is missing", result("full", all,
			measurement("validate/unknown/lanes=1", "p99", 1),
			measurement("http/closed/conns=8/scan", "rate/trivial", 0.6)),
			false, []bool{true, false, true}, 0, "FAIL validate/first-use/lanes=64 rate ≥ 40,000/s: not measured"},
		{"a workload that did not run is skipped", result("full", []string{"fsync", "validate"},
			measurement("validate/unknown/lanes=1", "p99", 1),
			measurement("validate/first-use/lanes=64", "rate", 45000)),
			true, []bool{true, true}, 1, "skip http/closed/conns=8/scan rate/trivial ≥ 0.50×: the workload did not run"},
		{"only the result's profile", result("short", all,
			measurement("validate/unknown/lanes=1", "p99", 1.0)),
			true, []bool{true}, 0, "gate (short profile)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := roundTrip(t, tt.r) // medians come from the runs
			g := bench.Gate(r, budgets)
			if g.Pass() != tt.pass || len(g.Verdicts) != len(tt.verdict) || len(g.Skipped) != tt.skipped {
				t.Fatalf("pass %v, %d verdicts, %d skipped", g.Pass(), len(g.Verdicts), len(g.Skipped))
			}
			for i, v := range g.Verdicts {
				if v.Pass != tt.verdict[i] {
					t.Errorf("verdict %d (%s): pass %v", i, v.Budget.String(), v.Pass)
				}
			}
			var out bytes.Buffer
			if err := g.Write(&out); err != nil || !strings.Contains(out.String(), tt.out) {
				t.Errorf("report lacks %q:\n%s", tt.out, out.String())
			}
		})
	}
}

// Wrong answers fail the gate whatever the budgets say.
func TestGateFailsOnErrors(t *testing.T) {
	m := measurement("validate/first-use/lanes=1", "p50", 100, 100, 100)
	m.Runs[1][bench.StatErrs] = 2
	r := roundTrip(t, result("full", []string{"validate"}, m))
	g := bench.Gate(r, nil)
	var out bytes.Buffer
	_ = g.Write(&out)
	if g.Pass() || !strings.Contains(out.String(), "validate/first-use/lanes=1: 2 errors in the worst run") {
		t.Fatalf("pass %v:\n%s", g.Pass(), out.String())
	}
}
