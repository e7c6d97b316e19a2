package importfile

import (
	"encoding/binary"
	"math/bits"
)

// pstate is where the CSV state machine is inside a record.
type pstate uint8

const (
	psFieldStart pstate = iota // before a field's first non-space byte
	psUnquoted                 // inside an unquoted field
	psQuoted                   // inside a quoted field
	psQuote                    // after a '"' inside a quoted field: doubled, or the closing one
	psAfterQuote               // after the closing quote, before the separator (spaces only)
)

// recordParser is an RFC 4180 state machine fed one physical line at a time,
// so a quoted field may span lines. It is lenient where that cannot change
// the record's boundaries and flags the rest: a quote inside an unquoted
// field, or text after a closing quote, marks the record badQuote (it is kept
// literally and the record still ends where a lenient reader would end it).
// Spaces and tabs around unquoted fields and around quotes are dropped;
// inside quotes everything is kept.
type recordParser struct {
	sep      byte
	st       pstate
	buf      []byte // the record's field bytes, unquoted, back to back
	ends     []int  // end of each finished field in buf
	keep     int    // in an unquoted field: end of its last non-space byte
	badQuote bool
	noKeep   bool // skipping: track state, keep no bytes
}

func (p *recordParser) reset() {
	p.st = psFieldStart
	p.buf = p.buf[:0]
	p.ends = p.ends[:0]
	p.keep = 0
	p.badQuote = false
	p.noKeep = false
}

// discard makes the parser track the state only, keeping no bytes.
func (p *recordParser) discard() {
	p.noKeep = true
	p.buf = p.buf[:0]
	p.keep = 0
}

func (p *recordParser) put(c byte) {
	if !p.noKeep {
		p.buf = append(p.buf, c)
	}
}

func (p *recordParser) isSpace(c byte) bool {
	return (c == ' ' || c == '\t') && c != p.sep
}

func (p *recordParser) endField() {
	if p.st == psUnquoted {
		p.buf = p.buf[:p.keep]
	}
	if !p.noKeep {
		p.ends = append(p.ends, len(p.buf))
	}
	p.st = psFieldStart
	p.keep = len(p.buf)
}

// feed runs the machine over one physical line (or a piece of one) without
// its line ending.
func (p *recordParser) feed(line []byte) {
	for _, c := range line {
		switch p.st {
		case psFieldStart:
			switch {
			case c == p.sep:
				p.endField()
			case p.isSpace(c):
			case c == '"':
				p.st = psQuoted
			default:
				p.st = psUnquoted
				p.put(c)
				p.keep = len(p.buf)
			}
		case psUnquoted:
			switch {
			case c == p.sep:
				p.endField()
			default:
				if c == '"' {
					p.badQuote = true
				}
				p.put(c)
				if !p.isSpace(c) {
					p.keep = len(p.buf)
				}
			}
		case psQuoted:
			if c == '"' {
				p.st = psQuote
			} else {
				p.put(c)
			}
		case psQuote, psAfterQuote:
			switch {
			case c == '"' && p.st == psQuote:
				p.put('"')
				p.st = psQuoted
			case c == p.sep:
				p.endField()
			case p.isSpace(c):
				p.st = psAfterQuote
			default:
				p.badQuote = true
				p.put(c)
				p.st = psUnquoted
				p.keep = len(p.buf)
			}
		}
	}
}

// endLine is called at the end of each physical line. It reports whether the
// record is complete; false means a quoted field goes on, holding the line
// break as '\n'.
func (p *recordParser) endLine() bool {
	if p.st == psQuoted {
		p.put('\n')
		return false
	}
	p.endField()
	return true
}

// fields appends the record's fields to dst, as slices of the parser's buffer.
func (p *recordParser) fields(dst [][]byte) [][]byte {
	start := 0
	for _, end := range p.ends {
		dst = append(dst, p.buf[start:end:end])
		start = end
	}
	return dst
}

// splitPlain splits a line at sep, dropping spaces and tabs around each
// field: what recordParser does for a line without quotes, faster. It
// reports false, and no fields, when the line holds a quote. It looks at
// eight bytes at a time.
func splitPlain(dst [][]byte, line []byte, sep byte) ([][]byte, bool) {
	const ones = 0x0101010101010101
	sepMask, quoteMask := ones*uint64(sep), ones*uint64('"')
	start, i := 0, 0
	for ; i+8 <= len(line); i += 8 {
		w := binary.LittleEndian.Uint64(line[i:])
		if zeroBytes(w^quoteMask) != 0 {
			return dst, false
		}
		for z := zeroBytes(w ^ sepMask); z != 0; z &= z - 1 {
			j := i + bits.TrailingZeros64(z)>>3
			dst = append(dst, trimSpace(line[start:j], sep))
			start = j + 1
		}
	}
	for ; i < len(line); i++ {
		switch line[i] {
		case '"':
			return dst, false
		case sep:
			dst = append(dst, trimSpace(line[start:i], sep))
			start = i + 1
		}
	}
	return append(dst, trimSpace(line[start:], sep)), true
}

// zeroBytes returns w with the high bit of each zero byte set, and no other
// bit (exact: no carry crosses bytes).
func zeroBytes(w uint64) uint64 {
	const low7 = 0x7f7f7f7f7f7f7f7f
	return ^((w&low7 + low7) | w | low7)
}

// trimSpace drops spaces, and tabs unless tab is the separator, around b.
func trimSpace(b []byte, sep byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' && sep != '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t' && sep != '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// countOutsideQuotes counts c in a line, ignoring quoted parts; it guesses
// a header's separator.
func countOutsideQuotes(line []byte, c byte) int {
	n, quoted := 0, false
	for _, b := range line {
		switch {
		case b == '"':
			quoted = !quoted
		case b == c && !quoted:
			n++
		}
	}
	return n
}
