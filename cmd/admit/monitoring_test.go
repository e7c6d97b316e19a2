package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/admitgate/admit/internal/samples"
	"github.com/admitgate/admit/internal/testkit"
	"github.com/admitgate/admit/internal/usbemu"
)

// The files of deploy/monitoring, from this package's folder.
const (
	alertRulesFile = "../../deploy/monitoring/admit-alerts.yml"
	dashboardFile  = "../../deploy/monitoring/admit-dashboard.json"
)

// notOnAnAppliance are metrics the monitoring files may name that a plain
// appliance does not export, each with why.
var notOnAnAppliance = map[string]string{
	// Made by Prometheus itself for every scrape target.
	"up": "Prometheus",
}

// venueOnly says whether a metric is one only an appliance of a venue
// exports (TestMonitoringVenueNamesExist checks those).
func venueOnly(name string) bool { return strings.HasPrefix(name, "admit_venue_") }

// targetLabels are the labels Prometheus adds to every series it scrapes.
var targetLabels = map[string]bool{"instance": true, "job": true}

// TestMonitoringNamesExist scrapes a running appliance that has made a scan
// and an import and has a turnstile and two scanner lanes, and checks that
// every metric (and label) the alert rules and the dashboard name is on
// its /metrics, so a renamed metric breaks this test, not a venue's
// alerting.
func TestMonitoringNamesExist(t *testing.T) {
	scanner, err := usbemu.NewSerialDevice(t.TempDir(), "scanner")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { scanner.Close() })
	v := configValues("")
	v["Plugged"], v["Unplugged"] = scanner.Path, filepath.Join(t.TempDir(), "no-such-tty")
	c := testConfig(t, testkit.Template(t, "testdata/daemon/monitoring.toml", v))
	_, base := startDaemon(t, c)
	api := apiClient{t, base}
	b, err := samples.Read(samples.Secutix)
	if err != nil {
		t.Fatal(err)
	}
	// Half the sample's tickets are for an event this appliance lacks: the
	// import is rejected whole, then loaded skipping those lines.
	api.must(422, "POST", "/v1/imports?provider=secutix-main", adminSecret, b)
	api.must(200, "POST", "/v1/imports?provider=secutix-main&on_error=skip", adminSecret, b)
	for _, lane := range []string{"gate-sim", "north-1"} {
		api.must(200, "POST", "/v1/scan", adminSecret, map[string]string{"barcode": "9836900602677354", "lane": lane})
	}

	// The plugged scanner shows 1 once its source has opened it, the
	// unplugged one 0: the alert's condition means what it says.
	var series map[string][]map[string]string
	deadline := time.Now().Add(30 * time.Second)
	for {
		series = parseExposition(t, api.must(200, "GET", "/metrics", "", nil).body)
		plugged, unplugged := sampleValue(series, "admit_scanner_connected", "door-plugged"), sampleValue(series, "admit_scanner_connected", "door-unplugged")
		if plugged == "1" && unplugged == "0" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("admit_scanner_connected: door-plugged %q, door-unplugged %q; want 1 and 0", plugged, unplugged)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if v := sampleValue(series, "admit_build_info", ""); v != "1" {
		t.Errorf("admit_build_info = %q, want 1", v)
	}
	if l := series["admit_build_info"]; len(l) != 1 || l[0]["version"] != version || !strings.HasPrefix(l[0]["pebble"], "v2.") ||
		l[0]["goversion"] == "" || l[0]["commit"] == "" {
		t.Errorf("admit_build_info labels = %v", l)
	}

	rules := readAlertRules(t)
	if len(rules) < 8 {
		t.Fatalf("%d alert rules read from %s", len(rules), alertRulesFile)
	}
	exprs := map[string]string{}
	for _, r := range rules {
		exprs["alert "+r.alert] = r.expr
	}
	for i, e := range dashboardExprs(t) {
		exprs[fmt.Sprintf("dashboard query %d", i+1)] = e
	}
	named := map[string]bool{}
	for where, expr := range exprs {
		for _, sel := range selectorRE.FindAllStringSubmatch(expr, -1) {
			name, matchers := sel[1], sel[3]
			named[name] = true
			if why, ok := notOnAnAppliance[name]; ok {
				t.Logf("%s: %s exists in %s only", where, name, why)
				continue
			}
			if venueOnly(name) {
				continue
			}
			got, ok := series[name]
			if !ok {
				t.Errorf("%s names %s, which /metrics does not have", where, name)
				continue
			}
			for _, m := range matcherRE.FindAllStringSubmatch(matchers, -1) {
				if targetLabels[m[1]] {
					continue
				}
				if !slices.ContainsFunc(got, func(l map[string]string) bool { _, ok := l[m[1]]; return ok }) {
					t.Errorf("%s selects %s by label %q, which no %s series has", where, name, m[1], name)
				}
			}
		}
	}
	// The alerts the issue asks for are there.
	for _, want := range []string{"admit_lane_state", "admit_scanner_connected", "admit_store_open", "admit_venue_hub_connected",
		"admit_imports_total", "admit_data_dir_avail_bytes", "admit_decision_seconds_bucket"} {
		if !named[want] {
			t.Errorf("no alert or panel uses %s", want)
		}
	}

	// promtool, where it is installed (Debian: apt-get install prometheus),
	// checks the rules' syntax and PromQL too.
	if promtool, err := exec.LookPath("promtool"); err == nil {
		if out, err := exec.Command(promtool, "check", "rules", alertRulesFile).CombinedOutput(); err != nil {
			t.Errorf("promtool check rules: %v\n%s", err, out)
		}
		// The rules' own tests: each alert fires on what it describes.
		cmd := exec.Command(promtool, "test", "rules", "admit-alerts.test.yml")
		cmd.Dir = filepath.Dir(alertRulesFile)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool test rules: %v\n%s", err, out)
		}
	} else {
		t.Log("promtool not installed: the rules' PromQL was checked by name only")
	}
}

