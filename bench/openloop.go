package bench

import (
	"bufio"
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/valyala/fasthttp"

	"github.com/admitgate/admit/httpapi/httpapitest"
	"github.com/admitgate/admit/internal/defaults"
)

// OpenLoopConfig is an open-loop run: requests are scheduled at a fixed
// Rate from the start, whatever the server does, over Conns keep-alive
// connections. A request's latency is measured from its scheduled start,
// so a server that stalls is charged for every request that should have
// been sent meanwhile (no coordinated omission, as in wrk2).
type OpenLoopConfig struct {
	Addr     string        // host:port
	Conns    int           // connections (default 64); a request waits for a free one
	Rate     float64       // requests per second, > 0
	Duration time.Duration // requests are scheduled during this long
	// Drain bounds how long after Duration the requests already scheduled
	// may still be sent; those left are counted in Unsent, as errors, and
	// in Latency with their wait so far. Default 5s.
	Drain   time.Duration
	Request httpapitest.Request // required; i is the request's number in the schedule
	// Check, when set, is called with every response; an error counts in
	// Errors.
	Check func(resp *fasthttp.Response) error
}

// OpenLoopResult is what an open-loop run measured. Histograms are in
// nanoseconds.
type OpenLoopResult struct {
	Scheduled int64 // requests the schedule held
	Requests  int64 // responses read
	Errors    int64 // failed checks, broken connections and unsent requests
	Unsent    int64 // scheduled requests never sent before the drain ended
	Elapsed   time.Duration
	Latency   *hdrhistogram.Histogram // from the scheduled start to the full response
	Service   *hdrhistogram.Histogram // from the actual send to the full response
	Lag       *hdrhistogram.Histogram // how late each request was sent: the generator's share
	FirstErr  error
}

// RunOpenLoop runs an open-loop load and returns what it measured. It
// stops early when ctx ends.
func RunOpenLoop(ctx context.Context, cfg OpenLoopConfig) (*OpenLoopResult, error) {
	if cfg.Request == nil {
		return nil, errors.New("bench: OpenLoopConfig.Request is required")
	}
	if cfg.Rate <= 0 || cfg.Duration <= 0 {
		return nil, errors.New("bench: an open-loop run needs a rate and a duration")
	}
	defaults.Set(&cfg.Conns, 64)
	defaults.Set(&cfg.Drain, 5*time.Second)
	conns, err := httpapitest.Dial(ctx, cfg.Addr, cfg.Conns)
	if err != nil {
		return nil, err
	}
	interval := float64(time.Second) / cfg.Rate
	total := int64(cfg.Duration.Seconds() * cfg.Rate)
	res := &OpenLoopResult{Scheduled: total, Latency: newHistogram(), Service: newHistogram(), Lag: newHistogram()}
	var next atomic.Int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now().Add(2 * time.Millisecond) // every worker is waiting by then
	drainEnd := start.Add(cfg.Duration + cfg.Drain)
	for n, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			w := &openWorker{conn: c, cfg: &cfg, lat: newHistogram(), svc: newHistogram(), lag: newHistogram()}
			w.run(ctx, n, &next, total, start, interval, drainEnd)
			mu.Lock()
			defer mu.Unlock()
			res.Requests += w.requests
			res.Errors += w.errors
			res.Unsent += w.unsent
			res.Latency.Merge(w.lat)
			res.Service.Merge(w.svc)
			res.Lag.Merge(w.lag)
			if res.FirstErr == nil {
				res.FirstErr = w.err
			}
		}()
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	// Requests no worker reached (every connection broke) are unsent too.
	if claimed := min(next.Load(), total); claimed < total {
		now := time.Now()
		for i := claimed; i < total; i++ {
			record(res.Latency, now.Sub(start.Add(time.Duration(float64(i)*interval))))
		}
		res.Unsent += total - claimed
		res.Errors += total - claimed
	}
	return res, ctx.Err()
}

type openWorker struct {
	conn                     net.Conn
	cfg                      *OpenLoopConfig
	lat, svc, lag            *hdrhistogram.Histogram
	requests, errors, unsent int64
	err                      error
}

func (w *openWorker) fail(err error) {
	w.errors++
	if w.err == nil {
		w.err = err
	}
}

func (w *openWorker) run(ctx context.Context, conn int, next *atomic.Int64, total int64, start time.Time, interval float64, drainEnd time.Time) {
	bw := bufio.NewWriterSize(w.conn, 8<<10)
	br := bufio.NewReaderSize(w.conn, 16<<10)
	var resp fasthttp.Response
	var buf []byte
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	_ = w.conn.SetDeadline(drainEnd)
	for ctx.Err() == nil {
		i := next.Add(1) - 1
		if i >= total {
			return
		}
		intended := start.Add(time.Duration(float64(i) * interval))
		if wait := time.Until(intended); wait > 0 {
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-ctx.Done():
				return
			}
		}
		t0 := time.Now()
		if !t0.Before(drainEnd) {
			record(w.lat, t0.Sub(intended))
			w.unsent++
			w.fail(errors.New("the drain ended before the request could be sent"))
			continue
		}
		buf = w.cfg.Request(buf[:0], conn, int(i))
		_, err := bw.Write(buf)
		if err == nil {
			err = bw.Flush()
		}
		if err == nil {
			resp.Reset()
			err = resp.Read(br)
		}
		t1 := time.Now()
		if err != nil {
			// The request is lost with its connection: charge its wait so
			// far and let the other connections take the schedule.
			record(w.lat, t1.Sub(intended))
			w.fail(err)
			return
		}
		record(w.lat, t1.Sub(intended))
		record(w.svc, t1.Sub(t0))
		record(w.lag, t0.Sub(intended))
		w.requests++
		if w.cfg.Check != nil {
			if err := w.cfg.Check(&resp); err != nil {
				w.fail(err)
			}
		}
		if resp.ConnectionClose() {
			w.fail(errors.New("the server closed the connection"))
			return
		}
	}
}
