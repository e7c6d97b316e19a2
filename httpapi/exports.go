package httpapi

import (
	"time"

	"github.com/valyala/fasthttp"
)

// ExportsMonitor reports the appliance's outbound deliveries: the scheduled
// export files and the webhooks (package outbound, adapted by cmd/admit).
type ExportsMonitor interface {
	Exports() []DeliveryStatus
}

// DeliveryStatus is one export's or webhook's state in GET /v1/exports.
type DeliveryStatus struct {
	Kind   string `json:"kind"`   // "export" or "webhook"
	Name   string `json:"name"`   // the configured name
	Target string `json:"target"` // the folder, or the URL without credentials, query or fragment
	Format string `json:"format"` // secutix, csv, jsonl; "json" for a webhook
	// Active is false while another appliance delivers.
	Active bool `json:"active"`
	// Position is the last journal sequence delivered; Head the journal's
	// last readable one; LagEntries the difference, LagSeconds the age of
	// the oldest entry not delivered.
	Position   uint64  `json:"position"`
	Head       uint64  `json:"head"`
	LagEntries uint64  `json:"lag_entries"`
	LagSeconds float64 `json:"lag_seconds"`
	// Lagging is true while the lag is past the configured bound (the
	// alert).
	Lagging      bool      `json:"lagging"`
	LastDelivery time.Time `json:"last_delivery,omitzero"`
	LastFile     string    `json:"last_file,omitempty"`
	// Delivered counts rows written or decisions acknowledged since the
	// appliance started; Failures the failed attempts since the last
	// success, Errors all of them since the start.
	Delivered   uint64    `json:"delivered"`
	Failures    int       `json:"failures"`
	Errors      uint64    `json:"errors"`
	LastError   string    `json:"last_error,omitempty"`
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
	NextAttempt time.Time `json:"next_attempt,omitzero"`
}

// ExportsResponse is the answer to GET /v1/exports.
type ExportsResponse struct {
	Exports []DeliveryStatus `json:"exports"`
}

// exportsList answers GET /v1/exports: an empty list when nothing is
// configured.
func (s *Server) exportsList(ctx *fasthttp.RequestCtx, c *call) error {
	var list []DeliveryStatus
	if s.cfg.Exports != nil {
		list = s.cfg.Exports.Exports()
	}
	if list == nil {
		list = []DeliveryStatus{}
	}
	return writeJSON(ctx, fasthttp.StatusOK, ExportsResponse{Exports: list})
}
