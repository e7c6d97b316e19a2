package decode

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/admitgate/admit/gate"
)

// goldenStreams returns the bytes of every feed block in the golden files
// matching pattern, each block's lines concatenated: real frames to seed
// the fuzzers with.
func goldenStreams(f *testing.F, pattern string) [][]byte {
	f.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "golden", pattern))
	if err != nil || len(files) == 0 {
		f.Fatalf("no golden files for %s: %v", pattern, err)
	}
	var out [][]byte
	for _, path := range files {
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		var cur []byte
		in := false
		for _, line := range strings.Split(string(b), "\n") {
			switch {
			case line == "feed":
				in, cur = true, nil
			case in && line == "----":
				in = false
				out = append(out, cur)
			case in:
				_, data, err := parseFeedLine(line, t0)
				if err != nil {
					f.Fatalf("%s: %v", path, err)
				}
				cur = append(cur, data...)
			}
		}
	}
	return out
}

// checkInvariants holds for every decoder after any input: buffers at
// their cap, reads within MaxLen, malformed reads say why.
func checkRead(t *testing.T, r gate.Read, maxLen int) {
	t.Helper()
	if len(r.Text) > maxLen {
		t.Fatalf("read of %d bytes past MaxLen %d", len(r.Text), maxLen)
	}
	if r.Text == "" && r.Malformed == "" {
		t.Fatal("empty read without a reason")
	}
	if r.At.IsZero() {
		t.Fatal("read without a time")
	}
}

// expireAll hands out every read d still holds at now, checks each, and
// checks that nothing is left pending.
func expireAll(t *testing.T, d Timed, now time.Time, maxLen int) {
	t.Helper()
	for i := 0; ; i++ {
		r, ok := d.Expire(now)
		if !ok {
			break
		}
		checkRead(t, r, maxLen)
		if i > queueLen+1 {
			t.Fatal("Expire keeps returning reads")
		}
	}
	if !d.Deadline().IsZero() {
		t.Fatal("deadline left after expiring everything")
	}
}

// FuzzKeyboard feeds arbitrary bytes as 8-byte reports (the tail as a short
// one) in every layout: no panic, no growth, every pending read ends.
func FuzzKeyboard(f *testing.F) {
	for _, s := range goldenStreams(f, "keyboard-*.txt") {
		f.Add(s, uint8(0))
		f.Add(s, uint8(0x40))
	}
	f.Add([]byte{0, 0, 1, 1, 1, 1, 1, 1}, uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, opts uint8) {
		names := Layouts()
		cfg := Config{Layout: names[int(opts)%len(names)], MaxLen: 64, AIM: opts&0x10 != 0}
		switch {
		case opts&0x20 != 0:
			cfg.Terminators = TermNone
		case opts&0x40 != 0:
			cfg.Terminators = TermEnter // a CR LF's LF is still no read
		}
		k, err := NewKeyboard(cfg, testLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		at := t0
		for len(data) > 0 {
			n := min(len(data), BootReportLen)
			at = at.Add(time.Millisecond)
			if r, ok := k.Feed(data[:n], at); ok {
				checkRead(t, r, 64)
			}
			data = data[n:]
			if cap(k.a.buf) != 64 || len(k.a.buf) > 64 {
				t.Fatalf("buffer %d/%d", len(k.a.buf), cap(k.a.buf))
			}
		}
		expireAll(t, k, at.Add(time.Hour), 64)
	})
}

// FuzzKeyboardRoundTrip: whatever text the encoder accepts, the decoder
// gives back, in every layout.
func FuzzKeyboardRoundTrip(f *testing.F) {
	f.Add("Zürich-42", uint8(2))
	f.Add("]C1010950110153000317\x1d10ABC", uint8(0))
	f.Add("^´`¨~ êñ€😀", uint8(3))
	f.Add("@#\\|[]{}", uint8(4))
	f.Fuzz(func(t *testing.T, text string, which uint8) {
		names := Layouts()
		name := names[int(which)%len(names)]
		reports, err := KeyboardReports(name, text)
		if err != nil {
			return
		}
		if len(text) > 200 {
			return // past what one read holds by default is covered elsewhere
		}
		got := feedAll(t, newKeyboard(t, Config{Layout: name}), reports, t0)
		if text == "" {
			if len(got) != 0 {
				t.Fatalf("empty text gave %+v", got)
			}
			return
		}
		if len(got) != 1 || got[0].Text != text || got[0].Malformed != "" {
			t.Fatalf("%s: %q came back as %+v", name, text, got)
		}
	})
}

