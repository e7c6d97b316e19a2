package sim_test

import (
	"context"
	"fmt"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/turnstile"
	"github.com/admitgate/admit/turnstile/sim"
	"github.com/admitgate/admit/turnstile/turnstiletest"
	"github.com/rs/zerolog"
)

// A simulated lane: scan, the arm unlocks, the simulated guest walks through
// and the arm locks again.
func Example() {
	clock := turnstiletest.NewClock(t0)
	tt := sim.New(sim.Config{ID: "demo-1", Clock: clock})
	index, _ := onceIndex()
	lane, _ := turnstile.NewLane(gate.Lane{ID: "demo-1"}, index, tt.Parts(),
		&turnstile.Config{Confirm: turnstile.ConfirmPassage, Clock: clock}, zerolog.Nop())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go lane.Run(ctx, nil) // watches the simulated passage sensor
	<-tt.Passage.Watched()

	d := lane.Handle(ctx, gate.Read{Text: "9836900602677354", At: clock.Now()})
	fmt.Println(d.Reason, "relay on:", tt.Lock.On(), "green:", tt.Green.On())
	clock.Advance(sim.DefaultWalkAfter)
	fmt.Println(lane.Status().State, "relay on:", tt.Lock.On(), "passages:", tt.Passages(), "admits:", lane.Status().Admits)
	// Output:
	// ok relay on: true green: true
	// idle relay on: false passages: 1 admits: 1
}
