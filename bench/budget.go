package bench

import (
	"bufio"
	_ "embed"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// Budget is one limit the gate holds: the median across runs of Stat of
// the measurement Metric must be at most AtMost or at least AtLeast, in the
// statistic's own unit (µs for latencies, per second for rates, a plain
// number for ratios such as "p50/raw" and "rate/naive"). A Context budget
// is reported beside the others but never fails the gate: a figure kept
// for reading, replaced as a limit by one that holds better.
type Budget struct {
	Metric   string   `toml:"metric"`
	Stat     string   `toml:"stat"`
	AtMost   *float64 `toml:"at_most"`
	AtLeast  *float64 `toml:"at_least"`
	Profiles []string `toml:"profiles"` // the profiles it applies to
	Context  bool     `toml:"context"`  // reported, not held
	Why      string   `toml:"why"`      // where the figure comes from
}

// String says what the budget asks, as in "validate/unknown/lanes=1 p99 ≤ 2".
func (b *Budget) String() string {
	if b.AtMost != nil {
		return fmt.Sprintf("%s %s ≤ %s", b.Metric, b.Stat, formatStat(b.Stat, *b.AtMost))
	}
	return fmt.Sprintf("%s %s ≥ %s", b.Metric, b.Stat, formatStat(b.Stat, *b.AtLeast))
}

// knownStats are the statistics a budget may name.
var knownStats = []string{StatP50, StatP90, StatP99, StatP999, StatMax, StatRate, StatAlloc, StatBytes,
	StatP50Fsync, StatP99Fsync, StatRateOneLane, StatRateTrivial, StatRateNaive, StatP99Naive, StatP50Raw,
	StatCPU, StatCPUOverFloor, StatP99OverFirstUse, StatP50OverFirstUse, StatP50Verify, StatSeconds, StatRSS, StatLagP99}

//go:embed budgets.toml
var defaultBudgets string

// DefaultBudgets returns the budgets checked in beside this package
// (bench/budgets.toml), which `admit bench -gate` holds by default.
func DefaultBudgets() ([]Budget, error) {
	return ParseBudgets(strings.NewReader(defaultBudgets), "bench/budgets.toml")
}

// ReadBudgets reads a budgets file.
func ReadBudgets(path string) ([]Budget, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("bench: budgets: %w", err)
	}
	defer f.Close()
	return ParseBudgets(bufio.NewReader(f), path)
}

// ParseBudgets reads budgets in TOML: [[budget]] tables with metric, stat,
// at_most or at_least, profiles and why. Unknown keys, unknown statistics
// and a budget with no bound or two are errors naming the budget.
func ParseBudgets(r io.Reader, name string) ([]Budget, error) {
	var file struct {
		Budget []Budget `toml:"budget"`
	}
	md, err := toml.NewDecoder(r).Decode(&file)
	if err != nil {
		return nil, fmt.Errorf("bench: budgets %s: %w", name, err)
	}
	if un := md.Undecoded(); len(un) > 0 {
		return nil, fmt.Errorf("bench: budgets %s: unknown key %s", name, un[0])
	}
	if len(file.Budget) == 0 {
		return nil, fmt.Errorf("bench: budgets %s: no [[budget]]", name)
	}
	for i := range file.Budget {
		b := &file.Budget[i]
		where := fmt.Sprintf("bench: budgets %s: budget %d (%s)", name, i+1, b.Metric)
		switch {
		case b.Metric == "":
			return nil, fmt.Errorf("%s: no metric", where)
		case !slices.Contains(knownStats, b.Stat):
			return nil, fmt.Errorf("%s: stat %q is not one of %s", where, b.Stat, strings.Join(knownStats, ", "))
		case (b.AtMost == nil) == (b.AtLeast == nil):
			return nil, fmt.Errorf("%s: give exactly one of at_most and at_least", where)
		case len(b.Profiles) == 0:
			return nil, fmt.Errorf("%s: no profiles", where)
		}
		for _, p := range b.Profiles {
			if p != ProfileFull && p != ProfileShort {
				return nil, fmt.Errorf("%s: profile %q is not %s or %s", where, p, ProfileFull, ProfileShort)
			}
		}
		for _, v := range []*float64{b.AtMost, b.AtLeast} {
			// A difference (cpu-over-floor) may be held below zero.
			if v != nil && (math.IsNaN(*v) || math.IsInf(*v, 0) || (*v < 0 && !signed(b.Stat))) {
				return nil, fmt.Errorf("%s: bound %v is not a number ≥ 0", where, *v)
			}
		}
	}
	return file.Budget, nil
}

// Verdict is one budget held against a result.
type Verdict struct {
	Budget   Budget
	Measured bool    // the measurement and statistic exist
	Median   float64 // across runs
	Min, Max float64 // the runs' range
	Pass     bool
}

