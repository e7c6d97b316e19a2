package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/admitgate/admit/internal/testkit"
	"github.com/admitgate/admit/venue"
)

// writeHubConfig writes a one-node hub configuration as an operator does,
// with password files beside it (relative paths), and returns its path.
func writeHubConfig(t *testing.T, extra string) string {
	t.Helper()
	dir := t.TempDir()
	for name, secret := range map[string]string{"admin": "hub-admin-secret-0123", "north": "hub-north-secret-0123", "door": "hub-door-secret-01234"} {
		if err := os.WriteFile(filepath.Join(dir, name+".password"), []byte(secret+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	src := testkit.Template(t, "testdata/daemon/hub.toml", map[string]any{"DataDir": filepath.Join(dir, "data"), "Extra": extra})
	path := filepath.Join(dir, "hub.toml")
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// runningHub runs admit hub in process and returns its client URL once it
// logged that it is ready.
type runningHub struct {
	url    string
	stderr *lockedBuffer
	hup    chan os.Signal
	cancel context.CancelFunc
	done   chan error
}

func startHubCmd(t *testing.T, path string) *runningHub {
	t.Helper()
	stderr := &lockedBuffer{}
	m := &Main{Stdout: &bytes.Buffer{}, Stderr: stderr, Getenv: func(string) string { return "" }}
	ctx, cancel := context.WithCancel(context.Background())
	r := &runningHub{stderr: stderr, hup: make(chan os.Signal, 1), cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- m.runHub(ctx, HubFlags{ConfigPath: path}, r.hup) }()
	t.Cleanup(func() { r.stop(t) })
	deadline := time.Now().Add(60 * time.Second)
	for r.url == "" {
		for _, line := range strings.Split(stderr.String(), "\n") {
			var ev map[string]any
			if json.Unmarshal([]byte(line), &ev) == nil && ev["message"] == "hub ready" {
				r.url, _ = ev["client_url"].(string)
			}
		}
		select {
		case err := <-r.done:
			t.Fatalf("admit hub stopped: %v\n%s", err, stderr)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("admit hub not ready within 60s:\n%s", stderr)
		}
	}
	return r
}

func (r *runningHub) stop(t *testing.T) error {
	r.cancel()
	select {
	case err, ok := <-r.done:
		if ok {
			close(r.done)
		}
		return err
	case <-time.After(60 * time.Second):
		t.Fatal("admit hub did not stop within 60s of TERM")
	}
	return nil
}

// TestHubCommand runs admit hub in process: it starts, init creates the
// buckets as admin, an appliance connects, HUP adds an appliance, a bad
// reload keeps the old configuration, and TERM stops it.
func TestHubCommand(t *testing.T) {
	path := writeHubConfig(t, "")
	r := startHubCmd(t, path)

	var out bytes.Buffer
	m := &Main{Stdout: &out, Stderr: &out, Getenv: func(string) string { return "" }}
	if err := m.Run(context.Background(), []string{"hub", "init", "-config", path, "-url", r.url}); err != nil {
		t.Fatalf("hub init: %v\n%s", err, out.String())
	}
	for _, want := range []string{"created kv admit_redemptions (1 replicas)", "created stream admit_changes (1 replicas)",
		"created object store admit_files (1 replicas)"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("hub init said:\n%s\nwant %q", out.String(), want)
		}
	}
	out.Reset()
	if err := m.Run(context.Background(), []string{"hub", "init", "-config", path, "-url", r.url}); err != nil ||
		!strings.Contains(out.String(), "ok kv admit_redemptions") {
		t.Fatalf("hub init again: %v\n%s", err, out.String())
	}

	dir := filepath.Dir(path)
	// link opens appliance id's link and waits up to wait for it to come
	// up (a refused password is retried for ever, so "not up" is a wait).
	link := func(id string, wait time.Duration) error {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		l, err := venue.Open(ctx, venue.LinkConfig{Appliance: id, URLs: []string{r.url}, PasswordFile: filepath.Join(dir, id+".password"),
			Layout: venue.Layout{Replicas: 1}, ConnectTimeout: wait, ReconnectWait: 20 * time.Millisecond}, testLogger())
		if err != nil {
			return err
		}
		defer l.Close()
		wctx, wcancel := context.WithTimeout(ctx, wait)
		defer wcancel()
		return l.WaitUp(wctx)
	}
	if err := link("north", 20*time.Second); err != nil {
		t.Fatalf("north: %v", err)
	}
	if err := link("door", time.Second); err == nil {
		t.Fatal("door came up before it was configured")
	}

	// HUP with door added: door connects.
	src, _ := os.ReadFile(path)
	os.WriteFile(path, append(src, []byte("\n[[hub.appliances]]\nid = \"door\"\npassword_file = \"door.password\"\n")...), 0o600)
	r.hup <- syscall.SIGHUP
	eventually(t, 30*time.Second, "door connects after the reload", func() bool { return link("door", 5*time.Second) == nil })

	// A reload of a broken file is refused; the node goes on.
	os.WriteFile(path, []byte("[hub]\nname = \"hub1\"\nsurprise = 1\n"), 0o600)
	r.hup <- syscall.SIGHUP
	eventually(t, 30*time.Second, "the refusal is logged", func() bool {
		return strings.Contains(r.stderr.String(), "the new configuration is refused")
	})
	if err := link("north", 20*time.Second); err != nil {
		t.Fatalf("north after a refused reload: %v", err)
	}
	if err := r.stop(t); err != nil {
		t.Fatalf("admit hub at TERM: %v", err)
	}
	if !strings.Contains(r.stderr.String(), `"hub stopped"`) {
		t.Fatalf("no clean stop in the log:\n%s", r.stderr)
	}
	for _, secret := range []string{"hub-admin-secret", "hub-north-secret", "hub-door-secret"} {
		if strings.Contains(r.stderr.String(), secret) {
			t.Fatalf("the log holds a password")
		}
	}
}

// TestHubPrintAndCheck: -print-nats-config prints what a stock nats-server
// runs, and check-config recognises a hub configuration and checks it.
func TestHubPrintAndCheck(t *testing.T) {
	path := writeHubConfig(t, `[hub.cluster]
listen = "127.0.0.1:6222"
routes = ["nats-route://10.1.0.2:6222", "nats-route://10.1.0.3:6222"]
`)
	var out, errs bytes.Buffer
	m := &Main{Stdout: &out, Stderr: &errs, Getenv: func(string) string { return "" }}
	if err := m.Run(context.Background(), []string{"hub", "-config", path, "-print-nats-config"}); err != nil {
		t.Fatalf("print: %v", err)
	}
	for _, want := range []string{`server_name: "hub1"`, "sync_interval: always", "no_advertise: true",
		`"nats-route://10.1.0.3:6222"`, `user: "north"`, `"admit.changes.north"`} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("nats config lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "hub-north-secret") {
		t.Fatal("the printed configuration holds a password")
	}

	out.Reset()
	if err := m.Run(context.Background(), []string{"check-config", path}); err != nil {
		t.Fatalf("check-config: %v", err)
	}
	for _, want := range []string{"ok: hub node hub1", "cluster admit, 2 routes (buckets of 3 replicas)", "1 appliances: north"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("check-config said:\n%s\nwant %q", out.String(), want)
		}
	}

	for _, tc := range []struct{ name, src, want string }{
		{"unknown key", "[hub]\nname = \"h\"\nlisten_addr = \"x\"\n", `line 3: unknown key "hub.listen_addr"`},
		{"bad appliance", "[hub]\nname = \"h\"\n[hub.admin]\npassword_file = \"a\"\n[[hub.appliances]]\nid = \"a.b\"\npassword_file = \"p\"\n",
			`appliance id "a.b"`},
		{"no name", "[hub]\n[hub.admin]\npassword_file = \"a\"\n", "name is empty"},
		{"missing password file", "[hub]\nname = \"h\"\n[hub.admin]\npassword_file = \"nowhere\"\n", "no such file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "hub.toml")
			os.WriteFile(p, []byte(tc.src), 0o600)
			err := m.Run(context.Background(), []string{"check-config", p})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("check-config: %v, want %q", err, tc.want)
			}
		})
	}
	// An appliance's configuration is still checked as one.
	p := filepath.Join(t.TempDir(), "admit.toml")
	os.WriteFile(p, []byte("data_dir = \"/tmp/x\"\n"), 0o600)
	if err := m.Run(context.Background(), []string{"check-config", p}); err == nil || !strings.Contains(err.Error(), "no [[tokens]]") {
		t.Fatalf("an appliance config: %v", err)
	}
	if err := m.Run(context.Background(), []string{"hub"}); !errors.As(err, new(*exitError)) {
		t.Fatalf("hub without -config: %v", err)
	}
}

func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	testkit.WaitFor(t, d, what, cond)
}

// TestHubExampleConfig: deploy/hub.example.toml, with its password files
// beside it, passes check-config.
func TestHubExampleConfig(t *testing.T) {
	src, err := os.ReadFile("../../deploy/hub.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "hub.toml")
	os.WriteFile(path, src, 0o600)
	for _, u := range []string{"admin", "north", "south", "door"} {
		os.WriteFile(filepath.Join(dir, u+".password"), []byte("example-secret-"+u+"-0123456789\n"), 0o600)
	}
	var out bytes.Buffer
	m := &Main{Stdout: &out, Stderr: &out, Getenv: func(string) string { return "" }}
	if err := m.Run(context.Background(), []string{"check-config", path}); err != nil {
		t.Fatalf("check-config of the example: %v", err)
	}
	if !strings.Contains(out.String(), "3 appliances: north south door") {
		t.Fatalf("check-config said:\n%s", out.String())
	}
}
