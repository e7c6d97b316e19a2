package main

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/admitgate/admit/internal/testkit"
)

const (
	adminSecret   = "e2e-admin-secret-000000"
	viewerSecret  = "e2e-viewer-secret-00000"
	scannerSecret = "e2e-scanner-secret-0000"
	northSecret   = "e2e-north-secret-000000"
)

// testConfig is a whole configuration as a user writes it, on a temp dir.
func testConfig(t testing.TB, extra string) *Config {
	t.Helper()
	src := testkit.Template(t, "testdata/daemon/base.toml", configValues(t.TempDir())) + extra
	if !strings.Contains(extra, `id = "MATCH-2026-12-05"`) {
		// north-1 admits this event only: a configuration that names an
		// event must have it (tests that give it a window declare it in extra).
		src += "[[events]]\nid = \"MATCH-2026-12-05\"\n"
	}
	c, err := ParseConfig(strings.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	return c
}

// configValues are what the templates of testdata/daemon are filled in
// with: dataDir, the tokens' secrets and an event's window around now
// (OpensAt, ClosesAt; Later opens in two days). A test adds its own.
func configValues(dataDir string) map[string]any {
	now := time.Now()
	return map[string]any{
		"DataDir": dataDir, "AdminSecret": adminSecret, "ViewerSecret": viewerSecret, "ScannerSecret": scannerSecret, "NorthSecret": northSecret,
		"OpensAt": now.Add(-time.Hour).Format(time.RFC3339), "ClosesAt": now.Add(6 * time.Hour).Format(time.RFC3339),
		"Later": now.Add(48 * time.Hour).Format(time.RFC3339),
	}
}

// writeConfig fills testdata/daemon/name in for a daemon keeping its data
// in dataDir and listening on listen, and writes it to dir/admit.toml; it
// returns the file's path and what it holds.
func writeConfig(t testing.TB, name, dir, dataDir, listen string) (path, src string) {
	t.Helper()
	v := configValues(dataDir)
	v["Listen"] = listen
	src = testkit.Template(t, "testdata/daemon/"+name, v)
	path = filepath.Join(dir, "admit.toml")
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, src
}

// testLogger logs nothing unless ADMIT_TEST_LOG is set.
func testLogger() zerolog.Logger { return testkit.Logger(nil) }

// startDaemon runs the appliance in process on 127.0.0.1:0 and returns its
// base URL; it is closed when the test ends.
func startDaemon(t testing.TB, c *Config) (*Daemon, string) {
	t.Helper()
	d, stop := openDaemon(t, c)
	t.Cleanup(stop)
	return d, "http://" + d.Addr().String()
}

// openDaemon opens the appliance in process on 127.0.0.1:0; stop closes it.
func openDaemon(t testing.TB, c *Config) (d *Daemon, stop func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d = &Daemon{Config: c, Logger: testLogger(), Listener: ln}
	if err := d.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	return d, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := d.Close(ctx); err != nil {
			t.Errorf("close: %v", err)
		}
	}
}

type apiClient struct {
	t    testing.TB
	base string
}

type answer struct {
	status int
	body   []byte
	header http.Header
}

func (a answer) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(a.body, v); err != nil {
		t.Fatalf("decode %d %s: %v", a.status, a.body, err)
	}
}

func (a answer) obj(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	a.decode(t, &m)
	return m
}

var httpClient = &http.Client{Timeout: 30 * time.Second}

func (c apiClient) do(method, path, secret string, body any) answer {
	c.t.Helper()
	r := testkit.Do(c.t, method, c.base+path, secret, body)
	return answer{status: r.Status, body: r.Body, header: r.Header}
}

// must sends a request that must answer want.
func (c apiClient) must(want int, method, path, secret string, body any) answer {
	c.t.Helper()
	a := c.do(method, path, secret, body)
	if a.status != want {
		c.t.Fatalf("%s %s: status %d, want %d: %s", method, path, a.status, want, a.body)
	}
	return a
}
