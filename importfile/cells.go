package importfile

import (
	"encoding/binary"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/admitgate/admit/gate"
)

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
