package httpapi

import (
	"time"

	"github.com/valyala/fasthttp"

	"github.com/admitgate/admit/gate"
)

// ScanRequest is the body of POST /v1/scan and POST /v1/check.
type ScanRequest struct {
	Barcode string `json:"barcode"`
	Lane    string `json:"lane"`
	// Direction is "in" or "out"; empty takes the lane's direction.
	Direction string `json:"direction,omitempty"`
	// Nonce makes a retried scan idempotent for gate.NonceWindow.
	Nonce string `json:"nonce,omitempty"`
}

// ScanResponse is the answer to a scan or a check: the decision. A refusal
// is a decision (200), not an error.
type ScanResponse = gate.Decision

func (s *Server) scan(ctx *fasthttp.RequestCtx, c *call) error {
	return s.decide(ctx, c, true)
}

func (s *Server) check(ctx *fasthttp.RequestCtx, c *call) error {
	return s.decide(ctx, c, false)
}

// decide reads a scan request, checks the lane and the token's right to it,
// and answers the index's decision. Scans run on a context that a client
// hanging up does not cancel: a decision is made whole or not at all.
func (s *Server) decide(ctx *fasthttp.RequestCtx, c *call, redeem bool) error {
	var req ScanRequest
	if err := s.readScan(ctx, c, &req); err != nil {
		return err
	}
	if req.Barcode == "" {
		return gate.Errorf(gate.EINVALID, "field \"barcode\" is required")
	}
	if req.Lane == "" {
		return gate.Errorf(gate.EINVALID, "field \"lane\" is required")
	}
	lane, ok := s.lanes.lane(req.Lane)
	if !ok {
		return gate.Errorf(gate.EINVALID, "unknown lane %q; GET /v1/lanes lists the configured lanes", truncate(req.Lane, 64))
	}
	if (c.token.Role == RoleScanner || c.token.Role == RoleSupervisor) && !c.token.mayScanAt(req.Lane) {
		return gate.Errorf(gate.EFORBIDDEN, "token %q may not scan at lane %q", c.token.Name, req.Lane)
	}
	if len(req.Nonce) > gate.MaxNonceLen {
		return gate.Errorf(gate.EINVALID, "field \"nonce\" is longer than %d bytes", gate.MaxNonceLen)
	}
	now := s.now()
	sc := lane.info.Scan(req.Barcode, now)
	if req.Direction != "" {
		d, err := gate.ParseDirection(req.Direction)
		if err != nil {
			return gate.Errorf(gate.EINVALID, "field \"direction\" must be \"in\" or \"out\"")
		}
		sc.Direction = d
	}
	sc.Nonce = req.Nonce
	sc.Source = c.source

	start := now // one clock read less when the scan's clock is the real one
	if s.cfg.Now != nil {
		start = time.Now()
	}
	var d gate.Decision
	if redeem {
		if ts := lane.info.Turnstile; ts != nil {
			d = ts.Scan(s.inner, sc)
		} else {
			d = c.store.index.Scan(s.inner, sc)
		}
		s.metrics.decisionScan.Observe(time.Since(start).Seconds())
	} else {
		d = c.store.index.Check(s.inner, sc)
		s.metrics.decisionCheck.Observe(time.Since(start).Seconds())
	}
	lane.record(&d, redeem)
	if d.Reason == gate.ReasonError {
		s.log.Warn().Str("lane", sc.Lane).Uint64("seq", d.Seq).Str("detail", d.Detail).Msg("scan refused by a fault")
	}
	return writeDecision(ctx, &d)
}

// LanesResponse is the answer to GET /v1/lanes.
type LanesResponse struct {
	Lanes []gate.LaneStatus `json:"lanes"`
	// Clocks is the clock skew of each rotating provider's codes
	// (providers.go): a rotating code is only as good as the appliance's
	// clock.
	Clocks []RotatingClock `json:"clocks,omitempty"`
}

func (s *Server) lanesList(ctx *fasthttp.RequestCtx, c *call) error {
	var lanes []gate.LaneStatus
	if s.cfg.Monitor != nil {
		lanes = s.cfg.Monitor.Lanes()
	} else {
		lanes = s.lanes.Lanes()
	}
	if lanes == nil {
		lanes = []gate.LaneStatus{}
	}
	return writeJSON(ctx, fasthttp.StatusOK, LanesResponse{Lanes: lanes, Clocks: s.clocks()})
}

// Health is the answer to /healthz and /readyz.
type Health struct {
	Status string `json:"status"` // "ok" or "unavailable"
	Error  string `json:"error,omitempty"`
}

func (s *Server) healthz(ctx *fasthttp.RequestCtx, c *call) error {
	return writeJSON(ctx, fasthttp.StatusOK, Health{Status: "ok"})
}

func (s *Server) readyz(ctx *fasthttp.RequestCtx, c *call) error {
	var err error = errOpening
	if s.store.Load() != nil {
		err = s.ready()
	}
	if err != nil {
		return writeJSON(ctx, fasthttp.StatusServiceUnavailable, Health{Status: "unavailable", Error: gate.ErrorMessage(err)})
	}
	return writeJSON(ctx, fasthttp.StatusOK, Health{Status: "ok"})
}

func (s *Server) serveMetrics(ctx *fasthttp.RequestCtx, c *call) error {
	s.promh(ctx)
	return nil
}
