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
// Wire it like real hardware:
//
//	t := sim.New(sim.Config{ID: "demo-1"})
//	lane, _ := turnstile.NewLane(gl, index, t.Parts(), &cfg, log)
//	go lane.Run(ctx, t.Reads())
//	go set.WatchEmergency(ctx, t.Emergency, 0)
//	t.Scan("9836900602677354")
package sim
