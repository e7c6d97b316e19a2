package importfile

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/internal/samples"
)

// parserReasons are the reasons a parser may give.
var parserReasons = map[gate.RejectReason]bool{
	gate.RejectEmpty: true, gate.RejectTooLong: true, gate.RejectControlChar: true, gate.RejectInvisibleChar: true, gate.RejectInvalidUTF8: true,
	gate.RejectColumnCount: true, gate.RejectMissingEvent: true, gate.RejectBadEventID: true, gate.RejectBadDate: true,
	gate.RejectBadState: true, gate.RejectBadPrice: true, gate.RejectBadField: true, gate.RejectBadQuote: true,
	gate.RejectBadHeader: true, gate.RejectUnreadableFormat: true,
}

// fuzzFormats are picked by the low bits of the fuzzer's mode byte.
var fuzzFormats = []gate.Format{gate.FormatAuto, gate.FormatLines, gate.FormatCSV, gate.FormatSecutix}

// FuzzSource checks, for any input in any format: no panic; every physical
// line accounted for (yielded, blank, header, or inside a quoted record);
// line numbers rising; every ticket valid and its barcode taken verbatim;
// the digest of every byte; and the same lines when the input arrives one
// byte per read. mode picks the format (bits 0-1), the request's event (bit
// 2) and a 64-byte line limit (bit 3).
func FuzzSource(f *testing.F) {
	for _, name := range []string{samples.Secutix, samples.BoxOffice, samples.Paste} {
		data, err := samples.Read(name)
		if err != nil {
			f.Fatal(err)
		}
		for mode := range byte(16) {
			f.Add(data, mode)
		}
	}
	files, _ := filepath.Glob("testdata/*.*")
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		for mode := range byte(16) {
			f.Add(data, mode)
		}
	}
	for _, s := range []string{"", "\n", bom, "\"", "a,\"b\nc\"\n", "barcode\n\"", "BAR_CODE;TICKET_STATE\n;\n", "\xff\xfe", "a\r\r\n",
		"A\n\x00\x01\nB\n", "b\x00a\x00r\x00\n\x00", "A\n" + bom + "B\nC\u200b\n", bom + "barcode,event\nA,E1\n" + bom + "barcode,event\nB,E1\n",
		"\u00adA\u202e1\u2066\n"} {
		f.Add([]byte(s), byte(2))
		f.Add([]byte(s), byte(4))
	}
	f.Fuzz(func(t *testing.T, data []byte, mode byte) {
		req := gate.ImportRequest{Provider: "p1", Format: fuzzFormats[mode&3]}
		if mode&4 != 0 {
			req.Event = "E1"
		}
		opts := &Options{Location: zurich}
		if mode&8 != 0 {
			opts.MaxLineBytes = 64
		}
		src := NewSource(bytes.NewReader(data), req, opts)
		lines := readAll(t, src)

		sum := sha256.Sum256(data)
		if src.Digest() != hex.EncodeToString(sum[:]) {
			t.Fatalf("digest %s, want %x", src.Digest(), sum)
		}
		physical := physicalLines(data)
		unreadable := len(lines) == 1 && lines[0].Reject != nil && lines[0].Reject.Reason == gate.RejectUnreadableFormat
		if !unreadable {
			if n := len(lines) + src.blank + src.header + src.continued; n != physical {
				t.Fatalf("%d lines yielded + %d blank + %d header + %d continued = %d, the input has %d physical lines",
					len(lines), src.blank, src.header, src.continued, n, physical)
			}
		}
		prev := 0
		for _, l := range lines {
			if l.Line <= prev || l.Line > max(physical, 1) {
				t.Fatalf("line %d after line %d, of %d", l.Line, prev, physical)
			}
			prev = l.Line
			if l.Reject != nil {
				if !parserReasons[l.Reject.Reason] || l.Reject.Line != l.Line || l.Reject.Detail == "" {
					t.Fatalf("line %d: bad rejection %+v", l.Line, *l.Reject)
				}
				continue
			}
			tk := l.Ticket
			if err := tk.Validate(); err != nil {
				t.Fatalf("line %d: invalid ticket %+v: %v", l.Line, tk, err)
			}
			if tk.Provider != "p1" || (req.Event != "" && (len(tk.Events) != 1 || tk.Events[0] != "E1")) {
				t.Fatalf("line %d: provider %q events %q", l.Line, tk.Provider, tk.Events)
			}
			if !strings.ContainsAny(tk.Barcode, "\"\n") && !bytes.Contains(data, []byte(tk.Barcode)) {
				t.Fatalf("line %d: barcode %q is not in the input", l.Line, tk.Barcode)
			}
			for _, r := range tk.Barcode {
				if _, ok := invisibleNames[r]; ok {
					t.Fatalf("line %d: barcode %q holds the invisible %U", l.Line, tk.Barcode, r)
				}
			}
		}

		slow := readAll(t, NewSource(iotest.OneByteReader(bytes.NewReader(data)), req, opts))
		if len(slow) != len(lines) {
			t.Fatalf("one byte per read: %d lines, want %d", len(slow), len(lines))
		}
		for i := range slow {
			a, b := slow[i], lines[i]
			if a.Line != b.Line || (a.Reject == nil) != (b.Reject == nil) || a.Ticket.Barcode != b.Ticket.Barcode ||
				(a.Reject != nil && *a.Reject != *b.Reject) {
				t.Fatalf("one byte per read: line %d is %+v, want %+v", i, a, b)
			}
		}
	})
}
