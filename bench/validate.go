package bench

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/index"
)

// unknownPool is how many distinct unknown barcodes the unknown step cycles
// through: enough that the filter is read all over, made once.
const unknownPool = 1 << 17

// unknownBarcodes are 16-digit barcodes starting "97", which no synthetic
// source holds (see indextest.Unknown), spread over the 14 digits that
// follow; made in one allocation.
var unknownBarcodes = sync.OnceValue(func() []string {
	const width = 16
	arena := make([]byte, 0, unknownPool*width)
	for i := range unknownPool {
		v := uint64(i) * 2654435761 % 100_000_000_000_000
		arena = append(arena, '9', '7')
		for d := uint64(10_000_000_000_000); d > 0; d /= 10 {
			arena = append(arena, byte('0'+v/d%10))
		}
	}
	all := string(arena)
	out := make([]string, unknownPool)
	for i := range out {
		out[i] = all[i*width : (i+1)*width]
	}
	return out
})

// RunUnknown scans barcodes the store has never held (a bloom filter miss,
// no lookup) from lanes concurrent lanes: "validate/unknown/lanes=N".
func RunUnknown(ctx context.Context, v gate.Validator, lanes int, lim Limit) (Observation, error) {
	if err := lim.valid(); err != nil {
		return Observation{}, err
	}
	pool := unknownBarcodes()
	scans := laneScans(lanes)
	op := func(l int, i int64) string {
		s := scans[l]
		s.Barcode = pool[i%unknownPool]
		d := v.Scan(ctx, s)
		return expect(&d, gate.ReasonUnknown)
	}
	runLanes(ctx, lanes, lim.warmup(), 0, nil, op)
	r := runLanes(ctx, lanes, lim, 0, nil, op)
	return observe(fmt.Sprintf("validate/unknown/lanes=%d", lanes), "scan", &r, true, false)
}

// AdmitTickets admits k fresh tickets (from 64 lanes, unmeasured) and
// returns their barcodes: the set the already-used steps scan again.
func AdmitTickets(ctx context.Context, v gate.Validator, t *Tickets, k int) ([]string, error) {
	_, used := t.Take(k)
	if len(used) < k {
		return nil, fmt.Errorf("bench: %d fresh tickets left, %d needed for the already-used set", len(used), k)
	}
	scans := laneScans(64)
	r := runLanes(ctx, 64, Limit{Ops: int64(k)}, 0, nil, func(l int, i int64) string {
		s := scans[l]
		s.Barcode = used[i]
		d := v.Scan(ctx, s)
		return expect(&d, gate.ReasonOK)
	})
	if r.errs > 0 || r.ops != int64(k) {
		return nil, fmt.Errorf("bench: admit the already-used set: %d of %d scans wrong, first: %s", r.errs, k, r.firstErr)
	}
	return used, nil
}

// RunAlreadyUsed scans tickets that were admitted before (a read of the
// ticket and its redemptions, a refusal journaled in the background) from
// lanes concurrent lanes, cycling through used:
// "validate/already-used/lanes=N".
func RunAlreadyUsed(ctx context.Context, v gate.Validator, used []string, lanes int, lim Limit) (Observation, error) {
	if err := lim.valid(); err != nil {
		return Observation{}, err
	}
	if len(used) == 0 {
		return Observation{}, fmt.Errorf("bench: the already-used step needs used tickets")
	}
	scans := laneScans(lanes)
	op := func(l int, i int64) string {
		s := scans[l]
		s.Barcode = used[int(i%int64(len(used)))]
		d := v.Scan(ctx, s)
		return expect(&d, gate.ReasonAlreadyUsed)
	}
	runLanes(ctx, lanes, lim.warmup(), 0, nil, op)
	r := runLanes(ctx, lanes, lim, 0, nil, op)
	return observe(fmt.Sprintf("validate/already-used/lanes=%d", lanes), "scan", &r, true, false)
}

