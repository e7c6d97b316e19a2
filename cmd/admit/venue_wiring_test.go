package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/admitgate/admit/gate"
)

// TestVenueConfigChecks is the table of [venue] and the lanes' venue keys:
// each configuration's problems (errors and warnings, each at its key) or
// none, as the start, every reload and check-config see them.
func TestVenueConfigChecks(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "north.password")
	if err := os.WriteFile(pw, []byte("a-venue-password-0123\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const tokens = "[[tokens]]\nname = \"ops\"\nrole = \"admin\"\nsecret = \"0123456789abcdef\"\n"
	venue := func(extra string) string {
		return "[venue]\nurls = [\"nats://hub1:4222\"]\npassword_file = \"north.password\"\n" + extra
	}
	for _, tc := range []struct {
		name, src string
		want      []string // "key: message part"; "warning key: ..." for a warning; none: no problem
	}{
		{"a single appliance", `appliance = "north"`, nil},
		{"the lanes' venue keys without a venue", "[[lanes]]\nid = \"l1\"\noffline = \"admit\"\nmax_lag = \"1m\"\n",
			[]string{"warning lanes[0].offline: does nothing without [venue]", "warning lanes[0].max_lag: does nothing without [venue]"}},
		{"the id from the top level", "appliance = \"north\"\n" + venue(""), nil},
		{"the id in [venue]", venue("appliance = \"north\"\n"), nil},
		{"the same id in both", "appliance = \"north\"\n" + venue("appliance = \"north\"\n"), nil},
		{"two ids", "appliance = \"north\"\n" + venue("appliance = \"south\"\n"), []string{`venue.appliance: "south" is not the top-level appliance "north"`}},
		{"no id", venue(""), []string{"venue.appliance: is missing"}},
		{"a top-level id that is no venue id", "appliance = \"north.gate\"\n" + venue(""), []string{"appliance: appliance id \"north.gate\" may hold only letters, digits, _ and -"}},
		{"the admin's id", venue("appliance = \"admin\"\n"), []string{"venue.appliance: appliance id \"admin\" is the hub's administrator user; choose another id"}},
		{"no urls", "[venue]\nappliance = \"north\"\npassword_file = \"north.password\"\n", []string{"venue.urls: is missing"}},
		{"a url without a port", "[venue]\nappliance = \"north\"\nurls = [\"nats://hub1\"]\npassword_file = \"north.password\"\n", []string{`venue.urls[0]: "nats://hub1" is not a hub URL`}},
		{"tls urls and files", venue("appliance = \"north\"\n[venue.tls]\nca = \"north.password\"\n"), nil},
		{"no password file", "[venue]\nappliance = \"north\"\nurls = [\"nats://hub1:4222\"]\n", []string{"venue.password_file: is missing"}},
		{"a password file that is not there", "[venue]\nappliance = \"north\"\nurls = [\"nats://hub1:4222\"]\npassword_file = \"nope\"\n",
			[]string{"venue.password_file: " + filepath.Join(dir, "nope") + " does not exist"}},
		{"a key without its certificate", venue("appliance = \"north\"\n[venue.tls]\nkey = \"north.password\"\n"), []string{"venue.tls.key: is set without venue.tls.cert"}},
		{"timeouts and replicas", venue("appliance = \"north\"\nclaim_timeout = \"1m\"\nreplicas = 4\nstart_wait = \"-1s\"\n"),
			[]string{"venue.claim_timeout: 1m0s is out of range", "venue.replicas: 4 is not a hub's replicas", "venue.start_wait: -1s is out of range"}},
		{"a trial hub", venue("appliance = \"north\"\nreplicas = 1\ncreate_buckets = true\nclaim_timeout = \"400ms\"\n"), nil},
		{"lane policies", venue("appliance = \"north\"\n") + "[[lanes]]\nid = \"l1\"\noffline = \"admit\"\nmax_lag = \"2m\"\non_max_lag = \"warn\"\n[[lanes]]\nid = \"l2\"\noffline = \"deny\"\n", nil},
		{"bad lane policies", venue("appliance = \"north\"\n") + "[[lanes]]\nid = \"l1\"\noffline = \"open\"\nmax_lag = \"1s\"\non_max_lag = \"log\"\n[[lanes]]\nid = \"l2\"\non_max_lag = \"refuse\"\n",
			[]string{`lanes[0].offline: "open" is not an offline policy`, "lanes[0].max_lag: 1s is out of range", `lanes[0].on_max_lag: "log" is not what a lane does`,
				"warning lanes[1].on_max_lag: does nothing without max_lag"}},
		{"an unknown key", venue("appliance = \"north\"\nclaim_timeot = \"1s\"\n"), []string{"venue.claim_timeot: unknown key; did you mean claim_timeout?"}},
		{"a list for a table", "venue = [1]\n", []string{"venue: a list is a list, not a table"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, "admit.toml")
			if err := os.WriteFile(path, []byte(tc.src+"\n"+tokens), 0o600); err != nil {
				t.Fatal(err)
			}
			c, err := readConfigFile(t.Context(), path)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range c.serveProblems(refScope{file: true}) {
				s := p.Key + ": " + p.Msg
				if p.Warning {
					s = "warning " + s
				}
				got = append(got, s)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			for i, w := range tc.want {
				if !strings.HasPrefix(got[i], w) && !strings.Contains(got[i], w) {
					t.Errorf("problem %d is %q, want %q", i, got[i], w)
				}
			}
		})
	}
}

// TestVenueConfigMapping: what [venue] and the lanes' keys become — the
// appliance id everywhere (the store's, the link's), the link's settings
// with their defaults, the lanes' gate policies; and a lane's venue keys
// are policy, not hardware (SIGHUP changes them in place).
func TestVenueConfigMapping(t *testing.T) {
	src := `data_dir = "/tmp/x"
[venue]
appliance = "north"
urls = ["nats://hub1:4222", "tls://hub2:4222"]
password_file = "/etc/admit/venue.password"
[venue.tls]
ca = "/etc/admit/hub-ca.pem"
[[tokens]]
name = "ops"
role = "admin"
secret = "0123456789abcdef"
[[lanes]]
id = "n1"
offline = "admit"
max_lag = "90s"
[[lanes]]
id = "n2"
max_lag = "1m"
on_max_lag = "warn"
[[lanes]]
id = "n3"
`
	c, err := ParseConfig(strings.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	if id := c.indexOptions(testLogger()).Appliance; id != "north" || c.applianceID() != "north" {
		t.Errorf("the store's appliance %q", id)
	}
	lc := c.linkConfig()
	if lc.Appliance != "north" || len(lc.URLs) != 2 || lc.PasswordFile != "/etc/admit/venue.password" || lc.TLS.CA != "/etc/admit/hub-ca.pem" ||
		lc.Layout.Replicas != 3 || lc.Layout.Create || strings.Join(lc.Lanes, ",") != "n1,n2,n3" || lc.ClaimTimeout != 0 {
		t.Errorf("link config %+v", lc)
	}
	lc.EnsureDefaults()
	if lc.ClaimTimeout != 250*time.Millisecond {
		t.Errorf("claim timeout %v, want the default 250ms", lc.ClaimTimeout)
	}
	want := []struct {
		offline gate.OfflinePolicy
		lag     gate.LagPolicy
	}{{gate.OfflineAdmit, gate.LagPolicy{MaxLag: 90 * time.Second, Refuse: true}}, {gate.OfflineDeny, gate.LagPolicy{MaxLag: time.Minute}},
		{gate.OfflineDeny, gate.LagPolicy{Refuse: true}}}
	for i, w := range want {
		l := &c.Lanes[i]
		if l.policy().Offline != w.offline || l.lagPolicy() != w.lag {
			t.Errorf("lane %s: offline %v, lag %+v; want %v, %+v", l.ID, l.policy().Offline, l.lagPolicy(), w.offline, w.lag)
		}
	}
	a, b := c.Lanes[0], c.Lanes[0]
	b.Offline, b.MaxLag, b.OnMaxLag = "deny", 0, "warn"
	if a.hardwareKey() != b.hardwareKey() {
		t.Error("a lane's venue keys count as hardware: SIGHUP would not change them in place")
	}
	// In a venue each appliance exports its own uses, into files named by
	// it unless file_prefix says otherwise (venue_outbound.go).
	c.Exports = []ExportConfig{{Name: "secutix", Dir: "/srv/export"}, {Name: "csv", Dir: "/srv/export", FilePrefix: "gate"}}
	if ex, _ := c.outboundTargets(); ex[0].Prefix != "north-secutix" || ex[1].Prefix != "gate" {
		t.Errorf("export prefixes in a venue: %q, %q", ex[0].Prefix, ex[1].Prefix)
	}
	// Without [venue], the store keeps the top-level appliance, and an
	// export its own name.
	single, _ := ParseConfig(strings.NewReader("appliance = \"gate-7\"\n[[exports]]\nname = \"secutix\"\ndir = \"/srv/export\"\n"))
	if single.applianceID() != "gate-7" || single.Venue != nil {
		t.Errorf("a single appliance: %q, venue %+v", single.applianceID(), single.Venue)
	}
	if ex, _ := single.outboundTargets(); ex[0].Prefix != "" {
		t.Errorf("a single appliance's export prefix %q, want the default (its name)", ex[0].Prefix)
	}
}
