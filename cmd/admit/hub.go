package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/admitgate/admit/venue"
)

const hubUsage = `Usage:
  admit hub -config FILE [-log-level LEVEL] [-log-format FORMAT]
                        run one hub node (TERM stops it, HUP reloads appliances and passwords)
  admit hub -config FILE -print-nats-config
                        print the node's nats-server configuration (a stock nats-server runs it)
  admit hub init -config FILE [-url URL]
                        create the venue's buckets and stream at the hub, as its admin user
`

// HubFlags are admit hub's flags.
type HubFlags struct {
	ConfigPath      string
	PrintNATSConfig bool
	LogLevel        string
	LogFormat       string
}

func (m *Main) hubCmd(ctx context.Context, args []string) error {
	if len(args) > 0 && args[0] == "init" {
		return m.hubInit(ctx, args[1:])
	}
	var f HubFlags
	fs := m.flags("hub", hubUsage+"\nRun one node of the venue's hub: an embedded NATS JetStream server (docs/venue.md).")
	fs.StringVar(&f.ConfigPath, "config", m.Getenv("ADMIT_HUB_CONFIG"), "the hub configuration file (TOML with a [hub] table)")
	fs.BoolVar(&f.PrintNATSConfig, "print-nats-config", false, "print the nats-server configuration and exit")
	fs.StringVar(&f.LogLevel, "log-level", "", "override log.level (debug, info, warn, error)")
	fs.StringVar(&f.LogFormat, "log-format", "", "override log.format (auto, json, console)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return &exitError{code: 2, err: fmt.Errorf("hub takes no arguments, got %q", fs.Args())}
	}
	if f.ConfigPath == "" {
		return usageError(fs, errors.New("hub needs -config (or ADMIT_HUB_CONFIG)"))
	}
	if f.PrintNATSConfig {
		c, err := f.load()
		if err != nil {
			return err
		}
		cfg := c.venueConfig()
		text, err := cfg.NATSConfig()
		if err != nil {
			return err
		}
		_, err = fmt.Fprint(m.Stdout, text)
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	return m.runHub(ctx, f, hup)
}

// load reads and checks the file and applies the flags.
func (f HubFlags) load() (*HubFile, error) {
	c, err := ReadHubConfigFile(f.ConfigPath)
	if err != nil {
		return nil, err
	}
	if f.LogLevel != "" {
		c.Log.Level = f.LogLevel
	}
	if f.LogFormat != "" {
		c.Log.Format = f.LogFormat
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", f.ConfigPath, err)
	}
	return c, nil
}

// runHub runs the node until ctx ends (TERM, INT), reloading at every hup.
func (m *Main) runHub(ctx context.Context, f HubFlags, hup <-chan os.Signal) error {
	c, err := f.load()
	if err != nil {
		return err
	}
	log := newLogger(c.Log, m.Stderr)
	h, err := venue.StartHub(c.venueConfig(), log)
	if err != nil {
		return err
	}
	log = log.With().Str("component", "hub").Logger()
	for {
		select {
		case <-ctx.Done():
			log.Info().Msg("shutting down")
			sctx, cancel := context.WithTimeout(context.Background(), time.Duration(c.Hub.ShutdownGrace))
			err := h.Shutdown(sctx)
			cancel()
			return err
		case <-hup:
			next, err := f.load()
			if err == nil {
				err = h.Reload(next.venueConfig())
			}
			if err != nil {
				log.Error().Err(err).Msg("SIGHUP: the new configuration is refused; keeping the old one")
				continue
			}
			c = next
		}
	}
}

// hubInit creates the venue's buckets and stream with the hub's replicas.
func (m *Main) hubInit(ctx context.Context, args []string) error {
	fs := m.flags("hub init", "Usage: admit hub init -config FILE [-url URL]\n\n"+
		"Create the venue's buckets and stream at the hub (3 replicas on a cluster, 1 on a one-node hub),\n"+
		"as the hub's admin user, and check the settings of those that exist.")
	path := fs.String("config", m.Getenv("ADMIT_HUB_CONFIG"), "the hub configuration file")
	url := fs.String("url", "", "the hub node to talk to (default: this node's listen address)")
	timeout := fs.Duration("timeout", 30*time.Second, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 || *path == "" {
		return usageError(fs, errors.New("hub init takes -config FILE and no arguments"))
	}
	c, err := HubFlags{ConfigPath: *path}.load()
	if err != nil {
		return err
	}
	cfg := c.venueConfig()
	cfg.EnsureDefaults()
	if *url == "" {
		*url = localURL(cfg)
	}
	password, err := venue.ReadSecretFile(cfg.Admin.PasswordFile)
	if err != nil {
		return fmt.Errorf("hub init: admin: %w", err)
	}
	opts := []nats.Option{nats.Name("admit hub init"), nats.UserInfo(cfg.Admin.User, password),
		nats.IgnoreDiscoveredServers(), nats.Timeout(5 * time.Second)}
	if cfg.TLS.CA != "" {
		opts = append(opts, nats.RootCAs(cfg.TLS.CA))
	}
	if cfg.TLS.VerifyClients {
		opts = append(opts, nats.ClientCert(cfg.TLS.Cert, cfg.TLS.Key))
	}
	nc, err := nats.Connect(*url, opts...)
	if err != nil {
		return fmt.Errorf("hub init: connect to %s: %w", *url, err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	layout := venue.Layout{Replicas: cfg.Replicas(), Create: true}
	assets, err := layout.Ensure(ctx, js)
	for _, a := range assets {
		what := "ok"
		if a.Created {
			what = "created"
		}
		fmt.Fprintf(m.Stdout, "%s %s %s (%d replicas)\n", what, a.Kind, a.Name, layout.Replicas)
	}
	if err != nil {
		return fmt.Errorf("hub init: %w", err)
	}
	return nil
}

// localURL is the URL of the node's own listener, for tools run beside it.
func localURL(cfg venue.HubConfig) string {
	host, port, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		return "nats://127.0.0.1:4222"
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	scheme := "nats"
	if cfg.TLS.Cert != "" {
		scheme = "tls"
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}

// checkHubConfig is check-config for a hub configuration: the file, the
// password and TLS files, and the generated nats-server configuration
// through the server's own parser.
func (m *Main) checkHubConfig(path string) error {
	c, err := HubFlags{ConfigPath: path}.load()
	if err != nil {
		return err
	}
	cfg := c.venueConfig()
	cfg.EnsureDefaults()
	// The hashes of this text are thrown away: the cheapest cost does.
	check := cfg
	check.BcryptCost = venue.MinBcryptCost
	text, err := check.NATSConfig()
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	dir, err := os.MkdirTemp("", "admit-check-hub-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	natsPath := filepath.Join(dir, venue.ConfigFileName)
	if err := os.WriteFile(natsPath, []byte(text), 0o600); err != nil {
		return err
	}
	if _, err := server.ProcessConfigFile(natsPath); err != nil {
		return fmt.Errorf("%s: the nats-server configuration it makes is refused: %w", path, err)
	}
	cluster := "one node (buckets of 1 replica)"
	if cfg.Clustered() {
		cluster = fmt.Sprintf("cluster %s, %d routes (buckets of 3 replicas)", cfg.Cluster.Name, len(cfg.Cluster.Routes))
	}
	metrics := "no metrics"
	if cfg.MetricsListen != "" {
		metrics = "metrics " + cfg.MetricsListen
	}
	fmt.Fprintf(m.Stdout, "%s: ok: hub node %s, listen %s, %s, %s, data %s\n", path, cfg.Name, cfg.Listen, cluster, metrics, cfg.DataDir)
	var ids []string
	for _, a := range cfg.Appliances {
		ids = append(ids, a.ID)
	}
	fmt.Fprintf(m.Stdout, "admin %s; %d appliances: %s\n", cfg.Admin.User, len(ids), strings.Join(ids, " "))
	if cfg.TLS.Cert != "" {
		fmt.Fprintf(m.Stdout, "tls: clients%s\n", map[bool]string{true: " (certificates verified)", false: ""}[cfg.TLS.VerifyClients])
	}
	return nil
}
