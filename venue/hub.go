package venue

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/admitgate/admit/internal/atomicfile"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/rs/zerolog"
)

// Hub is one running hub node: a nats-server with JetStream, embedded, run
// from the configuration text [HubConfig.NATSConfig] wrote into its data dir,
// with its metrics listener. Its methods are safe for concurrent use.
type Hub struct {
	log     zerolog.Logger
	srv     *server.Server
	path    string // the nats.conf the server runs
	metrics *http.Server
	metLn   net.Listener

	fatal atomic.Pointer[string] // the server's first fatal error, which ends the wait for readiness

	mu  sync.Mutex // serialises Reload and Shutdown
	cfg HubConfig
}

// ConfigFileName is the name of the generated nats-server configuration in
// the hub's data dir.
const ConfigFileName = "nats.conf"

// StartHub writes cfg's nats-server configuration into its data dir, starts
// the node from it (parsed by the server's own ProcessConfigFile) and waits
// until it is ready: accepting connections, JetStream up and, in a cluster, a
// JetStream meta leader elected. A node not ready within cfg.ReadyTimeout is
// shut down and StartHub returns an error saying what it waited for.
func StartHub(cfg HubConfig, log zerolog.Logger) (*Hub, error) {
	log = log.With().Str("component", "hub").Logger()
	text, err := cfg.NATSConfig()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("hub: data_dir: %w", err)
	}
	path := filepath.Join(cfg.DataDir, ConfigFileName)
	if err := atomicfile.Write(path, []byte(text), 0o600); err != nil {
		return nil, fmt.Errorf("hub: write %s: %w", path, err)
	}
	opts, err := server.ProcessConfigFile(path)
	if err != nil {
		return nil, fmt.Errorf("hub: %s: %w", path, err)
	}
	opts.NoSigs = true // admit hub handles TERM and HUP itself
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("hub: %w", err)
	}
	h := &Hub{log: log, srv: srv, path: path, cfg: cfg}
	srv.SetLoggerV2(&natsLogger{log: log, fatal: &h.fatal}, log.GetLevel() <= zerolog.DebugLevel, log.GetLevel() <= zerolog.TraceLevel, false)
	if cfg.MetricsListen != "" {
		if err := h.startMetrics(); err != nil {
			return nil, err
		}
	}
	go srv.Start()
	if err := h.waitReady(cfg.ReadyTimeout); err != nil {
		h.stop()
		return nil, err
	}
	log.Info().Str("node", cfg.Name).Str("client_url", h.ClientURL()).Str("cluster", cfg.Cluster.Name).
		Str("meta_leader", h.MetaLeader()).Int("replicas", cfg.Replicas()).Int("appliances", len(cfg.Appliances)).
		Str("metrics", h.metricsAddr()).Msg("hub ready")
	return h, nil
}

