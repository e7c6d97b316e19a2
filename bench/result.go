package bench

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/admitgate/admit/internal/atomicfile"
)

// ResultVersion is the layout of the result file; Read refuses others.
const ResultVersion = 1

// Result is one `admit bench` invocation: the machine, what was asked, and
// every measurement with each run's figures and their median and spread.
type Result struct {
	Version      int           `json:"version"`
	Started      time.Time     `json:"started"`
	Seconds      float64       `json:"seconds"` // wall time of the whole invocation
	Profile      string        `json:"profile"` // "full" or "short"
	Machine      Machine       `json:"machine"`
	Settings     Settings      `json:"settings"`
	Measurements []Measurement `json:"measurements"`
}

// Measurement is one workload step across the runs.
type Measurement struct {
	Name   string   `json:"name"`
	Unit   string   `json:"unit"`
	Runs   []Sample `json:"runs"`   // one per run, in order
	Median Sample   `json:"median"` // per statistic, across runs
	Min    Sample   `json:"min"`
	Max    Sample   `json:"max"`
}

// Settings are the parts of a Config that shape the figures, as recorded.
type Settings struct {
	Tickets     int      `json:"tickets"` // the fixture's; 0 when no workload used one
	Runs        int      `json:"runs"`
	Duration    string   `json:"duration"`
	Workloads   []string `json:"workloads"`
	Lanes       []int    `json:"lanes,omitempty"`
	Conns       []int    `json:"conns,omitempty"`
	Rates       []int    `json:"rates,omitempty"`
	ImportLines []int    `json:"import_lines,omitempty"`
	Target      string   `json:"target,omitempty"`
	Dir         string   `json:"dir"`
	Injected    string   `json:"injected_delay,omitempty"` // a test-only slowdown was on
}

// Machine describes where a result was measured.
type Machine struct {
	Hostname  string  `json:"hostname"`
	CPUs      int     `json:"cpus"`
	CPUModel  string  `json:"cpu_model"`
	MemoryMiB int64   `json:"memory_mib"`
	Go        string  `json:"go"`
	OS        string  `json:"os"`
	Kernel    string  `json:"kernel"`
	Disk      string  `json:"disk"`       // the device and file system under the data directory
	LoadStart float64 `json:"load_start"` // 1-minute load average when the run started
	LoadEnd   float64 `json:"load_end"`
	Version   string  `json:"admit_version,omitempty"`
}

// NewResult starts a result of observations made outside Run (such as
// internal/e2e's BenchmarkScanToRelay, which needs the emulated USB bus)
// on this machine, whose data directory is dir: Add its observations, then
// Finish it and write it, and `admit bench gate` holds its budgets.
func NewResult(profile, dir string, workloads []string, runs int) *Result {
	return &Result{
		Version:  ResultVersion,
		Started:  time.Now().UTC().Truncate(time.Second),
		Profile:  profile,
		Machine:  machine(dir),
		Settings: Settings{Runs: runs, Workloads: workloads, Dir: dir},
	}
}

// Add adds one run's observation.
func (r *Result) Add(o Observation) { r.add(o) }

// Finish computes every measurement's median and spread, and records the
// wall time since r started and the load at the end.
func (r *Result) Finish() {
	r.Seconds = time.Since(r.Started).Seconds()
	r.Machine.LoadEnd = loadAverage()
	r.summarize()
}

// Find returns the measurement named name, or nil.
func (r *Result) Find(name string) *Measurement {
	for i := range r.Measurements {
		if r.Measurements[i].Name == name {
			return &r.Measurements[i]
		}
	}
	return nil
}

// add appends one run's observation to its measurement (created on first use).
func (r *Result) add(o Observation) {
	if m := r.Find(o.Name); m != nil {
		m.Runs = append(m.Runs, o.Sample)
		return
	}
	r.Measurements = append(r.Measurements, Measurement{Name: o.Name, Unit: o.Unit, Runs: []Sample{o.Sample}})
}

// summarize computes every measurement's median and spread.
func (r *Result) summarize() {
	for i := range r.Measurements {
		r.Measurements[i].summarize()
	}
}

// Errors returns the measurements that counted errors in any run.
func (r *Result) Errors() []string {
	var out []string
	for _, m := range r.Measurements {
		if m.Max[StatErrs] > 0 {
			out = append(out, fmt.Sprintf("%s: %.0f errors in the worst run", m.Name, m.Max[StatErrs]))
		}
	}
	return out
}

// WriteFile writes r as indented JSON to path, atomically.
func (r *Result) WriteFile(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("bench: encode result: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("bench: write result: %w", err)
	}
	if err := atomicfile.Write(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("bench: write result: %w", err)
	}
	return nil
}

