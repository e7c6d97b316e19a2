package httpapi

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/admitgate/admit/gate"
)

// Metrics are the API's Prometheus collectors. Children on the hot path
// (per lane and reason, per route and status class) are resolved once, when
// lanes and routes are set up, so a request allocates nothing for them.
type Metrics struct {
	registry       *prometheus.Registry
	scans          *prometheus.CounterVec
	decision       *prometheus.HistogramVec
	decisionScan   prometheus.Observer
	decisionCheck  prometheus.Observer
	imports        *prometheus.CounterVec
	importLines    *prometheus.CounterVec
	requests       *prometheus.CounterVec
	requestSeconds *prometheus.HistogramVec
}

// NewMetrics creates the API's collectors and registers them on reg.
func NewMetrics(reg *prometheus.Registry) (*Metrics, error) {
	m := &Metrics{
		registry: reg,
		scans: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "admit_scans_total",
			Help: "Scans decided through the API, by lane and reason.",
		}, []string{"lane", "reason"}),
		decision: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "admit_decision_seconds",
			Help:    "Time to decide a scan (kind=scan, durable) or a check (kind=check), as the API sees it.",
			Buckets: prometheus.ExponentialBucketsRange(10e-6, 0.25, 18),
		}, []string{"kind"}),
		imports: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "admit_imports_total",
			Help: "Imports through the API by result: applied, dry_run, rejected, failed.",
		}, []string{"result"}),
		importLines: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "admit_import_lines_total",
			Help: "Lines of applied imports by outcome: added, updated, unchanged, rejected.",
		}, []string{"outcome"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "admit_http_requests_total",
			Help: "HTTP requests by route and status class.",
		}, []string{"route", "code"}),
		requestSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "admit_http_request_seconds",
			Help:    "HTTP request handling time by route.",
			Buckets: prometheus.ExponentialBucketsRange(20e-6, 30, 20),
		}, []string{"route"}),
	}
	for _, c := range []prometheus.Collector{m.scans, m.decision, m.imports, m.importLines, m.requests, m.requestSeconds} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	m.decisionScan = m.decision.WithLabelValues("scan")
	m.decisionCheck = m.decision.WithLabelValues("check")
	return m, nil
}

// Registry returns the registry served on /metrics.
func (m *Metrics) Registry() *prometheus.Registry { return m.registry }

// laneReasons resolves the scan counters of one lane, indexed by reason.
func (m *Metrics) laneReasons(lane string) []prometheus.Counter {
	reasons := gate.Reasons()
	out := make([]prometheus.Counter, int(reasons[len(reasons)-1])+1)
	for _, r := range reasons {
		out[r] = m.scans.WithLabelValues(lane, r.String())
	}
	return out
}

// statusClasses are the code label values, indexed by status/100.
var statusClasses = [6]string{"", "1xx", "2xx", "3xx", "4xx", "5xx"}

// routeMetrics are one route's pre-resolved children.
type routeMetrics struct {
	codes   [6]prometheus.Counter
	seconds prometheus.Observer
}

func (m *Metrics) route(name string) *routeMetrics {
	rm := &routeMetrics{seconds: m.requestSeconds.WithLabelValues(name)}
	for i := 1; i < len(statusClasses); i++ {
		rm.codes[i] = m.requests.WithLabelValues(name, statusClasses[i])
	}
	return rm
}

func (rm *routeMetrics) observe(status int, seconds float64) {
	if c := status / 100; c >= 1 && c <= 5 {
		rm.codes[c].Inc()
	}
	rm.seconds.Observe(seconds)
}

func (m *Metrics) importDone(res gate.ImportResult, err error) {
	switch {
	case err == nil && res.DryRun:
		m.imports.WithLabelValues("dry_run").Inc()
	case err == nil:
		m.imports.WithLabelValues("applied").Inc()
		m.importLines.WithLabelValues("added").Add(float64(res.Added))
		m.importLines.WithLabelValues("updated").Add(float64(res.Updated))
		m.importLines.WithLabelValues("unchanged").Add(float64(res.Unchanged))
		m.importLines.WithLabelValues("rejected").Add(float64(res.Rejected))
	case gate.ErrorCode(err) == gate.EREJECTED:
		m.imports.WithLabelValues("rejected").Inc()
	default:
		m.imports.WithLabelValues("failed").Inc()
	}
}
