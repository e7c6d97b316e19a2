package venue

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// hubCollector reads the node's state at every scrape (the server's Varz and
// Jsz) and exports it as admit_hub_* metrics:
//
//	admit_hub_info{node,cluster,version}          1
//	admit_hub_connections                          client connections now
//	admit_hub_routes                               routes to other nodes now
//	admit_hub_slow_consumers_total                 clients dropped for being slow
//	admit_hub_in_msgs_total, admit_hub_out_msgs_total
//	admit_hub_jetstream_up                         1 when JetStream runs
//	admit_hub_meta_leader                          1 on the JetStream meta leader
//	admit_hub_meta_leader_known                    1 when this node knows a meta leader
//	admit_hub_jetstream_messages, _bytes           stored on this node
//	admit_hub_stream_messages{stream}, _bytes{stream}, _last_seq{stream}
//	admit_hub_stream_leader{stream}                1 where this node leads the stream
type hubCollector struct {
	h *Hub

	info, conns, routes, slow, inMsgs, outMsgs, jsUp, leader, leaderKnown *prometheus.Desc
	jsMsgs, jsBytes, stMsgs, stBytes, stLast, stLeader                    *prometheus.Desc
}

func newHubCollector(h *Hub) *hubCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("admit_hub_"+name, help, labels, nil)
	}
	return &hubCollector{h: h,
		info:        d("info", "The hub node: its name, cluster and nats-server version.", "node", "cluster", "version"),
		conns:       d("connections", "Client connections to this node now."),
		routes:      d("routes", "Routes from this node to other hub nodes now."),
		slow:        d("slow_consumers_total", "Clients this node dropped for not reading fast enough."),
		inMsgs:      d("in_msgs_total", "Messages this node received."),
		outMsgs:     d("out_msgs_total", "Messages this node sent."),
		jsUp:        d("jetstream_up", "1 when JetStream runs on this node."),
		leader:      d("meta_leader", "1 when this node is the JetStream meta leader."),
		leaderKnown: d("meta_leader_known", "1 when this node knows a JetStream meta leader (0: no quorum)."),
		jsMsgs:      d("jetstream_messages", "Messages JetStream stores on this node."),
		jsBytes:     d("jetstream_bytes", "Bytes JetStream stores on this node."),
		stMsgs:      d("stream_messages", "Messages of a venue stream on this node.", "stream"),
		stBytes:     d("stream_bytes", "Bytes of a venue stream on this node.", "stream"),
		stLast:      d("stream_last_seq", "Last sequence of a venue stream on this node (behind the leader's while it catches up).", "stream"),
		stLeader:    d("stream_leader", "1 when this node leads the stream.", "stream"),
	}
}

func (c *hubCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.info, c.conns, c.routes, c.slow, c.inMsgs, c.outMsgs, c.jsUp, c.leader,
		c.leaderKnown, c.jsMsgs, c.jsBytes, c.stMsgs, c.stBytes, c.stLast, c.stLeader} {
		ch <- d
	}
}

func (c *hubCollector) Collect(ch chan<- prometheus.Metric) {
	srv := c.h.srv
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v)
	}
	cfg := c.h.Config()
	if vz, err := srv.Varz(nil); err == nil {
		gauge(c.info, 1, cfg.Name, cfg.Cluster.Name, vz.Version)
		gauge(c.conns, float64(vz.Connections))
		gauge(c.routes, float64(vz.Routes))
		counter(c.slow, float64(vz.SlowConsumers))
		counter(c.inMsgs, float64(vz.InMsgs))
		counter(c.outMsgs, float64(vz.OutMsgs))
	}
	up := srv.JetStreamEnabled()
	gauge(c.jsUp, b2f(up))
	if !up {
		return
	}
	gauge(c.leader, b2f(c.h.IsMetaLeader()))
	gauge(c.leaderKnown, b2f(c.h.MetaLeader() != ""))
	jsz, err := srv.Jsz(&server.JSzOptions{Account: Account, Streams: true})
	if err != nil {
		return
	}
	gauge(c.jsMsgs, float64(jsz.Messages))
	gauge(c.jsBytes, float64(jsz.Bytes))
	for _, acc := range jsz.AccountDetails {
		if acc.Name != Account {
			continue
		}
		for _, st := range acc.Streams {
			gauge(c.stMsgs, float64(st.State.Msgs), st.Name)
			gauge(c.stBytes, float64(st.State.Bytes), st.Name)
			gauge(c.stLast, float64(st.State.LastSeq), st.Name)
			gauge(c.stLeader, b2f(c.h.IsStreamLeader(st.Name)), st.Name)
		}
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// startMetrics serves /metrics (the hub's collector, Go and process
// metrics) and /healthz (200 {"status":"ok"} or 503 with the reason) on
// cfg.MetricsListen.
func (h *Hub) startMetrics() error {
	ln, err := net.Listen("tcp", h.cfg.MetricsListen)
	if err != nil {
		return fmt.Errorf("hub: metrics_listen: %w", err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(newHubCollector(h), prometheus.NewGoCollector(),
		prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		body := map[string]string{"status": "ok", "node": h.Config().Name}
		if err := h.ready(); err != nil {
			body["status"], body["error"] = "unavailable", err.Error()
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		_ = json.NewEncoder(w).Encode(body)
	})
	h.metLn = ln
	h.metrics = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 30 * time.Second}
	go func() { _ = h.metrics.Serve(ln) }()
	return nil
}

// ready is /healthz's answer: the server's health check, and in a cluster a
// known meta leader.
func (h *Hub) ready() error {
	if !h.srv.Running() {
		return fmt.Errorf("hub: not running")
	}
	if err := h.Healthy(); err != nil {
		return err
	}
	if h.MetaLeader() == "" {
		return fmt.Errorf("hub: no JetStream meta leader")
	}
	return nil
}
