package venue_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/crypto/bcrypt"

	"github.com/admitgate/admit/venue"
)

// hubConfig is a one-node hub on a free port with appliances north and
// south, whose passwords it writes.
func hubConfig(t *testing.T) venue.HubConfig {
	t.Helper()
	dir := t.TempDir()
	write := func(name, secret string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(secret+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	return venue.HubConfig{
		Name:          "hub1",
		DataDir:       filepath.Join(dir, "data"),
		Listen:        "127.0.0.1:-1",
		MetricsListen: "127.0.0.1:0",
		BcryptCost:    bcrypt.MinCost,
		Admin:         venue.AdminUser{PasswordFile: write("admin.password", "admin-secret-0123456789")},
		Appliances: []venue.ApplianceUser{
			{ID: "north", PasswordFile: write("north.password", "north-secret-0123456789")},
			{ID: "south", PasswordFile: write("south.password", "south-secret-0123456789")},
		},
		ReadyTimeout: 30 * time.Second,
	}
}

func startHub(t *testing.T, cfg venue.HubConfig) *venue.Hub {
	t.Helper()
	h, err := venue.StartHub(cfg, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		h.Shutdown(ctx)
	})
	return h
}

// TestNATSConfig: the generated text is what the stock server's parser
// reads, with the settings the venue rests on, and no secret in it.
func TestNATSConfig(t *testing.T) {
	cfg := hubConfig(t)
	cfg.Cluster = venue.ClusterConfig{Listen: "127.0.0.1:6222", Routes: []string{"nats-route://10.0.0.2:6222", "nats-route://10.0.0.3:6222"}}
	text, err := cfg.NATSConfig()
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"admin-secret", "north-secret", "south-secret"} {
		if strings.Contains(text, secret) {
			t.Fatalf("the configuration holds the secret %s", secret)
		}
	}
	path := filepath.Join(t.TempDir(), "nats.conf")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	opts, err := server.ProcessConfigFile(path)
	if err != nil {
		t.Fatalf("the stock parser refuses the generated configuration: %v\n%s", err, text)
	}
	if !opts.SyncAlways || !opts.JetStream || opts.ServerName != "hub1" || !opts.Cluster.NoAdvertise ||
		opts.Cluster.Name != "admit" || len(opts.Routes) != 2 || opts.StoreDir != filepath.Join(cfg.DataDir, "jetstream") {
		t.Fatalf("options %+v", opts)
	}
	users := map[string]*server.User{}
	for _, u := range opts.Users {
		users[u.Username] = u
		if u.Account == nil || u.Account.Name != venue.Account {
			t.Errorf("user %s is not in the account %s", u.Username, venue.Account)
		}
		if !strings.HasPrefix(u.Password, "$2a$") {
			t.Errorf("user %s's password is not a bcrypt hash", u.Username)
		}
	}
	if len(users) != 3 || users["admin"].Permissions != nil {
		t.Fatalf("users %v; admin must have every permission", users)
	}
	north := users["north"].Permissions
	if north == nil || !containsStr(north.Publish.Allow, "admit.changes.north") || containsStr(north.Publish.Allow, "admit.changes.south") ||
		!containsStr(north.Publish.Allow, "$KV.admit_appliances.north") || !containsStr(north.Subscribe.Allow, "_INBOX_north.>") {
		t.Fatalf("north's permissions %+v", north)
	}
	if err := bcrypt.CompareHashAndPassword([]byte(users["north"].Password), []byte("north-secret-0123456789")); err != nil {
		t.Fatalf("north's hash does not match its password: %v", err)
	}
}

