package httpapi

import (
	"github.com/admitgate/admit/gate"
	"github.com/valyala/fasthttp"
)

// ExportsMonitor reports the appliance's outbound deliveries: the scheduled
// export files and the webhooks (package outbound, adapted by cmd/admit).
type ExportsMonitor interface {
	Exports() []gate.DeliveryStatus
}

// ExportsResponse is the answer to GET /v1/exports.
type ExportsResponse struct {
	Exports []gate.DeliveryStatus `json:"exports"`
}

// exportsList answers GET /v1/exports: an empty list when nothing is
// configured.
func (s *Server) exportsList(ctx *fasthttp.RequestCtx, c *call) error {
	var list []gate.DeliveryStatus
	if s.cfg.Exports != nil {
		list = s.cfg.Exports.Exports()
	}
	if list == nil {
		list = []gate.DeliveryStatus{}
	}
	return writeJSON(ctx, fasthttp.StatusOK, ExportsResponse{Exports: list})
}
