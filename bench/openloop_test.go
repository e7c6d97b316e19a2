package bench_test

import (
	"context"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/admitgate/admit/bench"
	"github.com/admitgate/admit/httpapi/httpapitest"
)

// stallServer answers at once, except that the request numbered stallAt
// holds the whole server (every connection) for stall.
func stallServer(t *testing.T, stallAt int64, stall time.Duration) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int64
	var mu sync.Mutex
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		mu.Lock()
		if n.Add(1) == stallAt {
			time.Sleep(stall)
		}
		mu.Unlock()
		ctx.SetBodyString("ok")
	}}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	return ln.Addr().String()
}

func get(addr string) httpapitest.Request {
	return func(buf []byte, conn, i int) []byte {
		return append(buf, "GET / HTTP/1.1\r\nHost: "+addr+"\r\n\r\n"...)
	}
}

// A server that stalls once: a closed loop sees one slow request per
// connection, the open loop charges every request scheduled during the
// stall with its wait, as a user arriving then would feel it.
func TestOpenLoopHasNoCoordinatedOmission(t *testing.T) {
	const rate, stall = 1000, 300 * time.Millisecond
	open, err := bench.RunOpenLoop(context.Background(), bench.OpenLoopConfig{
		Addr: stallServer(t, 50, stall), Conns: 4, Rate: rate, Duration: 600 * time.Millisecond, Request: get("x")})
	if err != nil {
		t.Fatal(err)
	}
	if open.Requests != open.Scheduled || open.Errors != 0 || open.Scheduled != 600 || open.Latency.TotalCount() != 600 {
		t.Fatalf("%d of %d scheduled answered, %d errors (%v), %d latencies", open.Requests, open.Scheduled, open.Errors, open.FirstErr, open.Latency.TotalCount())
	}
	// About stall×rate = 300 requests were due during the stall and waited
	// on average half of it; at least a third of all must show ≥ 50ms.
	slow := int64(0)
	for _, b := range open.Latency.Distribution() {
		if b.From >= int64(50*time.Millisecond) {
			slow += b.Count
		}
	}
	if slow < 200 {
		t.Errorf("only %d of 600 requests waited ≥ 50ms behind a %v stall", slow, stall)
	}
	if open.Lag.ValueAtQuantile(90) < int64(50*time.Millisecond) {
		t.Errorf("lag p90 %v: requests due during the stall were not sent late", time.Duration(open.Lag.ValueAtQuantile(90)))
	}
	if open.Service.ValueAtQuantile(50) >= int64(50*time.Millisecond) {
		t.Errorf("service time p50 %v: the wait was charged to service", time.Duration(open.Service.ValueAtQuantile(50)))
	}

	closed, err := httpapitest.Run(context.Background(), httpapitest.LoadConfig{
		Addr: stallServer(t, 50, stall), Conns: 4, Requests: 600, Request: get("x")})
	if err != nil {
		t.Fatal(err)
	}
	closedSlow := int64(0)
	for _, b := range closed.Latency.Distribution() {
		if b.From >= int64(50*time.Millisecond) {
			closedSlow += b.Count
		}
	}
	if closedSlow*4 > slow {
		t.Errorf("the closed loop saw %d slow requests, the open loop %d: the open loop hides the stall", closedSlow, slow)
	}
}

// A server that never answers: every scheduled request is an error once
// the drain ends, and each is in the latency histogram with its wait.
func TestOpenLoopCountsUnansweredRequests(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close() // hold it open, never answer
		}
	}()
	res, err := bench.RunOpenLoop(context.Background(), bench.OpenLoopConfig{
		Addr: ln.Addr().String(), Conns: 2, Rate: 100, Duration: 200 * time.Millisecond, Drain: 100 * time.Millisecond, Request: get("x")})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 0 || res.Errors != res.Scheduled || res.Scheduled != 20 || res.Latency.TotalCount() != 20 || res.FirstErr == nil {
		t.Fatalf("%d answered, %d errors of %d scheduled, %d latencies, first %v", res.Requests, res.Errors, res.Scheduled, res.Latency.TotalCount(), res.FirstErr)
	}
	if res.Latency.Max() < int64(100*time.Millisecond) {
		t.Errorf("max latency %v: unanswered requests were not charged their wait", time.Duration(res.Latency.Max()))
	}
}

func TestOpenLoopConfigErrors(t *testing.T) {
	for _, c := range []bench.OpenLoopConfig{
		{Addr: "127.0.0.1:1", Rate: 10, Duration: time.Second},
		{Addr: "127.0.0.1:1", Rate: 0, Duration: time.Second, Request: get("x")},
		{Addr: "127.0.0.1:1", Rate: 10, Request: get("x")},
	} {
		if _, err := bench.RunOpenLoop(context.Background(), c); err == nil || !strings.HasPrefix(err.Error(), "bench: ") {
			t.Errorf("%+v: %v", c, err)
		}
	}
	if _, err := bench.RunOpenLoop(context.Background(), bench.OpenLoopConfig{Addr: "127.0.0.1:1", Rate: 10, Duration: time.Second, Request: get("x")}); err == nil || !strings.Contains(err.Error(), "dial") {
		t.Errorf("closed port: %v", err)
	}
}
