package main

// This file is the [venue] part of the configuration: the appliance's link
// to its venue's hub (docs/venue.md, docs/config.md), and each lane's venue
// policies (offline, max_lag, on_max_lag). venue.go wires what it says
// into the daemon. Without [venue] none of it runs: the appliance is the
// single appliance it always was.
//
//	[venue]
//	appliance = "north"                     # default: the top-level appliance
//	urls = ["nats://hub1:4222", "nats://hub2:4222", "nats://hub3:4222"]
//	password_file = "venue.password"        # relative to the configuration file
//
//	[[lanes]]
//	id = "north-1"
//	offline = "admit"                       # default deny
//	max_lag = "2m"
//	on_max_lag = "refuse"                   # default refuse

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/venue"
)

// VenueConfig is [venue]: this appliance is one of a venue's, sharing
// redeem-once, the barcode sets and the changes through the hub.
type VenueConfig struct {
	// Appliance is this appliance's id in the venue and its hub user:
	// 1 to 64 of a-z A-Z 0-9 _ -. Default: the top-level appliance.
	Appliance string `toml:"appliance"`
	// URLs are the hub nodes' client URLs (nats://host:4222, tls://...),
	// the only addresses the link uses. Required.
	URLs []string `toml:"urls"`
	// PasswordFile holds this appliance's hub password (relative to the
	// configuration file). Required.
	PasswordFile string `toml:"password_file"`
	// TLS: ca verifies the hub's certificate; cert and key are this
	// appliance's when the hub verifies clients.
	TLS VenueTLS `toml:"tls"`
	// ClaimTimeout bounds a first use's claim at the hub; past it the
	// lane's offline policy decides. Default 250ms.
	ClaimTimeout Duration `toml:"claim_timeout"`
	// Replicas the venue's buckets must have: 3 on a hub of three nodes
	// (default), 1 on a one-node trial hub.
	Replicas int `toml:"replicas"`
	// CreateBuckets lets this appliance create the venue's buckets when
	// the hub has none (admit hub init does it otherwise). Default false.
	CreateBuckets bool `toml:"create_buckets"`
	// StartWait is how long a starting appliance waits for the hub to say
	// how far behind it is before it opens its lanes on the data it has.
	// Default 30s.
	StartWait Duration `toml:"start_wait"`

	// test shortens the link's intervals (tests only).
	test func(*venue.LinkConfig) `toml:"-"`
}

// VenueTLS is [venue.tls].
type VenueTLS struct {
	CA   string `toml:"ca"`
	Cert string `toml:"cert"`
	Key  string `toml:"key"`
}

// Defaults of [venue] and of a lane's venue keys.
const (
	defaultVenueReplicas = 3
	minMaxLag            = 5 * time.Second
)

// LaneVenueConfig are a lane's venue keys (embedded in LaneConfig); they
// change at SIGHUP like the lane's other policies.
type LaneVenueConfig struct {
	// Offline is what the lane does with an admission when the hub does
	// not answer: deny (default; fail closed) or admit (by the local
	// state; replayed at the hub later, a double entry reported if it
	// loses).
	Offline string `toml:"offline"`
	// MaxLag is the oldest this appliance's copy of the venue's data may
	// be for the lane; 0 (default): no limit.
	MaxLag Duration `toml:"max_lag"`
	// OnMaxLag is what the lane does beyond MaxLag: refuse (default;
	// reason stale_data) or warn (the lane's status says so).
	OnMaxLag string `toml:"on_max_lag"`
}

// offlinePolicy is the lane's gate.OfflinePolicy (deny when unsaid or
// wrong: the checks refuse a wrong one before it is used).
func (l *LaneVenueConfig) offlinePolicy() gate.OfflinePolicy {
	p, _ := gate.ParseOfflinePolicy(l.Offline)
	return p
}

// lagPolicy is the lane's gate.LagPolicy.
func (l *LaneVenueConfig) lagPolicy() gate.LagPolicy {
	return gate.LagPolicy{MaxLag: time.Duration(l.MaxLag), Refuse: l.OnMaxLag != "warn"}
}

// applianceID is the appliance's id in every redemption and, in a venue,
// at the hub: [venue] appliance, else the top-level appliance (which
// index.Options defaults to the host name).
func (c *Config) applianceID() string {
	if c.Venue != nil && c.Venue.Appliance != "" {
		return c.Venue.Appliance
	}
	return c.Appliance
}

