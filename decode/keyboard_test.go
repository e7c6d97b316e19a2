package decode

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/internal/samples"
)

// feedAll feeds reports 1ms apart from start and returns the reads Feed
// and, at the end, Expire return.
func feedAll(t testing.TB, d ReportDecoder, reports [][8]byte, start time.Time) []gate.Read {
	t.Helper()
	var out []gate.Read
	at := start
	for _, r := range reports {
		at = at.Add(time.Millisecond)
		if rd, ok := d.Feed(r[:], at); ok {
			out = append(out, rd)
		}
	}
	for {
		rd, ok := d.Expire(at.Add(time.Hour))
		if !ok {
			return out
		}
		out = append(out, rd)
	}
}

func newKeyboard(t testing.TB, cfg Config) *Keyboard {
	t.Helper()
	k, err := NewKeyboard(cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// sampleBarcodes returns the barcodes of the sample import files: what
// real ticketing systems print.
func sampleBarcodes(t testing.TB) []string {
	t.Helper()
	var out []string
	paste, err := samples.Read(samples.Paste)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(paste))
	for sc.Scan() {
		if s := strings.TrimSpace(sc.Text()); s != "" {
			out = append(out, s)
		}
	}
	for _, name := range []string{samples.BoxOffice, samples.Secutix} {
		b, err := samples.Read(name)
		if err != nil {
			t.Fatal(err)
		}
		r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(b, []byte("\ufeff"))))
		r.Comma = ','
		if name == samples.Secutix {
			r.Comma = ';'
		}
		r.FieldsPerRecord = -1
		recs, err := r.ReadAll()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, rec := range recs[1:] {
			out = append(out, rec[0])
		}
	}
	if len(out) < 60 {
		t.Fatalf("only %d sample barcodes", len(out))
	}
	return out
}

// Text -> reports -> text, for every layout: every character the layout
// types (directly or through a dead key), the sample barcodes, GS1 data
// with GS, and characters only ALT codes reach.
func TestKeyboardRoundTrip(t *testing.T) {
	texts := sampleBarcodes(t)
	texts = append(texts,
		"]C1010950110153000317\x1d10ABC123\x1d21XYZ", // GS1 with separators
		"Grüße aus Zürich — 10 € ½ Ω 😀",
		"^`´¨~ âêîôû àèìòù áéíóúý äëïöüÿ ãõñ ÂÊÎÔÛ",
		"https://tickets.example/t/9836900602677354?sig=a+b/c%3D",
		strings.Repeat("7", gate.MaxBarcodeLen),
	)
	for _, name := range Layouts() {
		l := layoutByName(name)
		var all strings.Builder
		for _, r := range l.sortedRunes() {
			all.WriteRune(r)
		}
		for _, text := range append(texts, all.String()) {
			reports, err := KeyboardReports(name, text)
			if err != nil {
				t.Fatalf("%s: KeyboardReports(%q): %v", name, text, err)
			}
			got := feedAll(t, newKeyboard(t, Config{Layout: name}), reports, t0)
			if len(got) != 1 || got[0].Text != text || got[0].Malformed != "" {
				t.Errorf("%s: %q came back as %+v", name, text, got)
			}
		}
	}
}

// Random text over a mixed alphabet round-trips in every layout.
func TestKeyboardRoundTripRandom(t *testing.T) {
	alphabet := []rune("ABCxyz0189 -_./:;,!?@#$%&*()[]{}<>|\\'\"`~^+=äöüßéèêçñ€£µ§°²Ω😀\x1d")
	rng := rand.New(rand.NewPCG(1, 2))
	for _, name := range Layouts() {
		k := newKeyboard(t, Config{Layout: name, DedupWindow: -1})
		start := t0
		for i := 0; i < 300; i++ {
			n := 1 + rng.IntN(40)
			var b strings.Builder
			for j := 0; j < n; j++ {
				b.WriteRune(alphabet[rng.IntN(len(alphabet))])
			}
			text := b.String()
			reports, err := KeyboardReports(name, text)
			if err != nil {
				t.Fatal(err)
			}
			got := feedAll(t, k, reports, start)
			start = start.Add(time.Second)
			if len(got) != 1 || got[0].Text != text {
				t.Fatalf("%s: %q came back as %+v", name, text, got)
			}
		}
	}
}

