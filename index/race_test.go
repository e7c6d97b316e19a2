package index

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/admitgate/admit/gate"
)

// TestRaceOneAdmitPerBarcode has 64 goroutines scan the same contested
// barcodes on different lanes: each barcode admits exactly once, and the
// journal agrees.
func TestRaceOneAdmitPerBarcode(t *testing.T) {
	ix, _ := openMem(t)
	const barcodes, goroutines = 200, 64
	var tickets []gate.Ticket
	for i := range barcodes {
		tickets = append(tickets, tk(fmt.Sprintf("C%04d", i), "derby"))
	}
	load(t, ix, tickets...)
	admits := make([]atomic.Int32, barcodes)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range barcodes {
				// Each goroutine walks the barcodes from its own offset, so
				// many collide on each barcode at once.
				j := (i + g*3) % barcodes
				d := ix.Scan(context.Background(), gate.Scan{Barcode: tickets[j].Barcode, Lane: fmt.Sprintf("lane-%d", g),
					Direction: gate.In, At: during})
				switch d.Reason {
				case gate.ReasonOK:
					admits[j].Add(1)
				case gate.ReasonAlreadyUsed:
				default:
					t.Errorf("%s: %s %s", tickets[j].Barcode, d.Reason, d.Detail)
				}
			}
		}()
	}
	wg.Wait()
	for i := range admits {
		if n := admits[i].Load(); n != 1 {
			t.Errorf("%s admitted %d times", tickets[i].Barcode, n)
		}
	}
	es := allEntries(t, ix)
	ok := 0
	for _, e := range es {
		if e.Decision.Reason == gate.ReasonOK {
			ok++
		}
	}
	if len(es) != barcodes*goroutines || ok != barcodes {
		t.Fatalf("journal: %d entries with %d admits, want %d and %d", len(es), ok, barcodes*goroutines, barcodes)
	}
	rep, err := ix.Report(context.Background(), "derby", during)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Total.Used != barcodes || rep.Total.Inside != barcodes || rep.Denials[gate.ReasonAlreadyUsed] != barcodes*(goroutines-1) {
		t.Fatalf("report: %+v denials %v", rep.Total, rep.Denials)
	}
}

// TestRaceConcurrentNonce: concurrent scans with one nonce get one decision.
func TestRaceConcurrentNonce(t *testing.T) {
	ix, _ := openMem(t)
	load(t, ix, tk("N", "derby"))
	var wg sync.WaitGroup
	seqs := make([]uint64, 32)
	for i := range seqs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := ix.Scan(context.Background(), gate.Scan{Barcode: "N", Lane: "l", Direction: gate.In, At: during, Nonce: "same"})
			if d.Reason != gate.ReasonOK {
				t.Errorf("scan %d: %s", i, d.Reason)
			}
			seqs[i] = d.Seq
		}()
	}
	wg.Wait()
	for _, s := range seqs {
		if s != seqs[0] {
			t.Fatalf("seqs differ: %v", seqs)
		}
	}
}

// TestRaceScansDuringChanges runs scans, admin changes, reissues, exits,
// annulments and an import at once, then checks the report counters against
// a count from scratch.
func TestRaceScansDuringChanges(t *testing.T) {
	ix, _ := openMem(t)
	ctx := context.Background()
	var tickets []gate.Ticket
	for i := range 300 {
		tickets = append(tickets, tk(fmt.Sprintf("R%04d", i), "fest", "derby"))
	}
	load(t, ix, tickets...)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 300 {
				bc := tickets[(i*7+g)%len(tickets)].Barcode
				dir := gate.In
				if (i+g)%3 == 0 {
					dir = gate.Out
				}
				d := ix.Scan(ctx, gate.Scan{Barcode: bc, Lane: "l", Direction: dir, At: during})
				if d.Admit && d.Reason == gate.ReasonOK && i%11 == 0 {
					_, _ = ix.Annul(ctx, d.Seq, "test")
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 300; i += 13 {
			bc := tickets[i].Barcode
			switch i % 4 {
			case 0:
				_, _ = ix.Block(ctx, bc, "a")
			case 1:
				_, _ = ix.Cancel(ctx, bc, "a")
			case 2:
				_, _ = ix.Reissue(ctx, bc, bc+"-r", "a")
			case 3:
				_, _ = ix.UpdateEvents(ctx, bc, nil, []string{"fest"}, "a")
			}
		}
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		more := make([]gate.Ticket, 0, 200)
		for i := range 200 {
			x := tk(fmt.Sprintf("R%04d", i+150), "fest", "derby")
			if i%5 == 0 {
				x.State = gate.StateCancelled
			}
			more = append(more, x)
		}
		if _, err := ix.Load(ctx, gate.ImportRequest{Provider: "p1", OnError: gate.OnErrorSkip}, gate.Lines(more...)); err != nil {
			t.Error(err)
		}
	}()
	wg.Wait()
	waitWritten(t, ix)
	checkCounters(t, ix)
}

// checkCounters compares every event's report with a count from scratch.
func checkCounters(t *testing.T, ix *Index) {
	t.Helper()
	waitWritten(t, ix)
	fresh, err := ix.rebuildCounters()
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ix.events.Load().All() {
		got := ix.ctrs().report(e, during)
		want := fresh.report(e, during)
		if fmt.Sprint(got.Rows, got.Total, got.Denials, got.Minutes) != fmt.Sprint(want.Rows, want.Total, want.Denials, want.Minutes) {
			t.Errorf("%s: counters\n%+v %+v %v %v\nfrom scratch\n%+v %+v %v %v", e.ID, got.Rows, got.Total, got.Denials, got.Minutes,
				want.Rows, want.Total, want.Denials, want.Minutes)
		}
	}
}