// FuzzPOS feeds arbitrary bytes as 64-byte reports (the tail short); then
// checks that a barcode delivered in one report or split in two
// continuation reports reads the same.
func FuzzPOS(f *testing.F) {
	for _, s := range goldenStreams(f, "pos.txt") {
		f.Add(s, uint8(7))
	}
	f.Fuzz(func(t *testing.T, data []byte, cut uint8) {
		p := newPOS(t, Config{MaxLen: 200})
		at := t0
		for rest := data; len(rest) > 0; {
			n := min(len(rest), POSReportLen)
			at = at.Add(time.Millisecond)
			if r, ok := p.Feed(rest[:n], at); ok {
				checkRead(t, r, 200)
			}
			rest = rest[n:]
		}
		expireAll(t, p, at.Add(time.Hour), 200)

		// Whole versus split in two.
		payload := data
		if len(payload) > posDataMax {
			payload = payload[:posDataMax]
		}
		if len(payload) == 0 {
			return
		}
		one, _ := POSReports("]C0", payload)
		c := int(cut) % len(payload)
		two := [2][POSReportLen]byte{}
		for i, part := range [][]byte{payload[:c], payload[c:]} {
			two[i] = one[0]
			clear(two[i][5 : 5+posDataMax])
			copy(two[i][5:], part)
			two[i][1] = byte(len(part))
		}
		two[0][POSReportLen-1] = 1
		a := newPOS(t, Config{})
		b := newPOS(t, Config{})
		ra, oka := a.Feed(one[0][:], t0)
		b.Feed(two[0][:], t0)
		rb, okb := b.Feed(two[1][:], t0)
		if oka != okb || ra != rb {
			t.Fatalf("whole %+v %v, split at %d %+v %v", ra, oka, c, rb, okb)
		}

		// A continuation naming another identifier begins another barcode:
		// the first part is an incomplete read, the second its own.
		if c == 0 {
			return
		}
		other := two
		other[1][3], other[1][4] = 'Q', '1'
		d := newPOS(t, Config{DedupWindow: -1})
		if r, ok := d.Feed(other[0][:], t0); ok {
			t.Fatalf("a read %+v before the continuation", r)
		}
		first, ok := d.Feed(other[1][:], t0.Add(time.Millisecond))
		if !ok || !strings.Contains(first.Malformed, "another barcode") || !first.At.Equal(t0) {
			t.Fatalf("first part of two barcodes: %+v %v, want an incomplete read", first, ok)
		}
		want := strings.TrimRight(string(payload[c:]), "\r\n")
		second, ok := d.Expire(t0.Add(time.Millisecond))
		if want != "" && (!ok || second.Text != want || second.Symbology != string(QR)) {
			t.Fatalf("second barcode: %+v %v, want %q as qr", second, ok, want)
		}
	})
}

// FuzzSerial feeds a stream whole and split in two at every framing and a
// handful of configs: the same reads either way, none past MaxLen.
func FuzzSerial(f *testing.F) {
	for _, s := range goldenStreams(f, "serial.txt") {
		f.Add(s, uint16(3), uint8(0))
		f.Add(s, uint16(10), uint8(1))
		f.Add(s, uint16(4), uint8(64))
	}
	f.Add([]byte("\x02]Q2a\\\\b\x03"), uint16(4), uint8(0x03))
	f.Fuzz(func(t *testing.T, data []byte, cut uint16, opts uint8) {
		cfg := Config{MaxLen: 100, DedupWindow: -1, Framing: Framing(opts & 1), AIM: opts&2 != 0}
		if opts&4 != 0 {
			cfg.CheckDigits = NewSymbologySet(Code39, ITF) | DefaultCheckDigits
		}
		if opts&8 != 0 {
			cfg.Prefix, cfg.Suffix = "<", ">"
		}
		if opts&16 != 0 && cfg.AIM {
			cfg.Symbologies = NewSymbologySet(QR, EAN13, Code128)
		}
		switch {
		case opts&32 != 0:
			cfg.Terminators = TermNone
			cfg.Timeout = time.Second
		case opts&64 != 0:
			cfg.Terminators = TermEnter // a CR LF's LF is still no read, split or not
		}
		whole := feedSplit(newSerial(t, cfg), data, t0)
		c := 0
		if len(data) > 0 {
			c = int(cut) % (len(data) + 1)
		}
		s := newSerial(t, cfg)
		split := feedSplit(s, data, t0, c)
		if !sameReads(whole, split) {
			t.Fatalf("whole %+v\nsplit at %d %+v", whole, c, split)
		}
		for _, r := range whole {
			checkRead(t, r, 100)
			if r.Malformed == "" && !cfg.AIM && cfg.Prefix == "" && !strings.Contains(string(data), r.Text) {
				t.Fatalf("read %q is not in the input", r.Text)
			}
		}
		if cap(s.a.buf) != 100 {
			t.Fatalf("buffer grew to %d", cap(s.a.buf))
		}
	})
}

// FuzzCheckDigit: the check digit this package computes always verifies,
// and VerifyCheckDigit never panics on anything.
func FuzzCheckDigit(f *testing.F) {
	f.Add("629104150021")
	f.Add("0425261")
	f.Add("A+I+MI+D")
	f.Fuzz(func(t *testing.T, s string) {
		for _, sym := range Symbologies() {
			_ = VerifyCheckDigit(sym, s)
		}
		if c, err := GTINCheckDigit(s); err == nil {
			full := s + string(c)
			for sym, n := range map[Symbology]int{EAN8: 8, UPCA: 12, EAN13: 13, ITF14: 14} {
				if len(full) == n && VerifyCheckDigit(sym, full) != nil {
					t.Fatalf("%s %s fails its own check digit", sym, full)
				}
			}
			if len(full) >= 2 && VerifyCheckDigit(ITF, full) != nil {
				t.Fatalf("itf %s fails its own check digit", full)
			}
		}
		if c, err := Code39CheckChar(s); err == nil && len(s) > 0 {
			if err := VerifyCheckDigit(Code39, s+string(c)); err != nil {
				t.Fatalf("code39 %q: %v", s, err)
			}
		}
		if len(s) == 7 && allDigits(s) && (s[0] == '0' || s[0] == '1') {
			// UPC-E: expand with a dummy check digit, compute the real one.
			a, _ := ExpandUPCE(s + "0")
			c, _ := GTINCheckDigit(a[:11])
			if err := VerifyCheckDigit(UPCE, s+string(c)); err != nil {
				t.Fatalf("upce %s%c: %v", s, c, err)
			}
		}
		if id, rest, ok := ParseAIM(s); ok {
			if !utf8.ValidString(string(id.Symbology(rest))) || id.String()+rest != s {
				t.Fatalf("ParseAIM(%q) lost bytes", s)
			}
		}
	})
}
