package decode

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/admitgate/admit/gate"
)

func newSerial(t testing.TB, cfg Config) *Serial {
	t.Helper()
	s, err := NewSerial(cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// feedSplit feeds stream in the given chunk sizes (the last chunk takes
// the rest) at one instant and returns every read, expiring at the end.
func feedSplit(s *Serial, stream []byte, at time.Time, sizes ...int) []gate.Read {
	var out []gate.Read
	for _, n := range sizes {
		if n > len(stream) {
			n = len(stream)
		}
		out = s.Feed(stream[:n], at, out)
		stream = stream[n:]
	}
	out = s.Feed(stream, at, out)
	for {
		r, ok := s.Expire(at.Add(time.Hour))
		if !ok {
			return out
		}
		out = append(out, r)
	}
}

// The reads do not depend on how the port chopped the stream.
func TestSerialChunking(t *testing.T) {
	streams := map[Framing]string{
		FramingLines:  "]E06291041500213\r\n]C1010950110153000317\x1d10ABC\rXYZ\n\n\r\nlast",
		FramingSTXETX: "\x02]E06291041500213\x03\r\n\x02]Q1héllo\x03junk\x02half",
	}
	for framing, stream := range streams {
		whole := feedSplit(newSerial(t, Config{Framing: framing, AIM: true, DedupWindow: -1}), []byte(stream), t0)
		if len(whole) < 3 {
			t.Fatalf("%v: only %d reads: %+v", framing, len(whole), whole)
		}
		for cut := 0; cut <= len(stream); cut++ {
			got := feedSplit(newSerial(t, Config{Framing: framing, AIM: true, DedupWindow: -1}), []byte(stream), t0, cut)
			if !sameReads(got, whole) {
				t.Fatalf("%v: split at %d:\n got %+v\nwant %+v", framing, cut, got, whole)
			}
		}
		bytewise := make([]int, len(stream))
		for i := range bytewise {
			bytewise[i] = 1
		}
		if got := feedSplit(newSerial(t, Config{Framing: framing, AIM: true, DedupWindow: -1}), []byte(stream), t0, bytewise...); !sameReads(got, whole) {
			t.Fatalf("%v: byte by byte differs", framing)
		}
	}
}

func sameReads(a, b []gate.Read) bool { return slices.Equal(a, b) }

// One chunk may hold any number of reads: none is lost.
func TestSerialManyReadsInOneChunk(t *testing.T) {
	for _, framing := range []Framing{FramingLines, FramingSTXETX} {
		var stream []byte
		for i := 0; i < 3*queueLen; i++ {
			if framing == FramingSTXETX {
				stream = append(stream, STX)
			}
			stream = append(stream, byte('A'+i))
			if framing == FramingSTXETX {
				stream = append(stream, ETX)
			} else {
				stream = append(stream, '\n')
			}
		}
		got := newSerial(t, Config{Framing: framing}).Feed(stream, t0, nil)
		if len(got) != 3*queueLen || got[len(got)-1].Text != string(rune('A'+3*queueLen-1)) {
			t.Fatalf("%v: %d reads, want %d", framing, len(got), 3*queueLen)
		}
	}
}

// Feed appends to out without growing it when it has room.
func TestSerialAppendsInPlace(t *testing.T) {
	s := newSerial(t, Config{DedupWindow: -1})
	out := make([]gate.Read, 0, 4)
	out = s.Feed([]byte("A\r\nB\r\nC\r\n"), t0, out)
	if len(out) != 3 || cap(out) != 4 || out[2].Text != "C" {
		t.Fatalf("out = %+v (cap %d)", out, cap(out))
	}
}

func TestSerialSuffixEnds(t *testing.T) {
	s := newSerial(t, Config{Terminators: TermNone, Suffix: "#", Prefix: "<"})
	got := feedSplit(s, []byte("<AB#<CD#<EF"), t0)
	want := []string{"AB", "CD", "EF|incomplete read: no suffix \"#\" within 500ms"}
	var texts []string
	for _, r := range got {
		x := r.Text
		if r.Malformed != "" {
			x += "|" + r.Malformed
		}
		texts = append(texts, x)
	}
	if strings.Join(texts, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got %q, want %q", texts, want)
	}
}
