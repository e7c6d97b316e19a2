package index

import (
	"sync"
	"testing"
	"time"

	"github.com/admitgate/admit/gate"
)

func TestWALMinSyncInterval(t *testing.T) {
	ix, _ := openMem(t)
	tickets := make([]gate.Ticket, 32)
	for i := range tickets {
		tickets[i] = tk(string(rune('A'+i%26))+string(rune('a'+i/26)), "derby")
	}
	load(t, ix, tickets...)
	during := t0.Add(time.Hour)
	if d := scanAt(ix, tickets[0].Barcode, during); !d.Admit {
		t.Fatalf("first use: %s", d.Reason)
	}
	if n, got := ix.syncing.Load(), ix.walMinSyncInterval(); n != 0 || got != 0 {
		t.Fatalf("after one admission: %d Sync commits in flight, interval %v; want 0, 0", n, got)
	}
	var wg sync.WaitGroup
	for _, tt := range tickets[1:] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if d := scanAt(ix, tt.Barcode, during); !d.Admit {
				t.Errorf("%s: %s", tt.Barcode, d.Reason)
			}
		}()
	}
	wg.Wait()
	if n := ix.syncing.Load(); n != 0 {
		t.Fatalf("after concurrent admissions: %d Sync commits in flight, want 0", n)
	}
	for _, tt := range []struct {
		syncing int64
		want    time.Duration
	}{{0, 0}, {1, 0}, {walBusySyncing - 1, 0}, {walBusySyncing, walBusyInterval}, {64, walBusyInterval}} {
		ix.syncing.Store(tt.syncing)
		if got := ix.walMinSyncInterval(); got != tt.want {
			t.Errorf("%d in flight: interval %v, want %v", tt.syncing, got, tt.want)
		}
	}
	ix.syncing.Store(0)
}
