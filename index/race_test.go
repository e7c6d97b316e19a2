package index

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

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
	checkBrute(t, ix, derby, fest)
	checkCaches(t, ix)
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

// bruteReport counts an event's rows and minutes from the definitions in
// gate/report.go, reading every ticket through the public Ticket view and
// the whole journal: independent of the counters.
func bruteReport(t *testing.T, ix *Index, e gate.Event) ([]gate.ReportRow, []gate.MinuteCount) {
	t.Helper()
	ctx := context.Background()
	var barcodes []string
	if err := ix.iterPrefix([]byte{prefixTicket}, func(k, _ []byte) error {
		barcodes = append(barcodes, string(k[1:]))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	rows := map[[2]string]*gate.ReportRow{}
	for _, bc := range barcodes {
		v, err := ix.Ticket(ctx, bc)
		if err != nil {
			t.Fatal(err)
		}
		if v.State == gate.StateRevoked || !v.AdmitsTo(e) {
			continue
		}
		k := [2]string{v.Provider, v.PriceType.Code}
		r := rows[k]
		if r == nil {
			r = &gate.ReportRow{Provider: v.Provider, PriceType: v.PriceType.Code, PriceTypeName: v.PriceType.Name}
			rows[k] = r
		}
		var red gate.Redemption
		for _, x := range v.Redemptions {
			if x.Event == e.ID {
				red = x
			}
		}
		sold := v.State == gate.StateValid || v.State == gate.StateBlocked
		if sold {
			r.Sold++
			if red.Admissions > 0 || v.UsedUpstream {
				r.Used++
			} else {
				r.NoShow++
			}
		}
		if v.State == gate.StateCancelled || v.State == gate.StateInvalidated {
			r.Cancelled++
		}
		if red.Inside {
			r.Inside++
		}
	}
	var out []gate.ReportRow
	for _, r := range rows {
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b gate.ReportRow) int {
		return strings.Compare(a.Provider+"\x00"+a.PriceType, b.Provider+"\x00"+b.PriceType)
	})
	minutes := map[int64]*gate.MinuteCount{}
	for _, je := range allEntries(t, ix) {
		d := je.Decision
		if je.Kind != gate.KindDecision || !d.Admit || je.Annulled != 0 || d.Event != e.ID {
			continue
		}
		m := d.At.Unix() / 60
		if minutes[m] == nil {
			minutes[m] = &gate.MinuteCount{Minute: time.Unix(m*60, 0).UTC()}
		}
		if d.Reason == gate.ReasonExit {
			minutes[m].Exits++
		} else {
			minutes[m].Entries++
		}
	}
	var ms []gate.MinuteCount
	for _, k := range slices.Sorted(maps.Keys(minutes)) {
		ms = append(ms, *minutes[k])
	}
	return out, ms
}

func checkBrute(t *testing.T, ix *Index, events ...gate.Event) {
	t.Helper()
	for _, e := range events {
		rep, err := ix.Report(context.Background(), e.ID, during)
		if err != nil {
			t.Fatal(err)
		}
		rows, minutes := bruteReport(t, ix, e)
		if fmt.Sprint(rep.Rows) != fmt.Sprint(rows) || fmt.Sprint(rep.Minutes) != fmt.Sprint(minutes) {
			t.Errorf("%s: report\n%+v\n%+v\nbrute force\n%+v\n%+v", e.ID, rep.Rows, rep.Minutes, rows, minutes)
		}
	}
}
