package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/admitgate/admit/internal/samples"
)

// The command-line tools against a running daemon, as a door or a script
// uses them.
func TestToolsAgainstTheDaemon(t *testing.T) {
	now := time.Now()
	c := testConfig(t, "")
	c.Providers = []ProviderConfig{{ID: "secutix-main"}}
	c.Events = []EventConfig{
		{ID: "MATCH-2026-12-05", OpensAt: now.Add(-time.Hour), ClosesAt: now.Add(time.Hour)},
		{ID: "MATCH-2026-12-19", OpensAt: now.Add(24 * time.Hour)},
	}
	_, base := startDaemon(t, c)
	env := map[string]string{"ADMIT_URL": base, "ADMIT_TOKEN": adminSecret}
	run := func(stdin string, args ...string) (string, int) {
		var out bytes.Buffer
		m := &Main{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &out, Getenv: func(k string) string { return env[k] }}
		code := exitCode(m.Run(t.Context(), args), &out)
		return out.String(), code
	}
	file := filepath.Join(t.TempDir(), "secutix.csv")
	b, _ := samples.Read(samples.Secutix)
	if err := os.WriteFile(file, b, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		stdin string
		args  []string
		code  int
		want  string
	}{
		{"", []string{"import", "-provider", "secutix-main", "-dry-run", file}, 0, "dry run, nothing changed (import 0, secutix): 40 lines, 40 added"},
		{"", []string{"import", "-provider", "secutix-main", file}, 0, "secutix.csv: imported"},
		{"", []string{"import", "-provider", "secutix-main", file}, 0, "40 unchanged"},
		{"GOOD-1\nBAD\x01\n", []string{"import", "-provider", "secutix-main", "-event", "MATCH-2026-12-05", "-format", "lines", "-"}, 3, "line 2: control_character"},
		{"", []string{"import", "-provider", "nobody", file}, 1, `no provider "nobody"; create it first with PUT /v1/providers/nobody, or import with create_provider=true (admit import -create-provider)`},
		{"", []string{"import", "-provider", "nobody", "-create-provider", file}, 3, "REJECTED"}, // another provider's barcodes
		{"", []string{"scan", "-lane", "north-1", "9836900602677354"}, 0, "ADMIT ok event=MATCH-2026-12-05 secutix-main/ADU (Adult)"},
		{"", []string{"scan", "-lane", "north-1", "9836900602677354"}, 3, "DENY  already_used"},
		{"", []string{"scan", "-lane", "south-1", "6848745268596938"}, 3, "not_yet_valid"},
		{"", []string{"scan", "-lane", "south-1", "-check", "5119641341163397"}, 0, "ADMIT ok"},
		{"", []string{"scan", "-lane", "south-1", "-json", "nope"}, 3, `"reason": "unknown"`},
		{"", []string{"scan", "-lane", "west-9", "nope"}, 1, "400 invalid: unknown lane"},
		{"", []string{"scan", "-lane", "south-1", "-url", "http://127.0.0.1:1", "x"}, 1, "connection refused"},
	}
	for _, tt := range tests {
		out, code := run(tt.stdin, tt.args...)
		if code != tt.code || !strings.Contains(out, tt.want) {
			t.Errorf("admit %q: exit %d\n%s\nwant exit %d and %q", tt.args, code, out, tt.code, tt.want)
		}
	}
	env["ADMIT_TOKEN"] = viewerSecret
	if out, code := run("", "scan", "-lane", "north-1", "x"); code != 1 || !strings.Contains(out, "403 forbidden") {
		t.Errorf("viewer scan: %d %s", code, out)
	}
}
