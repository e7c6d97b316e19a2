package bench

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
)

// compared are the statistics Compare looks at, in order.
var compared = []string{StatRate, StatP50, StatP99, StatP999, StatAlloc, StatCPU, StatP50Fsync, StatP99Fsync,
	StatRateOneLane, StatRateTrivial, StatRateNaive, StatP99Naive, StatP50Raw, StatCPUOverFloor, StatP99OverFirstUse,
	StatP50OverFirstUse, StatP50Verify, StatSeconds, StatRSS}

// higherIsBetter reports whether a larger value of stat is an improvement.
func higherIsBetter(stat string) bool {
	return stat == StatRate || stat == StatRateTrivial || stat == StatRateOneLane || stat == StatRateNaive
}

// MinRunsToJudge is how many runs each side needs before Compare calls a
// difference real: with 3 runs a side, disjoint ranges happen by chance with
// probability 2/20 (a two-sided Mann-Whitney U test at U=0), with 5 runs
// 2/252.
const MinRunsToJudge = 3

// Delta is how one statistic of one measurement moved between two results.
type Delta struct {
	Metric, Stat string
	Old, New     *Measurement // nil when the measurement is in one result only
	OldMedian    float64
	NewMedian    float64
	Change       float64 // (new-old)/old; NaN when old is 0
	// Verdict is "better" or "worse" when every run of one side beats every
	// run of the other and each side has MinRunsToJudge runs, "~" when the
	// runs overlap, "?" with too few runs to tell.
	Verdict string
}

// Compare lines up the measurements of two results, statistic by statistic.
func Compare(old, cur *Result) []Delta {
	var out []Delta
	var names []string
	for _, m := range old.Measurements {
		names = append(names, m.Name)
	}
	for _, m := range cur.Measurements {
		if !slices.Contains(names, m.Name) {
			names = append(names, m.Name)
		}
	}
	for _, name := range names {
		o, n := old.Find(name), cur.Find(name)
		if o == nil || n == nil {
			out = append(out, Delta{Metric: name, Old: o, New: n})
			continue
		}
		for _, stat := range compared {
			ov, ok1 := o.Median[stat]
			nv, ok2 := n.Median[stat]
			if !ok1 || !ok2 {
				continue
			}
			d := Delta{Metric: name, Stat: stat, Old: o, New: n, OldMedian: ov, NewMedian: nv, Change: math.NaN()}
			if ov != 0 {
				d.Change = (nv - ov) / ov
			}
			d.Verdict = verdict(o.values(stat), n.values(stat), higherIsBetter(stat))
			out = append(out, d)
		}
	}
	return out
}

// verdict judges two sets of runs: disjoint ranges are a real change.
func verdict(old, cur []float64, higher bool) string {
	if len(old) < MinRunsToJudge || len(cur) < MinRunsToJudge {
		return "?"
	}
	switch {
	case slices.Max(cur) < slices.Min(old):
		if higher {
			return "worse"
		}
		return "better"
	case slices.Min(cur) > slices.Max(old):
		if higher {
			return "better"
		}
		return "worse"
	}
	return "~"
}

// WriteComparison prints deltas as a table: old and new medians with their
// spread, the change, and the verdict.
func WriteComparison(w io.Writer, oldName, newName string, deltas []Delta) error {
	bw := bufio.NewWriter(w)
	tw := tabwriter.NewWriter(bw, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "measurement\tstat\t%s\t%s\tchange\t\n", oldName, newName)
	worse := 0
	for _, d := range deltas {
		if d.Old == nil || d.New == nil {
			side := "only in " + newName
			if d.New == nil {
				side = "only in " + oldName
			}
			fmt.Fprintf(tw, "%s\t\t\t\t%s\t\n", d.Metric, side)
			continue
		}
		change := "-"
		if !math.IsNaN(d.Change) {
			change = fmt.Sprintf("%+.1f%%", 100*d.Change)
		}
		switch d.Verdict {
		case "~":
			change = "~ (" + change + ")"
		case "?":
			change += " ?"
		default:
			change += " " + d.Verdict
		}
		if d.Verdict == "worse" {
			worse++
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t\n", d.Metric, d.Stat, withSpread(d.Stat, d.OldMedian, d.Old),
			withSpread(d.Stat, d.NewMedian, d.New), change)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(bw, "\n%d statistics worse beyond the run-to-run spread; ~ means the runs overlap, ? that a side has fewer than %d runs.\n",
		worse, MinRunsToJudge)
	return bw.Flush()
}

func withSpread(stat string, med float64, m *Measurement) string {
	s := formatStat(stat, med)
	if len(m.values(stat)) > 1 {
		s += fmt.Sprintf(" ±%.0f%%", 50*m.Spread(stat))
	}
	return s
}

// WriteBenchfmt writes r in the Go benchmark format, one line per run of
// each measurement, so benchstat can compare results:
//
//	benchstat <(admit bench benchfmt old.json) <(admit bench benchfmt new.json)
func (r *Result) WriteBenchfmt(w io.Writer) error {
	bw := bufio.NewWriter(w)
	os, arch, _ := strings.Cut(r.Machine.OS, "/")
	fmt.Fprintf(bw, "goos: %s\ngoarch: %s\npkg: github.com/admitgate/admit/bench\ncpu: %s\n", os, arch, r.Machine.CPUModel)
	fmt.Fprintf(bw, "tickets: %d\nprofile: %s\ngo: %s\n", r.Settings.Tickets, r.Profile, r.Machine.Go)
	for _, m := range r.Measurements {
		for _, s := range m.Runs {
			ops := max(int64(s[StatOps]), 1)
			fmt.Fprintf(bw, "BenchmarkAdmit/%s-%d\t%d", m.Name, max(r.Machine.CPUs, 1), ops)
			if v, ok := s[StatRate]; ok && v > 0 {
				fmt.Fprintf(bw, "\t%s ns/op\t%s %ss/s", num(1e9/v), num(v), m.Unit)
			} else if v, ok := s[StatSeconds]; ok {
				fmt.Fprintf(bw, "\t%s ns/op", num(v*1e9/float64(ops)))
			}
			for _, k := range []string{StatP50, StatP90, StatP99, StatP999, StatMax, StatLagP99} {
				if v, ok := s[k]; ok {
					fmt.Fprintf(bw, "\t%s %s-µs", num(v), k)
				}
			}
			for _, k := range []struct{ stat, unit string }{{StatAlloc, "allocs/op"}, {StatBytes, "B/op"},
				{StatP50Fsync, "p50/fsync"}, {StatP99Fsync, "p99/fsync"}, {StatRateOneLane, "rate/1-lane"}, {StatRateTrivial, "rate/trivial"},
				{StatRateNaive, "rate/naive"}, {StatP99Naive, "p99/naive"}, {StatP50Raw, "p50/raw"}, {StatCPU, "CPU-µs/op"},
				{StatCPUOverFloor, "CPU-µs-over-floor"}, {StatP99OverFirstUse, "p99-µs-over-first-use"},
				{StatP50OverFirstUse, "p50-µs-over-first-use"}, {StatP50Verify, "p50/verify"}, {StatSeconds, "sec/file"}, {StatRSS, "peak-RSS-MiB"}, {StatErrs, "errors"}} {
				if v, ok := s[k.stat]; ok {
					fmt.Fprintf(bw, "\t%s %s", num(v), k.unit)
				}
			}
			fmt.Fprintln(bw)
		}
	}
	return bw.Flush()
}

func num(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }
