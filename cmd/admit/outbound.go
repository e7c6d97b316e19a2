package main

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"reflect"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/outbound"
)

// ExportConfig is one [[exports]]: a folder that receives a file of the
// tickets used since the previous file, every interval (docs/config.md).
type ExportConfig struct {
	Name          string   `toml:"name"`
	Dir           string   `toml:"dir"`
	Format        string   `toml:"format"`      // secutix (default), csv, jsonl
	Interval      Duration `toml:"interval"`    // default 15m, at least 1s
	FilePrefix    string   `toml:"file_prefix"` // default the name
	Provider      string   `toml:"provider"`
	Event         string   `toml:"event"`
	WriteEmpty    bool     `toml:"write_empty"`
	MaxLag        Duration `toml:"max_lag"`         // default 2 × interval
	MaxLagEntries int64    `toml:"max_lag_entries"` // default 100000
}

// WebhookConfig is one [[webhooks]]: a URL that receives the decisions in
// signed JSON batches, at least once (docs/config.md).
type WebhookConfig struct {
	Name           string   `toml:"name"`
	URL            string   `toml:"url"`
	SecretFile     string   `toml:"secret_file"` // required; relative to the config file's folder
	AdmissionsOnly bool     `toml:"admissions_only"`
	Provider       string   `toml:"provider"`
	Event          string   `toml:"event"`
	BatchSize      int      `toml:"batch_size"`      // default 100, at most 1000
	Timeout        Duration `toml:"timeout"`         // default 10s
	BackoffMin     Duration `toml:"backoff_min"`     // default 1s
	BackoffMax     Duration `toml:"backoff_max"`     // default 5m
	MaxLag         Duration `toml:"max_lag"`         // default 15m
	MaxLagEntries  int64    `toml:"max_lag_entries"` // default 100000

	// Secret is what secret_file holds, read with the configuration.
	Secret string `toml:"-"`
}

// loadWebhookSecrets reads each webhook's secret_file, relative to dir.
func (c *Config) loadWebhookSecrets(ctx context.Context, dir string) {
	for i := range c.Webhooks {
		w := &c.Webhooks[i]
		if w.SecretFile == "" {
			continue
		}
		p := w.SecretFile
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		b, err := readBounded(ctx, p, maxSecretSize, configReadTimeout)
		if err != nil {
			c.secretProblem(indexPath("webhooks", i)+".secret_file", err)
			continue
		}
		w.Secret = strings.TrimRight(string(b), " \t\r\n")
	}
}

