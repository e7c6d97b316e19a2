package index

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/admitgate/admit/gate"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// TestCompactionsPacedWhileScanning: Pebble's compactions run through the
// store's scheduler and, while scans are being made, sleep to leave them
// the cores, unless pacing is turned off; either way every admission
// stands and the counters agree.
func TestCompactionsPacedWhileScanning(t *testing.T) {
	tickets := 40_000
	if testing.Short() {
		tickets = 25_000
	}
	for _, tc := range []struct {
		name    string
		disable bool
	}{{"paced", false}, {"pacing disabled", true}} {
		t.Run(tc.name, func(t *testing.T) {
			o := testOptions(vfs.NewMem())
			o.MemTableSize = 1 << 20 // a flush every few thousand admissions
			o.DisableCompactionPacing = tc.disable
			ix := openDerby(t, o)
			ts := make([]gate.Ticket, tickets)
			for i := range ts {
				ts[i] = tk(fmt.Sprintf("C%06d", i), "derby")
			}
			load(t, ix, ts...)

			const lanes = 4
			var wg sync.WaitGroup
			errs := make(chan string, lanes)
			for l := range lanes {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := l; i < tickets; i += lanes {
						s := gate.Scan{Barcode: ts[i].Barcode, Lane: fmt.Sprintf("l%d", l), Direction: gate.In, At: during}
						if d := ix.Scan(context.Background(), s); d.Reason != gate.ReasonOK {
							errs <- fmt.Sprintf("%s: %s %s", s.Barcode, d.Reason, d.Detail)
							return
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for e := range errs {
				t.Fatal(e)
			}

			compactions := 0
			for _, s := range ix.BackgroundSpans(ix.born) {
				if s.Kind == "compaction" {
					compactions++
				}
			}
			if compactions == 0 {
				t.Fatal("no compaction ran: the test proved nothing")
			}
			st := ix.Stats()
			if tc.disable != (st.CompactionsPaced == 0) || tc.disable != (st.CompactionPacedTime == 0) {
				t.Errorf("%d compactions, %d paced, %v slept", compactions, st.CompactionsPaced, st.CompactionPacedTime)
			}
			t.Logf("%d compactions, %d paced, %v slept", compactions, st.CompactionsPaced, st.CompactionPacedTime)
			for _, i := range []int{0, tickets / 2, tickets - 1} {
				if v, err := ix.Ticket(context.Background(), ts[i].Barcode); err != nil || len(v.Redemptions) != 1 {
					t.Errorf("%s: %+v %v", ts[i].Barcode, v.Redemptions, err)
				}
			}
			checkCounters(t, ix)
		})
	}
}
