// Package turnstiletest provides fakes of the turnstile package's hardware
// interfaces for tests, in the style of periph's gpiotest.Pin: their state is
// in public fields (guarded by an embedded mutex) and time comes from an
// injected Clock, so a test can drive a lane through every transition without
// sleeping.
//
//   - Clock: a fake turnstile.Clock; Advance fires due timers in order, in
//     the calling goroutine, so when it returns every timeout has run.
//   - Output: a relay channel or line that records every switch and fails on
//     demand.
//   - Input: a passage sensor or emergency input; Send delivers an edge to
//     the watcher synchronously.
//   - Board: a turnstile.RelayBoard whose channels several lanes share, with
//     one mutex and one log, as a real board serialises its control
//     transfers; it can be unplugged.
//   - Scanner: a turnstile.Scanner with a settable connection; Send hands its
//     watcher a read.
package turnstiletest
