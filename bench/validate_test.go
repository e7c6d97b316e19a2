package bench_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/admitgate/admit/bench"
	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/gate/gatetest"
	"github.com/admitgate/admit/index/indextest"
)

// redeemOnce is a fake store of n synthetic tickets with redeem-once
// semantics, counting what it was asked.
type redeemOnce struct {
	mu    sync.Mutex
	known map[string]bool
	used  map[string]int
	scans int
}

func newRedeemOnce(n int) *redeemOnce {
	r := &redeemOnce{known: map[string]bool{}, used: map[string]int{}}
	for i := range n {
		r.known[indextest.Barcode(i)] = true
	}
	return r
}

func (r *redeemOnce) index() *gatetest.Index {
	return &gatetest.Index{ScanFunc: func(ctx context.Context, s gate.Scan) gate.Decision {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.scans++
		d := s.Refusal(gate.ReasonUnknown, "")
		if r.known[s.Barcode] {
			r.used[s.Barcode]++
			d.Reason = gate.ReasonAlreadyUsed
			if r.used[s.Barcode] == 1 {
				d.Admit, d.Reason = true, gate.ReasonOK
			}
		}
		return d
	}}
}

// Every step counts its operations and no fresh ticket is ever handed out
// twice, across steps, lane counts and the chunks a step takes.
func TestValidateStepsOnAFake(t *testing.T) {
	store := newRedeemOnce(20_000)
	fresh := bench.NewTickets(20_000)
	var seen []bench.Observation
	obs, err := bench.RunValidate(context.Background(), store.index(), bench.ValidateConfig{
		Lanes: []int{1, 3, 16}, Limit: bench.Limit{Ops: 500}, Used: 100, Fresh: fresh,
		Each: func(o bench.Observation) { seen = append(seen, o) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != len(obs) {
		t.Errorf("Each saw %d of %d observations", len(seen), len(obs))
	}
	names := map[string]bench.Observation{}
	for _, o := range obs {
		names[o.Name] = o
		if o.Sample[bench.StatErrs] != 0 || o.Sample[bench.StatOps] != 500 || o.Sample[bench.StatP50] <= 0 || o.Sample[bench.StatRate] <= 0 {
			t.Errorf("%s: %v (first error %q)", o.Name, o.Sample, o.FirstError)
		}
		if _, ok := o.Sample[bench.StatAlloc]; !ok {
			t.Errorf("%s: no allocations per op", o.Name)
		}
		if o.Durable != strings.Contains(o.Name, "first-use") {
			t.Errorf("%s: durable %v", o.Name, o.Durable)
		}
	}
	for _, want := range []string{"validate/unknown/lanes=1", "validate/already-used/lanes=1", "validate/first-use/lanes=1",
		"validate/first-use/lanes=3", "validate/first-use/lanes=16"} {
		if _, ok := names[want]; !ok {
			t.Errorf("no %s in %v", want, names)
		}
	}
	// A first use of a ticket scanned before would have counted an error
	// above. First uses: the 100 of the used set and the warm-ups and steps of
	// three lane counts, each barcode admitted once.
	admitted := 0
	for _, n := range store.used {
		if n >= 1 {
			admitted++
		}
	}
	if got := 20_000 - fresh.Left(); admitted != got {
		t.Errorf("%d tickets admitted, the allocator handed out %d", admitted, got)
	}
}

// Wrong answers are counted and the first one is kept, not hidden.
func TestValidateCountsWrongAnswers(t *testing.T) {
	always := &gatetest.Index{ScanFunc: func(ctx context.Context, s gate.Scan) gate.Decision {
		return s.Refusal(gate.ReasonError, "disk on fire")
	}}
	o, err := bench.RunUnknown(context.Background(), always, 2, bench.Limit{Ops: 100})
	if err != nil {
		t.Fatal(err)
	}
	if o.Sample[bench.StatErrs] != 100 || !strings.Contains(o.FirstError, "error, want unknown disk on fire") {
		t.Errorf("%v, first error %q", o.Sample, o.FirstError)
	}
	if _, err := bench.AdmitTickets(context.Background(), always, bench.NewTickets(50), 10); err == nil {
		t.Error("a used set no scan admitted was accepted")
	}
	if _, err := bench.AdmitTickets(context.Background(), always, bench.NewTickets(5), 10); err == nil || !strings.Contains(err.Error(), "5 fresh tickets left") {
		t.Errorf("too few tickets: %v", err)
	}
}

// A duration-bound first-use step that outruns its first batch of fresh
// tickets takes more and goes on; one that exhausts the fixture says so.
func TestFirstUseTakesMoreTickets(t *testing.T) {
	store := newRedeemOnce(200_000)
	fresh := bench.NewTickets(200_000)
	var calls int
	slowFirst := store.index()
	inner := slowFirst.ScanFunc
	slowFirst.ScanFunc = func(ctx context.Context, s gate.Scan) gate.Decision {
		calls++ // one lane: no race
		if calls < 20 {
			time.Sleep(2 * time.Millisecond) // a slow warm-up underestimates the rate
		}
		return inner(ctx, s)
	}
	o, err := bench.RunFirstUse(context.Background(), slowFirst, fresh, 1, bench.Limit{Duration: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if o.Sample[bench.StatErrs] != 0 || int(o.Sample[bench.StatOps]) < 200 {
		t.Errorf("%v", o.Sample)
	}
	small := bench.NewTickets(300)
	if _, err := bench.RunFirstUse(context.Background(), newRedeemOnce(300).index(), small, 1, bench.Limit{Duration: 5 * time.Second}); err == nil || !strings.Contains(err.Error(), "ran out of fresh tickets") {
		t.Errorf("an exhausted fixture: %v", err)
	}
}

func TestTickets(t *testing.T) {
	tk := bench.NewTickets(10)
	first, b := tk.Take(4)
	if first != 0 || len(b) != 4 || b[3] != indextest.Barcode(3) {
		t.Fatalf("%d %v", first, b)
	}
	tk.Used(first, 2) // two were never scanned: handed out again
	if first, b = tk.Take(100); first != 2 || len(b) != 8 || b[0] != indextest.Barcode(2) || tk.Left() != 0 {
		t.Fatalf("%d %v left %d", first, b, tk.Left())
	}
	list := bench.NewTicketList([]string{"A", "B", "C"})
	if _, b := list.Take(2); strings.Join(b, "") != "AB" || list.Left() != 1 {
		t.Fatalf("%v", b)
	}
}

func TestLimitMustBound(t *testing.T) {
	if _, err := bench.RunUnknown(context.Background(), &gatetest.Index{}, 1, bench.Limit{}); err == nil {
		t.Error("an unbounded step ran")
	}
	if _, err := bench.RunFsync(context.Background(), t.TempDir(), bench.Limit{}); err == nil {
		t.Error("an unbounded fsync probe ran")
	}
}
