package importfile

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/admitgate/admit/gate"
)

// numbered returns n lines made by line(i), i from 1.
func numbered(n int, line func(i int) string) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		b.WriteString(line(i))
		b.WriteByte('\n')
	}
	return b.String()
}

// TestNULIsOneBadLineWherever (issue 21, item 8): a NUL byte, or a few
// control bytes, in a text file reject the line they sit on with
// control_character, whether that line is in the first 4 KiB of the file
// (where the parser looks for binary files) or after them; the other lines
// load.
func TestNULIsOneBadLineWherever(t *testing.T) {
	const n = 600 // about 8 KiB
	for _, tc := range []struct {
		name   string
		req    gate.ImportRequest
		header string
		line   func(i int, bad bool) string
	}{
		{"lines", gate.ImportRequest{Event: "E1"}, "", func(i int, bad bool) string {
			if bad {
				return fmt.Sprintf("TICKET\x00%05d", i)
			}
			return fmt.Sprintf("TICKET-%05d", i)
		}},
		{"csv", gate.ImportRequest{}, "barcode,event,holder", func(i int, bad bool) string {
			if bad {
				return fmt.Sprintf("TICKET\x00%05d,E1,x", i)
			}
			return fmt.Sprintf("TICKET-%05d,E1,x", i)
		}},
		{"escape codes", gate.ImportRequest{Event: "E1"}, "", func(i int, bad bool) string {
			if bad {
				return "\x00\x01\x02\x1b[0m" // a terminal's escape codes pasted in
			}
			return fmt.Sprintf("TICKET-%05d", i)
		}},
	} {
		first := 1
		if tc.header != "" {
			first = 2
		}
		for _, badLine := range []int{first, first + 1, 40, 300, n} {
			t.Run(fmt.Sprintf("%s/line=%d", tc.name, badLine), func(t *testing.T) {
				input := numbered(n, func(i int) string {
					if i == 1 && tc.header != "" {
						return tc.header
					}
					return tc.line(i, i == badLine)
				})
				offset := strings.IndexByte(input, 0)
				lines, _ := parse(t, input, tc.req)
				got := rejects(lines)
				if len(got) != 1 || got[badLine] != gate.RejectControlChar {
					t.Fatalf("NUL at offset %d: rejected %v, want only line %d control_character", offset, got, badLine)
				}
				if want := n - first; len(lines) != want+1 {
					t.Errorf("%d lines read, want %d", len(lines), want+1)
				}
			})
		}
	}
}

// TestBinaryFilesAreUnreadable: what is not text at all is refused whole on
// line 1 with unreadable_format, and no line of it is read as a barcode.
func TestBinaryFilesAreUnreadable(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 8))
	random := make([]byte, 8192)
	for i := range random {
		random[i] = byte(rng.UintN(256))
	}
	elf := append([]byte("\x7fELF\x02\x01\x01\x00"), make([]byte, 56)...)
	elf = append(elf, bytes.Repeat([]byte("\x01\x00\x00\x00\x05\x00\x00\x00ABC\nDEF\n"), 64)...)
	utf16 := func(s string, bigEndian bool) []byte {
		var b []byte
		for _, c := range []byte(s) {
			if bigEndian {
				b = append(b, 0, c)
			} else {
				b = append(b, c, 0)
			}
		}
		return b
	}
	for _, tc := range []struct {
		name   string
		data   []byte
		detail string
	}{
		{"random bytes", random, "binary data"},
		{"executable", elf, "binary data"},
		{"UTF-16LE without BOM", utf16("barcode,event\r\nA1,E1\r\n", false), "UTF-16"},
		{"UTF-16BE without BOM", utf16("A1\nA2\n", true), "UTF-16"},
		{"UTF-16 with BOM", append([]byte("\xff\xfe"), utf16("A1\n", false)...), "UTF-16"},
		{"xlsx", []byte("PK\x03\x04\x14\x00\x06\x00"), "ZIP"},
		{"gzip", []byte("\x1f\x8b\x08\x00"), "gzip"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lines, _ := parse(t, string(tc.data), gate.ImportRequest{Event: "E1"})
			if len(lines) != 1 || lines[0].Reject == nil || lines[0].Line != 1 ||
				lines[0].Reject.Reason != gate.RejectUnreadableFormat || !strings.Contains(lines[0].Reject.Detail, tc.detail) {
				t.Fatalf("lines %+v, want line 1 unreadable_format naming %q", lines, tc.detail)
			}
		})
	}
}