// loadVenueFiles makes [venue]'s files absolute (relative to dir, the
// configuration file's folder) and checks that they can be read: the
// password file is read by the link at every connect, so one it cannot
// read is said here, at its key, rather than as a link that never comes up.
// The password is not kept.
func (c *Config) loadVenueFiles(ctx context.Context, dir string) {
	v := c.Venue
	if v == nil {
		return
	}
	abs := func(p *string) {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
	abs(&v.PasswordFile)
	abs(&v.TLS.CA)
	abs(&v.TLS.Cert)
	abs(&v.TLS.Key)
	if v.PasswordFile != "" {
		b, err := readBounded(ctx, v.PasswordFile, maxSecretSize, configReadTimeout)
		switch {
		case err != nil:
			c.secretProblem("venue.password_file", err)
		case strings.TrimRight(string(b), " \t\r\n") == "":
			c.secretProblem("venue.password_file", fmt.Errorf("%s is empty; it holds this appliance's hub password", v.PasswordFile))
		}
	}
	for _, f := range []struct{ key, path string }{{"venue.tls.ca", v.TLS.CA}, {"venue.tls.cert", v.TLS.Cert}, {"venue.tls.key", v.TLS.Key}} {
		if f.path == "" {
			continue
		}
		if _, err := readBounded(ctx, f.path, maxSecretSize, configReadTimeout); err != nil {
			c.secretProblem(f.key, err)
		}
	}
}

// venue checks [venue] and the lanes' venue keys. Without [venue] the
// lanes' venue keys do nothing: a warning each.
func (k *checker) venue() {
	c := k.c
	for i := range c.Lanes {
		l := &c.Lanes[i].LaneVenueConfig
		at := indexPath("lanes", i)
		if _, err := gate.ParseOfflinePolicy(l.Offline); err != nil {
			k.errf(at+".offline", "%q is not an offline policy; use deny (refuse while the hub does not answer) or admit (admit by this appliance's own data)", l.Offline)
		}
		switch l.OnMaxLag {
		case "", "warn", "refuse":
		default:
			k.errf(at+".on_max_lag", "%q is not what a lane does past max_lag; use refuse or warn", l.OnMaxLag)
		}
		if m := time.Duration(l.MaxLag); m != 0 && (m < minMaxLag || m > 7*24*time.Hour) {
			k.errf(at+".max_lag", "%s is out of range; use %s to 168h (a healthy link's data is about a second old), or omit it for no limit", m, minMaxLag)
		}
		if l.OnMaxLag != "" && l.MaxLag == 0 {
			k.warnf(at+".on_max_lag", "does nothing without max_lag; set max_lag, or remove it")
		}
		if c.Venue == nil {
			for _, kv := range []struct {
				key string
				set bool
			}{{"offline", l.Offline != ""}, {"max_lag", l.MaxLag != 0}} {
				if kv.set {
					k.warnf(at+"."+kv.key, "does nothing without [venue]: a single appliance has no hub to lose and no venue data to age")
				}
			}
		}
	}
	v := c.Venue
	if v == nil {
		return
	}
	switch {
	case v.Appliance != "":
		if err := venue.CheckApplianceID(v.Appliance); err != nil {
			k.errf("venue.appliance", "%s", venueIDMessage(err))
		} else if c.Appliance != "" && c.Appliance != v.Appliance {
			k.errf("venue.appliance", "%q is not the top-level appliance %q; an appliance has one id: set one of them, or the same in both", v.Appliance, c.Appliance)
		}
	case c.Appliance != "":
		if err := venue.CheckApplianceID(c.Appliance); err != nil {
			k.errf("appliance", "%s (in a venue it is this appliance's hub user)", venueIDMessage(err))
		}
	default:
		k.errf("venue.appliance", "is missing; name this appliance in the venue (its hub user), such as \"north\", here or as the top-level appliance")
	}
	if len(v.URLs) == 0 {
		k.errf("venue.urls", "is missing; list the hub nodes' URLs, such as [\"nats://hub1:4222\", \"nats://hub2:4222\", \"nats://hub3:4222\"]")
	}
	seen := map[string]bool{}
	for i, u := range v.URLs {
		at := indexPath("venue.urls", i)
		p, err := url.Parse(u)
		switch {
		case err != nil || p.Host == "" || p.Port() == "":
			k.errf(at, "%q is not a hub URL; write one such as \"nats://hub1:4222\" (tls:// for TLS)", u)
		case p.Scheme != "nats" && p.Scheme != "tls":
			k.errf(at, "%q: the scheme is %q; use nats:// or tls://", u, p.Scheme)
		case p.User != nil:
			k.errf(at, "holds credentials; the password belongs in venue.password_file, not the URL")
		case seen[p.Host]:
			k.errf(at, "%q is listed twice", u)
		}
		if err == nil {
			seen[p.Host] = true
		}
	}
	if v.PasswordFile == "" {
		k.errf("venue.password_file", "is missing; name the file that holds this appliance's hub password (the hub's [[hub.appliances]] names the same secret)")
	}
	if (v.TLS.Cert == "") != (v.TLS.Key == "") {
		if v.TLS.Cert == "" {
			k.errf("venue.tls.key", "is set without venue.tls.cert; set both for a client certificate, or neither")
		} else {
			k.errf("venue.tls.cert", "is set without venue.tls.key; set both for a client certificate, or neither")
		}
	}
	if d := time.Duration(v.ClaimTimeout); d != 0 && (d < 10*time.Millisecond || d > 10*time.Second) {
		k.errf("venue.claim_timeout", "%s is out of range; use 10ms to 10s (unset: %s)", d, venue.DefaultClaimTimeout)
	}
	switch v.Replicas {
	case 0, 1, 3, 5:
	default:
		k.errf("venue.replicas", "%d is not a hub's replicas; use 3 for a hub of three nodes (unset: 3), 1 for a one-node trial hub", v.Replicas)
	}
	if d := time.Duration(v.StartWait); d < 0 || d > time.Hour {
		k.errf("venue.start_wait", "%s is out of range; use 0s to 1h (unset: %s)", d, venue.DefaultStartWait)
	}
}

// venueIDMessage is CheckApplianceID's refusal in words for the file.
func venueIDMessage(err error) string {
	msg := err.Error()
	if strings.Contains(msg, "administrator") {
		return msg + "; choose another id"
	}
	return msg + "; an appliance id is 1 to 64 of a-z A-Z 0-9 _ -"
}

// linkConfig is the venue link's configuration for this appliance.
func (c *Config) linkConfig() venue.LinkConfig {
	v := c.Venue
	lanes := make([]string, 0, len(c.Lanes))
	for i := range c.Lanes {
		lanes = append(lanes, c.Lanes[i].ID)
	}
	replicas := v.Replicas
	if replicas == 0 {
		replicas = defaultVenueReplicas
	}
	lc := venue.LinkConfig{Appliance: c.applianceID(), URLs: v.URLs, PasswordFile: v.PasswordFile,
		TLS:   venue.TLSFiles{CA: v.TLS.CA, Cert: v.TLS.Cert, Key: v.TLS.Key},
		Lanes: lanes, Version: version, ClaimTimeout: time.Duration(v.ClaimTimeout),
		Layout: venue.Layout{Replicas: replicas, Create: v.CreateBuckets}}
	if v.test != nil {
		v.test(&lc)
	}
	return lc
}

// venueTempDir is where import files are spooled on their way to and from
// the hub: on the data disk, the appliance's own.
func (c *Config) venueTempDir() (string, error) {
	dir := filepath.Join(c.DataDir, "venue-tmp")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", fmt.Errorf("admit: venue: %w", err)
	}
	return dir, nil
}

