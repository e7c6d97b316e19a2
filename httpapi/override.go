package httpapi

import (
	"bytes"
	"encoding/csv"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/admitgate/admit/gate"
)

// OverrideRequest is the body of POST /v1/lanes/{id}/override.
type OverrideRequest struct {
	// Reason is why the supervisor lets the guest through; the journal
	// keeps it (at most gate.MaxOverrideReason bytes).
	Reason string `json:"reason"`
}

// override forces the lane's last refusal in the supervisor's name: the
// lane's turnstile opens (a turnstile lane overrides through its
// turnstile.Lane), and the answer is the override's decision.
func (s *Server) override(ctx *fasthttp.RequestCtx, c *call) error {
	var req OverrideRequest
	if err := s.readJSON(ctx, &req); err != nil {
		return err
	}
	id := c.params[0]
	lane, ok := s.lanes.lane(id)
	if !ok {
		return gate.Errorf(gate.ENOTFOUND, "no lane %q; GET /v1/lanes lists the configured lanes", truncate(id, 64))
	}
	if !c.token.mayScanAt(id) {
		return gate.Errorf(gate.EFORBIDDEN, "token %q may not override at lane %q", c.token.Name, id)
	}
	or := gate.OverrideRequest{Lane: id, By: c.token.Name, Why: req.Reason, At: s.now(), Source: c.source}
	if err := or.Validate(); err != nil {
		return err
	}
	var o gate.Overrider
	if ts := lane.info.Turnstile; ts != nil {
		o, _ = ts.(gate.Overrider)
	} else {
		o, _ = c.store.index.(gate.Overrider)
	}
	if o == nil {
		return gate.Errorf(gate.EUNAVAILABLE, "lane %q cannot override here", id)
	}
	d, err := o.Override(s.inner, or)
	if err != nil {
		return err
	}
	lane.record(&d, true)
	ev := s.audit(c, "override").Str("lane", id).Uint64("seq", d.Seq).Bool("opened", d.Admit)
	if d.Override != nil {
		ev = ev.Str("refused", d.Override.Refused.String()).Uint64("refused_seq", d.Override.RefusedSeq)
	}
	ev.Msg("override")
	return writeDecision(ctx, &d)
}

// ZonesResponse is the answer to GET /v1/zones.
type ZonesResponse struct {
	Zones []gate.ZoneStatus `json:"zones"`
}

// zones answers every zone's occupancy and capacity; ?series=1 adds the
// occupancy over time.
func (s *Server) zones(ctx *fasthttp.RequestCtx, c *call) error {
	series := false
	switch v := string(ctx.QueryArgs().Peek("series")); v {
	case "", "0", "false":
	case "1", "true":
		series = true
	default:
		return gate.Errorf(gate.EINVALID, "query parameter series must be 1 or 0, not %q", truncate(v, 16))
	}
	return writeJSON(ctx, fasthttp.StatusOK, ZonesResponse{Zones: zonesOf(c, series)})
}

func zonesOf(c *call, series bool) []gate.ZoneStatus {
	out := []gate.ZoneStatus{}
	if zm, ok := c.store.index.(gate.ZoneMonitor); ok {
		out = append(out, zm.Zones(series)...)
	}
	return out
}

// ReportResponse is the answer to GET /v1/report: the event's figures, its
// overrides, and every zone's occupancy over time.
type ReportResponse struct {
	gate.Report
	Overrides []FeedEntry       `json:"overrides"`
	Zones     []gate.ZoneStatus `json:"zones"`
}

// reportExtras adds the overrides and the zones to a report.
func reportExtras(ctx *fasthttp.RequestCtx, c *call, r gate.Report) (ReportResponse, error) {
	resp := ReportResponse{Report: r, Overrides: []FeedEntry{}, Zones: zonesOf(c, true)}
	if ol, ok := c.store.index.(gate.OverrideLister); ok {
		es, err := ol.Overrides(ctx, r.Event)
		if err != nil {
			return resp, err
		}
		resp.Overrides = feedEntries(es)
	}
	return resp, nil
}

// overridesCSV is part=overrides of the report as CSV.
func overridesCSV(resp ReportResponse) []byte {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write([]string{"event", "seq", "at", "lane", "barcode", "by", "why", "refused", "refused_seq", "annulled"})
	for _, e := range resp.Overrides {
		d := e.Decision
		if d == nil || d.Override == nil {
			continue
		}
		o := d.Override
		_ = w.Write([]string{resp.Event, strconv.FormatUint(e.Seq, 10), d.At.Format(time.RFC3339), d.Lane, d.Barcode, o.By, o.Why,
			o.Refused.String(), strconv.FormatUint(o.RefusedSeq, 10), strconv.FormatUint(e.Annulled, 10)})
	}
	w.Flush()
	return buf.Bytes()
}
