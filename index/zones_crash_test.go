package index

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/admitgate/admit/gate"
)

// Zone occupancy across kill -9: a child moves tickets between zones from
// several lanes at once (entries, exits, moves inside, annulments) until
// it is killed; after every restart each zone's occupancy is exactly what
// the journal says, replayed: where each ticket's last passage that was
// not annulled took it.

const (
	crashZoneLanes   = 4
	crashZoneTickets = 100 // per lane: a lane's goroutine owns its tickets
	crashZoneCap     = 150
)

var crashZones = []gate.Zone{{ID: "north", Capacity: crashZoneCap}, {ID: "stand"}}

// crashZoneLane is each lane of the child and where its passages lead.
var crashZoneLane = map[string]struct {
	lane gate.Lane
	to   string
}{
	"north-in":  {northIn, "north"},
	"north-out": {northOut, gate.Outside},
	"stand-in":  {standIn, "stand"},
}

func zonesCrashChild(ix *Index, out *bufio.Writer) int {
	if err := ix.SetZones(crashZones); err != nil {
		fmt.Println("zones:", err)
		return 2
	}
	fmt.Fprintln(out, "READY")
	out.Flush()
	var wg sync.WaitGroup
	for l := range crashZoneLanes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(l), uint64(time.Now().UnixNano())))
			lanes := []gate.Lane{northIn, northOut, standIn}
			for {
				bc := fmt.Sprintf("Z%d-%03d", l, rng.IntN(crashZoneTickets))
				d := ix.Scan(context.Background(), lanes[rng.IntN(len(lanes))].Scan(bc, during))
				if d.Admit && rng.IntN(8) == 0 {
					_, _ = ix.Annul(context.Background(), d.Seq, "lane:crash")
				}
			}
		}()
	}
	wg.Wait()
	return 0
}

func TestCrashZoneOccupancyExact(t *testing.T) {
	dir := t.TempDir()
	ix, err := Open(dir, crashOptions())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ix.PutEvent(context.Background(), fest); err != nil {
		t.Fatal(err)
	}
	var ts []gate.Ticket
	for l := range crashZoneLanes {
		for i := range crashZoneTickets {
			ts = append(ts, tk(fmt.Sprintf("Z%d-%03d", l, i), "fest"))
		}
	}
	load(t, ix, ts...)
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	runs := 5
	if testing.Short() {
		runs = 2
	}
	passages := 0
	for run := range runs {
		wait := time.Duration(50+rand.IntN(250)) * time.Millisecond
		runChild(t, "zones", dir, func(lines <-chan string) {
			deadline := time.After(wait)
			for {
				select {
				case <-lines:
				case <-deadline:
					return
				}
			}
		})
		ix, err := Open(dir, crashOptions())
		if err != nil {
			t.Fatalf("run %d: reopen: %v", run, err)
		}
		if err := ix.SetZones(crashZones); err != nil {
			t.Fatal(err)
		}
		where := map[string]string{}
		passages = 0
		for _, e := range allEntries(t, ix) {
			d := e.Decision
			if e.Kind != gate.KindDecision || !d.Admit || e.Annulled != 0 {
				continue
			}
			m, ok := crashZoneLane[d.Lane]
			if !ok {
				t.Fatalf("run %d: a decision at lane %q", run, d.Lane)
			}
			to := m.to
			if d.Direction != m.lane.Direction {
				to = m.lane.Inward().From
			}
			where[d.Barcode] = to
			passages++
		}
		want := map[string]int{}
		for _, z := range where {
			want[z]++
		}
		for _, z := range crashZones {
			n, p := occupancy(t, ix, z.ID)
			if n != want[z.ID] || p != 0 {
				t.Fatalf("run %d: %s holds %d (%d pending) after the restart; the journal says %d", run, z.ID, n, p, want[z.ID])
			}
		}
		if want["north"] > crashZoneCap {
			t.Fatalf("run %d: north holds %d, over its capacity %d", run, want["north"], crashZoneCap)
		}
		if err := ix.Close(); err != nil {
			t.Fatal(err)
		}
		t.Logf("run %d: killed after %v; %d passages; north %d, stand %d", run, wait, passages, want["north"], want["stand"])
	}
	if passages == 0 {
		t.Fatal("the child made no passage: the test proved nothing")
	}
}
