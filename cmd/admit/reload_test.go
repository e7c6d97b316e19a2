package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// within runs f and fails t if it has not returned after d: what a test of
// a bound must do when the code under test does not hold it.
func within(t *testing.T, d time.Duration, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("%s did not return within %s", what, d)
	}
}

// TestReadConfigFileIsBounded is issue 21, item 6: a configuration file, or
// a secret file it names, that is not a regular file or is too large is
// refused at once with words, and never blocks (a FIFO once blocked the
// reader until a writer came).
func TestReadConfigFileIsBounded(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "admit.toml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big.toml")
	if err := os.WriteFile(big, bytes.Repeat([]byte("# padding\n"), maxConfigSize/10+1), 0o600); err != nil {
		t.Fatal(err)
	}
	secretFIFO := filepath.Join(dir, "secret")
	if err := syscall.Mkfifo(secretFIFO, 0o600); err != nil {
		t.Fatal(err)
	}
	withSecret := filepath.Join(dir, "secret.toml")
	if err := os.WriteFile(withSecret, []byte("[[tokens]]\nname = \"ops\"\nrole = \"admin\"\nsecret_file = \"secret\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	bigSecret := filepath.Join(dir, "bigsecret")
	if err := os.WriteFile(bigSecret, bytes.Repeat([]byte("s"), maxSecretSize+1), 0o600); err != nil {
		t.Fatal(err)
	}
	withBigSecret := filepath.Join(dir, "bigsecret.toml")
	if err := os.WriteFile(withBigSecret, []byte("[[tokens]]\nname = \"ops\"\nrole = \"admin\"\nsecret_file = \"bigsecret\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ path, want string }{
		{fifo, "is not a regular file but a named pipe (FIFO)"},
		{dir, "is not a regular file but a directory"},
		{"/dev/zero", "is not a regular file but a character device"},
		{big, "is over 4 MiB"},
		{withSecret, "tokens[0].secret_file: " + secretFIFO + " is not a regular file"},
		{withBigSecret, "is over 64 KiB"},
	}
	for _, tt := range tests {
		within(t, 10*time.Second, "ReadConfigFile("+tt.path+")", func() {
			_, err := ReadConfigFile(tt.path)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("%s: %v, want %q", tt.path, err, tt.want)
			}
		})
	}
	if _, err := ParseConfig(bytes.NewReader(bytes.Repeat([]byte("#\n"), maxConfigSize))); err == nil || !strings.Contains(err.Error(), "over 4 MiB") {
		t.Errorf("a configuration over the limit: %v", err)
	}
	// A read that does not return (a file on a hung mount) is given up
	// after the timeout, or when the context ends.
	hung := make(chan struct{})
	defer close(hung)
	read := func() ([]byte, error) { <-hung; return nil, nil }
	within(t, 10*time.Second, "a hung read with a timeout", func() {
		if _, err := readWithin(t.Context(), 50*time.Millisecond, "admit.toml", read); err == nil || !strings.Contains(err.Error(), "not read within 50ms") {
			t.Errorf("a hung read: %v", err)
		}
	})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	within(t, 10*time.Second, "a hung read as its context ends", func() {
		if _, err := readWithin(ctx, time.Hour, "admit.toml", read); err == nil || !strings.Contains(err.Error(), "canceled") {
			t.Errorf("a hung read, cancelled: %v", err)
		}
	})
}

// TestReloadHoldsTheRulesOfTheStart is issue 21, item 5: an emptied
// configuration file was reloaded as "configuration reloaded tokens=0",
// and every /v1 call was 401 after. A reload refuses what the start and
// check-config refuse, and keeps the old configuration.
func TestReloadHoldsTheRulesOfTheStart(t *testing.T) {
	d, base := startDaemon(t, testConfig(t, ""))
	api := apiClient{t, base}
	empty, err := ParseConfig(strings.NewReader(""))
	if err != nil {
		t.Fatal(err)
	}
	empty.DataDir = d.cfg.DataDir
	if err := d.Reload(t.Context(), empty); err == nil || !strings.Contains(err.Error(), "no [[tokens]]") {
		t.Fatalf("reloading a configuration without tokens: %v", err)
	}
	api.must(200, "GET", "/v1/events", adminSecret, nil)
}

// TestReloaderFoldsSIGHUPs: reloads run one at a time off the signal loop,
// and SIGHUPs that come during one fold into a single reload after it.
func TestReloaderFoldsSIGHUPs(t *testing.T) {
	var runs atomic.Int32
	started, release := make(chan struct{}, 8), make(chan struct{})
	r := &reloader{kick: make(chan struct{}, 1), log: testLogger(), reload: func(ctx context.Context) error {
		runs.Add(1)
		started <- struct{}{}
		<-release
		return nil
	}}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { r.run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	r.request()
	<-started // the first reload runs and waits
	within(t, 5*time.Second, "requests during a reload", func() {
		for range 5 {
			r.request()
		}
	})
	release <- struct{}{}
	<-started // one more, for the five
	release <- struct{}{}
	r.request() // and one for a SIGHUP after them
	<-started
	release <- struct{}{}
	if n := runs.Load(); n != 3 {
		t.Errorf("%d reloads, want 3", n)
	}
	select {
	case <-started:
		t.Error("a fourth reload ran")
	case <-time.After(50 * time.Millisecond):
	}
}

// TestSIGHUPIsBoundedAndOffTheSignalLoop is issue 21, items 5 and 6, on the
// real binary: an emptied configuration is refused on SIGHUP (the old tokens
// keep working); a configuration replaced by a FIFO is refused at once,
// where it once blocked the signal loop for good; and SIGTERM still stops
// the daemon.
func TestSIGHUPIsBoundedAndOffTheSignalLoop(t *testing.T) {
	bin := buildAdmit(t)
	dir := t.TempDir()
	addr := freeAddr(t)
	base := "http://" + addr
	config, src := writeConfig(t, "minimal.toml", dir, filepath.Join(dir, "data"), addr)
	cmd := exec.Command(bin, "serve", "-config", config, "-log-format", "json")
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	api := apiClient{t, base}
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); !ok(); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not after 30s; the daemon wrote:\n%s", what, stderr.String())
			}
		}
	}
	waitFor("ready", func() bool {
		resp, err := httpClient.Get(base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	hup := func() {
		t.Helper()
		if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
	}

	// An emptied file: refused with check-config's words.
	if err := os.WriteFile(config, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	hup()
	waitFor("the empty file refused", func() bool { return strings.Contains(stderr.String(), "no [[tokens]]") })
	api.must(200, "GET", "/v1/events", adminSecret, nil)
	if strings.Contains(stderr.String(), "configuration reloaded") {
		t.Errorf("the empty file was reloaded:\n%s", stderr.String())
	}

	// A FIFO: refused at once, and the signals after it still work.
	if err := os.Remove(config); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(config, 0o600); err != nil {
		t.Fatal(err)
	}
	hup()
	hup()
	waitFor("the FIFO refused", func() bool { return strings.Contains(stderr.String(), "is not a regular file") })
	api.must(200, "GET", "/v1/events", adminSecret, nil)

	// The file back, with a second token: the next SIGHUP reloads it.
	if err := os.Remove(config); err != nil {
		t.Fatal(err)
	}
	src += fmt.Sprintf("[[tokens]]\nname = \"board\"\nrole = \"viewer\"\nsecret = %q\n", viewerSecret)
	if err := os.WriteFile(config, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	hup()
	waitFor("the good file reloaded", func() bool { return api.do("GET", "/v1/events", viewerSecret, nil).status == 200 })

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		exited <- err // for the cleanup
		if err != nil {
			t.Errorf("SIGTERM: %v\n%s", err, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("SIGTERM did not stop the daemon within 30s:\n%s", stderr.String())
	}
}
