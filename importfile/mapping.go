package importfile

import (
	"fmt"

	"github.com/admitgate/admit/gate"
)

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
	if le := invisibleReject(r.line, bc, t.names[colBarcode]); le != nil {
		*out = gate.ImportLine{Line: r.line, Reject: le}
		return
	}
	out.Line, out.Reject, out.CustomerKey = r.line, nil, nil
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

	if v := t.get(f, colCustomerKey); len(v) > 0 {
		key, detail := customerKey(v, t.names[colCustomerKey])
		if key == nil {
			*out = t.reject(r, string(bc), gate.RejectBadField, "%s", detail)
			return
		}
		out.CustomerKey = key
	}

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