// RunFirstUse admits fresh tickets, each once, from lanes concurrent lanes:
// the durable path (ticket read, decision, redemption and journal entry
// committed with fsync before the answer): "validate/first-use/lanes=N".
// Every scan must admit.
func RunFirstUse(ctx context.Context, v gate.Validator, t *Tickets, lanes int, lim Limit) (Observation, error) {
	if err := lim.valid(); err != nil {
		return Observation{}, err
	}
	scans := laneScans(lanes)
	var times *opTimes
	step := func(lim Limit, barcodes []string) lanesResult {
		return runLanes(ctx, lanes, lim, int64(len(barcodes)), times, func(l int, i int64) string {
			s := scans[l]
			s.Barcode = barcodes[i]
			d := v.Scan(ctx, s)
			return expect(&d, gate.ReasonOK)
		})
	}
	// The warm-up also tells the rate, so the measured step gets enough
	// barcodes made beforehand (making them inside would count their
	// allocations); the ones it does not reach are handed out again, and
	// a step that runs out goes on with twice as many.
	warm := lim.warmup()
	first, barcodes := t.Take(int(max(warm.Ops, int64(32*lanes))))
	w := step(warm, barcodes)
	t.Used(first, int(w.last+1))
	chunk := lim.Ops
	if chunk <= 0 {
		perSec := float64(w.ops) / max(w.elapsed.Seconds(), 1e-3)
		chunk = int64(math.Ceil(2*perSec*lim.Duration.Seconds())) + int64(64*lanes)
	}
	var total lanesResult
	left := lim
	bg, _ := v.(backgroundReporter)
	if bg != nil {
		times = &opTimes{origin: time.Now()}
	}
	for {
		first, barcodes := t.Take(int(chunk))
		if len(barcodes) == 0 {
			return Observation{}, fmt.Errorf("bench: first use at %d lanes ran out of fresh tickets; use a larger fixture", lanes)
		}
		r := step(left, barcodes)
		t.Used(first, int(r.last+1))
		total.merge(&r)
		if !left.spend(&r, len(barcodes)) || ctx.Err() != nil {
			break
		}
		chunk *= 2
	}
	o, err := observe(fmt.Sprintf("validate/first-use/lanes=%d", lanes), "admit", &total, true, true)
	if err == nil && bg != nil {
		end := time.Now()
		tailAgainst(o.Sample, times, bg.BackgroundSpans(times.origin), end)
	}
	return o, err
}

// backgroundReporter is a store that tells when Pebble flushed and
// compacted (*index.Index).
type backgroundReporter interface {
	BackgroundSpans(since time.Time) []index.BackgroundSpan
}

// tailAgainst adds to s the tail statistics (StatTailFlush and the rest):
// which of the operations in times that took their p99 or longer (exactly,
// not the histogram's rounded p99: at least one operation) overlapped a
// flush or a compaction of spans, and how much of the time from
// times.origin to end each kind ran. A span still running ends at end.
func tailAgainst(s Sample, times *opTimes, spans []index.BackgroundSpan, end time.Time) {
	var took []int64
	for _, lane := range times.lanes {
		for _, op := range lane {
			took = append(took, op.took)
		}
	}
	if len(took) == 0 {
		return
	}
	slices.Sort(took)
	p99 := took[int(math.Ceil(0.99*float64(len(took))))-1]
	type iv struct{ from, to int64 }
	byKind := map[string][]iv{}
	for _, sp := range spans {
		to := end
		if !sp.End.IsZero() && sp.End.Before(end) {
			to = sp.End
		}
		from := max(sp.Start.Sub(times.origin).Nanoseconds(), 0)
		if t := to.Sub(times.origin).Nanoseconds(); t > from {
			byKind[sp.Kind] = append(byKind[sp.Kind], iv{from, t})
		}
	}
	total := end.Sub(times.origin).Nanoseconds()
	// covered is the time within [0, total) that the intervals cover (they
	// are sorted by start).
	covered := func(ivs []iv) float64 {
		var sum, reach int64
		for _, x := range ivs {
			from := max(x.from, reach)
			if x.to > from {
				sum += x.to - from
				reach = x.to
			}
		}
		return float64(sum) / float64(max(total, 1))
	}
	overlaps := func(ivs []iv, op opTime) bool {
		// The intervals are few (a flush a second or two); a scan is enough.
		for _, x := range ivs {
			if x.from < op.start+op.took && op.start < x.to {
				return true
			}
		}
		return false
	}
	var slow, inFlush, inCompaction int
	for _, lane := range times.lanes {
		for _, op := range lane {
			if op.took < p99 {
				continue
			}
			slow++
			if overlaps(byKind["flush"], op) {
				inFlush++
			}
			if overlaps(byKind["compaction"], op) {
				inCompaction++
			}
		}
	}
	s[StatTailFlush] = float64(inFlush) / float64(slow)
	s[StatTailCompaction] = float64(inCompaction) / float64(slow)
	s[StatFlushTime] = covered(byKind["flush"])
	s[StatCompactionTime] = covered(byKind["compaction"])
}

// observe turns a step's result into an observation.
func observe(name, unit string, r *lanesResult, allocs, durable bool) (Observation, error) {
	if r.ops == 0 {
		return Observation{}, fmt.Errorf("bench: %s: no operation ran", name)
	}
	o := Observation{Name: name, Unit: unit, Sample: r.sample(allocs), Durable: durable}
	if r.errs > 0 {
		o.FirstError = r.firstErr
	}
	return o, nil
}

