package bench

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/url"
	"runtime"
	"runtime/pprof"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/admitgate/admit/httpapi/httpapitest"
	"github.com/admitgate/admit/index/indextest"
)

// HTTPConfig is the http workload: POST /v1/scan with the mix (70%
// first use, 20% unknown, 10% already used) on a real socket, closed-loop at
// each of Conns and open-loop at each of Rates, beside a trivial fasthttp
// handler in this process at the same load.
type HTTPConfig struct {
	Target    Target
	Conns     []int // closed-loop connection counts
	Rates     []int // open-loop rates, requests/s
	RateConns int   // connections of the open-loop generator (default 64)
	// Limit bounds each step: its Duration, or for closed-loop steps its
	// Ops (requests); an open-loop step with Ops lasts Ops/rate.
	Limit Limit
	// Fresh holds the target's barcodes never scanned. Nil: every scan of
	// the mix is of an unknown barcode.
	Fresh *Tickets
	// Used is how many fresh tickets are admitted first, for the mix's
	// already-used tenth. Default 2,000.
	Used int
	Each func(Observation)
}

// mixCheck checks scan answers: 200 with a decision, never reason error.
// It counts first uses admitted.
type mixCheck struct {
	admitted, refusedErr atomic.Int64
}

var reasonKey = []byte(`"reason":"`)

func (m *mixCheck) check(r *fasthttp.Response) error {
	if r.StatusCode() != fasthttp.StatusOK {
		return fmt.Errorf("status %d: %.200s", r.StatusCode(), r.Body())
	}
	body := r.Body()
	i := bytes.Index(body, reasonKey)
	if i < 0 {
		return fmt.Errorf("no reason in the answer: %.200s", body)
	}
	rest := body[i+len(reasonKey):]
	reason, _, _ := bytes.Cut(rest, []byte{'"'})
	switch string(reason) {
	case "ok":
		m.admitted.Add(1)
	case "unknown", "already_used":
	default:
		m.refusedErr.Add(1)
		return fmt.Errorf("reason %q: %.200s", reason, body)
	}
	return nil
}

