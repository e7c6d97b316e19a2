package turnstile_test

import (
	"context"
	"fmt"
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/turnstile"
	"github.com/admitgate/admit/turnstile/turnstiletest"
	"github.com/rs/zerolog"
)

// A lane with confirm "passage": the first guest walks through, the second
// walks away and gets the entry back.
func ExampleLane() {
	clock := turnstiletest.NewClock(time.Date(2026, 12, 5, 18, 30, 0, 0, time.UTC))
	relay := turnstiletest.NewOutput("relay", clock)
	sensor := turnstiletest.NewInput("sensor")
	ledger, index := newLedger("9836900602677354", "9836900602677361")

	lane, err := turnstile.NewLane(gate.Lane{ID: "north-1", Direction: gate.In}, index,
		turnstile.Parts{Lock: relay, Passage: sensor},
		&turnstile.Config{Confirm: turnstile.ConfirmPassage, UnlockTime: 5 * time.Second, PassageTimeout: 8 * time.Second, Clock: clock},
		zerolog.Nop())
	if err != nil {
		panic(err)
	}
	ctx := context.Background()

	d := lane.Handle(ctx, gate.Read{Text: "9836900602677354", At: clock.Now()})
	fmt.Println(d.Reason, lane.Status().State, "relay on:", relay.Level())
	clock.Advance(2 * time.Second)
	lane.Passage(turnstile.Edge{Active: true, At: clock.Now()})
	fmt.Println(lane.Status().State, "relay on:", relay.Level(), "admits:", lane.Status().Admits)

	d = lane.Handle(ctx, gate.Read{Text: "9836900602677361", At: clock.Now()})
	fmt.Println(d.Reason, lane.Status().State)
	clock.Advance(5 * time.Second)
	fmt.Println(lane.Status().State, "relay on:", relay.Level())
	clock.Advance(3 * time.Second)
	fmt.Println(lane.Status().State, "ticket used:", ledger.isUsed("9836900602677361"))
	// Output:
	// ok unlocked relay on: true
	// idle relay on: false admits: 1
	// ok unlocked
	// awaiting_passage relay on: false
	// idle ticket used: false
}

// An appliance's lanes in a Set: Start runs the boards, then the lanes;
// Stop halts the lanes (what is pending is annulled while the index is
// still there), then the boards.
func ExampleSet() {
	clock := turnstiletest.NewClock(time.Date(2026, 12, 5, 18, 30, 0, 0, time.UTC))
	board := turnstiletest.NewBoard("ABCDE", 2, clock)
	ledger, index := newLedger("9836900602677354")
	set, err := turnstile.NewSet(clock, zerolog.Nop())
	if err != nil {
		panic(err)
	}
	set.AddBoard(board)
	lane, err := set.Add(turnstile.LaneSpec{
		Lane:      gate.Lane{ID: "north-1"},
		Validator: index,
		Parts:     turnstile.Parts{Lock: board.Channel(1), Passage: turnstiletest.NewInput("sensor")},
		Config:    &turnstile.Config{Confirm: turnstile.ConfirmPassage, Clock: clock},
		Hardware:  "board ABCDE, relay 1",
	})
	if err != nil {
		panic(err)
	}
	if err := set.Start(context.Background()); err != nil {
		panic(err)
	}
	d := lane.Scan(context.Background(), gate.Scan{Barcode: "9836900602677354", At: clock.Now()})
	fmt.Println(d.Reason, lane.Status().State)
	if err := set.Stop(); err != nil {
		panic(err)
	}
	fmt.Println(lane.Status().State, "annulled:", len(ledger.annulments()))
	for _, sw := range board.Switches() {
		fmt.Println(sw.Output, sw.On)
	}
	// Output:
	// ok unlocked
	// halted annulled: 1
	// board:ABCDE/1 false
	// board:ABCDE/1 true
	// board:ABCDE/1 false
}
