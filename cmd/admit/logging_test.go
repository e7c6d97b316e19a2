package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/admitgate/admit/internal/logtest"
)

// logBuffer keeps the daemon's log; safe for concurrent use.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) Bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.Clone(l.b.Bytes())
}

// TestDaemonLogLines runs the appliance in process, logging JSON at info as
// admit serve does, and holds its lines to the rules: each valid JSON, no
// key twice, milliseconds in timestamps, units on durations, one decision
// line per scan with the barcode shortened, the operator page's polls not
// at info, no token's secret, nothing that looks like an error on a fresh
// store.
func TestDaemonLogLines(t *testing.T) {
	now := time.Now()
	c := testConfig(t, "")
	c.Store.CommitTimeout = Duration(time.Minute) // a loaded machine's fsync is no fault here
	c.Providers = []ProviderConfig{{ID: "box-office"}}
	c.Events = []EventConfig{{ID: "MATCH-2026-12-05", OpensAt: now.Add(-time.Hour), ClosesAt: now.Add(6 * time.Hour)}}
	var logs logBuffer
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d := &Daemon{Config: c, Logger: newLogger(LogConfig{Level: "info", Format: "json"}, &logs), Listener: ln}
	if err := d.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	api := apiClient{t: t, base: "http://" + d.Addr().String()}
	const (
		used    = "LG-9836900602677354"
		fresh   = "LG-5119641341163397"
		unknown = "XX-0753103145574459"
	)
	api.must(200, "POST", "/v1/imports?provider=box-office&event=MATCH-2026-12-05&format=lines", adminSecret, used+"\n"+fresh+"\n")
	scans := []struct{ barcode, lane, reason string }{
		{used, "north-1", "ok"},
		{used, "north-1", "already_used"},
		{unknown, "north-1", "unknown"},
		{fresh, "north-1", "ok"},
	}
	for _, s := range scans {
		api.must(200, "POST", "/v1/scan", northSecret, scanBody(s.barcode, s.lane))
	}
	for range 3 { // the operator page's polls
		api.must(200, "GET", "/v1/lanes", viewerSecret, nil)
		api.must(200, "GET", "/v1/report?event=MATCH-2026-12-05", viewerSecret, nil)
	}
	api.must(401, "GET", "/v1/lanes", "not-a-token-000000000000", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.Close(ctx); err != nil {
		t.Fatal(err)
	}

	out := logs.Bytes()
	for _, err := range logtest.CheckAll(out) {
		t.Error(err)
	}
	var decisions, polls, refusedPolls int
	for line := range bytes.SplitSeq(bytes.TrimSpace(out), []byte("\n")) {
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			continue // CheckAll reported it
		}
		if m["level"] != "info" && m["level"] != "debug" {
			t.Errorf("a %v line in a run where nothing went wrong: %s", m["level"], line)
		}
		if _, ok := m["error"]; ok {
			t.Errorf("a line with an error in a run where nothing went wrong: %s", line)
		}
		switch {
		case m["message"] == "decision":
			if decisions >= len(scans) {
				t.Errorf("more decision lines than scans: %s", line)
				break
			}
			s := scans[decisions]
			if m["reason"] != s.reason || m["lane"] != s.lane || m["barcode"] != "…"+s.barcode[len(s.barcode)-4:] ||
				m["seq"] == nil || m["took_ms"] == nil || m["source"] != "http:north-door" {
				t.Errorf("decision line %d: %s, want %+v", decisions, line, s)
			}
			decisions++
		case m["message"] == "request" && m["route"] == "GET /v1/lanes" && m["status"] == 401.0:
			refusedPolls++
		case m["message"] == "request" && m["method"] == "GET":
			polls++
		}
	}
	if decisions != len(scans) {
		t.Errorf("%d decision lines for %d scans", decisions, len(scans))
	}
	if polls != 0 || refusedPolls != 1 {
		t.Errorf("reads at info: %d that succeeded (want none: the operator page polls), %d refused (want 1)", polls, refusedPolls)
	}
	text := string(out)
	for _, secret := range []string{adminSecret, viewerSecret, scannerSecret, northSecret, "not-a-token-000000000000"} {
		if strings.Contains(text, secret) {
			t.Errorf("the log holds a token's secret %q", secret)
		}
	}
	for _, bc := range []string{used, fresh, unknown} {
		if strings.Contains(text, bc) {
			t.Errorf("the log holds the whole barcode %s", bc)
		}
	}
	if !strings.Contains(text, `"reason":"already_used"`) {
		t.Error(`grep already_used finds nothing`)
	}
	if t.Failed() {
		t.Logf("the log:\n%s", out)
	}
}

// TestLogDurationKeysCarryUnits reads the source of every package: a
// duration logged with zerolog's Dur or Durs (milliseconds, set in
// logging.go) goes under a key ending in _ms, so that lines a test never
// makes the daemon write keep the rule too.
func TestLogDurationKeysCarryUnits(t *testing.T) {
	durRE := regexp.MustCompile(`\.?Durs?\(\s*"([^"]*)"`)
	n := 0
	err := filepath.WalkDir("../..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && path != "../.." {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range durRE.FindAllSubmatch(src, -1) {
			n++
			if !strings.HasSuffix(string(m[1]), "_ms") {
				t.Errorf("%s logs a duration as %q: name its unit (%s_ms)", path, m[1], m[1])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("no duration logged anywhere: the pattern is wrong")
	}
}

func TestBenchLogWithoutDecisions(t *testing.T) {
	var buf bytes.Buffer
	log := newLogger(LogConfig{Level: "info", Format: "json"}, &buf).Hook(withoutDecisions{})
	log.Info().Str("reason", "ok").Msg("decision")
	log.Info().Msg("index opened")
	if out := buf.String(); strings.Contains(out, "decision") || !strings.Contains(out, "index opened") {
		t.Errorf("the bench's log: %q", out)
	}
}
