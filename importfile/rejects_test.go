package importfile

import (
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/admitgate/admit/gate"
)

// TestRejectReasons has a case for every reason the parser gives. Each input
// has good lines around the bad one, which must still be read.
func TestRejectReasons(t *testing.T) {
	const sx = "PRINTED;880000;MATCH-1;Derby;05/12/2026 20:00;ADU;Adult;45.00;2026-11-01 10:00;1000"
	secutix := func(bad string) string { return "111;" + sx + "\n" + bad + "\n333;" + sx + "\n" }
	long := strings.Repeat("x", 257)
	tests := []struct {
		name    string
		format  gate.Format
		req     gate.ImportRequest
		input   string
		line    int
		reason  gate.RejectReason
		barcode string
		good    int // lines read as tickets
	}{
		{"empty barcode", gate.FormatCSV, gate.ImportRequest{}, "barcode,event\nA,E1\n,E1\nC,E1\n", 3, gate.RejectEmpty, "", 2},
		{"empty BAR_CODE", gate.FormatSecutix, gate.ImportRequest{}, secutix(";" + sx), 2, gate.RejectEmpty, "", 2},
		{"barcode too long", gate.FormatLines, gate.ImportRequest{Event: "E1"}, "A\n" + long + "\nC\n", 2, gate.RejectTooLong, "", 2},
		{"line too long", gate.FormatLines, gate.ImportRequest{Event: "E1"}, "A\n" + strings.Repeat("y", 70) + "\nC\n", 2, gate.RejectTooLong, "", 2},
		{"line too long, CSV", gate.FormatCSV, gate.ImportRequest{}, "barcode,event\nA,E1\nB,E1," + strings.Repeat("y", 70) + "\nC,E1\n", 3, gate.RejectTooLong, "", 2},
		{"quoted record too long", gate.FormatCSV, gate.ImportRequest{}, "barcode,event,holder\nA,E1,x\nB,E1,\"" + strings.Repeat("y\n", 40) + "\"\nC,E1,y\n", 3, gate.RejectTooLong, "", 2},
		{"control character", gate.FormatLines, gate.ImportRequest{Event: "E1"}, "A\nB\x01X\nC\n", 2, gate.RejectControlChar, "B\x01X", 2},
		{"control character, CSV", gate.FormatCSV, gate.ImportRequest{}, "barcode,event\nA,E1\n\"B\x7f\",E1\nC,E1\n", 3, gate.RejectControlChar, "B\x7f", 2},
		{"C1 control character", gate.FormatLines, gate.ImportRequest{Event: "E1"}, "A\nB\u0085X\nC\n", 2, gate.RejectControlChar, "B\u0085X", 2},
		{"invalid UTF-8", gate.FormatLines, gate.ImportRequest{Event: "E1"}, "A\nB\xe9X\nC\n", 2, gate.RejectInvalidUTF8, "", 2},
		{"invalid UTF-8 holder", gate.FormatCSV, gate.ImportRequest{}, "barcode,event,holder\nA,E1,x\nB,E1,M\xfcller\nC,E1,y\n", 3, gate.RejectInvalidUTF8, "B", 2},
		{"too many fields", gate.FormatCSV, gate.ImportRequest{}, "barcode,event\nA,E1\nB,E1,x\nC,E1\n", 3, gate.RejectColumnCount, "B", 2},
		{"too few fields, SecuTix", gate.FormatSecutix, gate.ImportRequest{}, secutix("222;PRINTED;1"), 2, gate.RejectColumnCount, "222", 2},
		{"no event", gate.FormatLines, gate.ImportRequest{}, "A\n", 1, gate.RejectMissingEvent, "A", 0},
		{"no event column", gate.FormatCSV, gate.ImportRequest{}, "barcode,holder\nA,x\n", 2, gate.RejectMissingEvent, "A", 0},
		{"empty event", gate.FormatCSV, gate.ImportRequest{}, "barcode,event\nA,E1\nB, \nC,E1\n", 3, gate.RejectMissingEvent, "B", 2},
		{"bad event id", gate.FormatCSV, gate.ImportRequest{}, "barcode,event\nA,E1\nB,E 2\nC,E1\n", 3, gate.RejectBadEventID, "B", 2},
		{"bad PRODUCT_CODE as event", gate.FormatSecutix, gate.ImportRequest{}, secutix(strings.Replace("222;"+sx, "MATCH-1", "MATCH/1", 1)), 2, gate.RejectBadEventID, "222", 2},
		{"bad date", gate.FormatSecutix, gate.ImportRequest{}, secutix(strings.Replace("222;"+sx, "05/12/2026", "31/02/2026", 1)), 2, gate.RejectBadDate, "222", 2},
		{"bad order date", gate.FormatSecutix, gate.ImportRequest{}, secutix(strings.Replace("222;"+sx, "2026-11-01 10:00", "yesterday", 1)), 2, gate.RejectBadDate, "222", 2},
		{"bad state", gate.FormatSecutix, gate.ImportRequest{}, secutix(strings.Replace("222;"+sx, "PRINTED", "SOLD", 1)), 2, gate.RejectBadState, "222", 2},
		{"empty state, SecuTix", gate.FormatSecutix, gate.ImportRequest{}, secutix(strings.Replace("222;"+sx, "PRINTED", "", 1)), 2, gate.RejectBadState, "222", 2},
		{"bad state, CSV", gate.FormatCSV, gate.ImportRequest{}, "barcode,event,state\nA,E1,\nB,E1,revoked\nC,E1,valid\n", 3, gate.RejectBadState, "B", 2},
		{"bad price", gate.FormatSecutix, gate.ImportRequest{}, secutix(strings.Replace("222;"+sx, "45.00", "45 EUR", 1)), 2, gate.RejectBadPrice, "222", 2},
		{"control character in a name", gate.FormatCSV, gate.ImportRequest{}, "barcode,event,holder\nA,E1,x\nB,E1,a\x1bb\nC,E1,y\n", 3, gate.RejectBadField, "B", 2},
		{"field too long", gate.FormatCSV, gate.ImportRequest{}, "barcode,event,holder\nA,E1,x\nB,E1," + strings.Repeat("h", 1025) + "\nC,E1,y\n", 3, gate.RejectBadField, "B", 2},
		{"quote never closes", gate.FormatCSV, gate.ImportRequest{}, "barcode,event\nA,E1\nB,\"E1\nC,E1\n", 3, gate.RejectBadQuote, "", 1},
		{"bare quote", gate.FormatCSV, gate.ImportRequest{}, "barcode,event\nA,E1\nB\"x,E1\nC,E1\n", 3, gate.RejectBadQuote, "B\"x", 2},
		{"text after a closing quote", gate.FormatSecutix, gate.ImportRequest{}, secutix("\"222\"x;" + sx), 2, gate.RejectBadQuote, "222x", 2},
		{"no barcode column", gate.FormatCSV, gate.ImportRequest{}, "serial,event\nA,E1\n", 1, gate.RejectBadHeader, "", 0},
		{"twice the barcode column", gate.FormatCSV, gate.ImportRequest{}, "barcode,Barcode\nA,E1\n", 1, gate.RejectBadHeader, "", 0},
		{"no TICKET_STATE", gate.FormatSecutix, gate.ImportRequest{}, "BAR_CODE;PRODUCT_CODE\n1;M\n", 1, gate.RejectBadHeader, "", 0},
		{"UTF-16", gate.FormatAuto, gate.ImportRequest{}, "\xff\xfeb\x00a\x00", 1, gate.RejectUnreadableFormat, "", 0},
		{"xlsx", gate.FormatCSV, gate.ImportRequest{}, "PK\x03\x04\x14\x00", 1, gate.RejectUnreadableFormat, "", 0},
		{"NUL byte", gate.FormatLines, gate.ImportRequest{Event: "E1"}, "ABC\n\x00\x01\x02\nC\n", 2, gate.RejectControlChar, "\x00\x01\x02", 2},
		{"binary", gate.FormatLines, gate.ImportRequest{Event: "E1"}, "ABC\n" + strings.Repeat("\x00\x01\x02\x03", 16), 1, gate.RejectUnreadableFormat, "", 0},
	}
	// The cases about the line limit run with a limit of 64 bytes.
	smallLimit := map[string]bool{"line too long": true, "line too long, CSV": true, "quoted record too long": true}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			max := 0
			if smallLimit[tt.name] {
				max = 64
			}
			req := tt.req
			req.Provider, req.Format = "p1", tt.format
			src := NewSource(stringsReader(tt.input), req, &Options{MaxLineBytes: max, Location: zurich})
			lines := readAll(t, src)
			good := 0
			var bad []gate.ImportLine
			for _, l := range lines {
				if l.Reject == nil {
					good++
					if err := l.Ticket.Validate(); err != nil {
						t.Errorf("line %d: %v", l.Line, err)
					}
				} else {
					bad = append(bad, l)
				}
			}
			if len(bad) == 0 {
				t.Fatalf("no line rejected, want line %d %s", tt.line, tt.reason)
			}
			r := bad[0].Reject
			if bad[0].Line != tt.line || r.Line != tt.line || r.Reason != tt.reason || r.Barcode != tt.barcode || r.Detail == "" {
				t.Errorf("rejected %+v (line %d), want line %d %s barcode %q and a detail", *r, bad[0].Line, tt.line, tt.reason, tt.barcode)
			}
			if good != tt.good {
				t.Errorf("%d good lines, want %d", good, tt.good)
			}
			t.Logf("%d: %s: %s", r.Line, r.Reason, r.Detail)
		})
	}
}

