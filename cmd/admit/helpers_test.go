package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
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
	src := `data_dir = "` + t.TempDir() + `"
appliance = "e2e"
timezone = "Europe/Zurich"
[http]
listen = "127.0.0.1:0"
max_import_size = "4MiB"
[store]
journal_backlog = 4096
[[tokens]]
name = "ops"
role = "admin"
secret = "` + adminSecret + `"
[[tokens]]
name = "board"
role = "viewer"
secret = "` + viewerSecret + `"
[[tokens]]
name = "handheld"
role = "scanner"
secret = "` + scannerSecret + `"
[[tokens]]
name = "north-door"
role = "scanner"
secret = "` + northSecret + `"
lanes = ["north-1"]
[[lanes]]
id = "north-1"
name = "North 1"
events = ["MATCH-2026-12-05"]
[[lanes]]
id = "south-1"
[[lanes]]
id = "exit-1"
direction = "out"
` + extra
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

// testLogger logs nothing unless ADMIT_TEST_LOG is set.
func testLogger() zerolog.Logger {
	if os.Getenv("ADMIT_TEST_LOG") != "" {
		return zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr}).With().Timestamp().Logger()
	}
	return zerolog.Nop()
}

// startDaemon runs the appliance in process on 127.0.0.1:0 and returns its
// base URL; it is closed when the test ends.
func startDaemon(t testing.TB, c *Config) (*Daemon, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d := &Daemon{Config: c, Logger: testLogger(), Listener: ln}
	if err := d.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := d.Close(ctx); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return d, "http://" + d.Addr().String()
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
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	case []byte:
		r = bytes.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		r = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, c.base+path, r)
	if err != nil {
		c.t.Fatal(err)
	}
	if secret != "" {
		req.Header.Set("Authorization", "Bearer "+secret)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, body: b, header: resp.Header}
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