// RunHTTP runs the http workload against cfg.Target.
func RunHTTP(ctx context.Context, cfg HTTPConfig) ([]Observation, error) {
	if err := cfg.Limit.valid(); err != nil {
		return nil, err
	}
	u, err := url.Parse(cfg.Target.URL)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return nil, fmt.Errorf("bench: target must be an http:// URL, not %q", cfg.Target.URL)
	}
	if cfg.Used <= 0 {
		cfg.Used = 2000
	}
	host := u.Host
	scan := func(mix *httpapitest.ScanMix) httpapitest.Request {
		return httpapitest.PostJSON(host, "/v1/scan", cfg.Target.Token, mix.Body)
	}

	tln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("bench: listen: %w", err)
	}
	var trivial *fasthttp.Server
	pprof.Do(ctx, pprof.Labels("bench", "trivial-server"), func(context.Context) { trivial = httpapitest.ServeTrivial(tln) })
	defer func() { _ = trivial.Shutdown() }()
	taddr := tln.Addr().String()
	trivialMix := httpapitest.NewScanMix(cfg.Target.Lane, nil, nil)
	trivialReq := httpapitest.PostJSON(taddr, "/v1/scan", cfg.Target.Token, trivialMix.Body)

	// The already-used tenth: tickets admitted through the API first.
	var used []string
	if cfg.Fresh != nil && cfg.Fresh.Left() > 0 {
		first, batch := cfg.Fresh.Take(cfg.Used)
		mix := httpapitest.NewScanMix(cfg.Target.Lane, batch, nil)
		var chk mixCheck
		r, err := httpapitest.Run(ctx, httpapitest.LoadConfig{Addr: host, Conns: 8, Requests: int64(len(batch)),
			Request: httpapitest.PostJSON(host, "/v1/scan", cfg.Target.Token, firstUsesOnly(mix)), Check: chk.check})
		if err != nil {
			return nil, err
		}
		if r.Errors > 0 || chk.admitted.Load() != int64(len(batch)) {
			return nil, fmt.Errorf("bench: admitting the already-used set through %s: %d of %d admitted, %d errors, first: %v",
				cfg.Target.URL, chk.admitted.Load(), len(batch), r.Errors, r.FirstErr)
		}
		cfg.Fresh.Used(first, len(batch))
		used = batch
	}

	var out []Observation
	emit := func(o Observation) {
		out = append(out, o)
		if cfg.Each != nil {
			cfg.Each(o)
		}
	}
	stepDur := cfg.Limit.Duration
	warm := cfg.Limit.warmup()
	for _, conns := range cfg.Conns {
		load := func(addr string, req httpapitest.Request, check func(*fasthttp.Response) error, lim Limit) (r *httpapitest.LoadResult, err error) {
			client := "scan-client"
			if addr == taddr {
				client = "trivial-client"
			}
			pprof.Do(ctx, pprof.Labels("bench", client), func(ctx context.Context) {
				r, err = httpapitest.Run(ctx, httpapitest.LoadConfig{Addr: addr, Conns: conns, Duration: lim.Duration, Requests: lim.Ops,
					Request: req, Check: check})
			})
			return r, err
		}
		if _, err := load(taddr, trivialReq, nil, warm); err != nil {
			return out, err
		}
		probe, err := load(taddr, trivialReq, nil, warm)
		if err != nil {
			return out, err
		}
		// Fresh barcodes for the warm-up and the step: no more first uses
		// than the trivial handler could answer.
		need := cfg.Limit.Ops + warm.Ops
		if need <= 0 {
			need = int64(probe.PerSecond()*(stepDur+warm.Duration).Seconds()*0.8) + 1000
		}
		mix, first := cfg.mix(need, used)
		var chk mixCheck
		if _, err := load(host, scan(mix), chk.check, warm); err != nil {
			return out, err
		}
		// The trivial handler and the API take turns in slices of the
		// step, so a change in the machine's load weighs on both alike.
		var tr, res loadSum
		part := Limit{Duration: cfg.Limit.Duration / interleave, Ops: cfg.Limit.Ops / interleave}
		syncsBefore := scrapeSyncs(host)
		for range interleave {
			if err := tr.timed(func() (*httpapitest.LoadResult, error) { return load(taddr, trivialReq, nil, part) }); err != nil {
				return out, err
			}
			if err := res.timed(func() (*httpapitest.LoadResult, error) { return load(host, scan(mix), chk.check, part) }); err != nil {
				return out, err
			}
		}
		cfg.release(mix, first)
		emit(closedObservation(fmt.Sprintf("http/closed/conns=%d/trivial", conns), &tr))
		o := closedObservation(fmt.Sprintf("http/closed/conns=%d/scan", conns), &res)
		if tr.PerSecond() > 0 {
			o.Sample[StatRateTrivial] = res.PerSecond() / tr.PerSecond()
		}
		if d := scrapeSyncs(host).sub(syncsBefore); d.walSyncs > 0 {
			// Over the whole step: the store is idle in the trivial slices.
			o.Sample[StatCommitsPerSync] = d.commits / d.walSyncs
		}
		// Each of the 1+interleave loads may leave conns first uses in
		// flight when it ends: sent, maybe admitted, never read.
		if err := chk.verify(mix, conns*(1+interleave)); err != nil && o.FirstError == "" {
			o.FirstError = err.Error()
			o.Sample[StatErrs]++
		}
		emit(o)
	}
	for _, rate := range cfg.Rates {
		d := stepDur
		if cfg.Limit.Ops > 0 {
			d = time.Duration(float64(cfg.Limit.Ops) / float64(rate) * float64(time.Second))
		}
		open := func(addr string, req httpapitest.Request, check func(*fasthttp.Response) error) (*OpenLoopResult, error) {
			return RunOpenLoop(ctx, OpenLoopConfig{Addr: addr, Conns: cfg.RateConns, Rate: float64(rate), Duration: d,
				Request: req, Check: check})
		}
		tr, err := open(taddr, trivialReq, nil)
		if err != nil {
			return out, err
		}
		emit(openObservation(fmt.Sprintf("http/open/rate=%d/trivial", rate), tr))
		mix, first := cfg.mix(int64(float64(rate)*d.Seconds())+100, used)
		var chk mixCheck
		res, err := open(host, scan(mix), chk.check)
		if err != nil {
			return out, err
		}
		cfg.release(mix, first)
		o := openObservation(fmt.Sprintf("http/open/rate=%d/scan", rate), res)
		if err := chk.verify(mix, cfg.RateConns); err != nil && o.FirstError == "" {
			o.FirstError = err.Error()
			o.Sample[StatErrs]++
		}
		emit(o)
	}
	return out, ctx.Err()
}

// mix returns a scan mix with up to need fresh barcodes and the number of
// the first.
func (cfg *HTTPConfig) mix(need int64, used []string) (*httpapitest.ScanMix, int) {
	if cfg.Fresh == nil {
		return httpapitest.NewScanMix(cfg.Target.Lane, nil, used), 0
	}
	first, fresh := cfg.Fresh.Take(int(need))
	return httpapitest.NewScanMix(cfg.Target.Lane, fresh, used), first
}

