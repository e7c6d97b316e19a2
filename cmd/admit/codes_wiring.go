package main

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/admitgate/admit/codes"
	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/httpapi"
	"github.com/admitgate/admit/index"
)

// Providers whose codes prove themselves (docs/codes.md), declared in
// [[providers]] with a kind:
//
//	[[providers]]
//	id = "pretix-main"
//	kind = "pretix_sig1"
//	keys = ["LS0tLS1CRUdJTi..."]            # valid_keys.pretix_sig1, base64 of PEM
//	[[providers.items]]
//	item = 12
//	price_type = { code = "ADU", name = "Adult" }
//	events = ["MATCH-2026-12-05"]
//
//	[[providers]]
//	id = "tm"
//	kind = "rotating"
//	event_key_file = "tm-event.key"          # hex; relative to the config file
//	skew = "15s"
//
// At start and on every reload the providers with a kind are put into the
// store after the events (their mappings name events); a provider without a
// kind keeps whatever kind the store has (one set through the API stays).

// ProviderCodesConfig is the part of a [[providers]] entry that says how its
// codes are checked (embedded in ProviderConfig).
type ProviderCodesConfig struct {
	// Kind is list (barcodes imported), pretix_sig1 or rotating; empty
	// leaves the provider's kind in the store as it is.
	Kind string `toml:"kind"`
	// Keys, Items and Subevents are a pretix_sig1 provider's
	// (codes.Sig1Config).
	Keys      []string             `toml:"keys"`
	Items     []codes.Sig1Item     `toml:"items"`
	Subevents []codes.Sig1Subevent `toml:"subevents"`
	// EventKeyFile holds a rotating provider's event key as hex (relative
	// to the configuration file's folder); Step and Skew are its TOTP step
	// (default 15s) and the clock skew it allows (default one step).
	EventKeyFile string   `toml:"event_key_file"`
	Step         Duration `toml:"step"`
	Skew         Duration `toml:"skew"`

	// EventKey is what event_key_file holds, read with the configuration.
	EventKey []byte `toml:"-"`
}

// loadEventKeys reads each rotating provider's event_key_file, relative to
// dir; a file that cannot be read, or holds no key, is a problem of its key
// (secretProblem). The key never reaches a message.
func (c *Config) loadEventKeys(ctx context.Context, dir string) {
	for i := range c.Providers {
		p := &c.Providers[i]
		if p.EventKeyFile == "" {
			continue
		}
		key := indexPath("providers", i) + ".event_key_file"
		path := p.EventKeyFile
		if !filepath.IsAbs(path) {
			path = filepath.Join(dir, path)
		}
		b, err := readBounded(ctx, path, maxSecretSize, configReadTimeout)
		if err != nil {
			c.secretProblem(key, err)
			continue
		}
		k, err := codes.ParseKey(string(b))
		if err != nil {
			c.secretProblem(key, fmt.Errorf("%s does not hold an event key; write it as hex, %d to %d digits",
				path, 2*codes.MinKeyLen, 2*codes.MaxKeyLen))
			continue
		}
		p.EventKey = k
	}
}

// validateProviderCodes checks the kinds of [[providers]]; each issue names
// its key from the top ("providers[0].kind"). Events are checked when the
// providers are put into the store (the store may have events the file does
// not).
func (c *Config) validateProviderCodes() []issue {
	var errs []issue
	for i := range c.Providers {
		p := &c.Providers[i]
		at := indexPath("providers", i)
		add := func(key, format string, args ...any) { errs = append(errs, issuef(at+"."+key, format, args...)) }
		sig1 := len(p.Keys) > 0 || len(p.Items) > 0 || len(p.Subevents) > 0
		rotating := p.EventKeyFile != "" || p.Step != 0 || p.Skew != 0
		switch p.Kind {
		case "":
			if sig1 || rotating {
				add("kind", "is empty; name it (pretix_sig1 or rotating) to give the provider keys, items, subevents, event_key_file, step or skew")
			}
		case string(index.ProviderList):
			if sig1 || rotating {
				add("kind", "a list provider has no keys, items, subevents, event_key_file, step or skew")
			}
		case string(index.ProviderSig1):
			if rotating {
				add("kind", "event_key_file, step and skew are a rotating provider's, not a pretix_sig1 provider's")
			}
			if gate.CheckID("provider", p.ID) == nil {
				if _, err := codes.NewSig1(p.ID, p.sig1(), nil); err != nil {
					add("keys", "%s", gate.ErrorMessage(err))
				}
			}
		case string(index.ProviderRotating):
			if sig1 {
				add("kind", "keys, items and subevents are a pretix_sig1 provider's, not a rotating provider's")
			}
			switch {
			case p.EventKeyFile == "":
				add("event_key_file", "is missing; a rotating provider needs a file holding its event key as hex")
			case p.EventKey == nil:
				// Not read: loadEventKeys reported it.
			default:
				if _, err := codes.NewRotating(p.rotating()); err != nil {
					add("event_key_file", "%s", gate.ErrorMessage(err))
				}
			}
		default:
			add("kind", "%q is not a kind; use list, pretix_sig1 or rotating", p.Kind)
		}
	}
	return errs
}

func (p *ProviderConfig) sig1() codes.Sig1Config {
	return codes.Sig1Config{Keys: p.Keys, Items: p.Items, Subevents: p.Subevents}
}

func (p *ProviderConfig) rotating() codes.RotatingConfig {
	return codes.RotatingConfig{EventKey: p.EventKey, Step: time.Duration(p.Step), Skew: time.Duration(p.Skew)}
}

