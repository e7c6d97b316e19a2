package decodetest_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/admitgate/admit/decode"
	"github.com/admitgate/admit/decode/decodetest"
)

func TestParse(t *testing.T) {
	const text = `
# comment
@0s 02 00 04 00 00 00 00 00   # trailing comment
0000000000000000
+250ms "]Q1#x" 41*3 00
@2s "tab\tquote\"hash#" # comment after a string
`
	got, err := decodetest.Parse(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	want := decodetest.Stream{
		{At: 0, Data: []byte{2, 0, 4, 0, 0, 0, 0, 0}},
		{At: time.Millisecond, Data: make([]byte, 8)},
		{At: 251 * time.Millisecond, Data: []byte("]Q1#xAAA\x00")},
		{At: 2 * time.Second, Data: []byte("tab\tquote\"hash#")},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
	var buf bytes.Buffer
	if _, err := got.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	again, err := decodetest.Parse(&buf)
	if err != nil || !reflect.DeepEqual(again, got) {
		t.Fatalf("round trip: %v\n%q", err, again)
	}
}

func TestParseErrors(t *testing.T) {
	for _, bad := range []string{"0g", "@soon 00", "41*x", "4141*2", `"unterminated`, "41*99999999"} {
		_, err := decodetest.Parse(strings.NewReader("00\n" + bad + "\n"))
		if err == nil || !strings.Contains(err.Error(), "line 2") {
			t.Errorf("Parse(%q) = %v, want an error on line 2", bad, err)
		}
	}
}

func TestPlayback(t *testing.T) {
	p := &decodetest.Playback{Frames: decodetest.Stream{{Data: []byte{1, 2}}, {Data: []byte{3, 4, 5}}}}
	buf := make([]byte, 8)
	n, err := p.ReadContext(context.Background(), buf)
	if err != nil || !bytes.Equal(buf[:n], []byte{1, 2}) {
		t.Fatalf("first read %x %v", buf[:n], err)
	}
	if err := p.Close(); err == nil || !strings.Contains(err.Error(), "1 of 2 frames left unread") {
		t.Fatalf("Close with a frame left = %v", err)
	}
	if _, err := p.ReadContext(context.Background(), buf[:2]); !errors.Is(err, decodetest.ErrShortBuffer) {
		t.Fatalf("short buffer: %v", err)
	}
	if n, err := p.ReadContext(context.Background(), buf); err != nil || n != 3 {
		t.Fatalf("second read %d %v", n, err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	// Out of frames: like a scanner with nothing to send, wait for ctx.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := p.ReadContext(ctx, buf); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("read past the end = %v", err)
	}
}

// Paced playback never delivers a frame before its recorded offset.
func TestPlaybackPaced(t *testing.T) {
	p := &decodetest.Playback{Paced: true, Frames: decodetest.Stream{
		{At: 0, Data: []byte{1}}, {At: 20 * time.Millisecond, Data: []byte{2}}, {At: 30 * time.Millisecond, Data: []byte{3}},
	}}
	buf := make([]byte, 1)
	start := time.Now()
	for i := 0; i < 3; i++ {
		if _, err := p.ReadContext(context.Background(), buf); err != nil {
			t.Fatal(err)
		}
	}
	if el := time.Since(start); el < 30*time.Millisecond {
		t.Fatalf("three paced frames in %v, recorded over 30ms", el)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	p2 := &decodetest.Playback{Paced: true, Frames: decodetest.Stream{{At: 0, Data: []byte{1}}, {At: time.Hour, Data: []byte{2}}}}
	p2.ReadContext(context.Background(), buf)
	if _, err := p2.ReadContext(ctx, buf); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled paced read = %v", err)
	}
}

// Recording a playback gives the stream back.
func TestRecord(t *testing.T) {
	want, err := load(t, "testdata/keyboard-de-two-scans.txt")
	if err != nil {
		t.Fatal(err)
	}
	src := &decodetest.Playback{Frames: want}
	var clock time.Time
	i := 0
	rec := &decodetest.Record{R: src, Now: func() time.Time { at := clock.Add(want[i].At); i++; return at }}
	buf := make([]byte, 8)
	for range want {
		if _, err := rec.ReadContext(context.Background(), buf); err != nil {
			t.Fatal(err)
		}
	}
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}
	if got := rec.Frames(); !reflect.DeepEqual(got, want) {
		t.Fatalf("recorded %v\nwant %v", got, want)
	}
}

func TestReplayIntoDecoder(t *testing.T) {
	s, err := load(t, "testdata/keyboard-de-two-scans.txt")
	if err != nil {
		t.Fatal(err)
	}
	k, err := decode.NewKeyboard(decode.Config{Layout: "de"}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 12, 5, 18, 0, 0, 0, time.UTC)
	reads := decodetest.Replay(k, s, start)
	if len(reads) != 2 || reads[0].Text != "Zü@1" || reads[1].Text != "y" || !reads[1].At.Equal(start.Add(1502*time.Millisecond)) {
		t.Fatalf("reads %+v", reads)
	}
	// A scanner that sends no Enter: the final read ends by its timeout.
	k2, _ := decode.NewKeyboard(decode.Config{Terminators: decode.TermNone}, zerolog.Nop())
	reports, _ := decode.KeyboardReports("us", "AB")
	var frames decodetest.Stream
	for i, r := range reports[:len(reports)-2] { // without the Enter
		frames = append(frames, decodetest.Frame{At: time.Duration(i) * time.Millisecond, Data: r[:]})
	}
	if reads := decodetest.Replay(k2, frames, start); len(reads) != 1 || reads[0].Text != "AB" {
		t.Fatalf("no-suffix replay %+v", reads)
	}
}

func load(t *testing.T, path string) (decodetest.Stream, error) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return decodetest.Parse(f)
}
