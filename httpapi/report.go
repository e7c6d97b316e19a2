package httpapi

import (
	"bytes"
	"encoding/csv"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/admitgate/admit/gate"
)

// ScansResponse is the answer to GET /v1/scans: journal entries after a
// sequence number, and the number to ask after next time.
type ScansResponse struct {
	Entries []FeedEntry `json:"entries"`
	Next    uint64      `json:"next"`
}

// FeedEntry is a gate.JournalEntry on the wire. A "lost" entry (a refusal
// that never reached the disk before a crash) has no decision.
type FeedEntry struct {
	Seq      uint64         `json:"seq"`
	Kind     gate.EntryKind `json:"kind"`
	Decision *gate.Decision `json:"decision,omitempty"`
	Nonce    string         `json:"nonce,omitempty"`
	Source   string         `json:"source,omitempty"`
	Annulled uint64         `json:"annulled,omitempty"`
	By       string         `json:"by,omitempty"`
}

func feedEntries(es []gate.JournalEntry) []FeedEntry {
	out := make([]FeedEntry, len(es))
	for i := range es {
		e := &es[i]
		out[i] = FeedEntry{Seq: e.Seq, Kind: e.Kind, Nonce: e.Nonce, Source: e.Source, Annulled: e.Annulled, By: e.By}
		if e.Kind != gate.KindLost && e.Decision.Reason.Valid() {
			d := e.Decision
			if d.Direction != gate.In && d.Direction != gate.Out {
				d.Direction = gate.In
			}
			out[i].Decision = &d
		}
	}
	return out
}

// Feed limits.
const (
	DefaultFeedLimit = 100
	MaxFeedLimit     = 1000
)

// wantsCSV reports whether the client asked for CSV, by format=csv or by
// Accept: text/csv.
func wantsCSV(ctx *fasthttp.RequestCtx) (bool, error) {
	switch f := string(ctx.QueryArgs().Peek("format")); f {
	case "csv":
		return true, nil
	case "json":
		return false, nil
	case "":
		return bytes.Contains(ctx.Request.Header.Peek("Accept"), []byte("text/csv")), nil
	default:
		return false, gate.Errorf(gate.EINVALID, "query parameter format must be json or csv, not %q", truncate(f, 32))
	}
}

