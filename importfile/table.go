package importfile

import (
	"bytes"
	"fmt"
	"io"

	"github.com/admitgate/admit/gate"
)

// table reads the CSV and SecuTix formats: records of fields (here), a
// header that names the columns, optional for SecuTix (header.go), the cells
// checked and cached per distinct value (cells.go), and the mapping of a
// record to a ticket (mapping.go).
type table struct {
	src    *Source
	format gate.Format
	sep    byte // 0 until the CSV header is seen

	p      recordParser
	fields [][]byte

	headerDone bool
	ncols      int                // fields every record must have
	col        [numColumns]int    // field index of each column, -1 when absent
	names      [numColumns]string // how the file names each column, for details
	badHeader  string             // the header is unusable: every record is rejected with this

	products, productNames, tariffs, tariffNames, prices interner
	productCache                                         cellCache[productCells]
	tariffCache                                          cellCache[tariffCells]
	events                                               eventCache
	validity, ordered                                    dateCache
	scratch, price                                       []byte
}

func (t *table) init(src *Source, f gate.Format) {
	t.src, t.format = src, f
	if f == gate.FormatSecutix {
		t.sep = ';'
	}
	for c := range t.col {
		t.col[c] = -1
	}
}

// readResult is one record as read: its fields, or why it could not be read.
type readResult struct {
	line     int
	fields   [][]byte
	badQuote bool
	reject   *gate.LineError // too long, or a quote that never closes
}

// read returns the next record. Its fields are valid until the next read.
func (t *table) read() (readResult, error) {
	s := t.src.s
	b, tooLong, ended, err := s.readLine()
	if err != nil {
		return readResult{}, err
	}
	r := readResult{line: s.line}
	defer func() { t.src.continued += s.line - r.line }()
	if t.sep == 0 {
		if !tooLong && len(bytes.TrimSpace(b)) == 0 {
			return readResult{line: r.line, fields: [][]byte{nil}}, nil // blank lines before the header
		}
		t.sep = detectSeparator(b)
	}
	max := t.src.opts.MaxLineBytes
	t.p.reset()
	t.p.sep = t.sep
	if tooLong {
		t.p.feed(b)
		if err := s.skip(&t.p, ended); err != nil {
			return readResult{}, err
		}
		r.reject = &gate.LineError{Line: r.line, Reason: gate.RejectTooLong,
			Detail: fmt.Sprintf("line longer than %d bytes", max)}
		return r, nil
	}
	var plain bool
	if t.fields, plain = splitPlain(t.fields[:0], b, t.sep); plain {
		r.fields = t.fields
		return r, nil
	}
	t.p.feed(b)
	for !t.p.endLine() {
		if len(t.p.buf) > max {
			if err := s.skip(&t.p, true); err != nil {
				return readResult{}, err
			}
			r.reject = &gate.LineError{Line: r.line, Reason: gate.RejectTooLong, Detail: fmt.Sprintf(
				"record longer than %d bytes: does the quote opened on line %d lack its closing quote?", max, r.line)}
			return r, nil
		}
		b, tooLong, ended, err = s.readLine()
		if err == io.EOF {
			r.reject = &gate.LineError{Line: r.line, Reason: gate.RejectBadQuote,
				Detail: fmt.Sprintf("the quote opened on line %d never closes", r.line)}
			return r, nil
		}
		if err != nil {
			return readResult{}, err
		}
		t.p.feed(b)
		if tooLong {
			if err := s.skip(&t.p, ended); err != nil {
				return readResult{}, err
			}
			r.reject = &gate.LineError{Line: r.line, Reason: gate.RejectTooLong,
				Detail: fmt.Sprintf("record longer than %d bytes", max)}
			return r, nil
		}
	}
	t.fields = t.p.fields(t.fields[:0])
	r.fields, r.badQuote = t.fields, t.p.badQuote
	return r, nil
}

// blankRecord reports a record with nothing in it (an empty line, or only
// separators as spreadsheets write).
func blankRecord(fields [][]byte) bool {
	for _, f := range fields {
		if len(f) > 0 {
			return false
		}
	}
	return true
}

// nextRecord reads the CSV and SecuTix formats into out.
func (src *Source) nextRecord(out *gate.ImportLine) error {
	t := &src.t
	for {
		r, err := t.read()
		if err != nil {
			return err
		}
		if r.reject == nil && blankRecord(r.fields) {
			src.blank++
			continue
		}
		if !t.headerDone {
			t.headerDone = true
			if isHeader, reject := t.header(r); isHeader {
				if reject != nil {
					*out = gate.ImportLine{Line: r.line, Reject: reject}
					return nil
				}
				src.header++
				continue
			}
		}
		switch {
		case t.badHeader != "":
			*out = t.reject(r, "", gate.RejectBadHeader, "%s", t.badHeader)
		case r.reject != nil:
			*out = gate.ImportLine{Line: r.line, Reject: r.reject}
		default:
			t.mapRecord(r, out)
		}
		return nil
	}
}
