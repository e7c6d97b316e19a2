package turnstile_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/turnstile"
	"github.com/admitgate/admit/turnstile/turnstiletest"
)

// watchedBoard is a fake board that notes, when it is halted and when its
// Run ends, what the rest of the set was doing: Stop's order made visible.
type watchedBoard struct {
	*turnstiletest.Board
	mu     sync.Mutex
	notes  []string
	observ func() string
}

func (b *watchedBoard) note(what string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.notes = append(b.notes, what+": "+b.observ())
}

func (b *watchedBoard) Halt() error {
	b.note("board halt")
	return b.Board.Halt()
}

func (b *watchedBoard) Run(ctx context.Context) error {
	err := b.Board.Run(ctx)
	b.note("board run ended")
	return err
}

// state returns whether the board runs and its relays' levels.
func (b *watchedBoard) state() (running bool, closed []bool) {
	b.Board.Lock()
	defer b.Board.Unlock()
	return b.Running, slices.Clone(b.Closed)
}

// setRig is a Set with a turnstile lane (its relay and green light on a
// shared board, a passage sensor, its own scanner) and a door (a scanner
// only), on a fake clock.
type setRig struct {
	clock          *turnstiletest.Clock
	ledger         *ledger
	board          *watchedBoard
	sensor         *turnstiletest.Input
	scanner, doorS *turnstiletest.Scanner
	set            *turnstile.Set
	gate, door     *turnstile.Lane
}