// validateOutbound checks [[exports]] and [[webhooks]]; each issue names
// its key from the top ("exports[0].interval").
func (c *Config) validateOutbound() []issue {
	var errs []issue
	for i, e := range c.Exports {
		at := indexPath("exports", i)
		add := func(key, format string, args ...any) { errs = append(errs, issuef(at+"."+key, format, args...)) }
		if msg := outboundName(e.Name); msg != "" {
			add("name", "%s", msg)
		}
		if msg := outboundName(e.FilePrefix); e.FilePrefix != "" && msg != "" {
			add("file_prefix", "%s", msg)
		}
		if e.Dir == "" {
			add("dir", "is missing; name the folder the files are written into")
		}
		switch e.Format {
		case "", string(outbound.FormatSecutix), string(outbound.FormatCSV), string(outbound.FormatJSONL):
		default:
			add("format", "%q is not an export format; use secutix, csv or jsonl (unset: secutix)", e.Format)
		}
		if e.Interval != 0 && time.Duration(e.Interval) < time.Second {
			add("interval", "%s is too short; use at least 1s (unset: 15m)", time.Duration(e.Interval))
		}
		if e.MaxLag < 0 {
			add("max_lag", "must not be negative")
		}
		if e.MaxLagEntries < 0 {
			add("max_lag_entries", "must not be negative")
		}
		add2 := func(key, v string) {
			if msg := idProblem(v); v != "" && msg != "" {
				add(key, "%s", msg)
			}
		}
		add2("provider", e.Provider)
		add2("event", e.Event)
	}
	for i, w := range c.Webhooks {
		at := indexPath("webhooks", i)
		add := func(key, format string, args ...any) { errs = append(errs, issuef(at+"."+key, format, args...)) }
		if msg := outboundName(w.Name); msg != "" {
			add("name", "%s", msg)
		}
		if u, err := url.Parse(w.URL); w.URL == "" {
			add("url", "is missing; write the receiver's URL, such as \"https://crm.example/admit\"")
		} else if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			add("url", "is not an http:// or https:// URL with a host")
		}
		if w.BatchSize > outbound.MaxBatchSize {
			add("batch_size", "%d is too large; use 1 to %d (unset: 100)", w.BatchSize, outbound.MaxBatchSize)
		}
		switch {
		case w.SecretFile == "":
			add("secret_file", "is missing; name a file holding the signing secret, at least 16 bytes (generate one with head -c 32 /dev/urandom | base64)")
		case c.src != nil && c.src.bad[at+".secret_file"]:
			// not read: its problem says why
		case len(w.Secret) < 16:
			add("secret_file", "%s holds %d bytes; a signing secret is at least 16 bytes", w.SecretFile, len(w.Secret))
		}
		if w.BatchSize < 0 {
			add("batch_size", "must not be negative; use 1 to 1000 (unset: 100)")
		}
		if w.Timeout != 0 && (time.Duration(w.Timeout) < 100*time.Millisecond || time.Duration(w.Timeout) > 5*time.Minute) {
			add("timeout", "%s is out of range; use 100ms to 5m (unset: 10s)", time.Duration(w.Timeout))
		}
		for _, d := range []struct {
			key string
			v   Duration
		}{{"backoff_min", w.BackoffMin}, {"backoff_max", w.BackoffMax}, {"max_lag", w.MaxLag}} {
			if d.v < 0 {
				add(d.key, "must not be negative")
			}
		}
		if w.MaxLagEntries < 0 {
			add("max_lag_entries", "must not be negative")
		}
		for _, f := range []struct{ key, v string }{{"provider", w.Provider}, {"event", w.Event}} {
			if msg := idProblem(f.v); f.v != "" && msg != "" {
				add(f.key, "%s", msg)
			}
		}
	}
	reported := map[string]bool{}
	for _, e := range errs {
		reported[e.key] = true
	}
	// The package's own checks (names, folders, formats, URLs, filters,
	// duplicates), each naming the entry and, in its words, the key; what
	// the checks above said already is left out.
	exports, webhooks := c.outboundTargets()
	for i := range webhooks {
		if len(webhooks[i].Secret) < 16 { // reported above, or its file was not read
			webhooks[i].Secret = []byte("0123456789abcdef")
		}
	}
	if _, err := outbound.New(outbound.Options{Journal: noJournal{}, Tickets: noJournal{}, Appliance: "check", StateDir: "check"},
		exports, webhooks); err != nil {
		for _, line := range strings.Split(strings.TrimPrefix(err.Error(), "outbound: "), "\n") {
			if i := outboundIssue(line); !reported[i.key] {
				errs = append(errs, i)
			}
		}
	}
	return errs
}

// outboundName says what is wrong with the name of an export or webhook
// (it names files and metrics): "" when nothing is.
func outboundName(name string) string {
	switch {
	case name == "":
		return "is missing; use 1 to 64 letters, digits, '_' and '-'"
	case len(name) > 64:
		return "is longer than 64 characters"
	}
	for _, c := range []byte(name) {
		if !isBareByte(c) {
			return fmt.Sprintf("%q holds %q; use 1 to 64 letters, digits, '_' and '-'", name, c)
		}
	}
	return ""
}

// outboundIssue places a message "exports[i]: ..." of the outbound
// package at its key, naming the keys as the file does.
func outboundIssue(msg string) issue {
	head, rest, ok := strings.Cut(msg, ": ")
	if !ok {
		return issue{msg: msg}
	}
	rest = strings.Replace(rest, "prefix ", "file_prefix ", 1)
	key := guessKey(rest, "name:name ", "file_prefix:file_prefix", "dir:dir ", "format:format", "url:url", "batch_size:batch_size",
		"backoff_max:backoff_max", "provider:provider", "event:event", "name:used twice")
	if key != "" && strings.HasPrefix(rest, key+" ") {
		rest = strings.TrimPrefix(rest, key+" ")
	}
	if key == "" {
		return issue{key: head, msg: rest}
	}
	return issue{key: head + "." + key, msg: rest}
}

