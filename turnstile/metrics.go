package turnstile

import (
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/prometheus/client_golang/prometheus"
)

// Annulment causes, the "cause" label of admit_lane_annulments_total.
const (
	CauseTimeout   = "timeout"   // nobody passed within the passage timeout
	CauseRelay     = "relay"     // the relay failed to switch
	CauseEmergency = "emergency" // an emergency release took the lane
	CauseHalt      = "halt"      // the lane was halted: the appliance stopped
	CauseRefused   = "refused"   // the index admitted a scan the lane had refused (a validator bug)
)

// Passage kinds, the "kind" label of admit_lane_passages_total.
const (
	PassageAdmitted   = "admitted"   // the passage of an admission
	PassageUnexpected = "unexpected" // nobody was admitted: tailgating, a forced arm, an exit push
	PassageLate       = "late"       // after the admission was annulled at its timeout
	PassageEmergency  = "emergency"  // during an emergency release
)

// Metrics are the lanes' Prometheus counters and histograms. Create one with
// NewMetrics, give it to every lane's Config, and register it once
// (prometheus.Registerer.MustRegister(m)); the lanes' gauges come from
// [Set], which is a prometheus.Collector too. Safe for concurrent use.
type Metrics struct {
	decisions    *prometheus.CounterVec
	passages     *prometheus.CounterVec
	annulments   *prometheus.CounterVec
	annulErrors  *prometheus.CounterVec
	relayFaults  *prometheus.CounterVec
	outputErrors *prometheus.CounterVec
	decisionSecs *prometheus.HistogramVec
	unlockSecs   *prometheus.HistogramVec
	passageSecs  *prometheus.HistogramVec
}

// NewMetrics returns the lane metrics, all named admit_lane_*:
//
//	admit_lane_decisions_total{lane,reason}   decisions made at the lane (as finally shown)
//	admit_lane_passages_total{lane,kind}      passage sensor firings by kind (admitted, unexpected, late, emergency)
//	admit_lane_annulments_total{lane,cause}   admissions given back (timeout, relay, emergency, halt, refused)
//	admit_lane_annul_errors_total{lane}       annulments the index refused or could not write
//	admit_lane_relay_faults_total{lane}       unlock relay switch failures
//	admit_lane_output_errors_total{lane,output} light and buzzer switch failures
//	admit_lane_decision_seconds{lane}         a read's wait for the lane plus the index's decision
//	admit_lane_unlock_seconds{lane}           switching the unlock relay on
//	admit_lane_passage_seconds{lane}          from unlock to passage
func NewMetrics() *Metrics {
	return &Metrics{
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "admit_lane_decisions_total",
			Help: "Decisions made at a lane, by reason."}, []string{"lane", "reason"}),
		passages: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "admit_lane_passages_total",
			Help: "Passage sensor firings at a lane: admitted, unexpected (nobody admitted), late (after the admission was annulled), emergency."}, []string{"lane", "kind"}),
		annulments: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "admit_lane_annulments_total",
			Help: "Admissions a lane gave back, by cause."}, []string{"lane", "cause"}),
		annulErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "admit_lane_annul_errors_total",
			Help: "Annulments the index refused or could not write."}, []string{"lane"}),
		relayFaults: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "admit_lane_relay_faults_total",
			Help: "Times a lane's unlock relay failed to switch."}, []string{"lane"}),
		outputErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "admit_lane_output_errors_total",
			Help: "Light and buzzer outputs that failed to switch."}, []string{"lane", "output"}),
		decisionSecs: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "admit_lane_decision_seconds",
			Help:    "Time from a read reaching the lane to its decision, lane wait included.",
			Buckets: prometheus.ExponentialBuckets(50e-6, 2, 16)}, []string{"lane"}),
		unlockSecs: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "admit_lane_unlock_seconds",
			Help:    "Time to switch a lane's unlock relay on.",
			Buckets: prometheus.ExponentialBuckets(50e-6, 2, 16)}, []string{"lane"}),
		passageSecs: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "admit_lane_passage_seconds",
			Help:    "Time from unlocking a lane to its passage sensor firing.",
			Buckets: []float64{0.5, 1, 1.5, 2, 3, 4, 5, 7, 10, 15, 30}}, []string{"lane"}),
	}
}

func (m *Metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.decisions, m.passages, m.annulments, m.annulErrors, m.relayFaults,
		m.outputErrors, m.decisionSecs, m.unlockSecs, m.passageSecs}
}

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range m.collectors() {
		c.Describe(ch)
	}
}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	for _, c := range m.collectors() {
		c.Collect(ch)
	}
}

// laneMetrics are one lane's children of Metrics, resolved once so the scan
// path does no label lookups. The zero value (no Metrics) records nothing.
type laneMetrics struct {
	on           bool
	m            *Metrics
	lane         string
	decisions    []prometheus.Counter // by gate.Reason
	passages     map[string]prometheus.Counter
	annulments   map[string]prometheus.Counter
	annulErrors  prometheus.Counter
	relayFaults  prometheus.Counter
	decisionSecs prometheus.Observer
	unlockSecs   prometheus.Observer
	passageSecs  prometheus.Observer
}

