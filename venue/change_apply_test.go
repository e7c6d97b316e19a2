package venue_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/venue/hubtest"
)

// setUp makes the venue's catalog through appliance a: provider box, event
// derby, and an import of n tickets T00000...
func setUp(t *testing.T, a *changeAppliance, n int) []string {
	t.Helper()
	ctx := gate.WithBy(context.Background(), "setup")
	if _, err := a.api.PutProvider(ctx, gate.Provider{ID: "box", Name: "Box office"}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.api.PutEvent(ctx, derby); err != nil {
		t.Fatal(err)
	}
	var bcs []string
	for i := range n {
		bcs = append(bcs, fmt.Sprintf("T%05d", i))
	}
	res, err := a.pub.Import(ctx, gate.ImportRequest{Provider: "box", Event: "derby", Source: "setup.txt", By: "setup"},
		strings.NewReader(lines(bcs...)))
	if err != nil || res.Added != n {
		t.Fatalf("setup import: %+v, %v", res, err)
	}
	return bcs
}

func scan(a *changeAppliance, barcode string) gate.Decision {
	return a.ix.Scan(context.Background(), gate.Scan{Barcode: barcode, Lane: a.id + "-1", Direction: gate.In, At: time.Now()})
}

// A cancel made at A is applied at A before A's call returns (A refuses the
// ticket at once) and at B and C within a second or so: measured over a few
// hundred cancels and logged (p50, p99); asserted only against a generous
// bound. No appliance admits a ticket once it has applied its cancel.
func TestCancelReachesEveryAppliance(t *testing.T) {
	c := hubtest.StartCluster(t, 1)
	a := startAppliance(t, c, "north", "")
	b := startAppliance(t, c, "south", "")
	d := startAppliance(t, c, "east", "")
	n := 300
	if testing.Short() {
		n = 60
	}
	bcs := setUp(t, a, n)
	base := lastPosition(t, c)
	b.caughtUp(base)
	d.caughtUp(base)
	ctx := context.Background()
	var lags []time.Duration
	var mu sync.Mutex
	var all sync.WaitGroup
	for i, bc := range bcs {
		res, err := a.pub.Publish(ctx, gate.Change{Kind: gate.ChangeCancel, Barcode: bc, By: "ops"})
		done := time.Now()
		if err != nil || res.Ticket.State != gate.StateCancelled || res.Change.Position == 0 {
			t.Fatalf("cancel %s: %+v, %v", bc, res, err)
		}
		if dec := scan(a, bc); dec.Admit || dec.Reason != gate.ReasonCancelled {
			t.Fatalf("%s admitted at north after its cancel returned: %+v", bc, dec)
		}
		var wg sync.WaitGroup
		for _, o := range []*changeAppliance{b, d} {
			wg.Add(1)
			all.Add(1)
			go func() {
				defer all.Done()
				defer wg.Done()
				wctx, cancel := context.WithTimeout(ctx, time.Minute)
				defer cancel()
				if err := o.app.WaitApplied(wctx, res.Change.Position); err != nil {
					t.Errorf("%s: %v", o.id, err)
					return
				}
				lag := time.Since(done)
				if dec := scan(o, bc); dec.Admit || dec.Reason != gate.ReasonCancelled {
					t.Errorf("%s admitted at %s after it applied the cancel: %+v", bc, o.id, dec)
				}
				mu.Lock()
				lags = append(lags, lag)
				mu.Unlock()
			}()
		}
		// Every other cancel is awaited; the rest overlap the next one.
		if i%2 == 0 {
			wg.Wait()
		}
	}
	all.Wait()
	if t.Failed() {
		return
	}
	mu.Lock()
	defer mu.Unlock()
	p50, p99 := percentile(lags, 0.5), percentile(lags, 0.99)
	t.Logf("cancel applied at the other appliances after the call returned at north: p50 %s, p99 %s, max %s over %d",
		p50, p99, lags[len(lags)-1], len(lags))
	if p99 > 10*time.Second {
		t.Errorf("p99 %s: the cancels reach the other appliances far too late", p99)
	}
	sameStores(t, bcs, a, b, d)
}

// Three appliances take interleaved changes of every kind at once, imports
// included (overlapping barcodes, so the order decides what each does);
// afterwards their stores answer every ticket lookup alike, hold the same
// imports and record the same changes.
func TestSameHistoryOnThreeAppliances(t *testing.T) {
	c := hubtest.StartCluster(t, 1)
	apps := []*changeAppliance{startAppliance(t, c, "north", ""), startAppliance(t, c, "south", ""), startAppliance(t, c, "east", "")}
	bcs := setUp(t, apps[0], 200)
	ctx := context.Background()
	var wg sync.WaitGroup
	var mu sync.Mutex
	all := map[string]bool{}
	for _, bc := range bcs {
		all[bc] = true
	}
	for i, a := range apps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(i), 7))
			by := gate.WithBy(ctx, a.id+"-ops")
			for j := range 40 {
				bc := bcs[rng.IntN(len(bcs))]
				var err error
				switch k := rng.IntN(8); k {
				case 0:
					_, err = a.api.Cancel(ctx, bc, a.id)
				case 1:
					_, err = a.api.Block(ctx, bc, a.id)
				case 2:
					_, err = a.api.Unblock(ctx, bc, a.id)
				case 3:
					_, err = a.api.Invalidate(ctx, bc, a.id)
				case 4:
					nu := fmt.Sprintf("R-%s-%d", a.id, j)
					mu.Lock()
					all[nu] = true
					mu.Unlock()
					_, err = a.api.Reissue(ctx, bc, nu, a.id)
				case 5:
					_, err = a.api.PutEvent(by, gate.Event{ID: fmt.Sprintf("ev-%d", rng.IntN(3)), Name: a.id})
				case 6:
					_, err = a.api.UpdateEvents(ctx, bc, []string{"derby"}, nil, a.id)
				case 7:
					// An import overlapping the set and another appliance's.
					var ls []string
					for m := range 30 {
						ls = append(ls, fmt.Sprintf("I%03d", (j*7+m*3+i*11)%120))
					}
					mu.Lock()
					for _, l := range ls {
						all[l] = true
					}
					mu.Unlock()
					_, err = a.pub.Import(ctx, gate.ImportRequest{Provider: "box", Event: "derby", Source: a.id, By: a.id},
						strings.NewReader(lines(ls...)))
				}
				if err != nil && !gate.IsChangeRefusal(err) {
					t.Errorf("%s: change %d: %v", a.id, j, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	last := lastPosition(t, c)
	for _, a := range apps {
		a.caughtUp(last)
	}
	var barcodes []string
	for bc := range all {
		barcodes = append(barcodes, bc)
	}
	barcodes = append(barcodes, "never-imported")
	sameStores(t, barcodes, apps...)
	if n := len(changeList(t, apps[0].ix)); n < 100 {
		t.Fatalf("only %d changes recorded", n)
	}
}
