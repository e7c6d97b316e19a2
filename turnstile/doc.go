// Package turnstile turns decisions into safe physical actions: it unlocks a
// turnstile's arm for an admission, locks it again when the person has passed
// or the unlock time is up, plays lights and a buzzer, gives a ticket back
// when nobody passed, and opens (or holds) every lane in an emergency. It
// also runs the lanes of an appliance: their scanners, the boards their
// relays are on, and the order in which all of it starts and stops.
//
// # Hardware as small interfaces
//
// A lane never looks up boards or pins: it is handed its parts (periph
// style). An [Output] is one relay channel or GPIO line — the unlock relay, a
// light, the buzzer — with Set(on) that fails when the hardware did not do
// it. An [Input] is a passage sensor or an emergency-release line whose
// edges arrive, stamped with the hardware's time, through Watch. A [Board]
// is a device that outputs share and that has to be kept connected (Run,
// Connected, Halt); a [RelayBoard] switches relays by number and hands them
// out as [Channel]s. A [Scanner] delivers a lane's reads. Drivers:
// turnstile/usbrelay and turnstile/serialrelay (relay boards),
// turnstile/gpio (Linux GPIO lines, kept as one Board), turnstile/sim (the
// simulated lane of the demo, a Board with a Scanner); the scanners are
// decode/usbhid and decode/serialscan. turnstile/turnstiletest has fakes
// with public state and a fake [Clock], so every timeout is tested without
// sleeping.
//
// # The lane
//
// A [Lane] consumes gate.Read values from its scanner (Handle, Run) or ready
// gate.Scan values (Scan, for the scan API) and asks a gate.Validator, with
// its policy (name, direction, events; SetPolicy changes it in place). On
// an admission it switches the unlock relay on for Config.UnlockTime, or
// until the passage sensor fires, then off. With Config.Confirm "passage"
// the admission is final only when the sensor fires: if nobody passes
// within Config.PassageTimeout the lane calls Validator.Annul(seq,
// "lane:<id>") and the ticket can be used again; the journal records both.
// While the lane is unlocked for one admission it refuses further scans
// with lane_busy before the index redeems anything (Scan.Deny), unless
// Config.Queue lets admissions wait their turn. A door ([NewDoor]) is a
// lane with a scanner and no turnstile: its reads are decided and shown
// the same way, and emergencies pass it by. admission.go holds the unlock
// and passage transitions, fault.go faults, emergencies and Halt;
// testdata/lane tells the state machine as datadriven scripts.
//
// # The set
//
// A [Set] is every lane of the appliance with what they share. cmd/admit
// maps its configuration onto it — [Set.Add] with a [LaneSpec] per lane,
// [Set.AddBoard], [Set.AddEmergency] — and the Set runs it: [Set.Start]
// runs the boards (waiting up to [BoardWait] for them to answer), switches
// every lane's outputs to idle and watches the sensors and emergency inputs,
// then runs the scanners, whose reads their lanes decide. [Set.Stop] undoes
// it in the safe order: scanners, every lane's Halt (what is pending is
// annulled while the index is still open), every board's Halt, then the
// watchers and the boards' Run. A reload asks [Set.Plan] what the new lane
// list does to the running lanes (a lane keeps its hardware until a restart
// and takes its new policy at once) and [Set.Apply] carries it out.
//
// # Faults, emergencies, shutdown
//
// A relay that fails to switch annuls what is not final at once, faults the
// lane (scans are refused with error, and journaled), and is switched to its
// safe state every Config.RetestInterval until it answers again. An
// annulment the index cannot write is retried. An emergency release, from an
// input or the API ([Set.Release]), annuls what is pending and holds every
// turnstile lane open or locked (Config.Emergency) until [Set.Clear]; it
// latches while the emergency input is asserted, and its state is a
// gate.EmergencyStatus. Halt switches every output off; Set.Stop halts every
// lane whenever the appliance stops — on shutdown, and when serving fails —
// before the index closes. A device that is not attached ([ErrNotConnected])
// is left as it is: an unpowered relay is open.
//
// # Status and metrics
//
// Each lane yields a gate.LaneStatus; a [Set] of lanes is a gate.LaneMonitor,
// and [Set.Overlay] fills its lanes' view into the API's record for
// /v1/lanes. [Metrics] (counters and histograms) and [Set] (gauges of the
// turnstile lanes) are prometheus.Collectors the daemon registers.
package turnstile
