package index

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
)

var (
	northIn  = gate.Lane{ID: "north-in", Direction: gate.In, From: gate.Outside, To: "north"}
	northOut = gate.Lane{ID: "north-out", Direction: gate.Out, From: "north", To: gate.Outside}
	standIn  = gate.Lane{ID: "stand-in", Direction: gate.In, From: "north", To: "stand"}
)

func openZones(t testing.TB, fs vfs.FS, zones ...gate.Zone) *Index {
	t.Helper()
	ix := openFS(t, fs)
	for _, e := range []gate.Event{derby, fest, double, cup} {
		if _, err := ix.PutEvent(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
	if err := ix.SetZones(zones); err != nil {
		t.Fatal(err)
	}
	return ix
}

func laneScan(ix *Index, l gate.Lane, barcode string, at time.Time) gate.Decision {
	return ix.Scan(context.Background(), l.Scan(barcode, at))
}

// occupancy returns the zone's occupancy and pending places.
func occupancy(t testing.TB, ix *Index, zone string) (int, int) {
	t.Helper()
	for _, z := range ix.Zones(false) {
		if z.ID == zone {
			return z.Occupancy, z.Pending
		}
	}
	return 0, 0
}

func wantOccupancy(t testing.TB, ix *Index, zone string, want int) {
	t.Helper()
	if n, p := occupancy(t, ix, zone); n != want || p != 0 {
		t.Fatalf("%s holds %d (%d pending), want %d", zone, n, p, want)
	}
}

func TestZoneCapacityAndExits(t *testing.T) {
	ix := openZones(t, vfs.NewMem(), gate.Zone{ID: "north", Name: "North stand", Capacity: 2})
	load(t, ix, tk("Z1", "derby"), tk("Z2", "derby"), tk("Z3", "derby"))
	for _, bc := range []string{"Z1", "Z2"} {
		if d := laneScan(ix, northIn, bc, during); d.Reason != gate.ReasonOK {
			t.Fatalf("%s: %+v", bc, d)
		}
	}
	wantOccupancy(t, ix, "north", 2)
	d := laneScan(ix, northIn, "Z3", during)
	if d.Reason != gate.ReasonZoneFull || d.Detail != "North stand is full: 2 of 2 places taken" || d.Event != "derby" {
		t.Fatalf("the third: %+v", d)
	}
	if c := ix.Check(context.Background(), northIn.Scan("Z3", during)); c.Reason != gate.ReasonZoneFull {
		t.Fatalf("check of the third: %+v", c)
	}
	// An exit frees a place; the refused ticket was not spent.
	if d := laneScan(ix, northOut, "Z1", during.Add(time.Minute)); d.Reason != gate.ReasonExit {
		t.Fatalf("exit: %+v", d)
	}
	wantOccupancy(t, ix, "north", 1)
	if d := laneScan(ix, northIn, "Z3", during.Add(2*time.Minute)); d.Reason != gate.ReasonOK {
		t.Fatalf("the third after an exit: %+v", d)
	}
	wantOccupancy(t, ix, "north", 2)
	z := ix.Zones(true)[0]
	if !z.Full || z.Capacity != 2 || len(z.Series) == 0 {
		t.Fatalf("status %+v", z)
	}
	rep, _ := ix.Report(context.Background(), "derby", during)
	if rep.Denials[gate.ReasonZoneFull] != 1 {
		t.Fatalf("denials %v", rep.Denials)
	}
	checkCounters(t, ix)
}

// TestZoneOccupancySurvivesReopen: the count is the location records, read
// again at Open.
func TestZoneOccupancySurvivesReopen(t *testing.T) {
	fs := vfs.NewMem()
	zones := []gate.Zone{{ID: "north", Capacity: 10}, {ID: "stand"}}
	ix := openZones(t, fs, zones...)
	load(t, ix, tk("A", "derby"), tk("B", "derby"), tk("C", "derby"))
	for _, bc := range []string{"A", "B", "C"} {
		laneScan(ix, northIn, bc, during)
	}
	laneScan(ix, standIn, "B", during.Add(time.Minute)) // north -> stand: spends nothing
	laneScan(ix, northOut, "C", during.Add(2*time.Minute))
	wantOccupancy(t, ix, "north", 1)
	wantOccupancy(t, ix, "stand", 1)
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	ix = openZones(t, fs, zones...)
	wantOccupancy(t, ix, "north", 1)
	wantOccupancy(t, ix, "stand", 1)
}

// TestZoneMovesInsideTheVenue: a lane between two inner zones spends no
// entry, names no event (reports count no entry), refuses no one going
// out, and is refused for a ticket that is not valid or whose event is not
// open.
func TestZoneMovesInsideTheVenue(t *testing.T) {
	ix := openZones(t, vfs.NewMem(), gate.Zone{ID: "north"}, gate.Zone{ID: "stand", Capacity: 1})
	load(t, ix, tk("M1", "derby"), tk("M2", "derby"), tk("M3", "cup"))
	laneScan(ix, northIn, "M1", during)
	d := laneScan(ix, standIn, "M1", during.Add(time.Minute))
	if d.Reason != gate.ReasonOK || d.Event != "" || d.Seq == 0 {
		t.Fatalf("into the stand: %+v", d)
	}
	wantOccupancy(t, ix, "north", 0)
	wantOccupancy(t, ix, "stand", 1)
	// Back out to north through the same lane: always let through.
	back := standIn.Scan("M1", during.Add(2*time.Minute))
	back.Direction = gate.Out
	if d := ix.Scan(context.Background(), back); d.Reason != gate.ReasonExit || d.Event != "" {
		t.Fatalf("back: %+v", d)
	}
	wantOccupancy(t, ix, "north", 1)
	wantOccupancy(t, ix, "stand", 0)
	// A ticket for an event that is not open yet.
	if d := laneScan(ix, standIn, "M3", during); d.Reason != gate.ReasonNotYetValid || d.Event != "cup" {
		t.Fatalf("an event not open: %+v", d)
	}
	// The stand holds one.
	laneScan(ix, standIn, "M1", during.Add(3*time.Minute))
	if d := laneScan(ix, standIn, "M2", during.Add(4*time.Minute)); d.Reason != gate.ReasonZoneFull {
		t.Fatalf("full stand: %+v", d)
	}
	v, err := ix.Ticket(context.Background(), "M1")
	if err != nil {
		t.Fatal(err)
	}
	if r := v.Redemptions[0]; r.Admissions != 1 || !r.Inside || len(r.Entries) != 1 {
		t.Fatalf("moves inside spent an entry: %+v", r)
	}
	rep, _ := ix.Report(context.Background(), "derby", during)
	entries := 0
	for _, m := range rep.Minutes {
		entries += m.Entries
	}
	if entries != 1 {
		t.Fatalf("the report counts %d entries, want 1: %+v", entries, rep.Minutes)
	}
	checkCounters(t, ix)
}

func TestNoPassback(t *testing.T) {
	ix := openZones(t, vfs.NewMem(), gate.Zone{ID: "north", NoPassback: true}, gate.Zone{ID: "south"})
	southIn := gate.Lane{ID: "south-in", Direction: gate.In, From: gate.Outside, To: "south"}
	load(t, ix, tk("P1", "double"), tk("P2", "double"))
	// The event admits twice, but not into north while the ticket is inside.
	if d := laneScan(ix, northIn, "P1", during); d.Reason != gate.ReasonOK {
		t.Fatal(d)
	}
	d := laneScan(ix, northIn, "P1", during.Add(time.Minute))
	if d.Reason != gate.ReasonAlreadyUsed || !strings.Contains(d.Detail, "no passback") {
		t.Fatalf("passback: %+v", d)
	}
	// South allows it, and a ticket counts once however often it enters.
	laneScan(ix, southIn, "P2", during)
	if d := laneScan(ix, southIn, "P2", during.Add(time.Minute)); d.Reason != gate.ReasonOK {
		t.Fatalf("south: %+v", d)
	}
	wantOccupancy(t, ix, "south", 1)
	// Out and in again is no passback.
	laneScan(ix, northOut, "P1", during.Add(2*time.Minute))
	if d := laneScan(ix, northIn, "P1", during.Add(3*time.Minute)); d.Reason != gate.ReasonOK {
		t.Fatalf("after leaving: %+v", d)
	}
}

func TestExitAllAt(t *testing.T) {
	fs := vfs.NewMem()
	zone := gate.Zone{ID: "north", ExitAllAt: "04:00", NoPassback: true}
	ix := openZones(t, fs, zone)
	no := gate.Event{ID: "always", Name: "Always", Entries: 5}
	if _, err := ix.PutEvent(context.Background(), no); err != nil {
		t.Fatal(err)
	}
	load(t, ix, tk("E1", "always"), tk("E2", "always"))
	now := time.Now()
	laneScan(ix, northIn, "E1", now)
	laneScan(ix, northIn, "E2", now)
	wantOccupancy(t, ix, "north", 2)
	// The next 04:00 passes.
	ix.exitAllDue(now.Add(25 * time.Hour))
	wantOccupancy(t, ix, "north", 0)
	if st := ix.Zones(false)[0]; st.LastExitAll.IsZero() || st.LastExitAll.Hour() != 4 {
		t.Fatalf("last exit all %v", st.LastExitAll)
	}
	// Emptied: E1 is outside now, so its entry is no passback. It counts at
	// its scan's time, after the reset.
	if d := laneScan(ix, northIn, "E1", now.Add(25*time.Hour)); d.Reason != gate.ReasonOK {
		t.Fatalf("after exit_all_at: %+v", d)
	}
	wantOccupancy(t, ix, "north", 1)
	// E2's exit frees nothing: it was counted out already.
	laneScan(ix, northOut, "E2", now.Add(25*time.Hour))
	wantOccupancy(t, ix, "north", 1)
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	ix = openFS(t, fs)
	if err := ix.SetZones([]gate.Zone{zone}); err != nil {
		t.Fatal(err)
	}
	wantOccupancy(t, ix, "north", 1)
}

// TestZoneAnnul: an admission annulled (nobody passed) gives its place
// back and puts the ticket where it was, for entries and moves inside.
func TestZoneAnnul(t *testing.T) {
	ctx := context.Background()
	ix := openZones(t, vfs.NewMem(), gate.Zone{ID: "north", Capacity: 1}, gate.Zone{ID: "stand"})
	load(t, ix, tk("X1", "derby"), tk("X2", "derby"))
	d := laneScan(ix, northIn, "X1", during)
	if _, err := ix.Annul(ctx, d.Seq, "lane:north-in"); err != nil {
		t.Fatal(err)
	}
	wantOccupancy(t, ix, "north", 0)
	if d := laneScan(ix, northIn, "X2", during); d.Reason != gate.ReasonOK {
		t.Fatalf("the place was not given back: %+v", d)
	}
	m := laneScan(ix, standIn, "X2", during.Add(time.Minute))
	wantOccupancy(t, ix, "stand", 1)
	if _, err := ix.Annul(ctx, m.Seq, "lane:stand-in"); err != nil {
		t.Fatalf("annul of a move: %v", err)
	}
	wantOccupancy(t, ix, "stand", 0)
	wantOccupancy(t, ix, "north", 1)
	if _, err := ix.Annul(ctx, m.Seq, "lane:stand-in"); gate.ErrorCode(err) != gate.ECONFLICT {
		t.Fatalf("a second annulment: %v", err)
	}
	es := allEntries(t, ix)
	if last := es[len(es)-1]; last.Kind != gate.KindAnnulment || last.Decision.Seq != m.Seq {
		t.Fatalf("journal %+v", last)
	}
}

// TestZoneCapacityUnderConcurrentLanes is issue 18's: 16 lanes admitting
// into a zone of capacity 100 at once never admit the 101st, on a real
// disk (each admission its own Sync commit, the place held across it).
func TestZoneCapacityUnderConcurrentLanes(t *testing.T) {
	const lanes, capacity, perLane = 16, 100, 12
	o := testOptions(vfs.Default)
	o.Location = time.UTC
	ix, err := Open(t.TempDir(), o)
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	if _, err := ix.PutEvent(context.Background(), derby); err != nil {
		t.Fatal(err)
	}
	if err := ix.SetZones([]gate.Zone{{ID: "north", Capacity: capacity}}); err != nil {
		t.Fatal(err)
	}
	var ts []gate.Ticket
	for i := range lanes * perLane {
		ts = append(ts, tk(fmt.Sprintf("C%04d", i), "derby"))
	}
	load(t, ix, ts...)
	var admitted, full, other sync.Map
	var wg sync.WaitGroup
	for l := range lanes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lane := gate.Lane{ID: fmt.Sprintf("in-%d", l), Direction: gate.In, From: gate.Outside, To: "north"}
			for i := range perLane {
				bc := fmt.Sprintf("C%04d", l*perLane+i)
				d := ix.Scan(context.Background(), lane.Scan(bc, during))
				switch d.Reason {
				case gate.ReasonOK:
					admitted.Store(bc, d.Seq)
				case gate.ReasonZoneFull:
					full.Store(bc, true)
				default:
					other.Store(bc, d)
				}
			}
		}()
	}
	wg.Wait()
	count := func(m *sync.Map) (n int) {
		m.Range(func(_, _ any) bool { n++; return true })
		return n
	}
	other.Range(func(k, v any) bool { t.Errorf("%s: %+v", k, v); return true })
	if a, f := count(&admitted), count(&full); a != capacity || f != lanes*perLane-capacity {
		t.Fatalf("admitted %d, refused zone_full %d; want %d and %d", a, f, capacity, lanes*perLane-capacity)
	}
	wantOccupancy(t, ix, "north", capacity)
}

