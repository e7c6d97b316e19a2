package main

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/httpapi/httpapitest"
)

// benchFixture is a daemon with fresh (never scanned) and used tickets.
type benchFixture struct {
	d     *Daemon
	addr  string
	fresh []string
	used  []string
}

func newBenchFixture(b *testing.B, fresh, used int) *benchFixture {
	b.Helper()
	c := testConfig(b, "")
	now := time.Now()
	c.Events = []EventConfig{{ID: "BENCH", Name: "Bench", OpensAt: now.Add(-time.Hour), ClosesAt: now.Add(24 * time.Hour)}}
	c.Providers = []ProviderConfig{{ID: "bench"}}
	d, base := startDaemon(b, c)
	f := &benchFixture{d: d, addr: strings.TrimPrefix(base, "http://")}
	tickets := make([]gate.Ticket, 0, fresh+used)
	for i := range fresh + used {
		bc := fmt.Sprintf("BENCH-%08d", i)
		tickets = append(tickets, gate.Ticket{Barcode: bc, Provider: "bench", Events: []string{"BENCH"}, State: gate.StateValid,
			PriceType: gate.Code{Code: "ADU", Name: "Adult"}})
		if i < fresh {
			f.fresh = append(f.fresh, bc)
		} else {
			f.used = append(f.used, bc)
		}
	}
	ctx := context.Background()
	if _, err := d.Index().Load(ctx, gate.ImportRequest{Provider: "bench", Source: "bench", By: "bench"}, gate.Lines(tickets...)); err != nil {
		b.Fatal(err)
	}
	lane := gate.Lane{ID: "north-1", Direction: gate.In}
	for _, bc := range f.used {
		if dec := d.Index().Scan(ctx, lane.Scan(bc, time.Now())); dec.Reason != gate.ReasonOK {
			b.Fatalf("fixture scan of %s: %s", bc, dec.Reason)
		}
	}
	return f
}

// BenchmarkScanHTTP is the HTTP benchmark: POST /v1/scan over
// loopback keep-alive connections against the real daemon and its durable
// index, with 70% first use, 20% unknown and 10% already used, beside a
// trivial fasthttp handler at the same connection count in the same run.
// Run it with a fixed count so the fresh tickets last:
//
//	go test -run '^$' -bench ScanHTTP -benchtime 20000x ./cmd/admit
func BenchmarkScanHTTP(b *testing.B) {
	f := newBenchFixture(b, 200_000, 2_000)
	mix := httpapitest.NewScanMix("north-1", f.fresh, f.used)
	tln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	trivial := httpapitest.ServeTrivial(tln)
	defer trivial.Shutdown()
	ok := func(r *fasthttp.Response) error {
		if r.StatusCode() != 200 {
			return fmt.Errorf("status %d: %s", r.StatusCode(), r.Body())
		}
		return nil
	}
	for _, conns := range []int{8, 64} {
		b.Run(fmt.Sprintf("conns=%d", conns), func(b *testing.B) {
			n := int64(max(b.N, conns))
			tr, err := httpapitest.Run(context.Background(), httpapitest.LoadConfig{Addr: tln.Addr().String(), Conns: conns, Requests: n,
				Request: httpapitest.PostJSON("x", "/v1/scan", "", mix.Body)})
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			res, err := httpapitest.Run(context.Background(), httpapitest.LoadConfig{Addr: f.addr, Conns: conns, Requests: n,
				Request: httpapitest.PostJSON("x", "/v1/scan", scannerSecret, mix.Body), Check: ok})
			if err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			for _, r := range []struct {
				p string
				l *httpapitest.LoadResult
			}{{"scan-", res}, {"trivial-", tr}} {
				b.ReportMetric(r.l.PerSecond(), r.p+"req/s")
				b.ReportMetric(float64(r.l.Quantile(0.5).Microseconds()), r.p+"p50-µs")
				b.ReportMetric(float64(r.l.Quantile(0.99).Microseconds()), r.p+"p99-µs")
				b.ReportMetric(float64(r.l.Quantile(0.999).Microseconds()), r.p+"p99.9-µs")
			}
			b.ReportMetric(100*res.PerSecond()/tr.PerSecond(), "%-of-trivial")
			if res.Errors > 0 {
				b.Fatalf("%d errors, first: %v", res.Errors, res.FirstErr)
			}
			if mix.FreshUsed() == len(f.fresh) {
				b.Logf("the %d fresh tickets ran out; later first uses were already-used scans", len(f.fresh))
			}
		})
	}
}
