// Package sim is a simulated turnstile for the demo (`admit serve` without a
// config) and for tests that want a whole lane without hardware: an unlock
// relay, green and red lights and a buzzer that remember their state, a
// passage sensor, an emergency button, and a scanner that takes typed
// barcodes.
//
// A simulated guest walks through WalkAfter after the arm unlocks, so a
// demo lane behaves like a real one: scan, unlock, passage, lock. WalkAway
// makes the next guest leave instead (the admission is then annulled on a
// confirm "passage" lane), Jam makes the relay fail (the lane faults), and
// PressEmergency works the emergency input.
//
// Wire it like real hardware: the Turnstile is a turnstile.Board, its
// Scanner a turnstile.Scanner.
//
//	t := sim.New(sim.Config{ID: "demo-1"})
//	set.AddBoard(t)
//	set.AddEmergency(t.Emergency)
//	lane, _ := set.Add(turnstile.LaneSpec{Lane: gl, Validator: index, Parts: t.Parts(), Config: &cfg, Scanner: t.Scanner()})
//	set.Start(ctx)
//	t.Scan("9836900602677354")
//
// or, for one lane without a Set: turnstile.NewLane(gl, index, t.Parts(),
// &cfg, log) and go lane.Run(ctx, t.Reads()).
package sim
