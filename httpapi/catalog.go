package httpapi

import (
	"time"

	"github.com/valyala/fasthttp"

	"github.com/admitgate/admit/gate"
)

// EventRequest is the body of PUT /v1/events/{id}. Times are RFC 3339
// ("2026-12-05T18:00:00+01:00"); empty means no bound.
type EventRequest struct {
	Name     string `json:"name"`
	OpensAt  string `json:"opens_at,omitempty"`
	ClosesAt string `json:"closes_at,omitempty"`
	Reentry  bool   `json:"reentry,omitempty"`
	Entries  int    `json:"entries,omitempty"`
	// TimeZone, StartsAt, EndsAt and Rule are what entry rules read and
	// the rule itself, JsonLogic as a JSON value (docs/rules.md); a rule
	// that does not compile is refused (400) with where and why.
	TimeZone string          `json:"time_zone,omitempty"`
	StartsAt string          `json:"starts_at,omitempty"`
	EndsAt   string          `json:"ends_at,omitempty"`
	Rule     gate.RuleSource `json:"rule,omitempty"`
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
	e := gate.Event{ID: c.params[0], Name: req.Name, Reentry: req.Reentry, Entries: req.Entries, TimeZone: req.TimeZone, Rule: req.Rule}
	var err error
	if e.OpensAt, err = parseTime("opens_at", req.OpensAt); err != nil {
		return err
	}
	if e.ClosesAt, err = parseTime("closes_at", req.ClosesAt); err != nil {
		return err
	}
	if e.StartsAt, err = parseTime("starts_at", req.StartsAt); err != nil {
		return err
	}
	if e.EndsAt, err = parseTime("ends_at", req.EndsAt); err != nil {
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