// venueChanged says, for the log, that a reload changed [venue], which
// changes only at a restart (the link, its id and its hub); "" when it did
// not. The lanes' venue keys do change at a reload.
func venueChanged(old, next *Config) string {
	a, b := old.Venue, next.Venue
	switch {
	case a == nil && b == nil:
		return ""
	case a == nil:
		return "reload: [venue] was added; this appliance joins the venue when admit restarts"
	case b == nil:
		return "reload: [venue] was removed; this appliance leaves the venue when admit restarts"
	}
	x, y := *a, *b
	x.test, y.test = nil, nil
	if !slices.Equal(x.URLs, y.URLs) || x.Appliance != y.Appliance || x.PasswordFile != y.PasswordFile || x.TLS != y.TLS ||
		x.ClaimTimeout != y.ClaimTimeout || x.Replicas != y.Replicas || x.CreateBuckets != y.CreateBuckets || x.StartWait != y.StartWait {
		return "reload: [venue] settings change only at restart (the link keeps its hub, id, password and timeouts); the lanes' offline and max_lag policies are reloaded"
	}
	return ""
}

// describeVenue says what [venue] makes of the appliance, for check-config.
func (c *Config) describeVenue() string {
	lc := c.linkConfig()
	lc.EnsureDefaults()
	create := "created by admit hub init"
	if lc.Layout.Create {
		create = "created by this appliance when missing"
	}
	tls := ""
	if c.Venue.TLS.CA != "" || c.Venue.TLS.Cert != "" {
		tls = ", TLS"
	}
	return fmt.Sprintf("venue: appliance %s, hub %s%s, buckets of %d replicas (%s), claim timeout %s",
		lc.Appliance, strings.Join(lc.URLs, " "), tls, lc.Layout.Replicas, create, lc.ClaimTimeout)
}

// describeVenue says the lane's venue policies, for check-config.
func (l *LaneConfig) describeVenue(inVenue bool) string {
	if !inVenue {
		return ""
	}
	s := "; offline " + l.offlinePolicy().String()
	if p := l.lagPolicy(); p.MaxLag > 0 {
		s += fmt.Sprintf(", max_lag %s (%s)", p.MaxLag, map[bool]string{true: "refuse", false: "warn"}[p.Refuse])
	}
	return s
}
