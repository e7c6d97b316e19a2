package httpapi

import (
	"time"

	"github.com/valyala/fasthttp"

	"github.com/admitgate/admit/gate"
)

// ProviderRequest is the body of PUT /v1/providers/{id}.
type ProviderRequest struct {
	Name string `json:"name"`
}

// ProvidersResponse is the answer to GET /v1/providers.
type ProvidersResponse struct {
	Providers []gate.Provider `json:"providers"`
}

// EventRequest is the body of PUT /v1/events/{id}. Times are RFC 3339
// ("2026-12-05T18:00:00+01:00"); empty means no bound.
type EventRequest struct {
	Name     string `json:"name"`
	OpensAt  string `json:"opens_at,omitempty"`
	ClosesAt string `json:"closes_at,omitempty"`
	Reentry  bool   `json:"reentry,omitempty"`
	Entries  int    `json:"entries,omitempty"`
}

// EventsResponse is the answer to GET /v1/events.
type EventsResponse struct {
	Events []gate.Event `json:"events"`
}

func createdStatus(created bool) int {
	if created {
		return fasthttp.StatusCreated
	}
	return fasthttp.StatusOK
}

func (s *Server) providers(ctx *fasthttp.RequestCtx, c *call) error {
	ps, err := c.store.index.Providers(ctx)
	if err != nil {
		return err
	}
	if ps == nil {
		ps = []gate.Provider{}
	}
	return writeJSON(ctx, fasthttp.StatusOK, ProvidersResponse{Providers: ps})
}

func (s *Server) putProvider(ctx *fasthttp.RequestCtx, c *call) error {
	var req ProviderRequest
	if err := s.readJSON(ctx, &req); err != nil {
		return err
	}
	p := gate.Provider{ID: c.params[0], Name: req.Name}
	if err := p.Validate(); err != nil {
		return err
	}
	created, err := c.store.index.PutProvider(gate.WithBy(ctx, c.by()), p)
	if err != nil {
		return err
	}
	s.audit(c, "put_provider").Str("provider", p.ID).Bool("created", created).Msg("provider saved")
	return writeJSON(ctx, createdStatus(created), p)
}

func (s *Server) events(ctx *fasthttp.RequestCtx, c *call) error {
	es, err := c.store.index.Events(ctx)
	if err != nil {
		return err
	}
	if es == nil {
		es = []gate.Event{}
	}
	return writeJSON(ctx, fasthttp.StatusOK, EventsResponse{Events: es})
}

func (s *Server) putEvent(ctx *fasthttp.RequestCtx, c *call) error {
	var req EventRequest
	if err := s.readJSON(ctx, &req); err != nil {
		return err
	}
	e := gate.Event{ID: c.params[0], Name: req.Name, Reentry: req.Reentry, Entries: req.Entries}
	var err error
	if e.OpensAt, err = parseTime("opens_at", req.OpensAt); err != nil {
		return err
	}
	if e.ClosesAt, err = parseTime("closes_at", req.ClosesAt); err != nil {
		return err
	}
	if err := e.Validate(); err != nil {
		return err
	}
	created, err := c.store.index.PutEvent(gate.WithBy(ctx, c.by()), e)
	if err != nil {
		return err
	}
	s.audit(c, "put_event").Str("event", e.ID).Bool("created", created).Msg("event saved")
	return writeJSON(ctx, createdStatus(created), e)
}

// parseTime reads an RFC 3339 time; "" is the zero time (no bound).
func parseTime(field, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, gate.Errorf(gate.EINVALID, "field %q must be an RFC 3339 time such as 2026-12-05T18:00:00+01:00, not %q", field, truncate(v, 64))
	}
	return t, nil
}
