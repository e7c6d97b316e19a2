package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestHelpShowsNoSecret is issue 20: "admit scan -h" with ADMIT_TOKEN set
// printed the token as the flag's default. No tool's help, nor any of its
// usage errors, shows a secret from the environment.
func TestHelpShowsNoSecret(t *testing.T) {
	const secret = "env-secret-do-not-show-0123"
	env := map[string]string{"ADMIT_TOKEN": secret, "ADMIT_URL": "http://127.0.0.1:1", "ADMIT_LANE": "north-1"}
	for _, args := range [][]string{
		{"scan", "-h"}, {"import", "-h"}, {"bench", "-h"}, {"serve", "-h"}, {"check-config", "-h"}, {"devices", "-h"},
		{"scan"}, {"import", "f.csv"}, {"bench", "-target", "http://127.0.0.1:1", "extra"}, {"help"},
	} {
		var out, errb bytes.Buffer
		m := &Main{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return env[k] }}
		code := exitCode(m.Run(t.Context(), args), &errb)
		if got := out.String() + errb.String(); strings.Contains(got, secret) {
			t.Errorf("admit %v (exit %d) shows the token:\n%s", args, code, got)
		}
	}
}
