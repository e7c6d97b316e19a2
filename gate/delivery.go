package gate

import "time"

// DeliveryStatus is the state of one of the appliance's outbound
// deliveries, a scheduled export file or a webhook (package outbound keeps
// it): what GET /v1/exports answers.
type DeliveryStatus struct {
	Kind   string `json:"kind"`   // "export" or "webhook"
	Name   string `json:"name"`   // the configured name
	Target string `json:"target"` // the folder, or the URL without credentials, query or fragment
	Format string `json:"format"` // secutix, csv, jsonl; "json" for a webhook
	// Active is false while another appliance delivers.
	Active bool `json:"active"`
	// Position is the last journal sequence delivered: everything up to it
	// is in a file or acknowledged by the receiver.
	Position uint64 `json:"position"`
	// Head is the journal's last readable sequence, as last seen.
	Head uint64 `json:"head"`
	// LagEntries is Head - Position; LagSeconds the age of the oldest
	// journal entry beyond Position (0 when there is none).
	LagEntries uint64  `json:"lag_entries"`
	LagSeconds float64 `json:"lag_seconds"`
	// Lagging is true while the lag is past the target's bound (max_lag or
	// max_lag_entries): the alert (admit_outbound_lagging in /metrics).
	Lagging bool `json:"lagging"`
	// LastDelivery is when the last file was written or the last batch
	// acknowledged; LastFile the file's name (exports).
	LastDelivery time.Time `json:"last_delivery,omitzero"`
	LastFile     string    `json:"last_file,omitempty"`
	// Delivered counts, since the appliance started, the rows written
	// (exports) or the decisions acknowledged (webhooks), duplicates included.
	Delivered uint64 `json:"delivered"`
	// Failures counts the failed attempts since the last success; Errors
	// every failure since the appliance started.
	Failures    int       `json:"failures"`
	Errors      uint64    `json:"errors"`
	LastError   string    `json:"last_error,omitempty"`
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
	// NextAttempt is when a failed delivery is tried again.
	NextAttempt time.Time `json:"next_attempt,omitzero"`
}
