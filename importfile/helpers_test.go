package importfile

import (
	"errors"
	"io"
	"testing"
	"time"

	"github.com/admitgate/admit/gate"
)

// zurich is a fixed zone for dates without one, so tests do not depend on
// the machine's time zone.
var zurich = time.FixedZone("CET", 3600)

func testOptions() *Options { return &Options{Location: zurich} }

// readAll reads a source to its end and returns its lines.
func readAll(t testing.TB, src *Source) []gate.ImportLine {
	t.Helper()
	var lines []gate.ImportLine
	for {
		l, err := src.Next()
		if errors.Is(err, io.EOF) {
			return lines
		}
		if err != nil {
			t.Fatalf("Next after %d lines: %v", len(lines), err)
		}
		lines = append(lines, l)
	}
}

// parse reads input with req (provider "p1" when unset) and test options.
func parse(t testing.TB, input string, req gate.ImportRequest) ([]gate.ImportLine, *Source) {
	t.Helper()
	if req.Provider == "" {
		req.Provider = "p1"
	}
	src := NewSource(stringsReader(input), req, testOptions())
	return readAll(t, src), src
}

func stringsReader(s string) io.Reader { return &onceReader{s: s} }

// onceReader is a strings.Reader that is not an io.WriterTo, so the source
// reads it as it would read a network body.
type onceReader struct{ s string }

func (r *onceReader) Read(p []byte) (int, error) {
	if len(r.s) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.s)
	r.s = r.s[n:]
	return n, nil
}

// rejects returns the reasons of the rejected lines, by line number.
func rejects(lines []gate.ImportLine) map[int]gate.RejectReason {
	m := map[int]gate.RejectReason{}
	for _, l := range lines {
		if l.Reject != nil {
			m[l.Line] = l.Reject.Reason
		}
	}
	return m
}

// physicalLines counts lines the way an editor does: a last line without a
// line ending counts.
func physicalLines(b []byte) int {
	n := 0
	for _, c := range b {
		if c == '\n' {
			n++
		}
	}
	if len(b) > 0 && b[len(b)-1] != '\n' {
		n++
	}
	return n
}
