package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/admitgate/admit/index"
)

func TestVersionCommand(t *testing.T) {
	run := func(args ...string) (string, int) {
		var out, errb bytes.Buffer
		m := &Main{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }}
		code := exitCode(m.Run(t.Context(), args), &errb)
		return out.String() + errb.String(), code
	}
	out, code := run("version")
	if code != 0 {
		t.Fatalf("admit version: exit %d\n%s", code, out)
	}
	// A test binary carries the modules it was built with: Pebble's
	// version is the one go.mod requires, never "unknown".
	for _, want := range []string{"admit " + version + "\n", "go       " + runtime.Version(), "pebble   v2.", fmt.Sprintf("store    format %d", index.StoreFormat)} {
		if !strings.Contains(out, want) {
			t.Errorf("admit version printed\n%s\nwant %q in it", out, want)
		}
	}
	out, code = run("version", "-json")
	if code != 0 {
		t.Fatalf("admit version -json: exit %d\n%s", code, out)
	}
	var b BuildInfo
	if err := json.Unmarshal([]byte(out), &b); err != nil {
		t.Fatalf("admit version -json: %v\n%s", err, out)
	}
	if b.Version != version || b.GoVersion != runtime.Version() || !strings.HasPrefix(b.Pebble, "v2.") || b.Commit == "" {
		t.Errorf("admit version -json = %+v", b)
	}
	if _, code := run("version", "extra"); code != 2 {
		t.Errorf("admit version extra: exit %d, want 2", code)
	}
}

// The link flags the Makefile sets win over the VCS stamp.
func TestBuildInfoFromLinkFlags(t *testing.T) {
	defer func(v, c, d string) { version, commit, date = v, c, d }(version, commit, date)
	version, commit, date = "v0.9.1", "0123456789abcdef", "2026-12-07T19:00:00Z"
	b := buildInfo()
	if b.Version != "v0.9.1" || b.Commit != "0123456789abcdef" || b.Date != "2026-12-07T19:00:00Z" {
		t.Errorf("buildInfo = %+v", b)
	}
}