// GateReport is the gate's answer for a result.
type GateReport struct {
	Profile  string
	Verdicts []Verdict
	Skipped  []Budget // budgets of workloads that did not run
	Errors   []string // measurements that counted wrong answers
}

// Pass reports whether every budget held (context budgets aside) and no
// measurement counted errors.
func (g *GateReport) Pass() bool {
	if len(g.Errors) > 0 {
		return false
	}
	for _, v := range g.Verdicts {
		if !v.Pass && !v.Budget.Context {
			return false
		}
	}
	return true
}

// held counts the verdicts of budgets that are held, not context.
func (g *GateReport) held() int {
	n := 0
	for _, v := range g.Verdicts {
		if !v.Budget.Context {
			n++
		}
	}
	return n
}

// Gate holds the budgets of r's profile against r's medians. A budget whose
// workload ran but whose measurement is missing fails (so a renamed
// measurement cannot silently escape its budget); one whose workload did
// not run is skipped. Any measurement with errors fails the gate.
func Gate(r *Result, budgets []Budget) GateReport {
	g := GateReport{Profile: r.Profile, Errors: r.Errors()}
	for _, b := range budgets {
		if !slices.Contains(b.Profiles, r.Profile) {
			continue
		}
		workload, _, _ := strings.Cut(b.Metric, "/")
		if !slices.Contains(r.Settings.Workloads, workload) {
			g.Skipped = append(g.Skipped, b)
			continue
		}
		v := Verdict{Budget: b}
		if m := r.Find(b.Metric); m != nil {
			if med, ok := m.Median[b.Stat]; ok && !math.IsNaN(med) {
				v.Measured, v.Median, v.Min, v.Max = true, med, m.Min[b.Stat], m.Max[b.Stat]
				if b.AtMost != nil {
					v.Pass = med <= *b.AtMost
				} else {
					v.Pass = med >= *b.AtLeast
				}
			}
		}
		g.Verdicts = append(g.Verdicts, v)
	}
	return g
}

// Write prints the report: one line per budget, then the verdict.
func (g *GateReport) Write(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "gate (%s profile):\n", g.Profile)
	for _, v := range g.Verdicts {
		status, note := "ok  ", ""
		switch {
		case v.Budget.Context && v.Pass:
			status, note = "info", "; context, not held"
		case v.Budget.Context:
			status, note = "info", "; context, not held (outside it)"
		case !v.Pass:
			status = "FAIL"
		}
		if !v.Measured {
			fmt.Fprintf(bw, "  %s %s: not measured%s\n", status, v.Budget.String(), note)
			continue
		}
		fmt.Fprintf(bw, "  %s %s: median %s (runs %s … %s)%s\n", status, v.Budget.String(),
			formatStat(v.Budget.Stat, v.Median), formatStat(v.Budget.Stat, v.Min), formatStat(v.Budget.Stat, v.Max), note)
	}
	for _, b := range g.Skipped {
		fmt.Fprintf(bw, "  skip %s: the workload did not run\n", b.String())
	}
	for _, e := range g.Errors {
		fmt.Fprintf(bw, "  FAIL %s\n", e)
	}
	if g.Pass() {
		fmt.Fprintf(bw, "gate: PASS (%d budgets)\n", g.held())
	} else {
		fmt.Fprintln(bw, "gate: FAIL")
	}
	return bw.Flush()
}

// signed reports whether stat is a difference, which may be below zero.
func signed(stat string) bool {
	return stat == StatCPUOverFloor || stat == StatP99OverFirstUse || stat == StatP50OverFirstUse
}

// formatStat formats a value of statistic stat in its unit.
func formatStat(stat string, v float64) string {
	switch stat {
	case StatP50, StatP90, StatP99, StatP999, StatMax, StatLagP99:
		return dur(v)
	case StatRate:
		return grouped(v) + "/s"
	case StatP50Fsync, StatP99Fsync, StatRateOneLane, StatRateTrivial, StatRateNaive, StatP99Naive, StatP50Raw, StatP50Verify:
		return ratio(v)
	case StatCPU:
		return fmt.Sprintf("%.1f CPU-µs", v)
	case StatCPUOverFloor:
		return fmt.Sprintf("%+.1f CPU-µs", v)
	case StatP99OverFirstUse, StatP50OverFirstUse:
		return signedDur(v)
	case StatSeconds:
		return fmt.Sprintf("%.2fs", v)
	case StatRSS:
		return fmt.Sprintf("%.0f MiB", v)
	}
	return fmt.Sprintf("%.4g", v)
}

// grouped formats v rounded to an integer with thousands separators.
func grouped(v float64) string {
	s := strconv.FormatFloat(math.Round(v), 'f', 0, 64)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if neg {
		s = "-" + s
	}
	return s
}
