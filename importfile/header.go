package importfile

import (
	"bytes"
	"fmt"

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
	colCustomerKey // a rotating provider's ticket holder's key (customerkey.go)
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
	colCustomerKey:   {"customer_key", "holder_key"},
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
