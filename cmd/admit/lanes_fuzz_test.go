package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/admitgate/admit/gate/gatetest"
)

// FuzzLaneConfig feeds [[lanes]] sections to the parser and the validator:
// nothing panics, and every lane list that validates builds its rig (the
// drivers, without touching a device) and describes itself. Seeds are the
// files in testdata/lanes and the example configuration.
//
//	go test -run '^$' -fuzz FuzzLaneConfig -fuzztime 1m ./cmd/admit/
func FuzzLaneConfig(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/lanes/*.toml")
	seeds = append(seeds, "../../deploy/admit.example.toml")
	for _, p := range seeds {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		src := string(b)
		if i := strings.Index(src, "[[lanes]]"); i >= 0 { // the example's lanes only
			src = src[i:]
			if j := strings.Index(src, "[[drop_folders]]"); j >= 0 {
				src = src[:j]
			}
		}
		f.Add(src)
	}
	f.Fuzz(func(t *testing.T, src string) {
		c, err := ParseConfig(strings.NewReader(laneToken + src))
		if err != nil {
			return
		}
		if err := c.Validate(); err != nil {
			if err.Error() == "" {
				t.Fatal("a refusal without a message")
			}
			return
		}
		r, err := newRig(c.Lanes, &gatetest.Index{}, prometheus.NewRegistry(), zerolog.Nop())
		if err != nil {
			t.Fatalf("a valid lane list does not build: %v\n%s", err, src)
		}
		for i := range c.Lanes {
			if c.Lanes[i].describe() == "" || c.Lanes[i].hardwareKey() == "" {
				t.Fatalf("lane %d does not describe itself", i)
			}
		}
		if infos, apply, _ := r.plan(c.Lanes); len(infos) != len(c.Lanes) {
			t.Fatalf("plan serves %d lanes of %d", len(infos), len(c.Lanes))
		} else {
			apply()
		}
		if err := r.stop(); err != nil {
			t.Fatalf("stop: %v", err)
		}
	})
}
