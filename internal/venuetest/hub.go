package venuetest

import (
	"bufio"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/admitgate/admit/internal/testkit"
)

// Hub is one hub node, an admit hub process.
type Hub struct {
	v          *Venue
	Name       string // hub1, hub2, hub3
	Dir        string // its configuration and data
	ConfigPath string
	ClientURL  string // nats://127.0.0.1:port, the same across restarts
	MetricsURL string // http://127.0.0.1:port: /metrics and /healthz
	proc       process
}

var probe = &http.Client{Timeout: 5 * time.Second}

// Start starts the node's process (it must not be running). It does not
// wait: a node of a cluster is ready only once a majority runs.
func (h *Hub) Start() {
	h.v.t.Helper()
	h.proc.start(h.v.t, h.Name, h.v.opts.Bin, "hub", "-config", h.ConfigPath)
}

// WaitHealthy waits until the node's /healthz answers 200 (JetStream
// current, a meta leader known).
func (h *Hub) WaitHealthy() {
	h.v.t.Helper()
	testkit.WaitFor(h.v.t, WaitTimeout, h.Name+" healthy", func() bool {
		if !h.proc.running() {
			h.v.t.Fatalf("venuetest: %s exited:\n%s", h.Name, tail(h.proc.out.String(), 50))
		}
		return h.Healthy()
	})
}

// Healthy says whether the node's /healthz answers 200 now.
func (h *Hub) Healthy() bool {
	resp, err := probe.Get(h.MetricsURL + "/healthz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// Running says whether the node's process runs.
func (h *Hub) Running() bool { return h.proc.running() }

// Stop stops the node with TERM and waits for it to exit.
func (h *Hub) Stop() { h.v.t.Helper(); h.proc.stop(h.v.t, h.Name) }

// Kill kills the node with SIGKILL (no chance to tidy up) and waits for it.
func (h *Hub) Kill() { h.proc.kill() }

// Output is what the node's process wrote, across restarts.
func (h *Hub) Output() string { return h.proc.out.String() }

// Metric is the value of the node's metric name with the label
// selector sel ("stream=\"KV_admit_redemptions\"", "" for none) as its
// /metrics says now; "" when it is absent or the node does not answer.
func (h *Hub) Metric(name, sel string) string {
	resp, err := probe.Get(h.MetricsURL + "/metrics")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	prefix := name + " "
	if sel != "" {
		prefix = name + "{" + sel + "} "
	}
	sc := bufio.NewScanner(io.LimitReader(resp.Body, 8<<20))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), prefix); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// leads says whether the node leads stream now.
func (h *Hub) leads(stream string) bool {
	return h.Metric("admit_hub_stream_leader", `stream="`+stream+`"`) == "1"
}