// TestZoneCommitTimeoutNeverAppliesLater: a passage into a zone whose
// commit times out is refused with error, its place given back, and what
// it wrote, landing once the disk answers, is undone by the recovery: the
// zone counts only the guests who were admitted.
func TestZoneCommitTimeoutNeverAppliesLater(t *testing.T) {
	hang := &hungWAL{release: make(chan struct{})}
	o := testOptions(errorfs.Wrap(vfs.NewMem(), hang))
	o.CommitTimeout = 2 * time.Second // generous: a loaded machine must not time out a healthy commit
	ix := openDerby(t, o)
	if err := ix.SetZones([]gate.Zone{{ID: "north", Capacity: 2}, {ID: "stand"}}); err != nil {
		t.Fatal(err)
	}
	load(t, ix, tk("A", "derby"), tk("B", "derby"))
	if d := laneScan(ix, northIn, "B", during); d.Reason != gate.ReasonOK {
		t.Fatalf("B: %+v", d)
	}
	hang.on.Store(true)
	d := returnsWithin(t, 30*time.Second, "a scan on a hung disk", func() gate.Decision { return laneScan(ix, northIn, "A", during) })
	if d.Reason != gate.ReasonError || d.Admit {
		t.Fatalf("A on a hung disk: %+v", d)
	}
	if n, p := occupancy(t, ix, "north"); n != 1 || p != 0 {
		t.Fatalf("during the fault north holds %d (%d pending)", n, p)
	}
	hang.on.Store(false)
	close(hang.release)
	waitFor(t, "the recovery", func() bool { return !ix.Stats().Faulted })
	wantOccupancy(t, ix, "north", 1)
	if l, _, err := ix.ticketLoc(func() uint64 { r, _, _ := ix.getTicket(nil, "A"); return r.Key }()); err != nil || l.zone != gate.Outside {
		t.Fatalf("A is placed in %q after the recovery (%v)", l.zone, err)
	}
	if d := laneScan(ix, northIn, "A", during); d.Reason != gate.ReasonOK {
		t.Fatalf("A again: %+v", d)
	}
	wantOccupancy(t, ix, "north", 2)
}
