package importfile

import (
	"bytes"
	"fmt"
	"io"
	"unicode/utf8"

	"github.com/admitgate/admit/gate"
)

var _ gate.LineSource = (*Source)(nil)

// Source streams the lines of one import file as gate.ImportLines. It reads
// through a fixed buffer (memory does not grow with the file or with a long
// line), detects the format when asked to, maps every field, and hashes every
// byte it reads. A Source is not safe for concurrent use; the Loader consumes
// it from one goroutine.
type Source struct {
	s      *scanner
	req    gate.ImportRequest
	opts   Options
	format gate.Format

	started bool
	err     error  // sticky: io.EOF or a read error
	digest  string // set at io.EOF

	// unreadable is the one line a file of an unreadable format yields.
	unreadable *gate.LineError

	reqEvents    []string  // the request's event as a list, shared by every line
	reqPriceType gate.Code // the request's price type

	t table

	// Physical lines not yielded, so every line is accounted for.
	blank, header, continued int
}

// NewSource returns a Source reading r for req (its Provider, Event,
// PriceType and Format are used). opts may be nil.
func NewSource(r io.Reader, req gate.ImportRequest, opts *Options) *Source {
	src := &Source{req: req, opts: opts.withDefaults(), format: req.Format}
	src.s = newScanner(r, src.opts.MaxLineBytes)
	if req.Event != "" {
		src.reqEvents = []string{req.Event}
	}
	if req.PriceType != "" {
		src.reqPriceType = gate.Code{Code: req.PriceType}
	}
	return src
}

// Format returns the format in use: the request's, or the detected one after
// the first Next. A file whose format cannot be read keeps FormatAuto.
func (src *Source) Format() gate.Format { return src.format }

// Digest returns the hex SHA-256 of the file's bytes once Next has returned
// io.EOF, and "" before.
func (src *Source) Digest() string { return src.digest }

// Next returns the next line: a mapped ticket, or a rejected line with its
// reason. It returns io.EOF after the last line (the whole input has been
// read by then), or a wrapped error of the underlying reader, after which the
// import must fail; both are returned again by later calls.
func (src *Source) Next() (l gate.ImportLine, err error) {
	if src.err != nil {
		return gate.ImportLine{}, src.err
	}
	if !src.started {
		src.started = true
		if err = src.start(); err != nil {
			return src.fail(err)
		}
		if src.unreadable != nil {
			return gate.ImportLine{Line: 1, Reject: src.unreadable}, nil
		}
	}
	switch {
	case src.unreadable != nil:
		err = src.s.drain()
		if err == nil {
			err = io.EOF
		}
	case src.format == gate.FormatLines:
		l, err = src.nextLine()
	default:
		err = src.nextRecord(&l)
	}
	if err != nil {
		return src.fail(err)
	}
	return l, nil
}

func (src *Source) fail(err error) (gate.ImportLine, error) {
	if err == io.EOF {
		src.digest = src.s.digest()
	}
	src.err = err
	return gate.ImportLine{}, err
}

// start looks at the first bytes: it refuses what is not text and detects
// the format when the request leaves it to the file.
func (src *Source) start() error {
	head, err := src.s.peek(src.s.br.Size())
	if err != nil {
		return err
	}
	if detail := sniffBinary(head); detail != "" {
		src.unreadable = &gate.LineError{Line: 1, Reason: gate.RejectUnreadableFormat, Detail: detail}
		return nil
	}
	switch src.format {
	case gate.FormatLines:
	case gate.FormatCSV:
		src.t.init(src, gate.FormatCSV)
	case gate.FormatSecutix:
		src.t.init(src, gate.FormatSecutix)
	default:
		src.format = detect(head)
		if src.format != gate.FormatLines {
			src.t.init(src, src.format)
		}
	}
	return nil
}

