package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/importfile"
	"github.com/admitgate/admit/index"
)

// BenchmarkLaneScan measures what a turnstile lane adds to a decision, with
// the real index on disk: the index alone versus the same scan through a
// simulated turnstile lane as the daemon wires it (the API's path, and a
// scanner read's path), for unknown barcodes (no disk write) and first
// uses (a durable redemption, an unlock, and the passage that frees the
// lane). p50/p99/p99.9 from an HDR histogram of every operation.
//
//	go test -run '^$' -bench BenchmarkLaneScan -count 5 ./cmd/admit/
func BenchmarkLaneScan(b *testing.B) {
	ctx := context.Background()
	ix, err := index.Open(b.TempDir(), &index.Options{Logger: testLogger()})
	if err != nil {
		b.Fatal(err)
	}
	defer ix.Close()
	now := time.Now()
	if _, err := ix.PutProvider(ctx, gate.Provider{ID: "p"}); err != nil {
		b.Fatal(err)
	}
	if _, err := ix.PutEvent(ctx, gate.Event{ID: "E", OpensAt: now.Add(-time.Hour), ClosesAt: now.Add(24 * time.Hour)}); err != nil {
		b.Fatal(err)
	}
	const tickets = 200_000
	var file strings.Builder
	for i := range tickets {
		fmt.Fprintf(&file, "B%07d\n", i)
	}
	imp := importfile.NewService(ix, testLogger(), nil)
	if _, err := imp.Import(ctx, gate.ImportRequest{Provider: "p", Event: "E", PriceType: "ADU", Source: "bench", By: "bench"},
		strings.NewReader(file.String())); err != nil {
		b.Fatal(err)
	}
	c, err := parseLanes("[[lanes]]\nid = \"l1\"\n[lanes.relay]\ndriver = \"sim\"\nwalk_after = \"-1s\"\n[lanes.sensor]\ndriver = \"sim\"\n")
	if err != nil {
		b.Fatal(err)
	}
	r, err := newRig(c.Lanes, ix, prometheus.NewRegistry(), testLogger())
	if err != nil {
		b.Fatal(err)
	}
	if err := r.start(ctx); err != nil {
		b.Fatal(err)
	}
	defer r.stop()
	rl, sim := r.set.Lane("l1"), r.sims["l1"]
	<-sim.Passage.Watched()
	policy := gate.Lane{ID: "l1", Direction: gate.In}

	next := 0
	fresh := func(b *testing.B) string {
		if next >= tickets {
			b.Fatalf("more than %d first uses: lower -benchtime", tickets)
		}
		next++
		return fmt.Sprintf("B%07d", next-1)
	}
	run := func(b *testing.B, op func(i int)) {
		h := hdrhistogram.New(100, int64(time.Second), 3)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			t0 := time.Now()
			op(i)
			_ = h.RecordValue(int64(time.Since(t0)))
			i++
		}
		b.ReportMetric(float64(h.ValueAtQuantile(50))/1e3, "p50-µs")
		b.ReportMetric(float64(h.ValueAtQuantile(99))/1e3, "p99-µs")
		b.ReportMetric(float64(h.ValueAtQuantile(99.9))/1e3, "p99.9-µs")
	}
	admitted := func(b *testing.B, d gate.Decision) {
		if !d.Admit {
			b.Fatalf("not admitted: %+v", d)
		}
	}

	b.Run("unknown/index", func(b *testing.B) {
		run(b, func(i int) { ix.Scan(ctx, policy.Scan("NOPE", time.Now())) })
	})
	b.Run("unknown/lane", func(b *testing.B) {
		run(b, func(i int) { rl.Scan(ctx, policy.Scan("NOPE", time.Now())) })
	})
	b.Run("unknown/read", func(b *testing.B) {
		run(b, func(i int) { rl.Handle(ctx, gate.Read{Text: "NOPE", Source: "bench", At: time.Now()}) })
	})
	b.Run("first-use/index", func(b *testing.B) {
		run(b, func(i int) { admitted(b, ix.Scan(ctx, policy.Scan(fresh(b), time.Now()))) })
	})
	b.Run("first-use/lane+passage", func(b *testing.B) {
		run(b, func(i int) {
			admitted(b, rl.Scan(ctx, policy.Scan(fresh(b), time.Now())))
			sim.Pass()
		})
	})
}
