package httpapi_test

import (
	"context"
	"fmt"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/gate/gatetest"
	"github.com/admitgate/admit/httpapi"
	"github.com/admitgate/admit/httpapi/httpapitest"
)

// reportLoad reports a run's throughput and latency quantiles.
func reportLoad(b *testing.B, prefix string, r *httpapitest.LoadResult) {
	b.ReportMetric(r.PerSecond(), prefix+"req/s")
	b.ReportMetric(float64(r.Quantile(0.5).Microseconds()), prefix+"p50-µs")
	b.ReportMetric(float64(r.Quantile(0.99).Microseconds()), prefix+"p99-µs")
	b.ReportMetric(float64(r.Quantile(0.999).Microseconds()), prefix+"p99.9-µs")
	if r.Errors > 0 {
		b.Fatalf("%s%d errors, first: %v", prefix, r.Errors, r.FirstErr)
	}
}

// BenchmarkScanOverhead measures what the API adds around a decision: POST
// /v1/scan over loopback keep-alive connections against an index that
// answers at once, beside a trivial fasthttp handler in the same run. The
// durable figures (a real index) are in cmd/admit's BenchmarkScanHTTP.
func BenchmarkScanOverhead(b *testing.B) {
	idx := &gatetest.Index{ScanFunc: func(_ context.Context, s gate.Scan) gate.Decision {
		d := s.Refusal(gate.ReasonUnknown, "")
		d.Seq = 1
		return d
	}}
	auth, _ := httpapi.NewAuth(testTokens)
	srv, err := httpapi.New(httpapi.Config{Index: idx, Auth: auth, Lanes: testLanes})
	if err != nil {
		b.Fatal(err)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	go func() { _ = srv.Serve(ln) }()
	defer srv.Shutdown(context.Background())
	tln, _ := net.Listen("tcp", "127.0.0.1:0")
	trivial := httpapitest.ServeTrivial(tln)
	defer trivial.Shutdown()

	mix := httpapitest.NewScanMix("north-1", nil, nil)
	ok := func(r *fasthttp.Response) error {
		if r.StatusCode() != 200 {
			return fmt.Errorf("status %d: %s", r.StatusCode(), r.Body())
		}
		return nil
	}
	for _, conns := range []int{8, 64} {
		b.Run(fmt.Sprintf("conns=%d", conns), func(b *testing.B) {
			n := int64(max(b.N, conns))
			cpu0 := processCPU(b)
			tr, err := httpapitest.Run(context.Background(), httpapitest.LoadConfig{Addr: tln.Addr().String(), Conns: conns, Requests: n,
				Request: httpapitest.PostJSON("x", "/v1/scan", "", mix.Body)})
			if err != nil {
				b.Fatal(err)
			}
			cpu1 := processCPU(b)
			b.ResetTimer()
			res, err := httpapitest.Run(context.Background(), httpapitest.LoadConfig{Addr: ln.Addr().String(), Conns: conns, Requests: n,
				Request: httpapitest.PostJSON("x", "/v1/scan", adminSecret, mix.Body), Check: ok})
			if err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			cpu2 := processCPU(b)
			reportLoad(b, "scan-", res)
			reportLoad(b, "trivial-", tr)
			b.ReportMetric(100*res.PerSecond()/tr.PerSecond(), "%-of-trivial")
			// CPU per request, client and server together (one process):
			// what the API costs above the trivial handler, whatever else
			// loads the machine.
			perReq := func(d time.Duration, r *httpapitest.LoadResult) float64 {
				return float64(d.Microseconds()) / float64(r.Requests)
			}
			b.ReportMetric(perReq(cpu2-cpu1, res), "scan-cpu-µs/req")
			b.ReportMetric(perReq(cpu1-cpu0, tr), "trivial-cpu-µs/req")
		})
	}
}

// processCPU is the process's user and system CPU time so far.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkScanHandler is the handler alone on one core: parse, token,
// lane, a fake decision, encode, metrics, no socket.
func BenchmarkScanHandler(b *testing.B) {
	auth, _ := httpapi.NewAuth(testTokens)
	srv, err := httpapi.New(httpapi.Config{Index: echoIndex(nil), Auth: auth, Lanes: testLanes})
	if err != nil {
		b.Fatal(err)
	}
	h := srv.Handler()
	remote := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9}
	var req fasthttp.Request
	req.Header.SetMethod("POST")
	req.SetRequestURI("/v1/scan")
	req.Header.Set("Authorization", "Bearer "+scannerSecret)
	req.SetBodyString(`{"barcode":"OK-12345678","lane":"north-1"}`)
	var ctx fasthttp.RequestCtx
	b.ReportAllocs()
	for b.Loop() {
		ctx.Init(&req, remote, nil)
		ctx.Response.Reset() // as the server does between requests
		h(&ctx)
		if ctx.Response.StatusCode() != 200 {
			b.Fatalf("status %d", ctx.Response.StatusCode())
		}
	}
}
