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
	"github.com/admitgate/admit/internal/defaults"
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
	// Naive, when its URL is set, is the naive floor (ServeNaive) loaded
	// with the same mix and connections in the closed-loop steps, in
	// slices taking turns with the trivial handler and the target:
	// "http/closed/conns=N/naive", and the target's ratios to it
	// (StatRateNaive, StatP99Naive). NaiveFresh are its barcodes never
	// scanned (required with Naive).
	Naive      Target
	NaiveFresh *Tickets
	// FloorCPU is the in-process first use's CPU-µs per admission of the
	// same run, by lane count: a closed-loop step at that many connections
	// then reports StatCPUOverFloor.
	FloorCPU map[int]float64
	Each     func(Observation)
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
	defaults.Set(&cfg.Used, 2000)
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
	used, err := admitUsed(ctx, cfg.Target, cfg.Fresh, cfg.Used)
	if err != nil {
		return nil, err
	}
	var naiveUsed []string
	var naiveHost string
	naive := cfg.Naive.URL != ""
	if naive {
		nu, err := url.Parse(cfg.Naive.URL)
		if err != nil || nu.Scheme != "http" || nu.Host == "" || cfg.NaiveFresh == nil {
			return nil, fmt.Errorf("bench: the naive floor needs an http:// URL and fresh tickets, not %q", cfg.Naive.URL)
		}
		naiveHost = nu.Host
		if naiveUsed, err = admitUsed(ctx, cfg.Naive, cfg.NaiveFresh, cfg.Used); err != nil {
			return nil, err
		}
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
		load := func(client, addr string, req httpapitest.Request, check func(*fasthttp.Response) error, lim Limit) (r *httpapitest.LoadResult, err error) {
			pprof.Do(ctx, pprof.Labels("bench", client), func(ctx context.Context) {
				r, err = httpapitest.Run(ctx, httpapitest.LoadConfig{Addr: addr, Conns: conns, Duration: lim.Duration, Requests: lim.Ops,
					Request: req, Check: check})
			})
			return r, err
		}
		if _, err := load("trivial-client", taddr, trivialReq, nil, warm); err != nil {
			return out, err
		}
		probe, err := load("trivial-client", taddr, trivialReq, nil, warm)
		if err != nil {
			return out, err
		}
		// Fresh barcodes for the warm-up and the step: no more first uses
		// than the trivial handler could answer.
		need := cfg.Limit.Ops + warm.Ops
		if need <= 0 {
			need = int64(probe.PerSecond()*(stepDur+warm.Duration).Seconds()*0.8) + 1000
		}
		tr := &closedSide{client: "trivial-client", addr: taddr, req: trivialReq}
		scan := &closedSide{client: "scan-client", addr: host}
		scan.mix, scan.first = mixOf(cfg.Fresh, cfg.Target.Lane, need, used)
		scan.req = httpapitest.PostJSON(host, "/v1/scan", cfg.Target.Token, scan.mix.Body)
		sides := []*closedSide{tr, scan}
		var nv *closedSide
		if naive {
			nv = &closedSide{client: "naive-client", addr: naiveHost}
			nv.mix, nv.first = mixOf(cfg.NaiveFresh, cfg.Naive.Lane, need, naiveUsed)
			nv.req = httpapitest.PostJSON(naiveHost, "/v1/scan", cfg.Naive.Token, nv.mix.Body)
			sides = []*closedSide{tr, nv, scan}
		}
		for _, sd := range sides[1:] {
			if _, err := load(sd.client, sd.addr, sd.req, sd.chk.check, warm); err != nil {
				return out, err
			}
		}
		// The trivial handler, the naive floor and the API take turns in
		// slices of the step, so a change in the machine's load weighs on
		// each alike; the order turns with every slice, so none always
		// follows the background work another's slice left.
		part := Limit{Duration: cfg.Limit.Duration / interleave, Ops: cfg.Limit.Ops / interleave}
		syncsBefore := scrapeSyncs(host)
		for k := range interleave {
			for j := range sides {
				sd := sides[(k+j)%len(sides)]
				var check func(*fasthttp.Response) error
				if sd != tr {
					check = sd.chk.check
				}
				if err := sd.sum.timed(func() (*httpapitest.LoadResult, error) { return load(sd.client, sd.addr, sd.req, check, part) }); err != nil {
					return out, err
				}
			}
		}
		release(cfg.Fresh, scan.mix, scan.first)
		trObs := closedObservation(fmt.Sprintf("http/closed/conns=%d/trivial", conns), &tr.sum)
		emit(trObs)
		// Each of the 1+interleave loads may leave conns first uses in
		// flight when it ends: sent, maybe admitted, never read.
		verify := func(o *Observation, sd *closedSide) {
			if err := sd.chk.verify(sd.mix, conns*(1+interleave)); err != nil && o.FirstError == "" {
				o.FirstError = err.Error()
				o.Sample[StatErrs]++
			}
		}
		var floor Sample
		if nv != nil {
			release(cfg.NaiveFresh, nv.mix, nv.first)
			o := closedObservation(fmt.Sprintf("http/closed/conns=%d/naive", conns), &nv.sum)
			verify(&o, nv)
			floor = o.Sample
			emit(o)
		}
		o := closedObservation(fmt.Sprintf("http/closed/conns=%d/scan", conns), &scan.sum)
		if tr.sum.PerSecond() > 0 {
			o.Sample[StatRateTrivial] = scan.sum.PerSecond() / tr.sum.PerSecond()
		}
		if floor != nil {
			if v := floor[StatRate]; v > 0 {
				o.Sample[StatRateNaive] = o.Sample[StatRate] / v
			}
			if v := floor[StatP99]; v > 0 {
				o.Sample[StatP99Naive] = o.Sample[StatP99] / v
			}
		}
		if fu, ok := cfg.FloorCPU[conns]; ok {
			scanCPU, ok1 := o.Sample[StatCPU]
			trCPU, ok2 := trObs.Sample[StatCPU]
			if ok1 && ok2 {
				o.Sample[StatCPUOverFloor] = scanCPU - trCPU - fu
			}
		}
		if d := scrapeSyncs(host).sub(syncsBefore); d.walSyncs > 0 {
			// Over the whole step: the store is idle in the other slices.
			o.Sample[StatCommitsPerSync] = d.commits / d.walSyncs
		}
		verify(&o, scan)
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
		mix, first := mixOf(cfg.Fresh, cfg.Target.Lane, int64(float64(rate)*d.Seconds())+100, used)
		var chk mixCheck
		res, err := open(host, scan(mix), chk.check)
		if err != nil {
			return out, err
		}
		release(cfg.Fresh, mix, first)
		o := openObservation(fmt.Sprintf("http/open/rate=%d/scan", rate), res)
		if err := chk.verify(mix, cfg.RateConns); err != nil && o.FirstError == "" {
			o.FirstError = err.Error()
			o.Sample[StatErrs]++
		}
		emit(o)
	}
	return out, ctx.Err()
}