func containsStr(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestHubConfigValidate names every problem.
func TestHubConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*venue.HubConfig)
		want string
	}{
		{"no name", func(c *venue.HubConfig) { c.Name = "" }, "name is empty"},
		{"name with a dot", func(c *venue.HubConfig) { c.Name = "hub.1" }, `name "hub.1": may hold only`},
		{"no data dir", func(c *venue.HubConfig) { c.DataDir = "" }, "data_dir is empty"},
		{"quote in data dir", func(c *venue.HubConfig) { c.DataDir = `/tmp/"x` }, "data_dir"},
		{"bad listen", func(c *venue.HubConfig) { c.Listen = "4222" }, `listen "4222"`},
		{"routes without listen", func(c *venue.HubConfig) { c.Cluster.Routes = []string{"nats-route://h:6222"} }, "cluster.routes without cluster.listen"},
		{"cluster without routes", func(c *venue.HubConfig) { c.Cluster.Listen = ":6222" }, "cluster.routes is empty"},
		{"route with credentials", func(c *venue.HubConfig) {
			c.Cluster = venue.ClusterConfig{Listen: ":6222", Routes: []string{"nats-route://u:p@h:6222"}}
		}, "credentials in a route URL"},
		{"route scheme", func(c *venue.HubConfig) {
			c.Cluster = venue.ClusterConfig{Listen: ":6222", Routes: []string{"http://h:6222"}}
		}, `scheme "http"`},
		{"no admin password", func(c *venue.HubConfig) { c.Admin.PasswordFile = "" }, "admin.password_file is empty"},
		{"appliance id", func(c *venue.HubConfig) { c.Appliances[0].ID = "north.gate" }, `appliance id "north.gate"`},
		{"appliance twice", func(c *venue.HubConfig) { c.Appliances[1].ID = "north" }, `id "north" twice`},
		{"appliance named admin", func(c *venue.HubConfig) { c.Appliances[1].ID = "admin" }, `"admin" is the hub's administrator`},
		{"cert without key", func(c *venue.HubConfig) { c.TLS.Cert = "/etc/hub.pem" }, "tls.cert and tls.key go together"},
		{"verify without ca", func(c *venue.HubConfig) {
			c.TLS = venue.TLSFiles{Cert: "/c", Key: "/k", VerifyClients: true}
		}, "tls.verify_clients needs tls.ca"},
		{"bcrypt cost", func(c *venue.HubConfig) { c.BcryptCost = 30 }, "bcrypt_cost 30"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := hubConfig(t)
			tc.edit(&cfg)
			err := cfg.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate: %v, want %q", err, tc.want)
			}
		})
	}
	// Password files: missing, empty, short; a bcrypt hash is taken as it is.
	cfg := hubConfig(t)
	dir := t.TempDir()
	short := filepath.Join(dir, "short")
	os.WriteFile(short, []byte("abc\n"), 0o600)
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, []byte("\n"), 0o600)
	hash, _ := bcrypt.GenerateFromPassword([]byte("whatever"), bcrypt.MinCost)
	hashed := filepath.Join(dir, "hashed")
	os.WriteFile(hashed, hash, 0o600)
	for file, want := range map[string]string{
		filepath.Join(dir, "missing"): "no such file",
		short:                         "shorter than 16 bytes",
		empty:                         "is empty",
	} {
		c := cfg
		c.Appliances = []venue.ApplianceUser{{ID: "north", PasswordFile: file}}
		if _, err := c.NATSConfig(); err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "abc") {
			t.Errorf("password file %s: %v, want %q", filepath.Base(file), err, want)
		}
	}
	c := cfg
	c.Appliances = []venue.ApplianceUser{{ID: "north", PasswordFile: hashed}}
	text, err := c.NATSConfig()
	if err != nil || !strings.Contains(text, string(hash)) {
		t.Fatalf("a bcrypt hash in the password file: %v", err)
	}
}

