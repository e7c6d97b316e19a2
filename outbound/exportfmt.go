package outbound

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/admitgate/admit/gate"
)

// SecutixHeader is the header line of the SecuTix reseller layout, the
// columns admit's own SecuTix import reads (and GET /v1/scans?format=secutix
// writes).
var SecutixHeader = []string{"BAR_CODE", "TICKET_STATE", "FILE_NUMBER", "PRODUCT_CODE", "PRODUCT_NAME", "VALIDITY_DATE",
	"TARIFF_CODE", "TARIFF_NAME", "PRICE", "ORDER_DATE", "CONTACT_NUMBER"}

// Record is one row of a csv or jsonl export: a use, or the annulment of a
// use written in an earlier file.
type Record struct {
	// ID names the journal entry for receivers: "<appliance>:<seq>".
	ID  string `json:"id"`
	Seq uint64 `json:"seq"`
	// Kind is "use" or "annulment".
	Kind string `json:"kind"`
	// Annuls is, for an annulment, the ID of the use it takes back.
	Annuls  string `json:"annuls,omitempty"`
	Barcode string `json:"barcode"`
	Event   string `json:"event"`
	Lane    string `json:"lane"`
	// At is when the ticket was scanned (for an annulment too: the use's
	// time), in the export's zone.
	At            time.Time `json:"at"`
	Provider      string    `json:"provider,omitempty"`
	PriceType     string    `json:"price_type,omitempty"`
	PriceTypeName string    `json:"price_type_name,omitempty"`
	Product       string    `json:"product,omitempty"`
	ProductName   string    `json:"product_name,omitempty"`
}

// csvHeader is the header of the csv format: Record's JSON names.
var csvHeader = []string{"id", "seq", "kind", "annuls", "barcode", "event", "lane", "at",
	"provider", "price_type", "price_type_name", "product", "product_name"}

// record turns a use or an annulment into its Record.
func (s *Service) record(je *gate.JournalEntry) Record {
	d := &je.Decision
	r := Record{ID: s.id(je.Seq), Seq: je.Seq, Kind: "use", Barcode: d.Barcode, Event: d.Event, Lane: d.Lane,
		At: d.At.In(s.opts.Location)}
	if je.Kind == gate.KindAnnulment {
		r.Kind, r.Annuls = "annulment", s.id(d.Seq)
	}
	if t := d.Ticket; t != nil {
		r.Provider, r.PriceType, r.PriceTypeName, r.Product, r.ProductName = t.Provider, t.PriceType, t.PriceTypeName, t.Product, t.ProductName
	}
	return r
}

// writeRows writes the export file's header and rows in the configured
// format, and returns the number of rows.
func (e *Exporter) writeRows(ctx context.Context, w io.Writer, rows []gate.JournalEntry) (int, error) {
	switch e.cfg.Format {
	case FormatSecutix:
		return e.writeSecutix(ctx, w, rows)
	case FormatJSONL:
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		for i := range rows {
			if err := enc.Encode(e.s.record(&rows[i])); err != nil {
				return 0, err
			}
		}
		return len(rows), nil
	default:
		cw := csv.NewWriter(w)
		_ = cw.Write(csvHeader)
		for i := range rows {
			r := e.s.record(&rows[i])
			_ = cw.Write([]string{r.ID, strconv.FormatUint(r.Seq, 10), r.Kind, r.Annuls, r.Barcode, r.Event, r.Lane,
				r.At.Format("2006-01-02T15:04:05.000Z07:00"), r.Provider, r.PriceType, r.PriceTypeName, r.Product, r.ProductName})
		}
		cw.Flush()
		return len(rows), cw.Error()
	}
}

// writeSecutix writes the uses as SecuTix lines with TICKET_STATE
// CONTROLLED; the ticket's own fields (order, contact, price, dates) come
// from the store, and from the decision when the ticket is gone.
// Annulments are left out: the layout has no state that takes CONTROLLED
// back.
func (e *Exporter) writeSecutix(ctx context.Context, w io.Writer, rows []gate.JournalEntry) (int, error) {
	cw := csv.NewWriter(w)
	cw.Comma = ';'
	_ = cw.Write(SecutixHeader)
	loc := e.s.opts.Location
	n := 0
	for i := range rows {
		je := &rows[i]
		if je.Kind != gate.KindDecision {
			continue
		}
		d := &je.Decision
		var t gate.Ticket
		v, err := e.s.opts.Tickets.Ticket(ctx, d.Barcode)
		switch {
		case err == nil:
			t = v.Ticket
		case gate.ErrorCode(err) == gate.ENOTFOUND:
			if d.Ticket != nil {
				t.PriceType = gate.Code{Code: d.Ticket.PriceType, Name: d.Ticket.PriceTypeName}
				t.Product = gate.Code{Code: d.Ticket.Product, Name: d.Ticket.ProductName}
			}
		default:
			return 0, fmt.Errorf("outbound: look up the ticket of use %d: %w", je.Seq, err)
		}
		product := t.Product.Code
		if product == "" {
			product = d.Event
		}
		_ = cw.Write([]string{d.Barcode, "CONTROLLED", t.Order, product, t.Product.Name, formatDate(t.ValidityAt, loc, "02/01/2006 15:04"),
			t.PriceType.Code, t.PriceType.Name, t.Price, formatDate(t.OrderedAt, loc, "2006-01-02 15:04"), t.Contact})
		n++
	}
	cw.Flush()
	return n, cw.Error()
}

func formatDate(t time.Time, loc *time.Location, layout string) string {
	if t.IsZero() {
		return ""
	}
	return t.In(loc).Format(layout)
}
