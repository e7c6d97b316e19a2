package httpapi

import (
	"context"

	"github.com/valyala/fasthttp"

	"github.com/admitgate/admit/gate"
)

// ReissueRequest is the body of POST /v1/tickets/{barcode}/reissue.
type ReissueRequest struct {
	Barcode string `json:"barcode"` // the new barcode
}

// TicketEventsRequest is the body of POST /v1/tickets/{barcode}/events: the
// events a pass gains and loses.
type TicketEventsRequest struct {
	Add    []string `json:"add"`
	Remove []string `json:"remove"`
}

// barcodeParam returns the decoded barcode of a /v1/tickets/{barcode} path.
func barcodeParam(c *call) (string, error) {
	b := c.params[0]
	if err := gate.CheckBarcode(b); err != nil {
		return "", gate.Errorf(gate.EINVALID, "the barcode in the path is malformed: %v (percent-encode '/', '?', '%%' and spaces)", err)
	}
	return b, nil
}

func (s *Server) ticket(ctx *fasthttp.RequestCtx, c *call) error {
	b, err := barcodeParam(c)
	if err != nil {
		return err
	}
	v, err := c.store.index.Ticket(ctx, b)
	if err != nil {
		return err
	}
	if v.Redemptions == nil {
		v.Redemptions = []gate.Redemption{}
	}
	if v.History == nil {
		v.History = []gate.JournalEntry{}
	}
	return writeJSON(ctx, fasthttp.StatusOK, v)
}

// ticketChange runs one state change on the ticket in the path.
func (s *Server) ticketChange(ctx *fasthttp.RequestCtx, c *call, action string,
	change func(ctx context.Context, barcode, by string) (gate.Ticket, error)) error {
	b, err := barcodeParam(c)
	if err != nil {
		return err
	}
	t, err := change(ctx, b, c.by())
	if err != nil {
		return err
	}
	s.audit(c, action).Str("barcode", s.barcode(b)).Str("state", t.State.String()).Msg("ticket changed")
	return writeJSON(ctx, fasthttp.StatusOK, t)
}

func (s *Server) cancel(ctx *fasthttp.RequestCtx, c *call) error {
	return s.ticketChange(ctx, c, "cancel", c.store.index.Cancel)
}

func (s *Server) invalidate(ctx *fasthttp.RequestCtx, c *call) error {
	return s.ticketChange(ctx, c, "invalidate", c.store.index.Invalidate)
}

func (s *Server) block(ctx *fasthttp.RequestCtx, c *call) error {
	return s.ticketChange(ctx, c, "block", c.store.index.Block)
}

func (s *Server) unblock(ctx *fasthttp.RequestCtx, c *call) error {
	return s.ticketChange(ctx, c, "unblock", c.store.index.Unblock)
}

func (s *Server) reissue(ctx *fasthttp.RequestCtx, c *call) error {
	old, err := barcodeParam(c)
	if err != nil {
		return err
	}
	var req ReissueRequest
	if err := s.readJSON(ctx, &req); err != nil {
		return err
	}
	if req.Barcode == "" {
		return gate.Errorf(gate.EINVALID, "field \"barcode\" (the new barcode) is required")
	}
	if err := gate.CheckBarcode(req.Barcode); err != nil {
		return gate.Errorf(gate.EINVALID, "field \"barcode\": %v", err)
	}
	if req.Barcode == old {
		return gate.Errorf(gate.EINVALID, "the new barcode is the old one")
	}
	t, err := c.store.index.Reissue(ctx, old, req.Barcode, c.by())
	if err != nil {
		return err
	}
	s.audit(c, "reissue").Str("barcode", s.barcode(old)).Str("new_barcode", s.barcode(req.Barcode)).Msg("ticket reissued")
	return writeJSON(ctx, fasthttp.StatusOK, t)
}

func (s *Server) ticketEvents(ctx *fasthttp.RequestCtx, c *call) error {
	b, err := barcodeParam(c)
	if err != nil {
		return err
	}
	var req TicketEventsRequest
	if err := s.readJSON(ctx, &req); err != nil {
		return err
	}
	if len(req.Add) == 0 && len(req.Remove) == 0 {
		return gate.Errorf(gate.EINVALID, "fields \"add\" and \"remove\" are both empty; name the events to change")
	}
	for _, ids := range [][]string{req.Add, req.Remove} {
		for _, id := range ids {
			if err := gate.CheckID("event", id); err != nil {
				return err
			}
		}
	}
	t, err := c.store.index.UpdateEvents(ctx, b, req.Add, req.Remove, c.by())
	if err != nil {
		return err
	}
	s.audit(c, "update_events").Str("barcode", s.barcode(b)).Strs("add", req.Add).Strs("remove", req.Remove).Msg("ticket events changed")
	return writeJSON(ctx, fasthttp.StatusOK, t)
}

func (s *Server) annul(ctx *fasthttp.RequestCtx, c *call) error {
	seq, err := parseUint("scan seq", c.params[0])
	if err != nil {
		return err
	}
	e, err := c.store.index.Annul(s.inner, seq, c.by())
	if err != nil {
		return err
	}
	s.audit(c, "annul").Uint64("seq", seq).Uint64("annulment", e.Seq).Str("barcode", s.barcode(e.Decision.Barcode)).Msg("admission annulled")
	return writeJSON(ctx, fasthttp.StatusOK, e)
}