// release hands back the fresh barcodes mix never sent.
func (cfg *HTTPConfig) release(mix *httpapitest.ScanMix, first int) {
	if cfg.Fresh != nil {
		cfg.Fresh.Used(first, mix.FreshUsed())
	}
}

// verify checks that the first uses sent were admitted: all of them but
// those still in flight on one of conns connections when the step ended.
func (m *mixCheck) verify(mix *httpapitest.ScanMix, conns int) error {
	sent, ok := int64(mix.FreshUsed()), m.admitted.Load()
	if ok > sent || ok < sent-int64(conns) {
		return fmt.Errorf("%d first uses sent, %d admitted", sent, ok)
	}
	return nil
}

// firstUsesOnly makes every request of mix a first use (its barcodes in
// order), for admitting the already-used set.
func firstUsesOnly(mix *httpapitest.ScanMix) func(buf []byte, conn, i int) []byte {
	return func(buf []byte, conn, i int) []byte { return mix.Body(buf, conn, 0) }
}

// interleave is how many slices a closed-loop step is cut into.
const interleave = 4

// loadSum adds up the slices of a closed-loop step, with the process's
// CPU time during them.
type loadSum struct {
	httpapitest.LoadResult
	CPU time.Duration
}

// timed runs one slice of a step and adds it with the CPU time it took.
func (s *loadSum) timed(load func() (*httpapitest.LoadResult, error)) error {
	cpu := indextest.CPUTime()
	r, err := load()
	if err != nil {
		return err
	}
	s.CPU += indextest.CPUTime() - cpu
	s.add(r)
	return nil
}

func (s *loadSum) add(r *httpapitest.LoadResult) {
	if s.Latency == nil {
		s.Latency = newHistogram()
		s.Statuses = map[int]int64{}
	}
	s.Requests += r.Requests
	s.Errors += r.Errors
	s.Elapsed += r.Elapsed
	s.Latency.Merge(r.Latency)
	for k, v := range r.Statuses {
		s.Statuses[k] += v
	}
	if s.FirstErr == nil {
		s.FirstErr = r.FirstErr
	}
}

func closedObservation(name string, r *loadSum) Observation {
	s := latencies(r.Latency)
	s[StatOps] = float64(r.Requests)
	s[StatErrs] = float64(r.Errors)
	s[StatRate] = r.PerSecond()
	if r.CPU > 0 && r.Requests > 0 && r.Elapsed > 0 {
		s[StatCPU] = float64(r.CPU.Microseconds()) / float64(r.Requests)
		s[StatBusy] = r.CPU.Seconds() / r.Elapsed.Seconds() / float64(runtime.NumCPU())
	}
	o := Observation{Name: name, Unit: "request", Sample: s}
	if r.FirstErr != nil {
		o.FirstError = r.FirstErr.Error()
	}
	return o
}

func openObservation(name string, r *OpenLoopResult) Observation {
	s := latencies(r.Latency)
	s[StatOps] = float64(r.Requests)
	s[StatErrs] = float64(r.Errors)
	s[StatRate] = float64(r.Requests) / r.Elapsed.Seconds()
	if r.Lag.TotalCount() > 0 {
		s[StatLagP99] = micros(r.Lag.ValueAtQuantile(99))
	}
	o := Observation{Name: name, Unit: "request", Sample: s}
	if r.FirstErr != nil {
		o.FirstError = r.FirstErr.Error()
	}
	return o
}

// syncCounts are an appliance's Sync commits and WAL syncs so far, read
// from its /metrics; zero when it does not export them.
type syncCounts struct{ commits, walSyncs float64 }

func (a syncCounts) sub(b syncCounts) syncCounts {
	return syncCounts{a.commits - b.commits, a.walSyncs - b.walSyncs}
}

// scrapeSyncs reads the store's sync counters from http://host/metrics.
func scrapeSyncs(host string) syncCounts {
	var c syncCounts
	code, body, err := fasthttp.GetTimeout(nil, "http://"+host+"/metrics", 5*time.Second)
	if err != nil || code != fasthttp.StatusOK {
		return c
	}
	for line := range bytes.Lines(body) {
		name, value, ok := bytes.Cut(bytes.TrimSpace(line), []byte{' '})
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(string(value), 64)
		if err != nil {
			continue
		}
		switch string(name) {
		case "admit_store_sync_commits_total":
			c.commits = v
		case "admit_store_wal_syncs_total":
			c.walSyncs = v
		}
	}
	return c
}