// ReadResult reads a result file written by WriteFile.
func ReadResult(path string) (*Result, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("bench: read result: %w", err)
	}
	return DecodeResult(bytes.NewReader(b), path)
}

// DecodeResult reads a result from rd; name labels errors.
func DecodeResult(rd io.Reader, name string) (*Result, error) {
	var r Result
	dec := json.NewDecoder(rd)
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("bench: %s is not a bench result: %w", name, err)
	}
	if r.Version != ResultVersion {
		return nil, fmt.Errorf("bench: %s has result version %d; this admit reads version %d", name, r.Version, ResultVersion)
	}
	if len(r.Measurements) == 0 {
		return nil, errors.New("bench: " + name + " holds no measurements")
	}
	for i := range r.Measurements {
		m := &r.Measurements[i]
		if m.Name == "" || len(m.Runs) == 0 {
			return nil, fmt.Errorf("bench: %s: measurement %d has no name or no runs", name, i+1)
		}
		m.summarize() // never trust a hand-edited median
	}
	return &r, nil
}

// WriteTable prints r as a table: one line per measurement with the
// medians across runs, and the spread of p99 (or of the rate) across runs.
func (r *Result) WriteTable(w io.Writer) error {
	bw := bufio.NewWriter(w)
	m := r.Machine
	what := count(r.Settings.Tickets) + " tickets"
	switch {
	case r.Settings.Target != "":
		what = "target " + r.Settings.Target
	case r.Settings.Tickets == 0:
		what = "no fixture"
	}
	fmt.Fprintf(bw, "admit bench (%s): %s, %d run(s), %s per step; %s, %d CPU %s, %s; load %.2f → %.2f\n",
		r.Profile, what, r.Settings.Runs, r.Settings.Duration, m.Go, m.CPUs, m.CPUModel, m.Disk, m.LoadStart, m.LoadEnd)
	if r.Settings.Injected != "" {
		fmt.Fprintf(bw, "WARNING: a test-only delay of %s was injected into the validate path\n", r.Settings.Injected)
	}
	width := len("measurement")
	for _, x := range r.Measurements {
		width = max(width, len(x.Name))
	}
	tw := tabwriter.NewWriter(bw, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%-*s\tops/s\tp50\tp90\tp99\tp99.9\tmax\tallocs/op\t×fsync p50\t×fsync p99\tother\tspread\t\n", width, "measurement")
	for _, x := range r.Measurements {
		med := x.Median
		cell := func(k string, f func(float64) string) string {
			if v, ok := med[k]; ok && !math.IsNaN(v) {
				return f(v)
			}
			return "-"
		}
		spreadStat := StatP99
		if _, ok := med[StatP99]; !ok {
			spreadStat = StatRate
		}
		spread := "-"
		if len(x.Runs) > 1 {
			spread = fmt.Sprintf("±%.0f%% %s", 50*x.Spread(spreadStat), spreadStat)
		}
		fmt.Fprintf(tw, "%-*s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", width, x.Name,
			cell(StatRate, rate), cell(StatP50, dur), cell(StatP90, dur), cell(StatP99, dur), cell(StatP999, dur),
			cell(StatMax, dur), cell(StatAlloc, allocs), cell(StatP50Fsync, ratio), cell(StatP99Fsync, ratio),
			other(med), spread)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return bw.Flush()
}

// other formats the statistics without a column of their own.
func other(s Sample) string {
	var parts []string
	if v, ok := s[StatRateTrivial]; ok {
		parts = append(parts, fmt.Sprintf("%.0f%% of trivial", 100*v))
	}
	if v, ok := s[StatRateNaive]; ok {
		parts = append(parts, fmt.Sprintf("%.2f× naive's rate", v))
	}
	if v, ok := s[StatP99Naive]; ok {
		parts = append(parts, fmt.Sprintf("p99 %.2f× naive's", v))
	}
	if v, ok := s[StatP50Raw]; ok {
		parts = append(parts, fmt.Sprintf("p50 %.2f× raw Pebble's", v))
	}
	if v, ok := s[StatP99OverFirstUse]; ok {
		parts = append(parts, fmt.Sprintf("p99 %s over first use's", signedDur(v)))
	}
	if v, ok := s[StatP50OverFirstUse]; ok {
		parts = append(parts, fmt.Sprintf("p50 %s over first use's", signedDur(v)))
	}
	if v, ok := s[StatP50Verify]; ok {
		parts = append(parts, fmt.Sprintf("p50 %.2f× a verify", v))
	}
	if v, ok := s[StatRateOneLane]; ok {
		parts = append(parts, fmt.Sprintf("%.1f× 1 lane", v))
	}
	if v, ok := s[StatSeconds]; ok {
		parts = append(parts, fmt.Sprintf("%.2fs", v))
	}
	if v, ok := s[StatRSS]; ok {
		parts = append(parts, fmt.Sprintf("RSS %.0f MiB", v))
		if b, ok := s[StatRSSStart]; ok {
			parts[len(parts)-1] += fmt.Sprintf(" (from %.0f)", b)
		}
	}
	if v, ok := s[StatLagP99]; ok {
		parts = append(parts, "lag p99 "+dur(v))
	}
	if v, ok := s[StatCommitsPerSync]; ok {
		parts = append(parts, fmt.Sprintf("%.1f commits/sync", v))
	}
	if f, ok := s[StatTailFlush]; ok {
		parts = append(parts, fmt.Sprintf("p99 tail in flush %.0f%% / compaction %.0f%% (running %.0f%% / %.0f%%)",
			100*f, 100*s[StatTailCompaction], 100*s[StatFlushTime], 100*s[StatCompactionTime]))
	}
	if v, ok := s[StatCPU]; ok {
		parts = append(parts, fmt.Sprintf("%.1f CPU-µs", v))
		if b, ok := s[StatBusy]; ok {
			parts[len(parts)-1] += fmt.Sprintf(" (busy %.0f%%)", 100*b)
		}
		if f, ok := s[StatCPUOverFloor]; ok {
			parts[len(parts)-1] += fmt.Sprintf(", %+.1f over trivial + first use", f)
		}
	}
	if v := s[StatErrs]; v > 0 {
		parts = append(parts, fmt.Sprintf("%.0f ERRORS", v))
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ", ")
}

// dur formats a latency in µs with a readable unit.
func dur(us float64) string {
	switch {
	case us >= 1e6:
		return strconv.FormatFloat(us/1e6, 'f', 2, 64) + "s"
	case us >= 1e3:
		return strconv.FormatFloat(us/1e3, 'f', 2, 64) + "ms"
	case us >= 100:
		return strconv.FormatFloat(us, 'f', 0, 64) + "µs"
	case us >= 10:
		return strconv.FormatFloat(us, 'f', 1, 64) + "µs"
	}
	return strconv.FormatFloat(us, 'f', 2, 64) + "µs"
}

func rate(v float64) string {
	switch {
	case v >= 1e6:
		return strconv.FormatFloat(v/1e6, 'f', 2, 64) + "M"
	case v >= 1e4:
		return strconv.FormatFloat(v/1e3, 'f', 1, 64) + "k"
	}
	return strconv.FormatFloat(v, 'f', 0, 64)
}

// signedDur formats a difference of latencies (µs) with its sign.
func signedDur(us float64) string {
	if us < 0 {
		return "-" + dur(-us)
	}
	return "+" + dur(us)
}

func allocs(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }
func ratio(v float64) string  { return strconv.FormatFloat(v, 'f', 2, 64) + "×" }

// count formats a ticket or line count as 1M, 100k or 1234.
func count(n int) string {
	switch {
	case n >= 1_000_000 && n%1_000_000 == 0:
		return strconv.Itoa(n/1_000_000) + "M"
	case n >= 1000 && n%1000 == 0:
		return strconv.Itoa(n/1000) + "k"
	}
	return strconv.Itoa(n)
}

// machine describes this machine; dir is the data directory whose disk is
// measured.
func machine(dir string) Machine {
	m := Machine{CPUs: runtime.NumCPU(), Go: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH}
	m.Hostname, _ = os.Hostname()
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
				m.MemoryMiB = kb >> 10
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	m.Disk = diskOf(dir)
	m.LoadStart = loadAverage()
	return m
}

// loadAverage returns the 1-minute load average, or -1 when unknown.
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return -1
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return -1
	}
	return v
}

// diskOf names the device and file system that hold dir, from the longest
// mount point of /proc/self/mounts that contains it.
func diskOf(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "unknown"
	}
	b, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		return "unknown"
	}
	best, desc := "", "unknown"
	for line := range strings.SplitSeq(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 3 {
			continue
		}
		mp := f[1]
		if (abs == mp || strings.HasPrefix(abs, strings.TrimSuffix(mp, "/")+"/")) && len(mp) > len(best) {
			best, desc = mp, fmt.Sprintf("%s (%s on %s)", f[0], f[2], mp)
		}
	}
	return desc
}