// selectorRE finds the metric names of PromQL selectors (every admit
// metric starts with admit_; up is Prometheus's), with their matchers.
var (
	selectorRE = regexp.MustCompile(`\b(admit_[a-z0-9_]+|up)\b(\{([^}]*)\})?`)
	matcherRE  = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)`)
)

// parseExposition reads the Prometheus text format into each series name's
// label sets (histograms as their _bucket, _sum and _count series).
func parseExposition(t *testing.T, body []byte) map[string][]map[string]string {
	t.Helper()
	out := map[string][]map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(string(body)))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	labelRE := regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"`)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, rest, _ := strings.Cut(line, " ")
		labels := map[string]string{}
		if i := strings.IndexByte(line, '{'); i >= 0 && i < len(name)+1 {
			j := strings.LastIndexByte(line, '}')
			name, rest = line[:i], strings.TrimSpace(line[j+1:])
			for _, m := range labelRE.FindAllStringSubmatch(line[i+1:j], -1) {
				labels[m[1]] = m[2]
			}
		}
		labels["__value__"] = strings.Fields(rest)[0]
		out[name] = append(out[name], labels)
	}
	return out
}

// sampleValue is the value of name's series for lane ("" for none).
func sampleValue(series map[string][]map[string]string, name, lane string) string {
	for _, l := range series[name] {
		if l["lane"] == lane {
			return l["__value__"]
		}
	}
	return ""
}

type alertRule struct{ alert, expr, severity, summary string }

// readAlertRules reads the rules file: the one layout it is written in
// (no YAML library among admit's dependencies), which this also checks —
// every rule has an alert, an expr, a severity and a summary.
func readAlertRules(t *testing.T) []alertRule {
	t.Helper()
	b, err := os.ReadFile(alertRulesFile)
	if err != nil {
		t.Fatal(err)
	}
	var rules []alertRule
	lines := strings.Split(string(b), "\n")
	for i := 0; i < len(lines); i++ {
		line := strings.TrimSpace(lines[i])
		key, val, _ := strings.Cut(strings.TrimPrefix(line, "- "), ":")
		val = strings.TrimSpace(val)
		switch key {
		case "alert":
			rules = append(rules, alertRule{alert: val})
		case "expr":
			if len(rules) == 0 {
				t.Fatalf("line %d: expr before any alert", i+1)
			}
			if val == "|" { // a block: the lines indented deeper
				indent := len(lines[i]) - len(strings.TrimLeft(lines[i], " "))
				var block []string
				for i+1 < len(lines) && (strings.TrimSpace(lines[i+1]) == "" || len(lines[i+1])-len(strings.TrimLeft(lines[i+1], " ")) > indent) {
					i++
					block = append(block, strings.TrimSpace(lines[i]))
				}
				val = strings.Join(block, " ")
			}
			rules[len(rules)-1].expr = val
		case "labels":
			if m := regexp.MustCompile(`severity: (\w+)`).FindStringSubmatch(val); m != nil && len(rules) > 0 {
				rules[len(rules)-1].severity = m[1]
			}
		case "summary":
			if len(rules) > 0 {
				rules[len(rules)-1].summary = val
			}
		}
	}
	for _, r := range rules {
		if r.expr == "" || r.summary == "" || !slices.Contains([]string{"critical", "warning", "info"}, r.severity) {
			t.Errorf("alert %s: expr %q, severity %q, summary %q: each is required", r.alert, r.expr, r.severity, r.summary)
		}
	}
	return rules
}

// dashboardExprs are the PromQL queries of the Grafana dashboard's panels
// and variables.
func dashboardExprs(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Title  string `json:"title"`
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
		Templating struct {
			List []struct {
				Definition string `json:"definition"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	var out []string
	for _, p := range d.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			out = append(out, tg.Expr)
		}
	}
	for _, v := range d.Templating.List {
		out = append(out, v.Definition)
	}
	if d.Title == "" || len(out) < 10 {
		t.Fatalf("%s: title %q, %d queries", dashboardFile, d.Title, len(out))
	}
	return out
}
