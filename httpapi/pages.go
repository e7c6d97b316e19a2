package httpapi

import (
	"slices"

	"github.com/valyala/fasthttp"

	"github.com/admitgate/admit/gate"
)

// Pages serves the appliance's web pages and their assets (package web's
// Site implements it). The API hands it every request whose path matches
// no API route and that Has reports as its own; the pages then call the
// API with the token the user enters.
type Pages interface {
	// Has reports whether path (as sent, still percent-encoded) is a page
	// or an asset.
	Has(path string) bool
	// Serve answers the request, whatever its method.
	Serve(ctx *fasthttp.RequestCtx)
}

// servePage answers a request that matched no API route from the pages,
// when they have its path; it reports whether it did.
func (s *Server) servePage(ctx *fasthttp.RequestCtx, c *call, path []byte, matchErr error) bool {
	if s.cfg.Pages == nil || gate.ErrorCode(matchErr) != gate.ENOTFOUND || !s.cfg.Pages.Has(string(path)) {
		return false
	}
	c.route = s.pages
	s.cfg.Pages.Serve(ctx)
	return true
}

// SessionResponse is the answer to GET /v1/session: who the token is, so a
// page can show what its role allows, and the lanes it may work with.
type SessionResponse struct {
	Name string `json:"name"`
	Role Role   `json:"role"`
	// Lanes are the configured lanes; for a scanner token limited to some
	// lanes, only those.
	Lanes []SessionLane `json:"lanes"`
	// Device is the id of the paired door device whose token this is; ""
	// for a configured token.
	Device string `json:"device,omitempty"`
	// TimeZone is the venue's IANA time zone, which the pages show times
	// in; "" when the appliance names none (each browser uses its own).
	TimeZone string `json:"timezone,omitempty"`
	// Venue is this appliance's id in its venue (GET /v1/venue); "" for
	// an appliance that is not in one.
	Venue string `json:"venue,omitempty"`
}

// SessionLane is a configured lane as GET /v1/session shows it.
type SessionLane struct {
	ID        string         `json:"id"`
	Name      string         `json:"name,omitempty"`
	Direction gate.Direction `json:"direction"`
	Events    []string       `json:"events"` // nil: every event open now
}

func (s *Server) session(ctx *fasthttp.RequestCtx, c *call) error {
	resp := SessionResponse{Name: c.token.Name, Role: c.token.Role, Lanes: []SessionLane{}, Device: c.deviceID(),
		TimeZone: s.cfg.TimeZone}
	if s.cfg.Venue != nil {
		resp.Venue = s.cfg.Venue.Appliance()
	}
	if t := s.lanes.table.Load(); t != nil {
		for _, st := range t.order {
			if (c.token.Role == RoleScanner || c.token.Role == RoleSupervisor) && !c.token.mayScanAt(st.info.ID) {
				continue
			}
			resp.Lanes = append(resp.Lanes, SessionLane{ID: st.info.ID, Name: st.info.Name,
				Direction: st.info.Direction, Events: slices.Clone(st.info.Events)})
		}
	}
	return writeJSON(ctx, fasthttp.StatusOK, resp)
}
