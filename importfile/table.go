package importfile

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"strings"
	"time"
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

// header reads the first record. isHeader reports that it was a header (not
// data); reject is set when that header is unusable.
func (t *table) header(r readResult) (isHeader bool, reject *gate.LineError) {
	if t.format == gate.FormatSecutix {
		named := false
		for _, f := range r.fields {
			named = named || bytes.EqualFold(f, []byte("BAR_CODE")) || bytes.EqualFold(f, []byte("TICKET_STATE"))
		}
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
		if s, ok := in.lookup(b); ok {
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

// cellCache holds values computed from a group of cells, keyed by the
// cells' bytes: the product cells (event, code, name, validity) and the
// tariff cells (code, name, price) repeat line after line, so each distinct
// group is parsed and checked once.
type cellCache[V any] struct {
	key  []byte
	last *cellEntry[V]
	m    map[string]*cellEntry[V]
}

type cellEntry[V any] struct {
	key string
	v   *V
}

// get returns the value for the cells of f in cols, computing it on a miss.
func (c *cellCache[V]) get(t *table, f [][]byte, cols []column, compute func() *V) *V {
	c.key = c.key[:0]
	for _, col := range cols {
		cell := t.get(f, col)
		c.key = binary.AppendUvarint(c.key, uint64(len(cell)))
		c.key = append(c.key, cell...)
	}
	if c.last != nil && c.last.key == view(c.key) {
		return c.last.v
	}
	e, ok := c.m[view(c.key)]
	if !ok {
		e = &cellEntry[V]{key: string(c.key), v: compute()}
		if c.m == nil {
			c.m = make(map[string]*cellEntry[V])
		}
		if len(c.m) >= maxInterned {
			return e.v
		}
		c.m[e.key] = e
	}
	c.last = e
	return e.v
}

// cellReject is why a group of cells is refused.
type cellReject struct {
	reason gate.RejectReason
	detail string
}

// productCells are the event, product and validity of a line.
type productCells struct {
	events   []string
	product  gate.Code
	validity time.Time
	cellReject
}

var productColumns = []column{colEvent, colProductCode, colProductName, colValidity}

func (t *table) productCells(f [][]byte) *productCells {
	src := t.src
	p := &productCells{events: src.reqEvents}
	if p.events == nil {
		c := colEvent
		if t.col[c] < 0 {
			c = colProductCode
		}
		if t.col[c] < 0 {
			p.cellReject = cellReject{gate.RejectMissingEvent, "the file has no event column and the request names no event"}
			return p
		}
		ev := t.events.get(f[t.col[c]])
		if ev.reason != "" {
			p.cellReject = cellReject{ev.reason, t.names[c] + ": " + ev.detail}
			return p
		}
		p.events = ev.events
	}
	if !t.textCell(f, colProductCode, &t.products, &p.product.Code, &p.cellReject) ||
		!t.textCell(f, colProductName, &t.productNames, &p.product.Name, &p.cellReject) {
		return p
	}
	if v := t.get(f, colValidity); len(v) > 0 {
		var ok bool
		if p.validity, ok = t.validity.parse(v, src.opts.Location); !ok {
			p.cellReject = t.badDate(colValidity, v)
		}
	}
	return p
}

// tariffCells are the price type and price of a line.
type tariffCells struct {
	priceType gate.Code
	price     string
	cellReject
}

var tariffColumns = []column{colPriceType, colPriceTypeName, colPrice}

func (t *table) tariffCells(f [][]byte) *tariffCells {
	p := &tariffCells{priceType: t.src.reqPriceType}
	if t.src.req.PriceType == "" &&
		(!t.textCell(f, colPriceType, &t.tariffs, &p.priceType.Code, &p.cellReject) ||
			!t.textCell(f, colPriceTypeName, &t.tariffNames, &p.priceType.Name, &p.cellReject)) {
		return p
	}
	if v := t.get(f, colPrice); len(v) > 0 {
		var ok bool
		if t.price, ok = normalizePrice(t.price[:0], v); !ok {
			p.cellReject = cellReject{gate.RejectBadPrice, fmt.Sprintf(
				"%s %q is not a decimal number such as 45.00 or 45,00", t.names[colPrice], clip(v))}
			return p
		}
		p.price = t.prices.get(t.price)
	}
	return p
}

// textCell reads a text cell into dst, or says why not in rej.
func (t *table) textCell(f [][]byte, c column, in *interner, dst *string, rej *cellReject) bool {
	var reason gate.RejectReason
	var detail string
	if *dst, reason, detail = t.text(in, t.get(f, c)); reason != "" {
		*rej = cellReject{reason, t.names[c] + " " + detail}
		return false
	}
	return true
}

// mapRecord turns one record into a ticket, or a rejected line, in out.
func (t *table) mapRecord(r readResult, out *gate.ImportLine) {
	src := t.src
	f := r.fields
	if len(f) != t.ncols {
		*out = t.reject(r, t.barcodeOf(f), gate.RejectColumnCount, "%d fields, expected %d", len(f), t.ncols)
		return
	}
	bc := f[t.col[colBarcode]]
	if r.badQuote {
		*out = t.reject(r, readable(bc), gate.RejectBadQuote,
			"a quote inside an unquoted field, or text after a closing quote")
		return
	}
	if err := gate.CheckBarcode(view(bc)); err != nil {
		*out = gate.ImportLine{Line: r.line, Reject: barcodeReject(r.line, bc, err, t.names[colBarcode])}
		return
	}
	out.Line, out.Reject = r.line, nil
	tk := &out.Ticket
	*tk = gate.Ticket{Provider: src.req.Provider, State: gate.StateValid}

	if i := t.col[colState]; i >= 0 && (len(f[i]) > 0 || t.format == gate.FormatSecutix) {
		st, used, ok := parseState(f[i])
		switch {
		case !ok && len(f[i]) == 0:
			*out = t.reject(r, string(bc), gate.RejectBadState, "%s is empty", t.names[colState])
			return
		case !ok:
			*out = t.reject(r, string(bc), gate.RejectBadState, "%s %q is not one of %s",
				t.names[colState], clip(f[i]), stateList)
			return
		}
		tk.State, tk.UsedUpstream = st, used
	}

	p := t.productCache.get(t, f, productColumns, func() *productCells { return t.productCells(f) })
	if p.reason != "" {
		*out = t.reject(r, string(bc), p.reason, "%s", p.detail)
		return
	}
	tk.Events, tk.Product, tk.ValidityAt = p.events, p.product, p.validity

	tc := t.tariffCache.get(t, f, tariffColumns, func() *tariffCells { return t.tariffCells(f) })
	if tc.reason != "" {
		*out = t.reject(r, string(bc), tc.reason, "%s", tc.detail)
		return
	}
	tk.PriceType, tk.Price = tc.priceType, tc.price

	if v := t.get(f, colOrderDate); len(v) > 0 {
		var ok bool
		if tk.OrderedAt, ok = t.ordered.parse(v, src.opts.Location); !ok {
			rej := t.badDate(colOrderDate, v)
			*out = t.reject(r, string(bc), rej.reason, "%s", rej.detail)
			return
		}
	}

	// The strings no two tickets share are copied in one allocation.
	holder, order, contact := t.get(f, colHolder), t.get(f, colOrder), t.get(f, colContact)
	var rej cellReject
	var unused string
	if !t.textCell(f, colHolder, nil, &unused, &rej) || !t.textCell(f, colOrder, nil, &unused, &rej) ||
		!t.textCell(f, colContact, nil, &unused, &rej) {
		*out = t.reject(r, string(bc), rej.reason, "%s", rej.detail)
		return
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
}

func (t *table) badDate(c column, v []byte) cellReject {
	return cellReject{gate.RejectBadDate, fmt.Sprintf(
		"%s %q is not a date such as 05/12/2026 20:00 or 2026-12-05T20:00:00+01:00", t.names[c], clip(v))}
}

// clip shortens a field for a message.
func clip(b []byte) string {
	const n = 40
	if len(b) <= n {
		return string(b)
	}
	return strings.ToValidUTF8(string(b[:n]), "") + "…"
}
