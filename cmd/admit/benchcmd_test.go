package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/admitgate/admit/bench"
	"github.com/admitgate/admit/gate"
)

// admit bench end to end at toy sizes: the validate workload and /v1/scan
// of the real daemon started in process, the table, the JSON result, the
// gate's exit code, and the compare, gate and benchfmt subcommands on the
// file it wrote.
func TestBenchCommand(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{}
	run := func(args ...string) (string, int) {
		var out bytes.Buffer
		m := &Main{Stdout: &out, Stderr: &out, Getenv: func(k string) string { return env[k] }}
		code := exitCode(m.Run(t.Context(), args), &out)
		return out.String(), code
	}
	budgets := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	lenient := budgets("lenient.toml", `[[budget]]
metric = "http/closed/conns=2/scan"
stat = "rate"
at_least = 1.0
profiles = ["full"]
why = "it answers at all"
`)
	impossible := budgets("impossible.toml", `[[budget]]
metric = "validate/unknown/lanes=1"
stat = "p50"
at_most = 0.000001
profiles = ["full"]
why = "nothing is this fast"
`)
	result := filepath.Join(dir, "r.json")
	toy := []string{"bench", "-workloads", "validate,http", "-tickets", "4000", "-runs", "1", "-duration", "20ms", "-lanes", "1,2",
		"-used", "100", "-conns", "2", "-rates", "200", "-rate-conns", "4", "-cache-dir", dir}

	profile := filepath.Join(dir, "cpu.prof")
	out, code := run(append(toy, "-json", result, "-gate", "-budgets", lenient, "-cpuprofile", profile)...)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	if fi, err := os.Stat(profile); err != nil || fi.Size() == 0 {
		t.Errorf("-cpuprofile wrote nothing: %v", err)
	}
	// The daemon's /metrics gives the WAL syncs the scans shared.
	for _, want := range []string{"admit bench (full): 4k tickets, 1 run(s), 20ms per step", "fsync", "validate/first-use/lanes=2",
		"validate/first-use/raw", "× raw Pebble's", "http/closed/conns=2/naive", "× naive's rate", "over trivial + first use",
		"http/closed/conns=2/scan", "http/open/rate=200/scan", "% of trivial", "commits/sync", "CPU-µs (busy ",
		"result: " + result, "gate: PASS (1 budgets)"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	out, code = run("bench", "gate", "-budgets", impossible, result)
	if code != 1 || !strings.Contains(out, "FAIL validate/unknown/lanes=1 p50 ≤ 0.00µs") || !strings.Contains(out, "the gate failed") {
		t.Errorf("gate of an impossible budget: exit %d\n%s", code, out)
	}
	out, code = run("bench", "compare", result, result)
	if code != 0 || !strings.Contains(out, "validate/unknown/lanes=1") || !strings.Contains(out, "0 statistics worse") {
		t.Errorf("compare: exit %d\n%s", code, out)
	}
	out, code = run("bench", "benchfmt", result)
	if code != 0 || !strings.Contains(out, "BenchmarkAdmit/validate/first-use/lanes=1-") || !strings.Contains(out, "p99-µs") {
		t.Errorf("benchfmt: exit %d\n%s", code, out)
	}

	// The test-only slowdown is announced in the table and breaks the gate.
	env["ADMIT_BENCH_INJECT_DELAY"] = "40us"
	out, code = run("bench", "-short", "-workloads", "validate", "-tickets", "4000", "-runs", "1", "-duration", "20ms",
		"-lanes", "1", "-used", "100", "-cache-dir", dir, "-json", "none", "-gate")
	if code != 1 || !strings.Contains(out, "WARNING: a test-only delay of 40µs was injected") ||
		!strings.Contains(out, "FAIL validate/unknown/lanes=1 p50 ≤ 1.00µs") || strings.Contains(out, "result: ") {
		t.Errorf("injected delay: exit %d\n%s", code, out)
	}
}

func TestBenchCommandUsage(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"bench", "-lanes", "1,x"}, `-lanes: "x" is not a count`},
		{[]string{"bench", "-import-lines", "1G"}, `"1G" is not a count`},
		{[]string{"bench", "extra"}, `unexpected argument "extra"`},
		{[]string{"bench", "compare", "one.json"}, "takes two result files"},
		{[]string{"bench", "gate"}, "takes one result file"},
		{[]string{"bench", "benchfmt"}, "takes result files"},
		{[]string{"bench", "-workloads", "turbo", "-cache-dir", "/nonexistent/x"}, `unknown workload "turbo"`},
		{[]string{"bench", "-target", "http://127.0.0.1:1", "-cache-dir", "/nonexistent/x"}, "a target needs a scanner token and a lane"},
		{[]string{"bench", "-lane", "north-1", "-fresh", "f.txt"}, "-fresh, -lane go with -target"},
		{[]string{"bench", "-workloads", "relay", "-cache-dir", "/nonexistent/x"}, "the relay workload runs on the emulated USB bus (umockdev), not in admit bench: go test"},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		m := &Main{Stdout: &out, Stderr: &out, Getenv: func(string) string { return "" }}
		code := exitCode(m.Run(t.Context(), tt.args), &out)
		if code == 0 || !strings.Contains(out.String(), tt.want) {
			t.Errorf("admit %q: exit %d\n%s\nwant %q", tt.args, code, out.String(), tt.want)
		}
	}
}