func (m *Metrics) forLane(lane string) laneMetrics {
	if m == nil {
		return laneMetrics{}
	}
	lm := laneMetrics{on: true, m: m, lane: lane,
		passages:     map[string]prometheus.Counter{},
		annulments:   map[string]prometheus.Counter{},
		annulErrors:  m.annulErrors.WithLabelValues(lane),
		relayFaults:  m.relayFaults.WithLabelValues(lane),
		decisionSecs: m.decisionSecs.WithLabelValues(lane),
		unlockSecs:   m.unlockSecs.WithLabelValues(lane),
		passageSecs:  m.passageSecs.WithLabelValues(lane),
	}
	rs := gate.Reasons()
	lm.decisions = make([]prometheus.Counter, int(rs[len(rs)-1])+1)
	for _, r := range rs {
		lm.decisions[r] = m.decisions.WithLabelValues(lane, r.String())
	}
	for _, k := range []string{PassageAdmitted, PassageUnexpected, PassageLate, PassageEmergency} {
		lm.passages[k] = m.passages.WithLabelValues(lane, k)
	}
	for _, c := range []string{CauseTimeout, CauseRelay, CauseEmergency, CauseHalt, CauseRefused} {
		lm.annulments[c] = m.annulments.WithLabelValues(lane, c)
	}
	return lm
}

func (lm *laneMetrics) decision(r gate.Reason, took time.Duration) {
	if !lm.on {
		return
	}
	if int(r) < len(lm.decisions) && lm.decisions[r] != nil {
		lm.decisions[r].Inc()
	}
	lm.decisionSecs.Observe(took.Seconds())
}

func (lm *laneMetrics) passage(kind string) {
	if lm.on {
		lm.passages[kind].Inc()
	}
}

func (lm *laneMetrics) annulled(cause string) {
	if lm.on {
		lm.annulments[cause].Inc()
	}
}

func (lm *laneMetrics) annulFailed() {
	if lm.on {
		lm.annulErrors.Inc()
	}
}

func (lm *laneMetrics) relayFault() {
	if lm.on {
		lm.relayFaults.Inc()
	}
}

func (lm *laneMetrics) outputError(out string) {
	if lm.on {
		lm.m.outputErrors.WithLabelValues(lm.lane, out).Inc()
	}
}

func (lm *laneMetrics) unlocked(took time.Duration) {
	if lm.on {
		lm.unlockSecs.Observe(took.Seconds())
	}
}

func (lm *laneMetrics) passed(after time.Duration) {
	if lm.on {
		lm.passageSecs.Observe(after.Seconds())
	}
}

// The Set's gauges, read from the turnstile lanes' status at scrape time.

var (
	descState     = prometheus.NewDesc("admit_lane_state", "1 for the lane's current state, 0 for the others.", []string{"lane", "state"}, nil)
	descRelayOK   = prometheus.NewDesc("admit_lane_relay_ok", "1 when the lane's unlock relay answers.", []string{"lane"}, nil)
	descScanner   = prometheus.NewDesc("admit_lane_scanner_connected", "1 when the lane's scanner is attached.", []string{"lane"}, nil)
	descEmergency = prometheus.NewDesc("admit_lane_emergency", "1 while an emergency release holds the lane.", []string{"lane"}, nil)
	descScans     = prometheus.NewDesc("admit_lane_scans_total", "Scans decided at the lane since start.", []string{"lane"}, nil)
	descAdmits    = prometheus.NewDesc("admit_lane_admits_total", "Admissions that became final at the lane since start.", []string{"lane"}, nil)
)

// Describe implements prometheus.Collector.
func (s *Set) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descState, descRelayOK, descScanner, descEmergency, descScans, descAdmits} {
		ch <- d
	}
}

// Collect implements prometheus.Collector: the lanes' gauges, read from
// their status at scrape time.
func (s *Set) Collect(ch chan<- prometheus.Metric) {
	b := func(v bool) float64 {
		if v {
			return 1
		}
		return 0
	}
	for _, l := range s.lanes {
		if !l.Turnstile() {
			continue // a door has no turnstile to show
		}
		st := l.Status()
		for _, name := range States() {
			ch <- prometheus.MustNewConstMetric(descState, prometheus.GaugeValue, b(st.State == name), st.ID, name)
		}
		ch <- prometheus.MustNewConstMetric(descRelayOK, prometheus.GaugeValue, b(st.RelayOK), st.ID)
		ch <- prometheus.MustNewConstMetric(descScanner, prometheus.GaugeValue, b(st.ScannerConnected), st.ID)
		ch <- prometheus.MustNewConstMetric(descEmergency, prometheus.GaugeValue, b(st.Emergency), st.ID)
		ch <- prometheus.MustNewConstMetric(descScans, prometheus.CounterValue, float64(st.Scans), st.ID)
		ch <- prometheus.MustNewConstMetric(descAdmits, prometheus.CounterValue, float64(st.Admits), st.ID)
	}
}
