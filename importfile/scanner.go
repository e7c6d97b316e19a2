package importfile

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
)

// bom is the UTF-8 byte order mark some editors put at the start of a file.
const bom = "\xef\xbb\xbf"

// hashingReader feeds every byte read through it to a hash, so the digest
// covers exactly the bytes of the file.
type hashingReader struct {
	r io.Reader
	h hash.Hash
}

func (h *hashingReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	if n > 0 {
		h.h.Write(p[:n])
	}
	return n, err
}

// scanner reads physical lines from a file through a fixed buffer: a line is
// returned as a slice of the buffer (valid until the next read), and a line
// longer than the limit is reported and skipped without being held whole.
type scanner struct {
	hr   hashingReader
	br   *bufio.Reader
	max  int   // longest line returned, in bytes, without its line ending
	line int   // number of the physical line last started (1-based)
	err  error // sticky: io.EOF or a read error
	// atStart is true until the first line has been read (the BOM check).
	atStart bool
}

func newScanner(r io.Reader, max int) *scanner {
	s := &scanner{hr: hashingReader{r: r, h: sha256.New()}, max: max, atStart: true}
	size := max + 2 // the line and its CRLF
	if size < 64<<10 {
		size = 64 << 10
	}
	s.br = bufio.NewReaderSize(&s.hr, size)
	return s
}

// readErr wraps a read error of the underlying reader; io.EOF stays as is.
func (s *scanner) readErr(err error) error {
	if err == io.EOF {
		return io.EOF
	}
	return fmt.Errorf("importfile: read line %d: %w", s.line+1, err)
}

// readLine returns the next physical line without its line ending (LF or
// CRLF) and without a leading BOM on the first line. tooLong reports a line
// over the limit; when ended is false its rest has not been consumed yet and
// the caller skips it (skip). err is io.EOF after the last line, or a read
// error of the underlying reader.
func (s *scanner) readLine() (line []byte, tooLong, ended bool, err error) {
	if s.err != nil {
		return nil, false, false, s.err
	}
	b, err := s.br.ReadSlice('\n')
	switch {
	case err == nil:
		ended = true
	case errors.Is(err, bufio.ErrBufferFull):
		tooLong = true
	case err == io.EOF && len(b) > 0:
		ended = true // a last line without a line ending
	default:
		s.err = s.readErr(err)
		return nil, false, false, s.err
	}
	s.line++
	if s.atStart {
		s.atStart = false
		b = bytes.TrimPrefix(b, []byte(bom))
	}
	if ended {
		b = dropLineEnding(b)
	}
	if len(b) > s.max {
		tooLong = true
	}
	return b, tooLong, ended, nil
}

// dropLineEnding removes a trailing LF or CRLF.
func dropLineEnding(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
		if n := len(b); n > 0 && b[n-1] == '\r' {
			b = b[:n-1]
		}
	}
	return b
}

// skip consumes input without keeping it. With p nil it consumes the rest of
// the current physical line. With p set it runs the CSV state machine (which
// has been fed the record so far, but not the end of its current line) until
// the record ends, so a quoted field spanning lines is skipped whole; p stops
// keeping field bytes. lineDone says whether the current physical line has
// been consumed to its end already.
func (s *scanner) skip(p *recordParser, lineDone bool) error {
	if p != nil {
		p.discard()
	}
	for {
		if lineDone && (p == nil || p.endLine()) {
			return nil
		}
		b, err := s.br.ReadSlice('\n')
		full := errors.Is(err, bufio.ErrBufferFull)
		if err != nil && !full {
			if err != io.EOF {
				s.err = s.readErr(err)
				return s.err
			}
			if len(b) == 0 {
				return nil // the input ends inside the record; readLine reports io.EOF next
			}
		}
		if lineDone {
			s.line++ // a quoted field goes on on this physical line
		}
		if p != nil {
			p.feed(dropLineEnding(b))
		}
		lineDone = !full
		if err == io.EOF {
			if p != nil {
				p.endLine()
			}
			return nil
		}
	}
}

// peek returns up to n buffered bytes from the current position without
// consuming them; fewer at the end of the input. A read error is returned.
func (s *scanner) peek(n int) ([]byte, error) {
	if n > s.br.Size() {
		n = s.br.Size()
	}
	b, err := s.br.Peek(n)
	if err != nil && err != io.EOF && !errors.Is(err, bufio.ErrBufferFull) {
		s.err = s.readErr(err)
		return nil, s.err
	}
	return b, nil
}

// drain reads the input to its end, so the digest covers the whole file.
func (s *scanner) drain() error {
	if s.err != nil {
		if s.err == io.EOF {
			return nil
		}
		return s.err
	}
	if _, err := io.Copy(io.Discard, s.br); err != nil {
		s.err = s.readErr(err)
		return s.err
	}
	s.err = io.EOF
	return nil
}

// digest returns the hex SHA-256 of every byte read so far.
func (s *scanner) digest() string {
	return hex.EncodeToString(s.hr.h.Sum(nil))
}
