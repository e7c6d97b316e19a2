package outbound

import (
	"context"
	"sync"
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// tracker holds a target's gate.DeliveryStatus and raises its lag alert.
type tracker struct {
	s             *Service
	log           zerolog.Logger
	maxLag        time.Duration
	maxLagEntries uint64

	mu sync.Mutex
	st gate.DeliveryStatus
	// oldestFor is the position oldestAt was read for.
	oldestFor uint64
	oldestAt  time.Time
	oldestOK  bool
}

func (t *tracker) status() gate.DeliveryStatus {
	t.mu.Lock()
	defer t.mu.Unlock()
	st := t.st
	st.Active = t.s.active()
	// The position may have moved since the lag was last observed.
	st.Head = max(st.Head, st.Position)
	st.LagEntries = st.Head - st.Position
	if st.LagEntries == 0 {
		st.LagSeconds = 0
	}
	return st
}

func (t *tracker) position() uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.st.Position
}

// setPosition records the position without counting a delivery (at start,
// and when the entries passed over matched nothing).
func (t *tracker) setPosition(pos uint64) {
	t.mu.Lock()
	t.st.Position = max(t.st.Position, pos)
	t.mu.Unlock()
}

// delivered records a success: rows or decisions delivered up to pos.
func (t *tracker) delivered(pos uint64, n int, file string) {
	t.mu.Lock()
	t.st.Position = max(t.st.Position, pos)
	t.st.Delivered += uint64(n)
	t.st.LastDelivery = t.s.opts.Now()
	if file != "" {
		t.st.LastFile = file
	}
	if t.st.Failures > 0 {
		t.log.Info().Int("failures", t.st.Failures).Msg("delivering again")
	}
	t.st.Failures, t.st.NextAttempt = 0, time.Time{}
	t.mu.Unlock()
}

// failed records a failure and when it is tried again. The first failure
// after a success is logged as a warning, later ones at debug, so a
// receiver that stays down does not flood the log (the lag alert says
// when it matters).
func (t *tracker) failed(err error, next time.Time) {
	t.mu.Lock()
	t.st.Failures++
	t.st.Errors++
	t.st.LastError = err.Error()
	t.st.LastErrorAt = t.s.opts.Now()
	t.st.NextAttempt = next
	n := t.st.Failures
	t.mu.Unlock()
	ev := t.log.Debug()
	if n == 1 {
		ev = t.log.Warn()
	}
	ev.Err(err).Int("failures", n).Time("retry_at", next).Msg("delivery failed; retrying")
}

// observe updates the lag from the journal's head and the age of the
// oldest entry beyond the position, and logs once when the lag crosses the
// bound (and once when it is back under it).
func (t *tracker) observe(ctx context.Context) {
	pos := t.position()
	head, known := t.s.head.get()
	now := t.s.opts.Now()

	t.mu.Lock()
	needOldest := !t.oldestOK || t.oldestFor != pos
	t.mu.Unlock()
	var oldest time.Time
	var ahead int
	readOK := true
	if needOldest || !known {
		limit := 1
		if !known {
			limit = 1000
		}
		es, err := t.s.opts.Journal.Entries(ctx, pos, limit)
		if err != nil {
			readOK = false
		} else {
			ahead = len(es)
			for _, e := range es {
				if !e.Decision.At.IsZero() {
					oldest = e.Decision.At
					break
				}
			}
		}
	}

	t.mu.Lock()
	defer t.mu.Unlock()
	if readOK && !oldest.IsZero() {
		// The first entry beyond pos never changes: keep its time until
		// the position moves. With none yet, read again next time.
		t.oldestFor, t.oldestAt, t.oldestOK = pos, oldest, true
	} else if needOldest {
		t.oldestOK = false
	}
	if !known {
		head = pos + uint64(ahead)
	}
	t.st.Head = max(head, pos)
	t.st.LagEntries = t.st.Head - pos
	t.st.LagSeconds = 0
	if t.st.LagEntries > 0 && t.oldestOK && t.oldestFor == pos {
		t.st.LagSeconds = max(0, now.Sub(t.oldestAt).Seconds())
	}
	over := t.st.LagEntries > t.maxLagEntries || t.st.LagSeconds > t.maxLag.Seconds()
	switch {
	case over && !t.st.Lagging:
		t.st.Lagging = true
		t.log.Error().Uint64("lag_entries", t.st.LagEntries).Float64("lag_seconds", t.st.LagSeconds).
			Uint64("max_lag_entries", t.maxLagEntries).Dur("max_lag_ms", t.maxLag).Str("last_error", t.st.LastError).
			Msg("deliveries are behind the journal past their bound; scans go on and the journal keeps every decision until they are delivered")
	case !over && t.st.Lagging:
		t.st.Lagging = false
		t.log.Info().Uint64("lag_entries", t.st.LagEntries).Float64("lag_seconds", t.st.LagSeconds).Msg("deliveries caught up")
	}
}

// The metrics, one series per target (labels kind and name).
var (
	descLagEntries = prometheus.NewDesc("admit_outbound_lag_entries",
		"Journal entries beyond what the export or webhook has delivered.", []string{"kind", "name"}, nil)
	descLagSeconds = prometheus.NewDesc("admit_outbound_lag_seconds",
		"Age of the oldest journal entry the export or webhook has not delivered.", []string{"kind", "name"}, nil)
	descLagging = prometheus.NewDesc("admit_outbound_lagging",
		"1 while the export's or webhook's lag is past its bound (max_lag, max_lag_entries): alert on it.", []string{"kind", "name"}, nil)
	descDelivered = prometheus.NewDesc("admit_outbound_delivered_total",
		"Rows written (exports) or decisions acknowledged (webhooks) since the appliance started.", []string{"kind", "name"}, nil)
	descErrors = prometheus.NewDesc("admit_outbound_errors_total",
		"Failed exports or webhook posts since the appliance started.", []string{"kind", "name"}, nil)
	descLast = prometheus.NewDesc("admit_outbound_last_delivery_timestamp_seconds",
		"When the last file was written or the last batch acknowledged (Unix time; 0 before the first).", []string{"kind", "name"}, nil)
)

// Describe implements prometheus.Collector.
func (s *Service) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descLagEntries, descLagSeconds, descLagging, descDelivered, descErrors, descLast} {
		ch <- d
	}
}

// Collect implements prometheus.Collector, from Status.
func (s *Service) Collect(ch chan<- prometheus.Metric) {
	for _, st := range s.Status() {
		lagging := 0.0
		if st.Lagging {
			lagging = 1
		}
		last := 0.0
		if !st.LastDelivery.IsZero() {
			last = float64(st.LastDelivery.UnixNano()) / 1e9
		}
		ch <- prometheus.MustNewConstMetric(descLagEntries, prometheus.GaugeValue, float64(st.LagEntries), st.Kind, st.Name)
		ch <- prometheus.MustNewConstMetric(descLagSeconds, prometheus.GaugeValue, st.LagSeconds, st.Kind, st.Name)
		ch <- prometheus.MustNewConstMetric(descLagging, prometheus.GaugeValue, lagging, st.Kind, st.Name)
		ch <- prometheus.MustNewConstMetric(descDelivered, prometheus.CounterValue, float64(st.Delivered), st.Kind, st.Name)
		ch <- prometheus.MustNewConstMetric(descErrors, prometheus.CounterValue, float64(st.Errors), st.Kind, st.Name)
		ch <- prometheus.MustNewConstMetric(descLast, prometheus.GaugeValue, last, st.Kind, st.Name)
	}
}

var _ prometheus.Collector = (*Service)(nil)
