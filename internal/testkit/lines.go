package testkit

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/rs/zerolog"
)

// Log keeps the lines a logger writes, for tests that read their logs; it is
// safe for concurrent use. Its zero value keeps lines and checks nothing;
// [NewLog] makes one that also fails its test if a line holds a watched
// secret.
type Log struct {
	mu    sync.Mutex
	lines []string
	tee   io.Writer // the test's log, when ADMIT_TEST_LOG is set
}

// NewLog returns a Log that copies its lines to tb's log when
// $ADMIT_TEST_LOG is set and, when tb ends, fails it for each line that
// holds a secret [WatchSecret] named.
func NewLog(tb testing.TB) *Log {
	l := &Log{}
	if os.Getenv(LogEnv) != "" {
		l.tee = consoleTo(tb)
	}
	tb.Cleanup(func() {
		for _, line := range l.Leaks() {
			tb.Errorf("a log line holds a secret: %s", line)
		}
	})
	return l
}

// Logger returns a logger that writes into l at debug level (so that the
// lines of libraries that log at debug are kept too), with timestamps.
func (l *Log) Logger() zerolog.Logger {
	return zerolog.New(l).Level(zerolog.DebugLevel).With().Timestamp().Logger()
}

// Write keeps p as one line (zerolog writes a line a call).
func (l *Log) Write(p []byte) (int, error) {
	line := string(p)
	l.mu.Lock()
	l.lines = append(l.lines, line)
	l.mu.Unlock()
	if holdsSecret(line) {
		leaks.add(line)
	}
	if l.tee != nil {
		_, _ = l.tee.Write(p)
	}
	return len(p), nil
}

// Lines returns a copy of the lines kept so far.
func (l *Log) Lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

// String returns the lines kept so far, joined.
func (l *Log) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "")
}

// Count returns how many lines hold every one of subs.
func (l *Log) Count(subs ...string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
lines:
	for _, line := range l.lines {
		for _, s := range subs {
			if !strings.Contains(line, s) {
				continue lines
			}
		}
		n++
	}
	return n
}

// Leaks returns the lines that hold a watched secret.
func (l *Log) Leaks() []string {
	var out []string
	for _, line := range l.Lines() {
		if holdsSecret(line) {
			out = append(out, line)
		}
	}
	return out
}

// secrets are the strings no log line may hold, for the whole test binary.
var secrets sync.Map

// WatchSecret adds s to the secrets no line of a [Log] may hold (the empty
// string is ignored). A test watches each secret it configures or sends.
func WatchSecret(s string) {
	if s != "" {
		secrets.Store(s, true)
	}
}

func holdsSecret(line string) bool {
	found := false
	secrets.Range(func(k, _ any) bool {
		found = strings.Contains(line, k.(string))
		return !found
	})
	return found
}

// leaks are the lines, of any Log, that held a watched secret when written:
// [Main] reports those written after their test ended.
var leaks lineSet

type lineSet struct {
	mu    sync.Mutex
	lines []string
}

func (s *lineSet) add(line string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lines = append(s.lines, line)
}

func (s *lineSet) all() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.lines...)
}

// Main runs the package's tests, as a TestMain calls it, and fails the run
// if any line a [Log] wrote, during a test or after it ended, held a watched
// secret.
func Main(m *testing.M) {
	code := m.Run()
	if l := leaks.all(); len(l) > 0 {
		fmt.Fprintf(os.Stderr, "%d log lines hold a test secret:\n%s", len(l), strings.Join(l, ""))
		code = 1
	}
	os.Exit(code)
}
