package decode

// AIM is a symbology identifier as ISO/IEC 15424 defines it: "]", a code
// character naming the symbology and a modifier character naming its
// options ("]E0" EAN-13, "]C1" GS1-128, "]Q1" QR Code). Scanners send it in
// front of the data when "AIM ID" is enabled; HID POS scanners send it in its
// own report field.
type AIM struct {
	Code     byte // 'A' Code 39, 'C' Code 128, 'E' EAN/UPC, 'I' ITF, 'Q' QR, 'd' Data Matrix, ...
	Modifier byte // '0'-'9' or 'A'-'Z'
}

// String returns the identifier as sent: "]" + code + modifier.
func (id AIM) String() string { return string([]byte{']', id.Code, id.Modifier}) }

// IsZero reports whether id is the zero AIM (no identifier).
func (id AIM) IsZero() bool { return id.Code == 0 }

// ParseAIM splits a leading AIM identifier off s. ok is false when s does
// not start with one.
func ParseAIM(s string) (id AIM, rest string, ok bool) {
	id, n := splitAIM(s)
	if n == 0 {
		return AIM{}, s, false
	}
	return id, s[n:], true
}

// splitAIM returns the identifier at the start of b and its length, or a
// length of 0 when there is none.
func splitAIM[T ~string | ~[]byte](b T) (AIM, int) {
	if len(b) < 3 || b[0] != ']' || !isAIMCode(b[1]) || !isAIMModifier(b[2]) {
		return AIM{}, 0
	}
	return AIM{Code: b[1], Modifier: b[2]}, 3
}

func isAIMCode(c byte) bool { return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' }

func isAIMModifier(c byte) bool { return c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' }

// Symbology returns the symbology id names for the data that follows it, or
// "" for an identifier outside the symbologies decode knows (its AIM string
// still tells the journal what it was). EAN/UPC packets are told apart by
// length, as the AIM tables send UPC-A and UPC-E inside "]E0": 13 digits are
// EAN-13, 12 UPC-A, 6 to 8 UPC-E. ITF with a validated check digit ("]I1")
// and 14 digits is ITF-14.
func (id AIM) Symbology(data string) Symbology { return aimSymbology(id, data) }

func aimSymbology[T ~string | ~[]byte](id AIM, data T) Symbology {
	m := id.Modifier
	switch id.Code {
	case 'A':
		return Code39
	case 'C':
		if m == '1' {
			return GS1128
		}
		return Code128
	case 'E':
		switch m {
		case '4':
			return EAN8
		case '0':
			switch len(data) {
			case 12:
				return UPCA
			case 6, 7, 8:
				return UPCE
			}
			return EAN13
		case '3':
			return EAN13
		}
		return "" // ]E1, ]E2: an add-on alone
	case 'F':
		return Codabar
	case 'G':
		return Code93
	case 'I':
		if m == '1' && len(data) == 14 {
			return ITF14
		}
		return ITF
	case 'L':
		return PDF417
	case 'Q':
		if m == '3' || m == '4' {
			return GS1QR
		}
		return QR
	case 'd':
		if m == '2' || m == '5' {
			return GS1DataMatrix
		}
		return DataMatrix
	case 'e':
		return DataBar
	case 'z':
		return Aztec
	}
	return ""
}

// usesECI reports whether id says the data follows the ECI protocol: every
// backslash doubled and "\nnnnnn" marking an ECI designator.
func (id AIM) usesECI() bool {
	m := id.Modifier
	switch id.Code {
	case 'L':
		return m == '1'
	case 'Q':
		return m == '2' || m == '4' || m == '6'
	case 'd':
		return m == '4' || m == '5' || m == '6'
	case 'z':
		return m == '3' || m == '4' || m == '5' || m == '9' || m == 'A' || m == 'B'
	}
	return false
}

// unescapeECI undoes the ECI protocol in place: "\\" becomes "\" and ECI
// designators ("\" and six digits) are removed. It returns the shortened
// slice, or ok false when a lone backslash starts neither form.
func unescapeECI(b []byte) (out []byte, ok bool) {
	w := 0
	for r := 0; r < len(b); {
		c := b[r]
		if c != '\\' {
			b[w] = c
			w++
			r++
			continue
		}
		switch {
		case r+1 < len(b) && b[r+1] == '\\':
			b[w] = '\\'
			w++
			r += 2
		case r+7 <= len(b) && allDigits(b[r+1:r+7]):
			r += 7
		default:
			return b, false
		}
	}
	return b[:w], true
}

// honeywellSymbology maps the Honeywell Code ID that HID POS reports carry
// next to the AIM identifier to a symbology, for scanners that leave the AIM
// field empty.
func honeywellSymbology(code byte) Symbology {
	switch code {
	case 'a':
		return Codabar
	case 'b':
		return Code39
	case 'c':
		return UPCA
	case 'd':
		return EAN13
	case 'D':
		return EAN8
	case 'E':
		return UPCE
	case 'e':
		return ITF
	case 'i':
		return Code93
	case 'I':
		return GS1128
	case 'j':
		return Code128
	case 'r':
		return PDF417
	case 's':
		return QR
	case 'w':
		return DataMatrix
	case 'y':
		return DataBar
	case 'z':
		return Aztec
	}
	return ""
}
