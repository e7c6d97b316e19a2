package httpapi

import (
	"context"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/admitgate/admit/gate"
)

// EmergencyControl is the appliance's emergency release (turnstile.Set,
// adapted by cmd/admit): Release opens every turnstile lane (or holds it
// locked, per lane) until Clear; both are admin actions and by names the
// token.
type EmergencyControl interface {
	// Release starts (or confirms) the emergency release; reason is what
	// the caller said, for the log. ECONFLICT when no lane drives a
	// turnstile.
	Release(ctx context.Context, by, reason string) (gate.EmergencyStatus, error)
	// Clear ends the release; ECONFLICT while an emergency input is still
	// asserted (the release latches until a person clears it).
	Clear(ctx context.Context, by string) (gate.EmergencyStatus, error)
	// Status returns the state of the release.
	Status() gate.EmergencyStatus
}

// EmergencyRequest is the optional body of POST /v1/emergency/release.
type EmergencyRequest struct {
	// Reason is logged with the action ("fire alarm, north stand").
	Reason string `json:"reason,omitempty"`
}

// maxEmergencyReason bounds the logged reason.
const maxEmergencyReason = 500

func (s *Server) emergencyStatus(ctx *fasthttp.RequestCtx, c *call) error {
	st := gate.EmergencyStatus{Lanes: []gate.EmergencyLane{}}
	if s.cfg.Emergency != nil {
		st = s.cfg.Emergency.Status()
	}
	if st.Lanes == nil {
		st.Lanes = []gate.EmergencyLane{}
	}
	return writeJSON(ctx, fasthttp.StatusOK, st)
}

func (s *Server) emergencyRelease(ctx *fasthttp.RequestCtx, c *call) error {
	var req EmergencyRequest
	if ctx.Request.Header.ContentLength() != 0 {
		if err := s.readJSON(ctx, &req); err != nil {
			return err
		}
	}
	req.Reason = strings.TrimSpace(req.Reason)
	if len(req.Reason) > maxEmergencyReason {
		return gate.Errorf(gate.EINVALID, "field \"reason\" is longer than %d bytes", maxEmergencyReason)
	}
	if s.cfg.Emergency == nil {
		return errNoTurnstiles()
	}
	st, err := s.cfg.Emergency.Release(s.inner, c.by(), req.Reason)
	if err != nil {
		return err
	}
	s.audit(c, "emergency_release").Str("reason", req.Reason).Int("lanes", len(st.Lanes)).
		Str("released_by", st.By).Msg("emergency release: every turnstile lane")
	return writeJSON(ctx, fasthttp.StatusOK, st)
}

func (s *Server) emergencyClear(ctx *fasthttp.RequestCtx, c *call) error {
	if s.cfg.Emergency == nil {
		return errNoTurnstiles()
	}
	st, err := s.cfg.Emergency.Clear(s.inner, c.by())
	if err != nil {
		if gate.ErrorCode(err) == gate.ECONFLICT {
			s.audit(c, "emergency_clear").Str("refused", gate.ErrorMessage(err)).Msg("emergency clear refused")
		}
		return err
	}
	s.audit(c, "emergency_clear").Int("lanes", len(st.Lanes)).Msg("emergency cleared: the turnstile lanes are back in service")
	return writeJSON(ctx, fasthttp.StatusOK, st)
}

func errNoTurnstiles() error {
	return gate.Errorf(gate.ECONFLICT, "no lane of this appliance drives a turnstile: there is nothing to release")
}