func TestKeyboardReportsErrors(t *testing.T) {
	for _, tc := range []struct{ layout, text string }{
		{"xx", "a"}, {"us", "a\rb"}, {"us", "a\nb"}, {"us", "a\tb"}, {"us", "a\x00"},
		{"us", "\u0085"}, {"us", "bad\xffutf8"}, {"us", "\ufffd"},
	} {
		if _, err := KeyboardReports(tc.layout, tc.text); gate.ErrorCode(err) != gate.EINVALID {
			t.Errorf("KeyboardReports(%q, %q) = %v, want EINVALID", tc.layout, tc.text, err)
		}
	}
	// What the encoder sends: key down with its modifiers, all-zero release.
	got, err := KeyboardReports("de", "Zy@")
	if err != nil {
		t.Fatal(err)
	}
	want := [][8]byte{
		{modLShift, 0, 0x1c}, {}, {0, 0, 0x1d}, {}, {modRAlt, 0, 0x14}, {}, {0, 0, keyEnter}, {},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d reports, want %d: %x", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("report %d = % x, want % x", i, got[i], want[i])
		}
	}
}

// TestKeyboardEdges decodes typed text through the settings that read it:
// AIM identifiers, symbology restrictions, ECI, check digits. The edges of
// raw reports (keys that type nothing, ALT codes that go wrong, Ctrl, two
// reads in a report, over-long reads, the prefix) are scripts in
// testdata/golden/keyboard-edges.txt.
func TestKeyboardEdges(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cfg   Config
		steps [][]byte
		want  []string // "text" or "text|malformed detail"
	}{
		{"AIM restricts", Config{AIM: true, Symbologies: NewSymbologySet(QR)}, append(typed(t, "us", "]C0ABC"), typed(t, "us", "]Q1ABC")...), []string{"ABC|symbology code128 is not accepted by this scanner (accepted: qr)", "ABC"}},
		{"unknown AIM code refused", Config{AIM: true, Symbologies: NewSymbologySet(QR)}, typed(t, "us", "]X0ABC"), []string{"ABC|symbology ]X0 is not accepted by this scanner (accepted: qr)"}},
		{"ECI protocol undone", Config{AIM: true}, typed(t, "us", `]Q2\000026a\\b`), []string{`a\b`}},
		{"ECI escape broken", Config{AIM: true}, typed(t, "us", `]Q2a\b`), []string{`a\b|]Q2 data holds a backslash that is neither doubled nor an ECI designator`}},
		{"checks off", Config{AIM: true, CheckDigits: NoSymbologies}, typed(t, "us", "]E06291041500214"), []string{"6291041500214"}},
		{"EAN-13 with add-on", Config{AIM: true}, typed(t, "us", "]E3629104150021312"), []string{"629104150021312"}},
		{"EAN-13 with bad add-on base", Config{AIM: true}, typed(t, "us", "]E3629104150021412"), []string{"629104150021412|ean13 check digit is 4, want 3"}},
		{"Full ASCII Code 39 cannot be checked", Config{AIM: true, CheckDigits: NewSymbologySet(Code39)}, typed(t, "us", "]A4AbcW"), []string{"AbcW|code39 mod 43 check cannot be verified on Full ASCII data (]A4); let the scanner check it (]A5 or ]A7)"}},
		{"Code 39 check configured", Config{AIM: true, CheckDigits: NewSymbologySet(Code39)}, typed(t, "us", "]A0CODE 39R"), []string{"CODE 39R"}},
		{"Code 39 unchecked by default", Config{AIM: true}, typed(t, "us", "]A0CODE 39Q"), []string{"CODE 39Q"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.DedupWindow = -1
			k := newKeyboard(t, cfg)
			var got []string
			at := t0
			collect := func(rd gate.Read) {
				s := rd.Text
				if rd.Malformed != "" {
					s += "|" + rd.Malformed
				}
				got = append(got, s)
			}
			for _, rep := range tc.steps {
				at = at.Add(time.Millisecond)
				if rd, ok := k.Feed(rep, at); ok {
					collect(rd)
				}
				for !k.Deadline().IsZero() && !k.Deadline().After(at) {
					rd, ok := k.Expire(at)
					if !ok {
						t.Fatal("Deadline passed but Expire returned nothing")
					}
					collect(rd)
				}
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

// typed returns the reports of text in a layout, for table tests.
func typed(t testing.TB, layout, text string) [][]byte {
	t.Helper()
	reps, err := KeyboardReports(layout, text)
	if err != nil {
		t.Fatal(err)
	}
	out := make([][]byte, len(reps))
	for i := range reps {
		out[i] = reps[i][:]
	}
	return out
}

// A report fed after the timeout passed, without Expire, ends the pending
// read first; Deadline then says a read waits, and Expire hands it out.
func TestKeyboardQueuedReads(t *testing.T) {
	k := newKeyboard(t, Config{Terminators: TermNone, Timeout: 50 * time.Millisecond})
	rep := func(keys ...byte) []byte { b := make([]byte, 8); copy(b[2:], keys); return b }
	if _, ok := k.Feed(rep(0x04), t0); ok {
		t.Fatal("read before its end")
	}
	k.Feed(rep(), t0.Add(time.Millisecond))
	// 0x05 comes late; in the same report, Enter would be data: no terminators.
	rd, ok := k.Feed(rep(0x05), t0.Add(time.Second))
	if !ok || rd.Text != "a" || !rd.At.Equal(t0) {
		t.Fatalf("late report returned %+v %v, want the timed-out read of a, timed at its last key", rd, ok)
	}
	if dl := k.Deadline(); !dl.Equal(t0.Add(time.Second + 50*time.Millisecond)) {
		t.Fatalf("deadline %v", dl.Sub(t0))
	}
	if rd, ok := k.Expire(t0.Add(2 * time.Second)); !ok || rd.Text != "b" {
		t.Fatalf("Expire = %+v %v", rd, ok)
	}
	if !k.Deadline().IsZero() {
		t.Fatal("deadline left after everything was handed out")
	}
}

// Flush ends a read cut off by an unplug, and forgets the keys held then,
// so the first report after replugging counts.
func TestKeyboardFlush(t *testing.T) {
	k := newKeyboard(t, Config{})
	rep := func(keys ...byte) []byte { b := make([]byte, 8); copy(b[2:], keys); return b }
	k.Feed(rep(0x04), t0)
	rd, ok := k.Flush(t0.Add(time.Millisecond))
	if !ok || rd.Text != "a" || rd.Malformed != "incomplete read: the scanner stopped before the Enter, LF or Tab" {
		t.Fatalf("Flush = %+v %v", rd, ok)
	}
	if _, ok := k.Flush(t0); ok {
		t.Fatal("second Flush returned a read")
	}
	k.Feed(rep(0x04), t0.Add(2*time.Second)) // the same key, held before the unplug
	if rd, ok := k.Feed(rep(keyEnter), t0.Add(2*time.Second+time.Millisecond)); !ok || rd.Text != "a" {
		t.Fatalf("after flush: %+v %v", rd, ok)
	}
}

// The decoder's buffer never grows past MaxLen, whatever arrives.
func TestKeyboardBounded(t *testing.T) {
	k := newKeyboard(t, Config{Terminators: TermNone, Timeout: time.Hour})
	rep := make([]byte, 8)
	for i := 0; i < 20000; i++ {
		rep[2] = byte(0x04 + i%26)
		k.Feed(rep, t0.Add(time.Duration(i)*time.Millisecond))
		if len(k.a.buf) > DefaultMaxLen || cap(k.a.buf) != DefaultMaxLen {
			t.Fatalf("buffer %d/%d after %d keys", len(k.a.buf), cap(k.a.buf), i)
		}
	}
	rd, ok := k.Flush(t0.Add(time.Hour))
	if !ok || len(rd.Text) != DefaultMaxLen || !utf8.ValidString(rd.Text) || rd.Malformed == "" {
		t.Fatalf("flushed %d bytes, malformed %q", len(rd.Text), rd.Malformed)
	}
}
