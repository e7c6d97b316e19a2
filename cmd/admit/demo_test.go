package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/internal/testkit"
)

// lockedBuffer is a bytes.Buffer for a daemon's output read while it runs.
type lockedBuffer = testkit.Buffer

// demoRun is `admit serve` without a config, in process.
type demoRun struct {
	out, log lockedBuffer
	stop     context.CancelFunc
	done     chan error
	url      string
	admin    string
}

var (
	bannerURL   = regexp.MustCompile(`admit demo is running on (http://\S+)`)
	bannerAdmin = regexp.MustCompile(`(?m)^  admin +(\S+)$`)
)

// startDemo runs the demo on dir and waits for its banner; a demo that
// fails to start returns with done closed and the error in it.
func startDemo(t *testing.T, dir string, args ...string) *demoRun {
	t.Helper()
	r := &demoRun{done: make(chan error, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	r.stop = cancel
	m := &Main{Stdin: strings.NewReader(""), Stdout: &r.out, Stderr: &r.log, Getenv: func(k string) string {
		if k == "ADMIT_DEMO_DIR" {
			return dir
		}
		return ""
	}}
	go func() { r.done <- m.Run(ctx, append([]string{"serve", "-listen", "127.0.0.1:0"}, args...)) }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if u := bannerURL.FindStringSubmatch(r.out.String()); u != nil {
			r.url = u[1]
			r.admin = bannerAdmin.FindStringSubmatch(r.out.String())[1]
			t.Cleanup(func() { r.close(t) })
			return r
		}
		select {
		case err := <-r.done:
			cancel()
			r.done <- err
			return r
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("no banner within 60s\n%s\n%s", r.out.String(), r.log.String())
		}
	}
}

func (r *demoRun) close(t *testing.T) {
	r.stop()
	select {
	case err := <-r.done:
		if err != nil {
			t.Errorf("demo stopped with %v", err)
		}
		r.done <- nil
	case <-time.After(30 * time.Second):
		t.Fatal("the demo did not stop within 30s")
	}
}

func (r *demoRun) scan(t *testing.T, barcode string) gate.Reason {
	t.Helper()
	var d gate.Decision
	apiClient{t, r.url}.must(200, "POST", "/v1/scan", r.admin,
		map[string]string{"barcode": barcode, "lane": demoDoor}).decode(t, &d)
	return d.Reason
}

// The demo keeps its data between runs and says so, -demo-reset starts it
// afresh, and neither a reset nor a second demo touches a running one's
// data directory.
func TestDemoStateAndReset(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")

	first := startDemo(t, dir)
	if got := first.scan(t, demoBarcodeOK); got != gate.ReasonOK {
		t.Fatalf("first run: %s, want ok", got)
	}
	for _, want := range []string{"Data in " + dir + "\n", "is new and is kept between runs"} {
		if !strings.Contains(first.out.String(), want) {
			t.Errorf("first banner lacks %q:\n%s", want, first.out.String())
		}
	}
	// A second demo and a reset while it runs are refused by name.
	held := fmt.Sprintf("another admit (pid %d) holds the data directory %s", os.Getpid(), dir)
	for _, args := range [][]string{nil, {"-demo-reset"}} {
		r := startDemo(t, dir, args...)
		if err := <-r.done; err == nil || !strings.Contains(err.Error(), held) {
			t.Errorf("demo %v beside a running one: %v, want %q", args, err, held)
		}
	}
	first.close(t)

	second := startDemo(t, dir)
	if !strings.Contains(second.out.String(), "kept from an earlier run") || !strings.Contains(second.out.String(), "admit serve -demo-reset") {
		t.Errorf("second banner does not say the data is kept:\n%s", second.out.String())
	}
	if got := second.scan(t, demoBarcodeOK); got != gate.ReasonAlreadyUsed {
		t.Fatalf("second run: %s, want already_used", got)
	}
	second.close(t)

	third := startDemo(t, dir, "-demo-reset")
	if !strings.Contains(third.out.String(), "was deleted (-demo-reset)") {
		t.Errorf("reset banner:\n%s", third.out.String())
	}
	if got := third.scan(t, demoBarcodeOK); got != gate.ReasonOK {
		t.Fatalf("after -demo-reset: %s, want ok", got)
	}
}

// -demo-reset deletes only the demo's own directory: never one named by a
// configuration or -data-dir, never one the demo did not make.
func TestDemoResetRefusesOtherData(t *testing.T) {
	for _, args := range [][]string{{"-demo-reset", "-config", "x.toml"}, {"-demo-reset", "-data-dir", t.TempDir()}} {
		var out bytes.Buffer
		m := &Main{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &out, Getenv: func(string) string { return "" }}
		if code := exitCode(m.Run(t.Context(), append([]string{"serve"}, args...)), &out); code != 2 ||
			!strings.Contains(out.String(), "demo's own data directory only") {
			t.Errorf("serve %v: exit %d %s", args, code, out.String())
		}
	}
	// ADMIT_DEMO_DIR naming a store the demo did not make.
	dir := t.TempDir()
	keep := filepath.Join(dir, "db")
	if err := os.Mkdir(keep, 0o700); err != nil {
		t.Fatal(err)
	}
	r := startDemo(t, dir, "-demo-reset")
	if err := <-r.done; err == nil || !strings.Contains(err.Error(), "does not hold the demo's data") {
		t.Errorf("-demo-reset on a foreign directory: %v", err)
	}
	if _, err := os.Stat(keep); err != nil {
		t.Errorf("the foreign directory lost its content: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, demoMarker)); err == nil {
		t.Error("the demo marked a directory it did not make as its own")
	}
}
