// Package testkit is what admit's tests share, so that each package's test
// files hold only what is particular to it.
//
// # Logs
//
// [Logger] is the logger a test hands to the code under test: it writes
// nothing unless ADMIT_TEST_LOG is set (ADMIT_TEST_LOG=1 go test -v ...),
// and then to the test's own log (t.Log), so that the lines show beside the
// test that wrote them. [Log] keeps every line, for tests that read what was
// logged, and fails its test when a line holds a secret that [WatchSecret]
// named: every package can search its logs for secrets, as the API's tests
// do for each bearer secret they configure or send. [Main], called from a
// package's TestMain, also fails the run for a line written after its test
// ended.
//
// # Waiting
//
// Tests run on two busy cores, so they never sleep a fixed time to let
// something happen: [WaitFor] polls a condition until a deadline, [Recv]
// takes a value from a channel within one, and both fail the test, naming
// what they waited for, when it passes. A [Buffer] is a bytes.Buffer that a
// daemon or a child process writes while the test reads it; a [Clock] is a
// settable clock for code that takes a Now function. [Do] sends a request
// to a server under test, with a bearer secret and a body, and returns its
// answer whatever the status, for the test to judge.
//
// # Processes
//
// Crash tests run the test binary again as a child ([StartChild]): its
// TestMain sees the environment the parent gave and plays the child, which
// says what it did on its standard output, one line at a time; the parent
// [Expect]s the line it waits for, kills the child with SIGKILL at that
// moment or a random one, and checks what survived. Tests of the real
// binary build it with [BuildAdmit], as users build it (under the race
// detector when the tests run under it, [Race]).
//
// A test of the kit's kind reads, for example:
//
//	func TestLaneUnlocks(t *testing.T) {
//		log := testkit.NewLog(t)
//		lane := newLane(log.Logger())
//		...
//		testkit.WaitFor(t, 10*time.Second, "the unlock", func() bool { return log.Count("unlocked") == 1 })
//	}
//
// # Fixtures
//
// Configurations a test needs are files in its package's testdata, read
// with [Template]: a file with text/template actions is filled in with the
// few values a test chooses (a temporary directory, a secret, a time), and
// one without them reads as it is. [BenchTickets] and [CountLabel] size and
// name the benchmarks' fixtures the same way in every package.
package testkit
