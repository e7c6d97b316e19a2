package testkit

import (
	"testing"
	"time"
)

// pollEvery is how often WaitFor checks its condition: often enough that a
// test does not idle, seldom enough that polling does not steal the CPU
// the code under test needs.
const pollEvery = 5 * time.Millisecond

// WaitFor polls cond until it holds, failing tb ("timed out waiting for
// what") if it does not within timeout. Give a timeout generous enough for
// a loaded machine: the wait ends as soon as cond holds.
func WaitFor(tb testing.TB, timeout time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s (%v)", what, timeout)
		}
		time.Sleep(pollEvery)
	}
}

// Recv returns the next value from ch, failing tb ("no what within
// timeout") if none comes in time or ch is closed.
func Recv[T any](tb testing.TB, ch <-chan T, timeout time.Duration, what string) T {
	tb.Helper()
	select {
	case v, ok := <-ch:
		if !ok {
			tb.Fatalf("no %s: the channel is closed", what)
		}
		return v
	case <-time.After(timeout):
		tb.Fatalf("no %s within %v", what, timeout)
	}
	var zero T
	return zero
}