// applyProviderCodes puts the providers that name a kind into the store
// (after the events, which their mappings name).
func (d *Daemon) applyProviderCodes(ctx context.Context, c *Config) error {
	ix := d.store.get()
	for i := range c.Providers {
		p := &c.Providers[i]
		if p.Kind == "" {
			continue
		}
		sp := index.ProviderSpec{Provider: gate.Provider{ID: p.ID, Name: p.Name}, Kind: index.ProviderKind(p.Kind)}
		switch sp.Kind {
		case index.ProviderSig1:
			sp.Sig1 = p.sig1()
		case index.ProviderRotating:
			sp.Rotating = index.RotatingSpec{EventKey: p.EventKey, Step: time.Duration(p.Step), Skew: time.Duration(p.Skew)}
		}
		if _, err := ix.PutProviderSpec(ctx, sp); err != nil {
			return fmt.Errorf("admit: provider %s: %w", p.ID, err)
		}
	}
	return nil
}

// providerStore is httpapi's ProviderStore over the open store.
type providerStore struct{ p *openStore }

var _ httpapi.ProviderStore = providerStore{}

func (s providerStore) index() (*index.Index, error) {
	ix := s.p.get()
	if ix == nil {
		return nil, gate.Errorf(gate.EUNAVAILABLE, "the ticket store is opening")
	}
	return ix, nil
}

func (s providerStore) PutProviderSpec(ctx context.Context, p httpapi.ProviderSpec) (bool, error) {
	ix, err := s.index()
	if err != nil {
		return false, err
	}
	return ix.PutProviderSpec(ctx, index.ProviderSpec{Provider: gate.Provider{ID: p.ID, Name: p.Name}, Kind: index.ProviderKind(p.Kind),
		Sig1: p.Sig1, Rotating: index.RotatingSpec{EventKey: p.EventKey, Step: p.Step, Skew: p.Skew}})
}

func (s providerStore) ProviderViews(ctx context.Context) ([]httpapi.ProviderView, error) {
	ix, err := s.index()
	if err != nil {
		return nil, err
	}
	sts, err := ix.ProviderStatuses(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]httpapi.ProviderView, 0, len(sts))
	for _, st := range sts {
		v := httpapi.ProviderView{ID: st.ID, Name: st.Name, Kind: string(st.Kind)}
		if c := st.Sig1; c != nil {
			v.Keys, v.Items, v.Subevents = c.Keys, c.Items, c.Subevents
			v.Lists = &httpapi.ListSizes{Revoked: st.Revoked, Blocked: st.Blocked}
		}
		if r := st.Rotating; r != nil {
			v.Step, v.Skew = r.Step.String(), r.Skew.String()
			v.Clock = &httpapi.RotatingClock{Provider: st.ID, SkewSeconds: r.ClockSkew.Seconds(), Codes: r.Codes}
		}
		out = append(out, v)
	}
	return out, nil
}

func (s providerStore) PutSecrets(ctx context.Context, provider, list, op string, secrets []string) (httpapi.SecretsResult, error) {
	ix, err := s.index()
	if err != nil {
		return httpapi.SecretsResult{}, err
	}
	l, err := index.ParseSecretList(list)
	if err != nil {
		return httpapi.SecretsResult{}, err
	}
	o := map[string]index.SecretsOp{"replace": index.SecretsReplace, "add": index.SecretsAdd, "remove": index.SecretsRemove}[op]
	res, err := ix.PutSecrets(ctx, provider, l, o, secrets)
	return httpapi.SecretsResult{Added: res.Added, Removed: res.Removed, Total: res.Total}, err
}

func (s providerStore) Clocks() []httpapi.RotatingClock {
	ix := s.p.get()
	if ix == nil {
		return nil
	}
	skews := ix.RotatingSkews()
	if len(skews) == 0 {
		return nil
	}
	out := make([]httpapi.RotatingClock, 0, len(skews))
	for _, sk := range skews {
		out = append(out, httpapi.RotatingClock{Provider: sk.Provider, SkewSeconds: sk.ClockSkew.Seconds(), Codes: sk.Codes})
	}
	return out
}

// codesCollector exports the rotating providers' clock skew:
// admit_rotating_clock_skew_seconds{provider} (the appliance's clock minus
// the codes' times, median of the latest) and
// admit_rotating_codes_seen_total{provider}.
type codesCollector struct {
	p          *openStore
	skew, seen *prometheus.Desc
}

func newCodesCollector(p *openStore) *codesCollector {
	return &codesCollector{p: p,
		skew: prometheus.NewDesc("admit_rotating_clock_skew_seconds",
			"How far the appliance's clock is ahead of the times of a rotating provider's latest codes (median; negative: behind). Far from zero, check NTP.",
			[]string{"provider"}, nil),
		seen: prometheus.NewDesc("admit_rotating_codes_seen_total",
			"Rotating codes whose event key drew them (refused ones included), since the start.", []string{"provider"}, nil)}
}

func (c *codesCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.skew
	ch <- c.seen
}

func (c *codesCollector) Collect(ch chan<- prometheus.Metric) {
	ix := c.p.get()
	if ix == nil {
		return
	}
	for _, sk := range ix.RotatingSkews() {
		ch <- prometheus.MustNewConstMetric(c.skew, prometheus.GaugeValue, sk.ClockSkew.Seconds(), sk.Provider)
		ch <- prometheus.MustNewConstMetric(c.seen, prometheus.CounterValue, float64(sk.Codes), sk.Provider)
	}
}