// detect picks the format from the first non-blank line of head: a SecuTix
// header, or eleven ';' fields with a known TICKET_STATE, is secutix; a
// header naming a barcode column is csv; anything else is lines.
func detect(head []byte) gate.Format {
	head = bytes.TrimPrefix(head, []byte(bom))
	var first []byte
	for len(head) > 0 {
		line := head
		if i := bytes.IndexByte(head, '\n'); i >= 0 {
			line, head = head[:i], head[i+1:]
		} else {
			head = nil
		}
		if line = bytes.TrimSpace(line); len(line) > 0 {
			first = line
			break
		}
	}
	if first == nil {
		return gate.FormatLines
	}
	var p recordParser
	p.sep = ';'
	p.feed(first)
	p.endLine()
	fields := p.fields(nil)
	var barcode, state bool
	for _, f := range fields {
		barcode = barcode || bytes.EqualFold(f, []byte("BAR_CODE"))
		state = state || bytes.EqualFold(f, []byte("TICKET_STATE"))
	}
	if barcode && state {
		return gate.FormatSecutix
	}
	if len(fields) == len(secutixColumns) {
		if _, _, ok := parseState(fields[1]); ok {
			return gate.FormatSecutix
		}
	}
	sep := detectSeparator(first)
	p = recordParser{sep: sep}
	p.feed(first)
	p.endLine()
	for _, f := range p.fields(nil) {
		if c, ok := columnFor(f); ok && c == colBarcode {
			return gate.FormatCSV
		}
	}
	return gate.FormatLines
}

// detectSeparator returns the one of , ; and tab that a header line uses
// most (outside quotes); ',' when it uses none.
func detectSeparator(header []byte) byte {
	best, n := byte(','), 0
	for _, c := range []byte{',', ';', '\t'} {
		if k := countOutsideQuotes(header, c); k > n {
			best, n = c, k
		}
	}
	return best
}

// nextLine reads the lines format: one barcode per line; spaces around a
// line and blank lines are ignored.
func (src *Source) nextLine() (gate.ImportLine, error) {
	s := src.s
	for {
		b, tooLong, ended, err := s.readLine()
		if err != nil {
			return gate.ImportLine{}, err
		}
		line := s.line
		if tooLong {
			if !ended {
				if err := s.skip(nil, false); err != nil {
					return gate.ImportLine{}, err
				}
			}
			return rejectLine(line, "", gate.RejectTooLong,
				fmt.Sprintf("line longer than %d bytes", src.opts.MaxLineBytes)), nil
		}
		b = bytes.TrimSpace(b)
		if len(b) == 0 {
			src.blank++
			continue
		}
		if err := gate.CheckBarcode(view(b)); err != nil {
			return gate.ImportLine{Line: line, Reject: barcodeReject(line, b, err, "")}, nil
		}
		if le := invisibleReject(line, b, ""); le != nil {
			return gate.ImportLine{Line: line, Reject: le}, nil
		}
		if src.reqEvents == nil {
			return rejectLine(line, string(b), gate.RejectMissingEvent,
				"a list of barcodes needs the event in the request"), nil
		}
		return gate.ImportLine{Line: line, Ticket: gate.Ticket{
			Barcode:   string(b),
			Provider:  src.req.Provider,
			Events:    src.reqEvents,
			PriceType: src.reqPriceType,
			State:     gate.StateValid,
		}}, nil
	}
}

func rejectLine(line int, barcode string, reason gate.RejectReason, detail string) gate.ImportLine {
	return gate.ImportLine{Line: line, Reject: &gate.LineError{Line: line, Barcode: barcode, Reason: reason, Detail: detail}}
}

// barcodeReject describes why b, read from column col ("" in the lines
// format), is not a barcode; err comes from gate.CheckBarcode.
func barcodeReject(line int, b []byte, err error, col string) *gate.LineError {
	le := &gate.LineError{Line: line, Reason: gate.RejectBadField, Detail: err.Error()}
	in := ""
	if col != "" {
		in = " in " + col
	}
	be, ok := err.(*gate.BarcodeError)
	if !ok {
		return le
	}
	le.Reason = gate.RejectFor(be)
	switch be.Problem {
	case "empty":
		le.Detail = "no barcode" + in
	case "too_long":
		le.Detail = fmt.Sprintf("barcode%s of %d bytes; the limit is %d", in, len(b), gate.MaxBarcodeLen)
	case "control_character":
		le.Barcode = string(b)
		r, _ := utf8.DecodeRune(b[be.Offset:])
		le.Detail = fmt.Sprintf("control character %U at byte %d of the barcode%s", r, be.Offset, in)
	case "invalid_utf8":
		le.Detail = fmt.Sprintf("byte 0x%02X at offset %d of the barcode%s is not UTF-8 (save the file as UTF-8)",
			b[be.Offset], be.Offset, in)
	}
	return le
}

// readable returns b as a barcode for a report when it could be one, or "".
func readable(b []byte) string {
	if len(b) == 0 || len(b) > gate.MaxBarcodeLen || !utf8.Valid(b) {
		return ""
	}
	return string(b)
}
