package testkit

import (
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/rs/zerolog"
)

// LogEnv is the environment variable that turns test logging on: any value
// but the empty string.
const LogEnv = "ADMIT_TEST_LOG"

// Logger returns the logger a test gives the code under test. It logs
// nothing unless $ADMIT_TEST_LOG is set; then it logs at debug level, in
// zerolog's console format, to tb's log, or to standard error when tb is nil
// (a helper with no test at hand) or once tb has ended (a goroutine that
// outlives its test).
func Logger(tb testing.TB) zerolog.Logger {
	if os.Getenv(LogEnv) == "" {
		return zerolog.Nop()
	}
	return zerolog.New(consoleTo(tb)).Level(zerolog.DebugLevel).With().Timestamp().Logger()
}

// consoleTo is zerolog's console format written to tb's log.
func consoleTo(tb testing.TB) zerolog.ConsoleWriter {
	return zerolog.ConsoleWriter{Out: newTBWriter(tb), NoColor: true}
}

// tbWriter writes each line to a test's log until the test ends, and to
// standard error after: testing panics on a Log call after the test's end,
// and a daemon's goroutine may log while it stops.
type tbWriter struct {
	mu    sync.Mutex
	tb    testing.TB // nil once the test has ended, or when there is none
	ended bool
}

func newTBWriter(tb testing.TB) *tbWriter {
	w := &tbWriter{tb: tb}
	if tb != nil {
		// Cleanups run last-registered first, so this one runs after those
		// the test registers later, such as the one stopping a daemon.
		tb.Cleanup(func() {
			w.mu.Lock()
			w.ended = true
			w.mu.Unlock()
		})
	}
	return w
}

func (w *tbWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.tb == nil || w.ended {
		return os.Stderr.Write(p)
	}
	w.tb.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}
