package importfile

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/admitgate/admit/gate"
)

// column is a field admit reads from a CSV or SecuTix file.
type column uint8

// The columns. The first eleven are in SecuTix order, which a SecuTix file
// without a header follows.
const (
	colBarcode column = iota
	colState
	colOrder
	colProductCode
	colProductName
	colValidity
	colPriceType
	colPriceTypeName
	colPrice
	colOrderDate
	colContact
	colEvent
	colHolder
	numColumns
)

// secutixColumns are the columns of the SecuTix reseller export, in order.
var secutixColumns = [...]string{"BAR_CODE", "TICKET_STATE", "FILE_NUMBER", "PRODUCT_CODE", "PRODUCT_NAME",
	"VALIDITY_DATE", "TARIFF_CODE", "TARIFF_NAME", "PRICE", "ORDER_DATE", "CONTACT_NUMBER"}

// columnAliases are the header names of each column, normalised (lower
// case, '_' for spaces and dashes), best first: when a header has two names
// of one column, the better one is used and the other ignored.
var columnAliases = [numColumns][]string{
	colBarcode:       {"barcode", "bar_code", "code", "ticket_code", "ticket_barcode", "ticket"},
	colState:         {"state", "ticket_state", "status"},
	colOrder:         {"order", "order_id", "order_number", "file_number"},
	colProductCode:   {"product_code", "product_id"},
	colProductName:   {"product_name", "product"},
	colValidity:      {"validity_date", "validity"},
	colPriceType:     {"price_type", "tariff_code", "tariff", "price_type_code"},
	colPriceTypeName: {"price_type_name", "tariff_name"},
	colPrice:         {"price", "amount"},
	colOrderDate:     {"order_date", "ordered_at"},
	colContact:       {"contact", "contact_number", "contact_id"},
	colEvent:         {"event", "event_id", "event_code", "events"},
	colHolder:        {"holder", "holder_name", "name", "attendee"},
}

type alias struct {
	col  column
	rank int
}

var aliasIndex = func() map[string]alias {
	m := make(map[string]alias)
	for c, names := range columnAliases {
		for rank, n := range names {
			m[n] = alias{column(c), rank}
		}
	}
	return m
}()

// normalizeName folds a header name: trimmed, ASCII lower case, spaces,
// dashes and dots as '_'.
func normalizeName(b []byte) string {
	b = bytes.TrimSpace(b)
	out := make([]byte, len(b))
	for i, c := range b {
		switch {
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		case c == ' ' || c == '-' || c == '.':
			c = '_'
		}
		out[i] = c
	}
	return string(out)
}

// columnFor returns the column a header name stands for.
func columnFor(name []byte) (column, bool) {
	a, ok := aliasIndex[normalizeName(name)]
	return a.col, ok
}

