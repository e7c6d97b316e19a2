package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// A second daemon on the data directory of a running one is refused by
// name, before it listens or touches the store; once the first stops, the
// directory is free.
func TestSecondDaemonOnTheDataDir(t *testing.T) {
	c := testConfig(t, "")
	first, base := startDaemon(t, c)

	second := &Daemon{Config: c, Logger: testLogger()}
	second.Config.HTTP.Listen = "127.0.0.1:0"
	err := second.Open(context.Background())
	var held *dataDirHeldError
	if !errors.As(err, &held) || held.Pid != os.Getpid() || held.Dir != c.DataDir {
		t.Fatalf("second Open = %v, want another admit (pid %d) holds %s", err, os.Getpid(), c.DataDir)
	}
	want := fmt.Sprintf("another admit (pid %d) holds the data directory %s", os.Getpid(), c.DataDir)
	if got := prefixed(err); got != "admit: "+want {
		t.Errorf("message %q, want %q", got, "admit: "+want)
	}
	// The first one is untouched.
	apiClient{t, base}.must(200, "GET", "/v1/lanes", adminSecret, nil)

	if err := first.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	third := &Daemon{Config: c, Logger: testLogger()}
	if err := third.Open(context.Background()); err != nil {
		t.Fatalf("Open after the first closed: %v", err)
	}
	if err := third.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// Two processes: admit serve in a child process (this test binary, see
// TestHelperServe) is refused while this process holds the directory, and
// says which pid holds it.
func TestSecondProcessOnTheDataDir(t *testing.T) {
	dir := t.TempDir()
	lock, err := lockDataDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	cfg, _ := writeConfig(t, "minimal.toml", dir, dir, "127.0.0.1:0")
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestHelperServe$")
	cmd.Env = append(os.Environ(), "ADMIT_HELPER_SERVE="+cfg)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("admit serve on a held directory: %v, want exit 1\n%s", err, out)
	}
	want := fmt.Sprintf("admit: another admit (pid %d) holds the data directory %s\n", os.Getpid(), dir)
	if !strings.Contains(string(out), want) {
		t.Errorf("admit serve printed\n%s\nwant %q", out, want)
	}
}

// TestHelperServe is admit serve for TestSecondProcessOnTheDataDir: it runs
// only in the child, where the environment names the config.
func TestHelperServe(t *testing.T) {
	cfg := os.Getenv("ADMIT_HELPER_SERVE")
	if cfg == "" {
		t.Skip("runs as the child process of TestSecondProcessOnTheDataDir")
	}
	m := &Main{Stdin: strings.NewReader(""), Stdout: os.Stdout, Stderr: os.Stderr, Getenv: func(string) string { return "" }}
	os.Exit(exitCode(m.Run(context.Background(), []string{"serve", "-config", cfg, "-log-level", "error"}), os.Stderr))
}
