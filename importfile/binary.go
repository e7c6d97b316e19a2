package importfile

import (
	"bytes"
	"fmt"
)

// sniffLen is how much of the start of a file decides whether it is text.
const sniffLen = 4096

// A file is binary when at least one byte in binaryShare of its first
// sniffLen bytes, and at least binaryMin bytes, are control bytes no text
// holds. Random or compressed data has about one in ten; a text file with a
// stray NUL or escape code has a few, and each of its lines is judged on its
// own (control_character), wherever it sits.
const (
	binaryShare = 16
	binaryMin   = 32
)

// sniffBinary returns why head, the start of a file, is not a text file
// admit can read, or "" when it is text (whose bad lines are rejected one by
// one).
func sniffBinary(head []byte) string {
	magic := []struct{ prefix, what string }{
		{"\xff\xfe", "the file is UTF-16 text: save it as UTF-8"},
		{"\xfe\xff", "the file is UTF-16 text: save it as UTF-8"},
		{"PK\x03\x04", "the file is a ZIP archive (an .xlsx workbook?): export it as CSV"},
		{"\xd0\xcf\x11\xe0", "the file is an old Office document (.xls?): export it as CSV"},
		{"\x1f\x8b", "the file is gzip-compressed: send it uncompressed"},
		{"%PDF", "the file is a PDF: send the barcodes as text or CSV"},
	}
	for _, m := range magic {
		if bytes.HasPrefix(head, []byte(m.prefix)) {
			return m.what
		}
	}
	if len(head) > sniffLen {
		head = head[:sniffLen]
	}
	if utf16WithoutBOM(head) {
		return "the file looks like UTF-16 text without a byte order mark: save it as UTF-8"
	}
	n, first := 0, -1
	for i, c := range head {
		if binaryByte(c) {
			if first < 0 {
				first = i
			}
			n++
		}
	}
	if n >= binaryMin && n*binaryShare >= len(head) {
		return fmt.Sprintf("the file holds binary data (%d control bytes in its first %d, the first at offset %d): send a text file",
			n, len(head), first)
	}
	return ""
}

// binaryByte reports a byte that text files do not hold: NUL and the C0
// controls other than tab, line feed, vertical tab, form feed, carriage
// return, SUB (the DOS end of file) and GS (the GS1 separator), and DEL.
func binaryByte(c byte) bool {
	switch {
	case c == '\t', c == '\n', c == '\v', c == '\f', c == '\r', c == 0x1a, c == 0x1d:
		return false
	case c < 0x20, c == 0x7f:
		return true
	}
	return false
}

// utf16WithoutBOM reports text in UTF-16 without its byte order mark:
// ASCII characters then have a NUL beside every byte, at odd offsets (little
// endian) or even ones (big endian), and none at the other.
func utf16WithoutBOM(head []byte) bool {
	if len(head) < 8 {
		return false
	}
	var nul [2]int
	for i, c := range head {
		if c == 0 {
			nul[i&1]++
		}
	}
	half := len(head) / 2
	return (nul[1]*10 >= half*9 && nul[0] == 0) || (nul[0]*10 >= half*9 && nul[1] == 0)
}