// table reads the CSV and SecuTix formats: records of fields, a header that
// names the columns (optional for SecuTix), and the mapping to tickets.
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
	if bytes.IndexByte(b, '"') < 0 {
		t.fields = splitPlain(t.fields[:0], b, t.sep)
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

// nextRecord reads the CSV and SecuTix formats.
func (src *Source) nextRecord() (gate.ImportLine, error) {
	t := &src.t
	for {
		r, err := t.read()
		if err != nil {
			return gate.ImportLine{}, err
		}
		if r.reject == nil && blankRecord(r.fields) {
			src.blank++
			continue
		}
		if !t.headerDone {
			t.headerDone = true
			if isHeader, reject := t.header(r); isHeader {
				if reject != nil {
					return gate.ImportLine{Line: r.line, Reject: reject}, nil
				}
				src.header++
				continue
			}
		}
		switch {
		case t.badHeader != "":
			return t.reject(r, "", gate.RejectBadHeader, "%s", t.badHeader), nil
		case r.reject != nil:
			return gate.ImportLine{Line: r.line, Reject: r.reject}, nil
		}
		return t.mapRecord(r), nil
	}
}

// header reads the first record. isHeader reports that it was a header (not
// data); reject is set when that header is unusable.
func (t *table) header(r readResult) (isHeader bool, reject *gate.LineError) {
	if t.format == gate.FormatSecutix {
		f := r.fields
		named := len(f) > 0 && bytes.EqualFold(f[0], []byte("BAR_CODE")) ||
			len(f) > 1 && bytes.EqualFold(f[1], []byte("TICKET_STATE"))
		if !named || r.reject != nil {
			t.ncols = len(secutixColumns)
			for c := range secutixColumns {
				t.col[c] = c
				t.names[c] = secutixColumns[c]
			}
			return false, nil
		}
	}
	bad := func(format string, args ...any) (bool, *gate.LineError) {
		t.badHeader = fmt.Sprintf("the header on line %d is unusable", r.line)
		return true, &gate.LineError{Line: r.line, Reason: gate.RejectBadHeader, Detail: fmt.Sprintf(format, args...)}
	}
	if r.reject != nil {
		return bad("the header cannot be read: %s", r.reject.Detail)
	}
	var rank [numColumns]int
	for i, f := range r.fields {
		name := normalizeName(f)
		a, ok := aliasIndex[name]
		if !ok {
			continue // extra columns are ignored
		}
		switch prev := t.col[a.col]; {
		case prev < 0 || a.rank < rank[a.col]:
			t.col[a.col], rank[a.col], t.names[a.col] = i, a.rank, string(f)
		case a.rank == rank[a.col]:
			return bad("column %q appears twice (fields %d and %d)", f, prev+1, i+1)
		}
	}
	t.ncols = len(r.fields)
	if t.col[colBarcode] < 0 {
		return bad("no barcode column: name one barcode, code, bar_code, ticket_code or ticket")
	}
	if t.format == gate.FormatSecutix && t.col[colState] < 0 {
		return bad("no TICKET_STATE column")
	}
	return true, nil
}

// barcodeOf returns the record's barcode for a report, when readable.
func (t *table) barcodeOf(fields [][]byte) string {
	if i := t.col[colBarcode]; i >= 0 && i < len(fields) {
		return readable(fields[i])
	}
	return ""
}

func (t *table) reject(r readResult, barcode string, reason gate.RejectReason, format string, args ...any) gate.ImportLine {
	return gate.ImportLine{Line: r.line, Reject: &gate.LineError{Line: r.line, Barcode: barcode, Reason: reason,
		Detail: fmt.Sprintf(format, args...)}}
}

// get returns the field of column c, or nil when the file has no such column.
func (t *table) get(fields [][]byte, c column) []byte {
	if i := t.col[c]; i >= 0 {
		return fields[i]
	}
	return nil
}

// maxText is the longest text field (holder, order, names, codes) kept.
const maxText = 1024

// checkText reports what is wrong with a text field, or "" when nothing
// is: it must be UTF-8 without control characters other than tab and line
// breaks (a quoted field may span lines), and at most maxText bytes.
func checkText(b []byte) (gate.RejectReason, string) {
	if len(b) > maxText {
		return gate.RejectBadField, fmt.Sprintf("longer than %d bytes", maxText)
	}
	ascii := true
	for i, c := range b {
		switch {
		case c >= utf8.RuneSelf:
			ascii = false
		case c < 0x20 && c != '\t' && c != '\n' && c != '\r', c == 0x7f:
			return gate.RejectBadField, fmt.Sprintf("holds a control character (U+%04X) at byte %d", c, i)
		}
	}
	if !ascii && !utf8.Valid(b) {
		return gate.RejectInvalidUTF8, "is not UTF-8 (save the file as UTF-8)"
	}
	return "", ""
}

// text returns a text field, through in when in is set.
func (t *table) text(in *interner, b []byte) (string, gate.RejectReason, string) {
	if len(b) == 0 {
		return "", "", ""
	}
	if in != nil {
		if s, ok := in.m[view(b)]; ok {
			return s, "", "" // checked when it was interned
		}
	}
	if reason, detail := checkText(b); reason != "" {
		return "", reason, detail
	}
	if in == nil {
		return "", "", ""
	}
	return in.get(b), "", ""
}

// mapRecord turns one record into a ticket, or a rejected line.
func (t *table) mapRecord(r readResult) gate.ImportLine {
	src := t.src
	f := r.fields
	if len(f) != t.ncols {
		return t.reject(r, t.barcodeOf(f), gate.RejectColumnCount, "%d fields, expected %d", len(f), t.ncols)
	}
	bc := f[t.col[colBarcode]]
	if r.badQuote {
		return t.reject(r, readable(bc), gate.RejectBadQuote,
			"a quote inside an unquoted field, or text after a closing quote")
	}
	if err := gate.CheckBarcode(view(bc)); err != nil {
		return gate.ImportLine{Line: r.line, Reject: barcodeReject(r.line, bc, err, t.names[colBarcode])}
	}
	tk := gate.Ticket{Provider: src.req.Provider, State: gate.StateValid}

	if i := t.col[colState]; i >= 0 && (len(f[i]) > 0 || t.format == gate.FormatSecutix) {
		st, used, ok := parseState(f[i])
		if !ok {
			return t.reject(r, string(bc), gate.RejectBadState, "%s %q is not one of %s",
				t.names[colState], clip(f[i]), stateList)
		}
		tk.State, tk.UsedUpstream = st, used
	}

	switch {
	case src.reqEvents != nil:
		tk.Events = src.reqEvents
	case t.col[colEvent] >= 0 || t.col[colProductCode] >= 0:
		c := colEvent
		if t.col[c] < 0 {
			c = colProductCode
		}
		ev := t.events.get(f[t.col[c]])
		if ev.reason != "" {
			return t.reject(r, string(bc), ev.reason, "%s: %s", t.names[c], ev.detail)
		}
		tk.Events = ev.events
	default:
		return t.reject(r, string(bc), gate.RejectMissingEvent,
			"the file has no event column and the request names no event")
	}

	var reason gate.RejectReason
	var detail string
	var col column
	text := func(c column, in *interner, dst *string) bool {
		*dst, reason, detail = t.text(in, t.get(f, c))
		col = c
		return reason == ""
	}
	if !text(colProductCode, &t.products, &tk.Product.Code) ||
		!text(colProductName, &t.productNames, &tk.Product.Name) ||
		src.req.PriceType == "" && (!text(colPriceType, &t.tariffs, &tk.PriceType.Code) ||
			!text(colPriceTypeName, &t.tariffNames, &tk.PriceType.Name)) {
		return t.reject(r, string(bc), reason, "%s %s", t.names[col], detail)
	}
	if src.req.PriceType != "" {
		tk.PriceType = src.reqPriceType
	}
	var ok bool
	if v := t.get(f, colPrice); len(v) > 0 {
		if t.price, ok = normalizePrice(t.price[:0], v); !ok {
			return t.reject(r, string(bc), gate.RejectBadPrice, "%s %q is not a decimal number such as 45.00 or 45,00",
				t.names[colPrice], clip(v))
		}
		tk.Price = t.prices.get(t.price)
	}
	if v := t.get(f, colValidity); len(v) > 0 {
		if tk.ValidityAt, ok = t.validity.parse(v, src.opts.Location); !ok {
			return t.badDate(r, bc, colValidity, v)
		}
	}
	if v := t.get(f, colOrderDate); len(v) > 0 {
		if tk.OrderedAt, ok = t.ordered.parse(v, src.opts.Location); !ok {
			return t.badDate(r, bc, colOrderDate, v)
		}
	}

	// The strings no two tickets share are copied in one allocation.
	holder, order, contact := t.get(f, colHolder), t.get(f, colOrder), t.get(f, colContact)
	var unused string
	if !text(colHolder, nil, &unused) || !text(colOrder, nil, &unused) || !text(colContact, nil, &unused) {
		return t.reject(r, string(bc), reason, "%s %s", t.names[col], detail)
	}
	t.scratch = append(append(append(append(t.scratch[:0], bc...), holder...), order...), contact...)
	all := string(t.scratch)
	n := len(bc)
	tk.Barcode = all[:n]
	tk.Holder = all[n : n+len(holder)]
	n += len(holder)
	tk.Order = all[n : n+len(order)]
	n += len(order)
	tk.Contact = all[n:]
	return gate.ImportLine{Line: r.line, Ticket: tk}
}

func (t *table) badDate(r readResult, bc []byte, c column, v []byte) gate.ImportLine {
	return t.reject(r, string(bc), gate.RejectBadDate,
		"%s %q is not a date such as 05/12/2026 20:00 or 2026-12-05T20:00:00+01:00", t.names[c], clip(v))
}

// clip shortens a field for a message.
func clip(b []byte) string {
	const n = 40
	if len(b) <= n {
		return string(b)
	}
	return strings.ToValidUTF8(string(b[:n]), "") + "…"
}
