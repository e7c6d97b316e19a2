package importfile

import (
	"fmt"
	"unicode/utf8"

	"github.com/admitgate/admit/gate"
)

// invisibleNames are the invisible characters a barcode may not hold, with
// their names for a report. Editors, spreadsheets and concatenated files
// (cat a.csv b.csv leaves b's byte order mark at the start of a line) slip
// them in; no scanner sends them, so a ticket holding one could never be
// scanned.
var invisibleNames = map[rune]string{
	0x00AD: "soft hyphen",
	0x200B: "zero width space",
	0x200C: "zero width non-joiner",
	0x200D: "zero width joiner",
	0x200E: "left-to-right mark",
	0x200F: "right-to-left mark",
	0x202A: "left-to-right embedding",
	0x202B: "right-to-left embedding",
	0x202C: "pop directional formatting",
	0x202D: "left-to-right override",
	0x202E: "right-to-left override",
	0x2060: "word joiner",
	0x2066: "left-to-right isolate",
	0x2067: "right-to-left isolate",
	0x2068: "first strong isolate",
	0x2069: "pop directional isolate",
	0xFEFF: "byte order mark",
}

// invisibleReject returns why barcode b (valid UTF-8, checked by
// gate.CheckBarcode), read from column col ("" in the lines format), holds
// an invisible character, or nil.
func invisibleReject(line int, b []byte, col string) *gate.LineError {
	for i := 0; i < len(b); {
		if b[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if name, ok := invisibleNames[r]; ok {
			in := ""
			if col != "" {
				in = " in " + col
			}
			return &gate.LineError{Line: line, Barcode: string(b), Reason: gate.RejectInvisibleChar, Detail: fmt.Sprintf(
				"invisible character %U (%s) at byte %d of the barcode%s: no scanner sends it; remove it", r, name, i, in)}
		}
		i += size
	}
	return nil
}
