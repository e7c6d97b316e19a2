// Package turnstile turns decisions into safe physical actions: it unlocks a
// turnstile's arm for an admission, locks it again when the person has passed
// or the unlock time is up, plays lights and a buzzer, gives a ticket back
// when nobody passed, and opens (or holds) every lane in an emergency.
//
// # Hardware as small interfaces
//
// A lane never looks up boards or pins: it is handed its parts (periph
// style). An [Output] is one relay channel or GPIO line — the unlock relay, a
// light, the buzzer — with Set(on) that fails when the hardware did not do
// it. An [Input] is a passage sensor or an emergency-release line whose
// edges arrive, stamped with the hardware's time, through Watch. Drivers:
// turnstile/usbrelay and turnstile/serialrelay (relay boards),
// turnstile/gpio (Linux GPIO character devices), turnstile/sim (the
// simulated lane of the demo). turnstile/turnstiletest has fakes with public
// state and a fake [Clock], so every timeout is tested without sleeping.
//
// # The lane
//
// A [Lane] consumes gate.Read values from its scanner (Handle, Run) or ready
// gate.Scan values (Scan, for the scan API) and asks a gate.Validator. On an
// admission it switches the unlock relay on for Config.UnlockTime, or until
// the passage sensor fires, then off. With Config.Confirm "passage" the
// admission is final only when the sensor fires: if nobody passes within
// Config.PassageTimeout the lane calls Validator.Annul(seq, "lane:<id>") and
// the ticket can be used again; the journal records both. While the lane is
// unlocked for one admission it refuses further scans with lane_busy before
// the index redeems anything (Scan.Deny), unless Config.Queue lets
// admissions wait their turn.
//
// # Faults, emergencies, shutdown
//
// A relay that fails to switch annuls what is not final at once, faults the
// lane (scans are refused with error, and journaled), and is switched to its
// safe state every Config.RetestInterval until it answers again. An
// annulment the index cannot write is retried. An emergency release, from an
// input or the API ([Set.Release]), annuls what is pending and holds every
// lane open or locked (Config.Emergency) until [Set.Clear]; it latches while
// the emergency input is asserted. Halt switches every output off; the daemon
// calls [Set.Halt] on shutdown, before closing the index, and on fatal errors.
//
// # Status and metrics
//
// Each lane yields a gate.LaneStatus; a [Set] of lanes is the
// gate.LaneMonitor behind /v1/lanes. [Metrics] (counters and histograms) and
// [Set] (gauges) are prometheus.Collectors the daemon registers.
package turnstile