func newSetRig(t *testing.T) *setRig {
	t.Helper()
	r := &setRig{clock: turnstiletest.NewClock(t0), sensor: turnstiletest.NewInput("sensor"),
		scanner: &turnstiletest.Scanner{}, doorS: &turnstiletest.Scanner{}}
	r.scanner.SetConnected(true)
	r.doorS.SetConnected(true)
	var index gate.Validator
	r.ledger, index = newLedger("A", "B", "C", "D")
	r.board = &watchedBoard{Board: turnstiletest.NewBoard("ABCDE", 2, r.clock)}
	r.board.observ = func() string {
		r.sensor.Lock()
		watched := r.sensor.Watching
		r.sensor.Unlock()
		return fmt.Sprintf("scanner running %v, gate %s, sensor watched %v", r.scanner.Running(), r.gate.Status().State, watched)
	}
	set, err := turnstile.NewSet(r.clock, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	r.set = set
	set.AddBoard(r.board)
	cfg := turnstile.Config{Clock: r.clock, Confirm: turnstile.ConfirmPassage, UnlockTime: 5 * time.Second}
	if r.gate, err = set.Add(turnstile.LaneSpec{Lane: gate.Lane{ID: "gate-1", Name: "Gate 1"}, Validator: index,
		Parts:  turnstile.Parts{Lock: r.board.Channel(1), Green: r.board.Channel(2), Passage: r.sensor},
		Config: &cfg, Scanner: r.scanner, Hardware: "relay on ABCDE/1"}); err != nil {
		t.Fatal(err)
	}
	if r.door, err = set.Add(turnstile.LaneSpec{Lane: gate.Lane{ID: "door"}, Validator: index,
		Config: &turnstile.Config{Clock: r.clock}, Scanner: r.doorS, Hardware: "scanner"}); err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *setRig) read(t *testing.T, s *turnstiletest.Scanner, l *turnstile.Lane, text string) gate.LaneStatus {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	before := l.Status().Scans
	if err := s.Send(ctx, gate.Read{Text: text, At: r.clock.Now(), Source: "test"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the read decided", func() bool { return l.Status().Scans > before })
	return l.Status()
}

// Start runs the boards, then the lanes (outputs to idle, the sensor
// watched), then the scanners, whose reads the lanes decide; a door decides
// its reads without a turnstile. Stop undoes it in order: scanners, lanes
// halted (the pending admission annulled), boards halted, watchers ended,
// boards let go.
func TestSetStartStop(t *testing.T) {
	r := newSetRig(t)
	if d := r.gate.Scan(context.Background(), gate.Scan{Barcode: "A", At: t0}); d.Reason != gate.ReasonError ||
		!strings.Contains(d.Detail, "starting") || len(r.ledger.entries()) != 0 {
		t.Fatalf("a scan before Start = %+v, journal %d", d, len(r.ledger.entries()))
	}
	if sw := r.board.Switches(); len(sw) != 0 {
		t.Fatalf("outputs switched before Start: %+v", sw)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.set.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := r.set.Start(ctx); err == nil {
		t.Fatal("a second Start")
	}
	<-r.sensor.Watched()
	if sw := r.board.Switches(); len(sw) != 2 || sw[0].Output != "board:ABCDE/1" || sw[0].On || sw[1].On {
		t.Fatalf("after Start: switches %+v; want the relay, then the green light, off", sw)
	}
	waitFor(t, "the board to run", func() bool { running, _ := r.board.state(); return running })

	st := r.read(t, r.scanner, r.gate, "A")
	if _, closed := r.board.state(); st.State != turnstile.StateUnlocked || st.Last == nil || st.Last.Barcode != "A" || !closed[0] {
		t.Fatalf("gate after its read: %+v", st)
	}
	st = r.read(t, r.doorS, r.door, "B")
	if st.State != turnstile.StateIdle || st.RelayOK || !st.ScannerConnected || st.Admits != 1 || !st.Last.Admit {
		t.Fatalf("door after its read: %+v", st)
	}
	if st := r.read(t, r.doorS, r.door, "B"); st.Last.Reason != gate.ReasonAlreadyUsed || st.Scans != 2 {
		t.Fatalf("door after a second read: %+v", st)
	}

	if err := r.set.Stop(); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"board halt: scanner running false, gate halted, sensor watched true",
		"board run ended: scanner running false, gate halted, sensor watched false",
	}
	if !slices.Equal(r.board.notes, want) {
		t.Fatalf("stop order:\n%s\nwant\n%s", strings.Join(r.board.notes, "\n"), strings.Join(want, "\n"))
	}
	running, closed := r.board.state()
	if as := r.ledger.annulments(); len(as) != 1 || as[0].Decision.Barcode != "A" || closed[0] || closed[1] || running {
		t.Fatalf("after Stop: annulments %+v, board %v, running %v", as, closed, running)
	}
	if err := r.set.Stop(); err != nil {
		t.Fatal(err)
	}
}

// An unplugged board does not keep Start waiting past ctx, and its Halt at
// Stop is logged, not returned: an unpowered relay is open.
func TestSetUnpluggedBoard(t *testing.T) {
	r := newSetRig(t)
	r.board.Board.Lock()
	r.board.Unplugged = true
	r.board.Board.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := r.set.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if st := r.gate.Status(); st.State != turnstile.StateFaulted || st.RelayOK {
		t.Fatalf("gate on an unplugged board: %+v", st)
	}
	if err := r.set.Stop(); err != nil {
		t.Fatalf("Stop with an unplugged board = %v", err)
	}
	if r.board.Halts != 1 {
		t.Fatalf("board halted %d times", r.board.Halts)
	}
}

// Stop before Start keeps the set from starting and touches nothing.
func TestSetStopBeforeStart(t *testing.T) {
	r := newSetRig(t)
	if err := r.set.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := r.set.Start(context.Background()); err == nil {
		t.Fatal("Start after Stop")
	}
	if r.board.Halts != 0 || len(r.board.Switches()) != 0 {
		t.Fatal("a set that never started touched its board")
	}
}

// What a reload does to a running set, lane by lane.
func TestSetPlan(t *testing.T) {
	r := newSetRig(t)
	base := []turnstile.Configured{
		{Lane: gate.Lane{ID: "gate-1", Name: "Gate 1"}, Hardware: "relay on ABCDE/1"},
		{Lane: gate.Lane{ID: "door"}, Hardware: "scanner"},
		{Lane: gate.Lane{ID: "api-1"}},
	}
	// Before Start the set runs what it was given: nothing waits.
	p := r.set.Plan(append(slices.Clone(base), turnstile.Configured{Lane: gate.Lane{ID: "new"}, Hardware: "relay"}))
	for _, pl := range p.Lanes {
		if pl.Wait != turnstile.WaitNothing {
			t.Fatalf("before Start: %+v", pl)
		}
	}
	r.set.Apply(r.set.Plan(base))
	if err := r.set.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer r.set.Stop()

	with := func(edit func([]turnstile.Configured) []turnstile.Configured) []turnstile.Configured {
		return edit(slices.Clone(base))
	}
	tests := []struct {
		name  string
		lanes []turnstile.Configured
		want  string // id:wait:runs, in order
	}{
		{"unchanged", base, "gate-1:0:true door:0:true api-1:0:false"},
		{"policy only", with(func(c []turnstile.Configured) []turnstile.Configured {
			c[0].Lane = gate.Lane{ID: "gate-1", Name: "G1", Direction: gate.Out, Events: []string{"E"}}
			return c
		}), "gate-1:0:true door:0:true api-1:0:false"},
		{"hardware changed", with(func(c []turnstile.Configured) []turnstile.Configured { c[0].Hardware = "relay on ABCDE/2"; return c }),
			fmt.Sprintf("gate-1:%d:true door:0:true api-1:0:false", turnstile.WaitHardware)},
		{"removed", with(func(c []turnstile.Configured) []turnstile.Configured { return c[1:] }),
			fmt.Sprintf("door:0:true api-1:0:false gate-1:%d:true", turnstile.WaitRemoved)},
		{"new with hardware", with(func(c []turnstile.Configured) []turnstile.Configured {
			return append(c, turnstile.Configured{Lane: gate.Lane{ID: "t3"}, Hardware: "relay"})
		}), fmt.Sprintf("gate-1:0:true door:0:true api-1:0:false t3:%d:false", turnstile.WaitNew)},
		{"API lane gets hardware", with(func(c []turnstile.Configured) []turnstile.Configured { c[2].Hardware = "relay"; return c }),
			fmt.Sprintf("gate-1:0:true door:0:true api-1:%d:false", turnstile.WaitDriven)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := r.set.Plan(tt.lanes)
			var got []string
			for _, pl := range p.Lanes {
				got = append(got, fmt.Sprintf("%s:%d:%v", pl.Policy.ID, pl.Wait, pl.Lane != nil))
			}
			if strings.Join(got, " ") != tt.want {
				t.Fatalf("plan = %s, want %s", strings.Join(got, " "), tt.want)
			}
			r.set.Apply(p)
			if tt.name == "policy only" {
				if p := r.gate.Policy(); p.Name != "G1" || p.Direction != gate.Out || !slices.Equal(p.Events, []string{"E"}) {
					t.Fatalf("gate-1's policy = %+v", p)
				}
				if st := r.read(t, r.scanner, r.gate, "Z"); st.Name != "G1" || st.Last.Direction != gate.Out {
					t.Fatalf("a read after the reload: %+v", st)
				}
			}
			r.set.Apply(r.set.Plan(base))
		})
	}
}

// Overlay fills in the set's lanes over the API's record: a turnstile's own
// record replaces the API's, a door's adds to it.
func TestSetOverlay(t *testing.T) {
	r := newSetRig(t)
	if err := r.set.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer r.set.Stop()
	r.read(t, r.scanner, r.gate, "A")
	r.read(t, r.doorS, r.door, "B")
	api := []gate.LaneStatus{
		{ID: "gate-1", State: "idle", Scans: 7},
		{ID: "door", State: "idle", Scans: 3, Admits: 2, Last: &gate.Decision{Seq: 1}},
		{ID: "api-1", State: "idle", Scans: 4},
	}
	r.set.Overlay(api)
	if st := api[0]; st.Scans != 1 || st.State != turnstile.StateUnlocked || !st.RelayOK || !st.ScannerConnected || st.Last.Barcode != "A" {
		t.Errorf("gate-1 = %+v", st)
	}
	if st := api[1]; st.Scans != 4 || st.Admits != 3 || st.Last.Barcode != "B" || st.RelayOK || !st.ScannerConnected {
		t.Errorf("door = %+v", st)
	}
	if st := api[2]; st.Scans != 4 || st.ScannerConnected {
		t.Errorf("api-1 = %+v", st)
	}
}

// An emergency release takes the turnstile lanes and passes doors by.
func TestSetEmergencyPassesDoorsBy(t *testing.T) {
	r := newSetRig(t)
	if err := r.set.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer r.set.Stop()
	em := r.set.Release("ops")
	if !em.Active || len(em.Lanes) != 1 || em.Lanes[0].ID != "gate-1" || em.Lanes[0].State != turnstile.StateEmergencyOpen {
		t.Fatalf("release = %+v", em)
	}
	if st := r.read(t, r.doorS, r.door, "C"); !st.Last.Admit || st.Emergency || st.State != turnstile.StateIdle {
		t.Fatalf("door during the release: %+v", st)
	}
	if st := r.read(t, r.scanner, r.gate, "D"); st.Last.Admit || st.Last.Reason != gate.ReasonError {
		t.Fatalf("gate during the release: %+v", st)
	}
}

// A door is a lane without a relay: no sensor or lights, no metrics gauges.
func TestNewDoor(t *testing.T) {
	_, index := newLedger("A")
	scanner := &turnstiletest.Scanner{}
	door, err := turnstile.NewDoor(gate.Lane{ID: "door"}, index, scanner, nil, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if d := door.Handle(context.Background(), gate.Read{Text: "A"}); !d.Admit || door.Turnstile() {
		t.Fatalf("door read = %+v", d)
	}
	if err := door.Halt(); err != nil || door.Status().State != turnstile.StateHalted {
		t.Fatalf("Halt = %v, %+v", err, door.Status())
	}
	set, err := turnstile.NewSet(nil, testLogger(t), door)
	if err != nil {
		t.Fatal(err)
	}
	if got := metricValue(t, set, "admit_lane_scans_total", "lane", "door"); got != 0 {
		t.Errorf("a door shows in the turnstile gauges: %v", got)
	}
	s, _ := turnstile.NewSet(nil, testLogger(t))
	if _, err := s.Add(turnstile.LaneSpec{Lane: gate.Lane{ID: "x"}, Validator: index, Parts: turnstile.Parts{Green: turnstiletest.NewOutput("g", nil)}}); err == nil ||
		!strings.Contains(err.Error(), "no unlock relay") {
		t.Fatalf("a door with lights: %v", err)
	}
	if err := door.SetPolicy(gate.Lane{ID: "other"}); err == nil {
		t.Fatal("a lane took another lane's policy")
	}
}
