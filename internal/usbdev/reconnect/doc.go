// Package reconnect keeps a device connected across unplugs, power cuts and
// flaky cables, for the scanner sources and relay drivers: a [Link] runs a
// [Session] (open the device, serve it until it fails) again and again,
// marks the link down the moment a session ends, waits out a [Backoff]
// (a timer, never a busy loop) and tries again, until its context ends. A
// vanished device is an expected state, never a reason to stop: Run returns
// only when its context is done. A request that finds the device gone
// ends the session at once with [Link.Drop] rather than waiting for the
// session to notice (the relay boards select on [Link.Dropped]).
//
// The [Status] a link keeps (connected or not, since when, the last error,
// failures in a row, reconnects) feeds lane status: Link implements
// turnstile.ScannerLink through Connected.
//
// The package is pure Go with an injectable clock so the retry rules are
// tested with fakes; it does not import gousb, so the serial adapters use it
// too.
package reconnect