// admit bench -target loads a running appliance: its tickets from -fresh
// for first uses (and the already-used tenth), the lane and scanner token
// given, and no local workload.
func TestBenchTarget(t *testing.T) {
	now := time.Now()
	c := testConfig(t, "")
	c.Providers = []ProviderConfig{{ID: "bench"}}
	c.Events = []EventConfig{{ID: "MATCH-2026-12-05", OpensAt: now.Add(-time.Hour), ClosesAt: now.Add(time.Hour)}}
	d, base := startDaemon(t, c)
	var tickets []gate.Ticket
	var fresh strings.Builder
	for i := range 3000 {
		bc := fmt.Sprintf("TARGET-%06d", i)
		tickets = append(tickets, gate.Ticket{Barcode: bc, Provider: "bench", Events: []string{"MATCH-2026-12-05"},
			State: gate.StateValid, PriceType: gate.Code{Code: "ADU"}})
		fresh.WriteString(bc + "\n")
	}
	if _, err := d.Index().Load(t.Context(), gate.ImportRequest{Provider: "bench", Source: "t", By: "t"}, gate.Lines(tickets...)); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "fresh.txt")
	if err := os.WriteFile(file, []byte(fresh.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	env := map[string]string{"ADMIT_TOKEN": northSecret, "ADMIT_LANE": "north-1"}
	m := &Main{Stdout: &out, Stderr: &out, Getenv: func(k string) string { return env[k] }}
	code := exitCode(m.Run(t.Context(), []string{"bench", "-target", base, "-fresh", file, "-used", "50", "-runs", "1",
		"-duration", "30ms", "-conns", "2", "-rates", "300", "-rate-conns", "4", "-cache-dir", t.TempDir(), "-json", "none"}), &out)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out.String())
	}
	for _, want := range []string{"admit bench (full): target " + base + ", 1 run(s)", "http/closed/conns=2/scan", "http/open/rate=300/scan", "% of trivial"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "validate/") || strings.Contains(out.String(), "run 1/1  fsync") || strings.Contains(out.String(), "naive") {
		t.Errorf("a target run ran local workloads:\n%s", out.String())
	}
	// The first uses it sent were admitted by the appliance, each once.
	rep, err := d.Index().Report(t.Context(), "MATCH-2026-12-05", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Total.Used < 50 || rep.Total.Used > 3000 {
		t.Errorf("the appliance admitted %d tickets", rep.Total.Used)
	}
}

// The imports of the import workload run in child processes of the binary
// (admit bench import-child), each reporting its own peak RSS.
func TestBenchImportsInChildProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildAdmit(t)
	dir := t.TempDir()
	result := filepath.Join(dir, "r.json")
	cmd := exec.Command(bin, "bench", "-workloads", "import", "-import-lines", "3000", "-import-scan-lines", "0", "-runs", "1",
		"-duration", "20ms", "-cache-dir", dir, "-json", result)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	res, err := bench.ReadResult(result)
	if err != nil {
		t.Fatal(err)
	}
	m := res.Find("import/secutix/lines=3k")
	if m == nil {
		t.Fatalf("no import measurement:\n%s", out)
	}
	s := m.Runs[0]
	if s[bench.StatSeconds] <= 0 || s[bench.StatRSS] <= 0 || s[bench.StatRSSStart] <= 0 || s[bench.StatRSSStart] > s[bench.StatRSS] {
		t.Errorf("import sample %v", s)
	}
	// The child refuses what the parent would never send.
	for _, args := range [][]string{{"bench", "import-child"}, {"bench", "import-child", dir, dir, "x"}} {
		if out, err := exec.Command(bin, args...).CombinedOutput(); err == nil {
			t.Errorf("%q: no error:\n%s", args, out)
		}
	}
}
