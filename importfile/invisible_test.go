package importfile

import (
	"fmt"
	"strings"
	"testing"

	"github.com/admitgate/admit/gate"
)

// TestInvisibleCharactersAreRejected (issue 21, item 10): a barcode holding
// a byte order mark (a file concatenated after another: cat a.csv b.csv), a
// zero-width character, a bidirectional mark or a soft hyphen is rejected
// invisible_character, in every format and anywhere in the barcode; the
// lines around it load, and characters next to those code points stay
// barcodes.
func TestInvisibleCharactersAreRejected(t *testing.T) {
	for r := range invisibleNames {
		for _, at := range []string{"start", "middle", "end"} {
			bc := map[string]string{"start": string(r) + "B2", "middle": "B" + string(r) + "2", "end": "B2" + string(r)}[at]
			for _, f := range []struct {
				name  string
				input string
				req   gate.ImportRequest
				line  int
			}{
				{"lines", "A1\n" + bc + "\nC3\n", gate.ImportRequest{Event: "E1", Format: gate.FormatLines}, 2},
				{"csv", "barcode,event\nA1,E1\n" + bc + ",E1\nC3,E1\n", gate.ImportRequest{}, 3},
				{"secutix", "A1;PRINTED;1;E1;x;;;;;;\n" + bc + ";PRINTED;1;E1;x;;;;;;\nC3;PRINTED;1;E1;x;;;;;;\n", gate.ImportRequest{Format: gate.FormatSecutix}, 2},
			} {
				t.Run(fmt.Sprintf("%U/%s/%s", r, at, f.name), func(t *testing.T) {
					lines, _ := parse(t, f.input, f.req)
					if len(lines) != 3 {
						t.Fatalf("%d lines, want 3: %+v", len(lines), lines)
					}
					rej := lines[1].Reject
					if rej == nil || lines[1].Line != f.line || rej.Reason != gate.RejectInvisibleChar || rej.Barcode != bc ||
						!strings.Contains(rej.Detail, fmt.Sprintf("%U", r)) {
						t.Fatalf("line %d: %+v, want invisible_character naming %U", lines[1].Line, rej, r)
					}
					if lines[0].Reject != nil || lines[2].Reject != nil {
						t.Errorf("the lines around it: %+v, %+v", lines[0].Reject, lines[2].Reject)
					}
				})
			}
		}
	}
	// Neighbours of the invisible code points are characters a barcode may hold.
	for _, r := range []rune{0x00AC, 0x00AE, 0x2010, 0x2030, 0x2061, 0xFEFE, 0xFF10, 'é'} {
		lines, _ := parse(t, "A"+string(r)+"1\n", gate.ImportRequest{Event: "E1", Format: gate.FormatLines})
		if len(lines) != 1 || lines[0].Reject != nil {
			t.Errorf("%U: %+v, want a ticket", r, lines)
		}
	}
}

// TestConcatenatedFiles: two CSV exports joined with cat, each starting with
// a byte order mark, load both files' tickets; the second header, BOM and
// all, is one rejected line, never a ticket.
func TestConcatenatedFiles(t *testing.T) {
	a := bom + "barcode,event\r\nA1,E1\r\nA2,E1\r\n"
	b := bom + "barcode,event\r\nB1,E1\r\nB2,E1\r\n"
	lines, _ := parse(t, a+b, gate.ImportRequest{})
	var tickets []string
	for _, l := range lines {
		if l.Reject == nil {
			tickets = append(tickets, l.Ticket.Barcode)
		}
	}
	if got := rejects(lines); len(got) != 1 || got[4] != gate.RejectInvisibleChar {
		t.Errorf("rejected %v, want line 4 invisible_character", got)
	}
	if strings.Join(tickets, " ") != "A1 A2 B1 B2" {
		t.Errorf("tickets %q, want A1 A2 B1 B2", tickets)
	}
}