// TestHubMetricsAndReload: /healthz and /metrics answer; a reload adds an
// appliance, which can then connect, and refuses a change that needs a
// restart.
func TestHubMetricsAndReload(t *testing.T) {
	cfg := hubConfig(t)
	h := startHub(t, cfg)
	base := "http://" + h.MetricsAddr().String()
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/healthz"); code != 200 || !strings.Contains(body, `"status":"ok"`) {
		t.Fatalf("/healthz: %d %s", code, body)
	}
	code, body := get("/metrics")
	for _, want := range []string{`admit_hub_info{cluster="",node="hub1",version="2.15.3"} 1`, "admit_hub_jetstream_up 1",
		"admit_hub_meta_leader 1", "admit_hub_connections 0", "go_goroutines"} {
		if code != 200 || !strings.Contains(body, want) {
			t.Fatalf("/metrics (%d) lacks %q:\n%s", code, want, body)
		}
	}

	// A new appliance connects after the reload, not before.
	dir := filepath.Dir(cfg.Admin.PasswordFile)
	doorFile := filepath.Join(dir, "door.password")
	os.WriteFile(doorFile, []byte("door-secret-0123456789"), 0o600)
	connect := func(user string) error {
		nc, err := nats.Connect(h.ClientURL(), nats.UserInfo(user, user+"-secret-0123456789"), nats.MaxReconnects(0))
		if err == nil {
			nc.Close()
		}
		return err
	}
	if err := connect("door"); err == nil {
		t.Fatal("door connected before it was configured")
	}
	// A connected appliance stays connected across the reload (its
	// password is hashed again with a new salt, and still matches).
	var dropped atomic.Bool
	north, err := nats.Connect(h.ClientURL(), nats.UserInfo("north", "north-secret-0123456789"),
		nats.DisconnectErrHandler(func(*nats.Conn, error) { dropped.Store(true) }))
	if err != nil {
		t.Fatal(err)
	}
	defer north.Close()
	next := h.Config()
	next.Appliances = append(next.Appliances, venue.ApplianceUser{ID: "door", PasswordFile: doorFile})
	if err := h.Reload(next); err != nil {
		t.Fatal(err)
	}
	if err := connect("door"); err != nil {
		t.Fatalf("door after the reload: %v", err)
	}
	if err := north.FlushTimeout(10 * time.Second); err != nil || dropped.Load() {
		t.Fatalf("north was dropped by the reload: %v", err)
	}
	moved := next
	moved.Listen = "127.0.0.1:4999"
	if err := h.Reload(moved); err == nil || !strings.Contains(err.Error(), "listen changes only at restart") {
		t.Fatalf("reload of the listener: %v", err)
	}
	text, _ := os.ReadFile(h.ConfigPath())
	if !strings.Contains(string(text), `user: "door"`) {
		t.Fatalf("the configuration file does not hold door after the reload")
	}
	// The stream metrics appear once the buckets exist.
	nc, err := nats.Connect(h.ClientURL(), nats.UserInfo("admin", "admin-secret-0123456789"))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := (venue.Layout{Replicas: 1, Create: true}).Ensure(ctx, js); err != nil {
		t.Fatal(err)
	}
	_, body = get("/metrics")
	for _, want := range []string{`admit_hub_stream_last_seq{stream="KV_admit_redemptions"} 0`,
		`admit_hub_stream_leader{stream="admit_changes"} 1`, "admit_hub_connections 2"} {
		if !strings.Contains(body, want) {
			t.Fatalf("/metrics lacks %q:\n%s", want, body)
		}
	}
	var health map[string]string
	_, body = get("/healthz")
	if err := json.Unmarshal([]byte(body), &health); err != nil || health["node"] != "hub1" {
		t.Fatalf("/healthz body %s", body)
	}
}

// TestStartHubFails: a node that cannot listen fails at once with the
// server's reason, not after its ready timeout.
func TestStartHubFails(t *testing.T) {
	first := startHub(t, hubConfig(t))
	cfg := hubConfig(t)
	cfg.Listen = strings.TrimPrefix(first.ClientURL(), "nats://")
	cfg.MetricsListen = ""
	start := time.Now()
	_, err := venue.StartHub(cfg, testLogger())
	if err == nil || time.Since(start) > 15*time.Second {
		t.Fatalf("a second node on a used port: %v after %s", err, time.Since(start))
	}
}