// outboundTargets maps the configuration to the package's; zero values
// take the package's defaults.
func (c *Config) outboundTargets() ([]outbound.Export, []outbound.Webhook) {
	var exports []outbound.Export
	for _, e := range c.Exports {
		prefix := e.FilePrefix
		if prefix == "" && c.Venue != nil {
			// Each appliance of a venue exports its own uses (venue_outbound.go):
			// its files are named by it too, so that a shared folder holds
			// every appliance's without a clash.
			prefix = c.applianceID() + "-" + e.Name
		}
		exports = append(exports, outbound.Export{Name: e.Name, Dir: e.Dir, Format: outbound.Format(e.Format),
			Interval: time.Duration(e.Interval), Prefix: prefix, Provider: e.Provider, Event: e.Event,
			WriteEmpty: e.WriteEmpty, MaxLag: time.Duration(e.MaxLag), MaxLagEntries: uint64(max(e.MaxLagEntries, 0))})
	}
	var webhooks []outbound.Webhook
	for _, w := range c.Webhooks {
		webhooks = append(webhooks, outbound.Webhook{Name: w.Name, URL: w.URL, Secret: []byte(w.Secret),
			AdmissionsOnly: w.AdmissionsOnly, Provider: w.Provider, Event: w.Event, BatchSize: w.BatchSize,
			Timeout: time.Duration(w.Timeout), BackoffMin: time.Duration(w.BackoffMin), BackoffMax: time.Duration(w.BackoffMax),
			MaxLag: time.Duration(w.MaxLag), MaxLagEntries: uint64(max(w.MaxLagEntries, 0))})
	}
	return exports, webhooks
}

// outboundRunner runs the exports and webhooks for the daemon and serves
// their status (GET /v1/exports, /metrics).
type outboundRunner struct {
	svc      *outbound.Service
	exports  []ExportConfig  // what runs, for reloads
	webhooks []WebhookConfig // what runs, for reloads
	stop     context.CancelFunc
	done     chan struct{}
}

// changed says, for a reload, that exports and webhooks change only at
// restart; "" when c has the ones running.
func (o *outboundRunner) changed(c *Config) string {
	if o == nil || reflect.DeepEqual(o.exports, c.Exports) && reflect.DeepEqual(o.webhooks, c.Webhooks) {
		return ""
	}
	return "reload: exports and webhooks change only at restart"
}

// newOutbound prepares the exports and webhooks over the store (read only
// once start is called) and registers their metrics.
func newOutbound(c *Config, store *openStore, reg *prometheus.Registry, log zerolog.Logger) (*outboundRunner, error) {
	exports, webhooks := c.outboundTargets()
	svc, err := outbound.New(outbound.Options{
		Journal:   store,
		Tickets:   store,
		Appliance: c.indexOptions(log).EnsureDefaults().Appliance,
		StateDir:  filepath.Join(c.DataDir, "outbound"),
		Head: func() uint64 {
			if ix := store.get(); ix != nil {
				return ix.Stats().WrittenSeq
			}
			return 0
		},
		Location: c.location(),
		Logger:   log,
	}, exports, webhooks)
	if err != nil {
		return nil, fmt.Errorf("admit: %w", err)
	}
	if err := reg.Register(svc); err != nil {
		return nil, fmt.Errorf("admit: outbound metrics: %w", err)
	}
	return &outboundRunner{svc: svc, exports: c.Exports, webhooks: c.Webhooks}, nil
}

// start runs the exports and webhooks until stopped.
func (o *outboundRunner) start(log zerolog.Logger) {
	if o == nil || o.stop != nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	o.stop, o.done = cancel, make(chan struct{})
	go func() {
		defer close(o.done)
		if err := o.svc.Run(ctx); err != nil && ctx.Err() == nil {
			log.Error().Err(err).Str("component", "outbound").Msg("exports and webhooks stopped")
		}
	}()
}

// close stops them; each saves its position first. A post in flight is
// cut short and sent again at the next start.
func (o *outboundRunner) close() {
	if o == nil || o.stop == nil {
		return
	}
	o.stop()
	<-o.done
}

// Exports implements httpapi.ExportsMonitor.
func (o *outboundRunner) Exports() []gate.DeliveryStatus {
	if o == nil {
		return nil
	}
	return o.svc.Status()
}

// noJournal stands in for the store when the configuration is only checked.
type noJournal struct{}

func (noJournal) Entries(context.Context, uint64, int) ([]gate.JournalEntry, error) {
	return nil, nil
}

func (noJournal) Ticket(context.Context, string) (gate.TicketView, error) {
	return gate.TicketView{}, nil
}