// mixOf returns a scan mix at lane with up to need barcodes of fresh and
// the number of the first.
func mixOf(fresh *Tickets, lane string, need int64, used []string) (*httpapitest.ScanMix, int) {
	if fresh == nil {
		return httpapitest.NewScanMix(lane, nil, used), 0
	}
	first, barcodes := fresh.Take(int(need))
	return httpapitest.NewScanMix(lane, barcodes, used), first
}

// release hands back to fresh the barcodes mix never sent.
func release(fresh *Tickets, mix *httpapitest.ScanMix, first int) {
	if fresh != nil {
		fresh.Used(first, mix.FreshUsed())
	}
}

// closedSide is one server of a closed-loop step: its load, the answers'
// check and its mix (the trivial handler has neither), and the slices
// added up.
type closedSide struct {
	client, addr string // the client's profile label, the server's host:port
	req          httpapitest.Request
	mix          *httpapitest.ScanMix
	first        int
	chk          mixCheck
	sum          loadSum
}

// admitUsed admits k fresh tickets through target's /v1/scan (8
// connections, unmeasured) and returns their barcodes: the mix's
// already-used tenth. None when fresh is nil or empty.
func admitUsed(ctx context.Context, target Target, fresh *Tickets, k int) ([]string, error) {
	if fresh == nil || fresh.Left() == 0 {
		return nil, nil
	}
	u, err := url.Parse(target.URL)
	if err != nil {
		return nil, fmt.Errorf("bench: %q: %w", target.URL, err)
	}
	host := u.Host
	first, batch := fresh.Take(k)
	mix := httpapitest.NewScanMix(target.Lane, batch, nil)
	var chk mixCheck
	r, err := httpapitest.Run(ctx, httpapitest.LoadConfig{Addr: host, Conns: 8, Requests: int64(len(batch)),
		Request: httpapitest.PostJSON(host, "/v1/scan", target.Token, firstUsesOnly(mix)), Check: chk.check})
	if err != nil {
		return nil, err
	}
	if r.Errors > 0 || chk.admitted.Load() != int64(len(batch)) {
		return nil, fmt.Errorf("bench: admitting the already-used set through %s: %d of %d admitted, %d errors, first: %v",
			target.URL, chk.admitted.Load(), len(batch), r.Errors, r.FirstErr)
	}
	fresh.Used(first, len(batch))
	return batch, nil
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
	s.LoadResult.Add(r)
	s.Elapsed += r.Elapsed // the slices of a step run one after another
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
