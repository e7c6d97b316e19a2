//go:build race

package testkit

// Race is true when the tests run under the race detector, so that a
// binary they build runs under it too.
const Race = true
