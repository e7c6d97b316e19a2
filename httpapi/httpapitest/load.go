// Package httpapitest drives admit's HTTP API for benchmarks and for
// `admit bench`: a closed-loop load generator over keep-alive connections
// that records every request's latency in an HDR histogram, the scan mix of
// the issue (first use, unknown, already used), and a trivial fasthttp
// server to compare against in the same run.
package httpapitest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/valyala/fasthttp"
)

// Request appends one whole HTTP/1.1 request (request line, headers, body)
// to buf and returns it. conn is the connection's number and i the
// request's number on it; a Request is called from one goroutine per
// connection, so state kept per conn needs no lock.
type Request func(buf []byte, conn, i int) []byte

// LoadConfig is one closed-loop run: Conns connections each send a request,
// wait for its answer, and send the next, until Duration ends or Requests
// have been sent in all.
type LoadConfig struct {
	Addr     string        // host:port
	Conns    int           // connections (default 1)
	Duration time.Duration // run time; 0 with Requests set means no limit
	Requests int64         // total requests; 0 means no limit
	Request  Request       // required
	// Check, when set, is called with every response and fails the run
	// (counted in Errors) when it returns an error.
	Check func(resp *fasthttp.Response) error
}

// LoadResult is what a run measured.
type LoadResult struct {
	Requests int64
	Errors   int64
	Elapsed  time.Duration
	Latency  *hdrhistogram.Histogram // nanoseconds, from write to full response
	Statuses map[int]int64
	FirstErr error
}

// PerSecond is the run's throughput.
func (r *LoadResult) PerSecond() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Elapsed.Seconds()
}

// Quantile returns the latency at q (0.5, 0.99, 0.999).
func (r *LoadResult) Quantile(q float64) time.Duration {
	return time.Duration(r.Latency.ValueAtQuantile(q * 100))
}

// Add adds what o counted to r: its requests, errors, latencies, statuses,
// and its first error when r has none. Elapsed is left to the caller:
// loads side by side share their time, loads one after another add it.
func (r *LoadResult) Add(o *LoadResult) {
	r.Requests += o.Requests
	r.Errors += o.Errors
	r.Latency.Merge(o.Latency)
	for s, k := range o.Statuses {
		r.Statuses[s] += k
	}
	if r.FirstErr == nil {
		r.FirstErr = o.FirstErr
	}
}

// String summarises the run in one line.
func (r *LoadResult) String() string {
	return fmt.Sprintf("%d req in %v: %.0f/s, p50 %v p99 %v p99.9 %v max %v, %d errors",
		r.Requests, r.Elapsed.Round(time.Millisecond), r.PerSecond(), r.Quantile(0.5), r.Quantile(0.99),
		r.Quantile(0.999), time.Duration(r.Latency.Max()), r.Errors)
}

func newHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(1_000, int64(10*time.Second), 3)
}

// Run runs a closed-loop load and returns what it measured. It stops early
// when ctx ends. A connection that fails is counted and not reopened.
func Run(ctx context.Context, cfg LoadConfig) (*LoadResult, error) {
	if cfg.Request == nil {
		return nil, errors.New("httpapitest: LoadConfig.Request is required")
	}
	if cfg.Conns <= 0 {
		cfg.Conns = 1
	}
	if cfg.Duration <= 0 && cfg.Requests <= 0 {
		return nil, errors.New("httpapitest: set Duration or Requests")
	}
	conns, err := Dial(ctx, cfg.Addr, cfg.Conns)
	if err != nil {
		return nil, err
	}
	// The run's time starts once every connection is open: a short run
	// must not spend its duration dialing.
	if cfg.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.Duration)
		defer cancel()
	}
	var budget atomic.Int64
	budget.Store(cfg.Requests)
	res := &LoadResult{Latency: newHistogram(), Statuses: map[int]int64{}}
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	stop := context.AfterFunc(ctx, func() {
		for _, c := range conns {
			_ = c.SetDeadline(time.Now()) // unblock reads
		}
	})
	defer stop()
	for n, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			w := &worker{conn: c, n: n, cfg: &cfg, res: LoadResult{Latency: newHistogram(), Statuses: map[int]int64{}}}
			w.run(ctx, &budget)
			mu.Lock()
			defer mu.Unlock()
			res.Add(&w.res)
		}()
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	return res, nil
}

// Dial opens n connections to addr (host:port), each within 5s; when one
// fails, it closes those it opened.
func Dial(ctx context.Context, addr string, n int) ([]net.Conn, error) {
	conns := make([]net.Conn, n)
	for i := range conns {
		c, err := (&net.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, "tcp", addr)
		if err != nil {
			for _, c := range conns[:i] {
				c.Close()
			}
			return nil, fmt.Errorf("httpapitest: dial %s: %w", addr, err)
		}
		conns[i] = c
	}
	return conns, nil
}

type worker struct {
	conn net.Conn
	n    int
	cfg  *LoadConfig
	res  LoadResult // this connection's share
}

func (w *worker) run(ctx context.Context, budget *atomic.Int64) {
	bw := bufio.NewWriterSize(w.conn, 8<<10)
	br := bufio.NewReaderSize(w.conn, 16<<10)
	var resp fasthttp.Response
	var buf []byte
	limited := w.cfg.Requests > 0
	for i := 0; ctx.Err() == nil; i++ {
		if limited && budget.Add(-1) < 0 {
			return
		}
		buf = w.cfg.Request(buf[:0], w.n, i)
		t0 := time.Now()
		if _, err := bw.Write(buf); err != nil {
			w.fail(ctx, err)
			return
		}
		if err := bw.Flush(); err != nil {
			w.fail(ctx, err)
			return
		}
		resp.Reset()
		if err := resp.Read(br); err != nil {
			w.fail(ctx, err)
			return
		}
		_ = w.res.Latency.RecordValue(int64(time.Since(t0)))
		w.res.Requests++
		w.res.Statuses[resp.StatusCode()]++
		if w.cfg.Check != nil {
			if err := w.cfg.Check(&resp); err != nil {
				w.count(err)
			}
		}
		if resp.ConnectionClose() {
			w.fail(ctx, errors.New("the server closed the connection"))
			return
		}
	}
}

func (w *worker) fail(ctx context.Context, err error) {
	if ctx.Err() != nil {
		return // the run ended while this request was in flight
	}
	w.count(err)
}

// count counts a failed request and keeps the first error.
func (w *worker) count(err error) {
	w.res.Errors++
	if w.res.FirstErr == nil {
		w.res.FirstErr = err
	}
}

// PostJSON returns a request of method POST to path with a bearer token and
// the JSON body that body appends.
func PostJSON(host, path, token string, body func(buf []byte, conn, i int) []byte) Request {
	head := "POST " + path + " HTTP/1.1\r\nHost: " + host + "\r\nContent-Type: application/json\r\n"
	if token != "" {
		head += "Authorization: Bearer " + token + "\r\n"
	}
	var pool sync.Pool
	return func(buf []byte, conn, i int) []byte {
		bp, _ := pool.Get().(*[]byte)
		if bp == nil {
			bp = new([]byte)
		}
		b := body((*bp)[:0], conn, i)
		buf = append(buf, head...)
		buf = append(buf, "Content-Length: "...)
		buf = strconv.AppendInt(buf, int64(len(b)), 10)
		buf = append(buf, "\r\n\r\n"...)
		buf = append(buf, b...)
		*bp = b
		pool.Put(bp)
		return buf
	}
}
