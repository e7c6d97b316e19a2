package main

import "testing"

func TestServeProcs(t *testing.T) {
	for _, tt := range []struct {
		env       string
		goDefault int
		want      int
	}{
		{"", 1, 2},
		{"", 2, 4},
		{"", 16, 32},
		{"3", 3, 3}, // set in the environment: Go applied it, serve keeps it
	} {
		getenv := func(k string) string {
			if k == "GOMAXPROCS" {
				return tt.env
			}
			return ""
		}
		if got := serveProcs(getenv, tt.goDefault); got != tt.want {
			t.Errorf("GOMAXPROCS=%q, Go's default %d: %d, want %d", tt.env, tt.goDefault, got, tt.want)
		}
	}
}