// TestBadHeaderRejectsEveryLine: a CSV whose header names no barcode
// column refuses each data line too, so nothing loads even with on_error=skip.
func TestBadHeaderRejectsEveryLine(t *testing.T) {
	lines, _ := parse(t, "serial,event\nA,E1\n\nB,E1\n", gate.ImportRequest{Format: gate.FormatCSV})
	got := rejects(lines)
	if len(lines) != 3 || got[1] != gate.RejectBadHeader || got[2] != gate.RejectBadHeader || got[4] != gate.RejectBadHeader {
		t.Errorf("lines %v, want lines 1, 2 and 4 rejected bad_header", got)
	}
}

// errAfter returns data, then err.
type errAfter struct {
	data string
	err  error
}

func (r *errAfter) Read(p []byte) (int, error) {
	if r.data == "" {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

// TestReadErrorFailsTheImport: a read error is an error of Next, never a
// rejected line, keeps its code (a body over its limit is ETOOLARGE), and
// is returned again by later calls.
func TestReadErrorFailsTheImport(t *testing.T) {
	tooLarge := gate.Errorf(gate.ETOOLARGE, "body over 1 MiB")
	for _, format := range []gate.Format{gate.FormatAuto, gate.FormatLines, gate.FormatCSV, gate.FormatSecutix} {
		for _, data := range []string{"", "barcode,event\nA,E1\n", "A\nB", "barcode,holder\nA,\"x\n"} {
			src := NewSource(&errAfter{data: data, err: tooLarge}, gate.ImportRequest{Provider: "p1", Event: "E1", Format: format}, nil)
			var err error
			for err == nil {
				_, err = src.Next()
			}
			if !errors.Is(err, tooLarge) || gate.ErrorCode(err) != gate.ETOOLARGE {
				t.Errorf("%s %q: error %v, want the reader's ETOOLARGE", format, data, err)
			}
			if _, again := src.Next(); !errors.Is(again, tooLarge) {
				t.Errorf("%s %q: the second Next returned %v", format, data, again)
			}
			if src.Digest() != "" {
				t.Errorf("%s %q: a digest after a failed read", format, data)
			}
		}
	}
}

// endless yields n bytes of fill, then tail, without holding them.
type endless struct {
	n    int
	fill byte
	tail string
}

func (r *endless) Read(p []byte) (int, error) {
	if r.n > 0 {
		k := min(len(p), r.n)
		for i := range k {
			p[i] = r.fill
		}
		r.n -= k
		return k, nil
	}
	if r.tail == "" {
		return 0, io.EOF
	}
	k := copy(p, r.tail)
	r.tail = r.tail[k:]
	return k, nil
}

// TestLongLineIsNotBuffered reads an 8 MiB line and an 8 MiB quoted CSV
// field and checks that the parser allocates a small, fixed amount.
func TestLongLineIsNotBuffered(t *testing.T) {
	const size = 8 << 20
	tests := []struct {
		name   string
		format gate.Format
		r      io.Reader
		lines  int
	}{
		{"lines", gate.FormatLines, &endless{n: size, fill: 'x', tail: "\nGOOD\n"}, 2},
		{"csv line", gate.FormatCSV, io.MultiReader(strings.NewReader("barcode,event\nA,"), &endless{n: size, fill: 'x', tail: "\nB,E1\n"}), 2},
		{"csv quoted lines", gate.FormatCSV, io.MultiReader(strings.NewReader("barcode,event\nA,\""), &endless{n: size, fill: '\n', tail: "\"\nB,E1\n"}), 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			src := NewSource(tt.r, gate.ImportRequest{Provider: "p1", Event: "E1", Format: tt.format}, nil)
			lines := readAll(t, src)
			runtime.ReadMemStats(&after)
			if len(lines) != tt.lines || lines[0].Reject == nil || lines[0].Reject.Reason != gate.RejectTooLong || lines[1].Reject != nil {
				t.Fatalf("lines %+v, want a too_long line, then a good one", lines)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
				t.Errorf("allocated %d bytes reading a %d-byte line", alloc, size)
			}
			if tt.name == "csv quoted lines" && lines[1].Line != size+3 {
				t.Errorf("the line after the quoted field is line %d, want %d", lines[1].Line, size+3)
			}
		})
	}
}