// ValidateConfig is the validate workload.
type ValidateConfig struct {
	Lanes []int    // concurrent lanes of every step
	Limit Limit    // of every step
	Used  int      // tickets admitted for the already-used steps
	Fresh *Tickets // the store's fresh tickets
	Each  func(Observation)
	// Settle, when set, is called before every step and must return once
	// the store has done the background work the steps before left (Run
	// passes WaitSettled); an error ends the workload.
	Settle func(context.Context) error
	// Raw, when set, runs the floor of the durable path (Run passes
	// RunRaw on the naive store) right before the first first-use step,
	// so both meet the disk of the same minute; the first use at one lane
	// is then also given as a ratio to its p50 (StatP50Raw).
	Raw func(ctx context.Context, lim Limit) (Observation, error)
	// Codes, when set, adds the steps of codes that prove themselves
	// (codes.go): a bare verify, a forged code and rotating codes at the
	// CPU lane counts, and a signed first use beside the first use at one
	// lane.
	Codes *Codes
}

// RunValidate runs the in-process steps on v: unknown and already used at
// the lane counts cpuLanes keeps, first use at every lane count. Each, when
// set, sees every observation as it is made.
func RunValidate(ctx context.Context, v gate.Validator, cfg ValidateConfig) ([]Observation, error) {
	var out []Observation
	settle := func() error {
		if cfg.Settle == nil {
			return nil
		}
		return cfg.Settle(ctx)
	}
	add := func(o Observation, err error) error {
		if err != nil {
			return err
		}
		out = append(out, o)
		if cfg.Each != nil {
			cfg.Each(o)
		}
		return nil
	}
	cpu := cpuLanes(cfg.Lanes)
	for _, l := range cpu {
		if err := settle(); err != nil {
			return out, err
		}
		if err := add(RunUnknown(ctx, v, l, cfg.Limit)); err != nil {
			return out, err
		}
	}
	if cfg.Codes != nil {
		if err := runCodesCPU(ctx, v, cfg, cpu, settle, add); err != nil {
			return out, err
		}
	}
	used, err := AdmitTickets(ctx, v, cfg.Fresh, cfg.Used)
	if err != nil {
		return out, err
	}
	for _, l := range cpu {
		if err := settle(); err != nil {
			return out, err
		}
		if err := add(RunAlreadyUsed(ctx, v, used, l, cfg.Limit)); err != nil {
			return out, err
		}
	}
	oneLane, rawP50 := 0.0, 0.0
	if cfg.Raw != nil {
		if err := settle(); err != nil {
			return out, err
		}
		o, err := cfg.Raw(ctx, cfg.Limit)
		if err != nil {
			return out, err
		}
		rawP50 = o.Sample[StatP50]
		if err := add(o, nil); err != nil {
			return out, err
		}
	}
	for _, l := range cfg.Lanes {
		if err := settle(); err != nil {
			return out, err
		}
		o, err := RunFirstUse(ctx, v, cfg.Fresh, l, cfg.Limit)
		if err != nil {
			return out, err
		}
		if l == 1 {
			oneLane = o.Sample[StatRate]
			if rawP50 > 0 {
				o.Sample[StatP50Raw] = o.Sample[StatP50] / rawP50
			}
		} else if oneLane > 0 {
			o.Sample[StatRateOneLane] = o.Sample[StatRate] / oneLane
		}
		if err := add(o, nil); err != nil {
			return out, err
		}
		if l == 1 && cfg.Codes != nil {
			if err := settle(); err != nil {
				return out, err
			}
			s, err := RunFirstUseSigned(ctx, v, cfg.Codes, cfg.Limit)
			if err != nil {
				return out, err
			}
			s.Sample[StatP50OverFirstUse] = s.Sample[StatP50] - o.Sample[StatP50]
			if err := add(s, nil); err != nil {
				return out, err
			}
		}
	}
	return out, ctx.Err()
}

// slowValidator adds a busy wait to every scan: the test-only slowdown
// that proves the gate fails a regression (Config.InjectDelay).
type slowValidator struct {
	gate.Validator
	delay time.Duration
}

// Scan waits out the delay, then scans.
func (s slowValidator) Scan(ctx context.Context, sc gate.Scan) gate.Decision {
	for t0 := time.Now(); time.Since(t0) < s.delay; {
	}
	return s.Validator.Scan(ctx, sc)
}

// cpuLanes returns the lane counts at which the CPU-only steps run: those of
// lanes up to GOMAXPROCS, and GOMAXPROCS itself when lanes asks for more. A
// lane that never waits keeps a core; more lanes than cores only measure
// Go's run queue (an operation preempted waits out every other lane's time
// slice), while a durable first use waits for the disk and gains from them.
func cpuLanes(lanes []int) []int {
	procs := runtime.GOMAXPROCS(0)
	var out []int
	for _, l := range lanes {
		if l > procs {
			l = procs
		}
		if !slices.Contains(out, l) {
			out = append(out, l)
		}
	}
	return out
}
