package decode

import (
	"strconv"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"

	"github.com/admitgate/admit/gate"
)

func windows1252(b byte) rune { return charmap.Windows1252.DecodeByte(b) }

// KeyboardReports returns the boot keyboard reports a scanner set to the
// given layout sends for text, ending with Enter: for each character a
// key-down report (with Shift or AltGr in the modifier byte as the layout
// needs) and the all-zero release report; a dead key and the base key for a
// composed character the layout has no key for; ALT+numpad (ALT+0nnn in
// Windows-1252, or the decimal code point above 255) for any other
// character. The emulated scanner and the round-trip tests use it.
// EINVALID for an unknown layout, or for text holding NUL, CR, LF, Tab (they
// would end the read), C1 controls or invalid UTF-8.
func KeyboardReports(layout string, text string) ([][8]byte, error) {
	l := layoutByName(layout)
	if l == nil {
		return nil, gate.Errorf(gate.EINVALID, "unknown keyboard layout %q", layout)
	}
	out := make([][8]byte, 0, 2*len(text)+2)
	press := func(st stroke) {
		out = append(out, [8]byte{st.mods, 0, st.key}, [8]byte{})
	}
	for i, r := range text {
		switch {
		case r == utf8.RuneError:
			return nil, gate.Errorf(gate.EINVALID, "text is not valid UTF-8 (or holds U+FFFD) at byte %d", i)
		case r == 0 || r == '\r' || r == '\n' || r == '\t':
			return nil, gate.Errorf(gate.EINVALID, "text holds %q at byte %d, which a scanner cannot type inside a read", r, i)
		case r >= 0x80 && r <= 0x9F:
			return nil, gate.Errorf(gate.EINVALID, "text holds the C1 control %U at byte %d", r, i)
		}
		if st, ok := l.strokes[r]; ok && r >= 0x20 {
			press(st)
			continue
		}
		if sts, ok := l.viaDead[r]; ok {
			press(sts[0])
			press(sts[1])
			continue
		}
		out = appendAltCode(out, r)
	}
	out = append(out, [8]byte{0, 0, keyEnter}, [8]byte{})
	return out, nil
}

// appendAltCode appends the reports of ALT+numpad typing r: Left Alt down,
// each keypad digit down and up with Alt held, then everything released.
func appendAltCode(out [][8]byte, r rune) [][8]byte {
	var digits []byte
	if b, ok := charmap.Windows1252.EncodeRune(r); ok {
		digits = append(digits, '0')
		if b < 100 {
			digits = append(digits, '0')
		}
		if b < 10 {
			digits = append(digits, '0')
		}
		digits = strconv.AppendUint(digits, uint64(b), 10)
	} else {
		digits = strconv.AppendUint(digits, uint64(r), 10)
	}
	out = append(out, [8]byte{modLAlt})
	for _, d := range digits {
		out = append(out, [8]byte{modLAlt, 0, keypadKey(d)}, [8]byte{modLAlt})
	}
	return append(out, [8]byte{})
}

// POSReportLen is the length of a HID POS scanned-data input report in the
// layout Honeywell and Access-IS scanners use: report ID, data length, the
// three AIM identifier bytes, 56 data bytes, a vendor symbology code, a
// reserved byte and a flags byte whose bit 0 says more reports follow.
const POSReportLen = 64

// posDataMax is how many data bytes one POS report carries.
const posDataMax = POSReportLen - 8

// POSReports returns the HID POS input reports (report ID 2) a scanner
// sends for data read from a barcode with the AIM identifier id ("]Q1"):
// 56 data bytes per report, every report but the last flagged "more
// follows". EINVALID for an id that is not "]" + code + modifier, or empty
// data.
func POSReports(id string, data []byte) ([][POSReportLen]byte, error) {
	aim, n := splitAIM(id)
	if n == 0 || len(id) != 3 {
		return nil, gate.Errorf(gate.EINVALID, "%q is not an AIM identifier", id)
	}
	if len(data) == 0 {
		return nil, gate.Errorf(gate.EINVALID, "no data to send")
	}
	var out [][POSReportLen]byte
	for len(data) > 0 {
		var r [POSReportLen]byte
		chunk := data
		if len(chunk) > posDataMax {
			chunk = chunk[:posDataMax]
		}
		data = data[len(chunk):]
		r[0] = DefaultPOSReportID
		r[1] = byte(len(chunk))
		r[2], r[3], r[4] = ']', aim.Code, aim.Modifier
		copy(r[5:], chunk)
		if len(data) > 0 {
			r[POSReportLen-1] = 0x01
		}
		out = append(out, r)
	}
	return out, nil
}