// waitReady polls the node until it is ready or d has passed.
func (h *Hub) waitReady(d time.Duration) error {
	deadline := time.Now().Add(d)
	waiting := "listener"
	for {
		if msg := h.fatal.Load(); msg != nil {
			return fmt.Errorf("hub: %s: %s", h.cfg.Name, *msg)
		}
		if waiting == "listener" {
			if !h.srv.ReadyForConnections(50 * time.Millisecond) {
				if time.Now().After(deadline) {
					return fmt.Errorf("hub: %s: not accepting connections within %s", h.cfg.Name, d)
				}
				continue
			}
			waiting = "JetStream"
		}
		if h.srv.JetStreamEnabled() {
			if !h.cfg.Clustered() {
				return nil
			}
			waiting = "a JetStream meta leader (are a majority of the cluster's nodes up and routed?)"
			if h.MetaLeader() != "" {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("hub: %s: no %s within %s", h.cfg.Name, waiting, d)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// Server is the embedded nats-server (for tests and the test kit).
func (h *Hub) Server() *server.Server { return h.srv }

// Config returns the node's configuration.
func (h *Hub) Config() HubConfig {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.cfg
}

// ConfigPath is the generated nats-server configuration the node runs.
func (h *Hub) ConfigPath() string { return h.path }

// ClientURL is the URL of the node's client listener, with the port it
// bound (nats://127.0.0.1:4222; tls:// when TLS is on).
func (h *Hub) ClientURL() string {
	addr, ok := h.srv.Addr().(*net.TCPAddr)
	if !ok {
		return ""
	}
	host := addr.IP.String()
	if addr.IP.IsUnspecified() {
		host = "127.0.0.1"
	}
	scheme := "nats"
	if h.cfg.TLS.Cert != "" {
		scheme = "tls"
	}
	return fmt.Sprintf("%s://%s", scheme, net.JoinHostPort(host, fmt.Sprint(addr.Port)))
}

// ClusterAddr is the route listener's address; nil for a one-node hub.
func (h *Hub) ClusterAddr() *net.TCPAddr { return h.srv.ClusterAddr() }

// MetricsAddr is the metrics listener's address; nil when there is none.
func (h *Hub) MetricsAddr() net.Addr {
	if h.metLn == nil {
		return nil
	}
	return h.metLn.Addr()
}

func (h *Hub) metricsAddr() string {
	if a := h.MetricsAddr(); a != nil {
		return a.String()
	}
	return ""
}

// MetaLeader is the server name of the JetStream meta leader this node
// knows; "" when there is none. A one-node hub is its own leader.
func (h *Hub) MetaLeader() string {
	if !h.srv.JetStreamEnabled() {
		return ""
	}
	if !h.cfg.Clustered() {
		return h.cfg.Name
	}
	jsz, err := h.srv.Jsz(&server.JSzOptions{})
	if err != nil || jsz.Meta == nil {
		return ""
	}
	return jsz.Meta.Leader
}

// IsMetaLeader reports whether this node is the JetStream meta leader.
func (h *Hub) IsMetaLeader() bool {
	if !h.cfg.Clustered() {
		return h.srv.JetStreamEnabled()
	}
	return h.srv.JetStreamIsLeader()
}

// IsStreamLeader reports whether this node leads stream (of the ADMIT
// account): the node whose loss stalls the stream's writes until an election.
func (h *Hub) IsStreamLeader(stream string) bool {
	if !h.cfg.Clustered() {
		// A one-node hub leads every stream it has.
		return h.srv.JetStreamEnabled()
	}
	return h.srv.JetStreamIsStreamLeader(Account, stream)
}

// Healthy returns nil when the node is healthy: JetStream up, its streams
// and the meta group current (the server's own health check).
func (h *Hub) Healthy() error {
	hs := h.srv.Healthz(nil)
	if hs == nil {
		return errors.New("hub: no health status")
	}
	if hs.Status != "ok" {
		if hs.Error != "" {
			return fmt.Errorf("hub: %s", hs.Error)
		}
		return fmt.Errorf("hub: %s", hs.Status)
	}
	return nil
}

// Reload applies cfg to the running node: appliances, passwords (the files
// are read again), permissions, routes and TLS files. The node's name, data
// dir, listeners and cluster name change only at restart; a cfg that changes
// one is refused and the node keeps its configuration.
func (h *Hub) Reload(cfg HubConfig) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	cfg.EnsureDefaults()
	old := h.cfg
	fixed := []struct{ name, was, now string }{
		{"name", old.Name, cfg.Name}, {"data_dir", old.DataDir, cfg.DataDir}, {"listen", old.Listen, cfg.Listen},
		{"cluster.listen", old.Cluster.Listen, cfg.Cluster.Listen}, {"cluster.name", old.Cluster.Name, cfg.Cluster.Name},
		{"metrics_listen", old.MetricsListen, cfg.MetricsListen},
	}
	for _, f := range fixed {
		if f.was != f.now {
			return fmt.Errorf("hub: reload: %s changes only at restart (%q, the file says %q)", f.name, f.was, f.now)
		}
	}
	text, err := cfg.NATSConfig()
	if err != nil {
		return fmt.Errorf("hub: reload: %w", err)
	}
	prev, err := os.ReadFile(h.path)
	if err != nil {
		return fmt.Errorf("hub: reload: %w", err)
	}
	if err := atomicfile.Write(h.path, []byte(text), 0o600); err != nil {
		return fmt.Errorf("hub: reload: %w", err)
	}
	if err := h.srv.Reload(); err != nil {
		// The server keeps running its old options; so does the file.
		if werr := atomicfile.Write(h.path, prev, 0o600); werr != nil {
			h.log.Error().Err(werr).Str("path", h.path).Msg("could not restore the previous configuration file")
		}
		return fmt.Errorf("hub: reload: %w", err)
	}
	h.cfg = cfg
	h.log.Info().Int("appliances", len(cfg.Appliances)).Msg("configuration reloaded")
	return nil
}

// Shutdown stops the node: the metrics listener, then the server (its
// clients are disconnected and reconnect to the other nodes; JetStream
// flushes and closes its store). It returns ctx's error when the server has
// not stopped by then (it goes on stopping).
func (h *Hub) Shutdown(ctx context.Context) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.metrics != nil {
		_ = h.metrics.Shutdown(ctx)
	}
	done := make(chan struct{})
	go func() {
		h.srv.Shutdown()
		h.srv.WaitForShutdown()
		close(done)
	}()
	select {
	case <-done:
		h.log.Info().Str("node", h.cfg.Name).Msg("hub stopped")
		return nil
	case <-ctx.Done():
		return fmt.Errorf("hub: shutdown: %w", ctx.Err())
	}
}

// stop shuts down a node that did not become ready.
func (h *Hub) stop() {
	if h.metrics != nil {
		_ = h.metrics.Close()
	}
	h.srv.Shutdown()
	h.srv.WaitForShutdown()
}

// natsLogger writes the server's log lines to zerolog.
type natsLogger struct {
	log   zerolog.Logger
	fatal *atomic.Pointer[string]
}

func (l *natsLogger) Noticef(format string, v ...any) { l.log.Info().Msgf(format, v...) }
func (l *natsLogger) Warnf(format string, v ...any)   { l.log.Warn().Msgf(format, v...) }
func (l *natsLogger) Fatalf(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	l.fatal.CompareAndSwap(nil, &msg)
	l.log.Error().Bool("fatal", true).Msg(msg)
}
func (l *natsLogger) Errorf(format string, v ...any) { l.log.Error().Msgf(format, v...) }
func (l *natsLogger) Debugf(format string, v ...any) { l.log.Debug().Msgf(format, v...) }
func (l *natsLogger) Tracef(format string, v ...any) { l.log.Trace().Msgf(format, v...) }