func (s *Server) report(ctx *fasthttp.RequestCtx, c *call) error {
	event := string(ctx.QueryArgs().Peek("event"))
	if err := gate.CheckID("event", event); err != nil {
		return gate.Errorf(gate.EINVALID, "query parameter event is required: %v", gate.ErrorMessage(err))
	}
	asCSV, err := wantsCSV(ctx)
	if err != nil {
		return err
	}
	part := string(ctx.QueryArgs().Peek("part"))
	switch part {
	case "", "rows", "denials", "minutes", "overrides":
	default:
		return gate.Errorf(gate.EINVALID, "query parameter part must be rows, denials, minutes or overrides, not %q", truncate(part, 32))
	}
	r, err := c.store.index.Report(ctx, event, s.now())
	if err != nil {
		return err
	}
	full, err := reportExtras(ctx, c, r) // override.go: the overrides and the zones
	if err != nil {
		return err
	}
	if asCSV && part == "overrides" {
		ctx.SetStatusCode(fasthttp.StatusOK)
		ctx.SetContentType("text/csv; charset=utf-8")
		ctx.Response.Header.Set("Content-Disposition", `attachment; filename="overrides-`+r.Event+`.csv"`)
		ctx.SetBody(overridesCSV(full))
		return nil
	}
	if !asCSV {
		if r.Rows == nil {
			r.Rows = []gate.ReportRow{}
		}
		if r.Minutes == nil {
			r.Minutes = []gate.MinuteCount{}
		}
		if r.Denials == nil {
			r.Denials = map[gate.Reason]int{}
		}
		full.Report = r
		return writeJSON(ctx, fasthttp.StatusOK, full)
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	switch part {
	case "", "rows":
		_ = w.Write([]string{"event", "provider", "price_type", "price_type_name", "sold", "used", "inside", "cancelled", "no_show"})
		for _, row := range append(r.Rows, totalRow(r.Total)) {
			_ = w.Write([]string{r.Event, row.Provider, row.PriceType, row.PriceTypeName, itoa(row.Sold), itoa(row.Used),
				itoa(row.Inside), itoa(row.Cancelled), itoa(row.NoShow)})
		}
	case "denials":
		_ = w.Write([]string{"event", "reason", "count"})
		for _, reason := range gate.Reasons() {
			if !reason.Admits() {
				_ = w.Write([]string{r.Event, reason.String(), itoa(r.Denials[reason])})
			}
		}
	case "minutes":
		_ = w.Write([]string{"event", "minute", "entries", "exits"})
		for _, m := range r.Minutes {
			_ = w.Write([]string{r.Event, m.Minute.Format(time.RFC3339), itoa(m.Entries), itoa(m.Exits)})
		}
	}
	w.Flush()
	ctx.SetStatusCode(fasthttp.StatusOK)
	ctx.SetContentType("text/csv; charset=utf-8")
	ctx.Response.Header.Set("Content-Disposition", `attachment; filename="report-`+r.Event+`.csv"`)
	ctx.SetBody(buf.Bytes())
	return nil
}

func totalRow(t gate.ReportRow) gate.ReportRow {
	t.Provider, t.PriceType, t.PriceTypeName = "TOTAL", "", ""
	return t
}

func itoa(n int) string { return strconv.Itoa(n) }

func (s *Server) scans(ctx *fasthttp.RequestCtx, c *call) error {
	args := ctx.QueryArgs()
	var after uint64
	if v := args.Peek("after"); len(v) > 0 {
		n, err := strconv.ParseUint(string(v), 10, 64)
		if err != nil {
			return gate.Errorf(gate.EINVALID, "query parameter after must be a sequence number, not %q", truncate(string(v), 32))
		}
		after = n
	}
	limit := DefaultFeedLimit
	if v := args.Peek("limit"); len(v) > 0 {
		n, err := strconv.Atoi(string(v))
		if err != nil || n < 1 || n > MaxFeedLimit {
			return gate.Errorf(gate.EINVALID, "query parameter limit must be between 1 and %d, not %q", MaxFeedLimit, truncate(string(v), 32))
		}
		limit = n
	}
	format := string(args.Peek("format"))
	provider := string(args.Peek("provider"))
	switch format {
	case "", "json", "secutix":
	default:
		return gate.Errorf(gate.EINVALID, "query parameter format must be json or secutix, not %q", truncate(format, 32))
	}
	if provider != "" {
		if err := gate.CheckID("provider", provider); err != nil {
			return err
		}
	}
	entries, err := c.store.index.Entries(ctx, after, limit)
	if err != nil {
		return err
	}
	next := after
	if len(entries) > 0 {
		next = entries[len(entries)-1].Seq
	}
	if format != "secutix" {
		return writeJSON(ctx, fasthttp.StatusOK, ScansResponse{Entries: feedEntries(entries), Next: next})
	}
	body, err := s.secutixExport(ctx, c, entries, provider)
	if err != nil {
		return err
	}
	ctx.SetStatusCode(fasthttp.StatusOK)
	ctx.SetContentType("text/csv; charset=utf-8")
	ctx.Response.Header.Set("X-Admit-Next", strconv.FormatUint(next, 10))
	ctx.SetBody(body)
	return nil
}

// SecutixHeader is the header of the SecuTix reseller layout that
// GET /v1/scans?format=secutix writes.
var SecutixHeader = []string{"BAR_CODE", "TICKET_STATE", "FILE_NUMBER", "PRODUCT_CODE", "PRODUCT_NAME", "VALIDITY_DATE",
	"TARIFF_CODE", "TARIFF_NAME", "PRICE", "ORDER_DATE", "CONTACT_NUMBER"}

// secutixExport writes the first admissions among entries (not annulled)
// as SecuTix lines with TICKET_STATE CONTROLLED, for the ticketing system to
// mark those tickets used.
func (s *Server) secutixExport(ctx *fasthttp.RequestCtx, c *call, entries []gate.JournalEntry, provider string) ([]byte, error) {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.Comma = ';'
	_ = w.Write(SecutixHeader)
	for _, e := range entries {
		d := e.Decision
		if e.Kind != gate.KindDecision || d.Reason != gate.ReasonOK || e.Annulled != 0 {
			continue
		}
		if provider != "" && (d.Ticket == nil || d.Ticket.Provider != provider) {
			continue
		}
		v, err := c.store.index.Ticket(ctx, d.Barcode)
		if gate.ErrorCode(err) == gate.ENOTFOUND {
			continue
		}
		if err != nil {
			return nil, err
		}
		t := v.Ticket
		product, productName := t.Product.Code, t.Product.Name
		if product == "" {
			product = d.Event
		}
		_ = w.Write([]string{d.Barcode, "CONTROLLED", t.Order, product, productName, formatDate(t.ValidityAt, "02/01/2006 15:04"),
			t.PriceType.Code, t.PriceType.Name, t.Price, formatDate(t.OrderedAt, "2006-01-02 15:04"), t.Contact})
	}
	w.Flush()
	return buf.Bytes(), w.Error()
}

func formatDate(t time.Time, layout string) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(layout)
}
