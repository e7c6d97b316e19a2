package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/admitgate/admit/venue"
)

// HubFile is admit hub's configuration file (TOML): one hub node. A file
// with a [hub] table is a hub configuration (admit check-config tells them
// apart by it). docs/venue.md documents every field; deploy/hub.example.toml
// is a complete example.
type HubFile struct {
	Hub HubSection `toml:"hub"`
	Log LogConfig  `toml:"log"`
}

// HubSection is the [hub] table.
type HubSection struct {
	Name          string   `toml:"name"`           // required: the node's name, unique in the cluster
	DataDir       string   `toml:"data_dir"`       // default /var/lib/admit-hub
	Listen        string   `toml:"listen"`         // default "0.0.0.0:4222": appliances connect here
	MetricsListen string   `toml:"metrics_listen"` // default "127.0.0.1:8222": /metrics and /healthz; "" for none
	ReadyTimeout  Duration `toml:"ready_timeout"`  // default 2m: the wait for JetStream and a meta leader at start
	ShutdownGrace Duration `toml:"shutdown_grace"` // default 30s: at SIGTERM
	BcryptCost    int      `toml:"bcrypt_cost"`    // default 10
	MaxFileStore  Size     `toml:"max_file_store"` // default: the server's (most of the disk)

	Cluster HubCluster     `toml:"cluster"`
	TLS     HubTLS         `toml:"tls"`
	Admin   HubAdmin       `toml:"admin"`
	Appls   []HubAppliance `toml:"appliances"`
}

// HubCluster is [hub.cluster]; without listen the hub is one node.
type HubCluster struct {
	Name   string   `toml:"name"`   // default "admit"
	Listen string   `toml:"listen"` // "0.0.0.0:6222"
	Routes []string `toml:"routes"` // the other nodes: "nats-route://hub2:6222"
}

// HubTLS is [hub.tls].
type HubTLS struct {
	Cert          string `toml:"cert"`
	Key           string `toml:"key"`
	CA            string `toml:"ca"`
	VerifyClients bool   `toml:"verify_clients"`
}

// HubAdmin is [hub.admin].
type HubAdmin struct {
	User         string `toml:"user"` // default "admin"
	PasswordFile string `toml:"password_file"`
}

// HubAppliance is one [[hub.appliances]].
type HubAppliance struct {
	ID           string `toml:"id"`
	PasswordFile string `toml:"password_file"`
}

// DefaultHubFile returns the hub configuration with every default set.
func DefaultHubFile() *HubFile {
	return &HubFile{
		Hub: HubSection{DataDir: "/var/lib/admit-hub", Listen: venue.DefaultHubListen, MetricsListen: "127.0.0.1:8222",
			ReadyTimeout: Duration(venue.DefaultReadyTimeout), ShutdownGrace: Duration(30 * time.Second),
			BcryptCost: venue.DefaultBcryptCost},
		Log: LogConfig{Level: "info", Format: "auto"},
	}
}

// ParseHubConfig reads a hub configuration over the defaults. Unknown keys
// are errors that name their line. It does not validate.
func ParseHubConfig(r io.Reader) (*HubFile, error) {
	data, err := io.ReadAll(io.LimitReader(r, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("hub config: read: %w", err)
	}
	c := DefaultHubFile()
	md, err := toml.NewDecoder(bytes.NewReader(data)).Decode(c)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("hub config: line %d: %s", pe.Position.Line, pe.Message)
		}
		return nil, fmt.Errorf("hub config: %w", err)
	}
	if !md.IsDefined("hub") {
		return nil, errors.New("hub config: no [hub] table")
	}
	if und := md.Undecoded(); len(und) > 0 {
		var msgs []string
		for _, k := range und {
			if line := keyLine(data, k); line > 0 {
				msgs = append(msgs, fmt.Sprintf("line %d: unknown key %q", line, k.String()))
			} else {
				msgs = append(msgs, fmt.Sprintf("unknown key %q", k.String()))
			}
		}
		return nil, fmt.Errorf("hub config: %s", strings.Join(msgs, "; "))
	}
	return c, nil
}

// ReadHubConfigFile parses the file at path; password and TLS files named
// relative to it are found beside it.
func ReadHubConfigFile(path string) (*HubFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("hub config: %w", err)
	}
	defer f.Close()
	c, err := ParseHubConfig(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	dir := filepath.Dir(path)
	rel := func(p *string) {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
	rel(&c.Hub.Admin.PasswordFile)
	for i := range c.Hub.Appls {
		rel(&c.Hub.Appls[i].PasswordFile)
	}
	rel(&c.Hub.TLS.Cert)
	rel(&c.Hub.TLS.Key)
	rel(&c.Hub.TLS.CA)
	return c, nil
}

// isHubConfig reports whether the TOML file at path has a [hub] table.
func isHubConfig(path string) bool {
	var probe struct {
		Hub toml.Primitive `toml:"hub"`
	}
	md, err := toml.DecodeFile(path, &probe)
	return err == nil && md.IsDefined("hub")
}

// venueConfig maps the file onto the hub's configuration.
func (c *HubFile) venueConfig() venue.HubConfig {
	h := c.Hub
	cfg := venue.HubConfig{
		Name: h.Name, DataDir: h.DataDir, Listen: h.Listen, MetricsListen: h.MetricsListen,
		Cluster:      venue.ClusterConfig{Name: h.Cluster.Name, Listen: h.Cluster.Listen, Routes: h.Cluster.Routes},
		Admin:        venue.AdminUser{User: h.Admin.User, PasswordFile: h.Admin.PasswordFile},
		TLS:          venue.TLSFiles{Cert: h.TLS.Cert, Key: h.TLS.Key, CA: h.TLS.CA, VerifyClients: h.TLS.VerifyClients},
		BcryptCost:   h.BcryptCost,
		MaxFileStore: int64(h.MaxFileStore),
		ReadyTimeout: time.Duration(h.ReadyTimeout),
	}
	for _, a := range h.Appls {
		cfg.Appliances = append(cfg.Appliances, venue.ApplianceUser{ID: a.ID, PasswordFile: a.PasswordFile})
	}
	return cfg
}

// Validate checks the file: the hub's settings (venue.HubConfig.Validate)
// and the process's own.
func (c *HubFile) Validate() error {
	var errs []string
	cfg := c.venueConfig()
	if err := cfg.Validate(); err != nil {
		errs = append(errs, strings.TrimPrefix(err.Error(), "hub: "))
	}
	if c.Hub.ShutdownGrace <= 0 {
		errs = append(errs, "shutdown_grace must be positive")
	}
	if _, err := parseLevel(c.Log.Level); err != nil {
		errs = append(errs, err.Error())
	}
	switch c.Log.Format {
	case "", "auto", "json", "console":
	default:
		errs = append(errs, fmt.Sprintf("log.format %q: auto, json or console", c.Log.Format))
	}
	if len(errs) > 0 {
		return errors.New("hub config: " + strings.Join(errs, "\n"))
	}
	return nil
}

func parseLevel(s string) (string, error) {
	switch s {
	case "", "trace", "debug", "info", "warn", "error":
		return s, nil
	}
	return "", fmt.Errorf("log.level %q: debug, info, warn or error", s)
}
