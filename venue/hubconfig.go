package venue

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// DefaultAdminUser is the hub's administrator user, for admit hub init and
// monitoring.
const DefaultAdminUser = "admin"

// Defaults of [HubConfig].
const (
	DefaultHubListen    = "0.0.0.0:4222"
	DefaultReadyTimeout = 2 * time.Minute
	// DefaultBcryptCost is the cost of the password hashes the hub's
	// configuration holds; every connection pays one check at this cost.
	DefaultBcryptCost = bcrypt.DefaultCost
	// MinBcryptCost is the cheapest cost accepted: for tests, and for
	// checking a configuration whose hashes nobody will use.
	MinBcryptCost = bcrypt.MinCost
	// MinSecretLen is the shortest password a hub accepts in clear.
	MinSecretLen = 16
)

// HubConfig is one hub node. [HubConfig.NATSConfig] turns it into the
// nats-server configuration the node runs (and a stock nats-server can run).
// Zero fields take the defaults stated beside them.
type HubConfig struct {
	// Name is the node's server name, unique in the cluster. Required.
	Name string
	// DataDir holds the generated nats.conf and the JetStream store
	// (DataDir/jetstream). Required.
	DataDir string
	// Listen is the client address appliances connect to. Default
	// DefaultHubListen; port -1 picks a free port (tests).
	Listen string
	// Cluster joins the node to the other hub nodes; empty Listen: a
	// one-node hub (trials), whose buckets have one replica.
	Cluster ClusterConfig
	// Appliances are the appliances that may connect, each its own user.
	Appliances []ApplianceUser
	// Admin is the administrator: every permission in the account.
	Admin AdminUser
	// TLS, when Cert is set, serves the client listener over TLS, and with
	// CA the routes between nodes too (each verifying the other).
	TLS TLSFiles
	// MetricsListen serves /metrics and /healthz; empty: none.
	MetricsListen string
	// BcryptCost is the cost of the password hashes written into the
	// configuration, 4 to 14. Default DefaultBcryptCost.
	BcryptCost int
	// MaxFileStore caps JetStream's disk use in bytes; 0: the server's
	// default (most of the disk).
	MaxFileStore int64
	// ReadyTimeout bounds StartHub's wait for JetStream and, in a cluster,
	// a meta leader. Default DefaultReadyTimeout.
	ReadyTimeout time.Duration
}

// ClusterConfig is the node's cluster block.
type ClusterConfig struct {
	Name   string   // the cluster's name, the same on every node; default "admit"
	Listen string   // the route address; empty: no cluster
	Routes []string // the other nodes' route URLs, nats-route://host:6222 (may include this node)
}

// ApplianceUser is one appliance's hub user: its id and the file holding its
// password (in clear, at least MinSecretLen bytes, or a bcrypt hash of it).
type ApplianceUser struct {
	ID           string
	PasswordFile string
}

// AdminUser is the administrator's user and password file. User defaults to
// DefaultAdminUser.
type AdminUser struct {
	User         string
	PasswordFile string
}

// TLSFiles are PEM files.
type TLSFiles struct {
	Cert string
	Key  string
	CA   string
	// VerifyClients requires a client certificate signed by CA from every
	// connection (mutual TLS), besides the password.
	VerifyClients bool
}

// EnsureDefaults sets the defaults of zero fields.
func (c *HubConfig) EnsureDefaults() {
	if c.Listen == "" {
		c.Listen = DefaultHubListen
	}
	if c.Cluster.Listen != "" && c.Cluster.Name == "" {
		c.Cluster.Name = "admit"
	}
	if c.Admin.User == "" {
		c.Admin.User = DefaultAdminUser
	}
	if c.BcryptCost == 0 {
		c.BcryptCost = DefaultBcryptCost
	}
	if c.ReadyTimeout == 0 {
		c.ReadyTimeout = DefaultReadyTimeout
	}
}

// Clustered reports whether the node is one of a cluster.
func (c *HubConfig) Clustered() bool { return c.Cluster.Listen != "" }

// Replicas is how many replicas the venue's buckets have on this hub: 3 in a
// cluster (the documented setup), 1 on a one-node hub.
func (c *HubConfig) Replicas() int {
	if c.Clustered() {
		return 3
	}
	return 1
}

// Validate checks the configuration without reading files; it returns every
// problem, one a line, each naming its field. It applies the defaults first.
func (c *HubConfig) Validate() error {
	c.EnsureDefaults()
	var errs []string
	add := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	if c.Name == "" {
		add("name is empty")
	} else if err := checkToken(c.Name); err != nil {
		add("name %q: %v", c.Name, err)
	}
	if c.DataDir == "" {
		add("data_dir is empty")
	} else if err := checkConfString(c.DataDir); err != nil {
		add("data_dir: %v", err)
	}
	if err := checkHostPort(c.Listen); err != nil {
		add("listen %q: %v", c.Listen, err)
	}
	if c.MetricsListen != "" {
		if err := checkHostPort(c.MetricsListen); err != nil {
			add("metrics_listen %q: %v", c.MetricsListen, err)
		}
	}
	if c.Clustered() {
		if err := checkHostPort(c.Cluster.Listen); err != nil {
			add("cluster.listen %q: %v", c.Cluster.Listen, err)
		}
		if err := checkToken(c.Cluster.Name); err != nil {
			add("cluster.name %q: %v", c.Cluster.Name, err)
		}
		if len(c.Cluster.Routes) == 0 {
			add("cluster.routes is empty: name the other nodes (nats-route://host:6222)")
		}
		for _, r := range c.Cluster.Routes {
			if err := checkRoute(r); err != nil {
				add("cluster.routes %q: %v", r, err)
			}
		}
	} else if len(c.Cluster.Routes) > 0 {
		add("cluster.routes without cluster.listen")
	}
	if err := checkToken(c.Admin.User); err != nil {
		add("admin.user %q: %v", c.Admin.User, err)
	}
	if c.Admin.PasswordFile == "" {
		add("admin.password_file is empty")
	}
	seen := map[string]bool{}
	for i, a := range c.Appliances {
		if err := CheckApplianceID(a.ID); err != nil {
			add("appliances[%d]: %v", i, err)
		} else if a.ID == c.Admin.User {
			add("appliances[%d]: id %q is the admin user", i, a.ID)
		}
		if seen[a.ID] {
			add("appliances[%d]: id %q twice", i, a.ID)
		}
		seen[a.ID] = true
		if a.PasswordFile == "" {
			add("appliances[%d] %s: password_file is empty", i, a.ID)
		}
	}
	if (c.TLS.Cert == "") != (c.TLS.Key == "") {
		add("tls.cert and tls.key go together")
	}
	if c.TLS.VerifyClients && c.TLS.CA == "" {
		add("tls.verify_clients needs tls.ca")
	}
	if c.TLS.Cert == "" && c.TLS.CA != "" {
		add("tls.ca without tls.cert")
	}
	for _, f := range []string{c.TLS.Cert, c.TLS.Key, c.TLS.CA} {
		if err := checkConfString(f); err != nil {
			add("tls: %v", err)
		}
	}
	if c.BcryptCost < MinBcryptCost || c.BcryptCost > 14 {
		add("bcrypt_cost %d: between %d and 14", c.BcryptCost, MinBcryptCost)
	}
	if c.MaxFileStore < 0 {
		add("max_file_store is negative")
	}
	if c.ReadyTimeout < 0 {
		add("ready_timeout is negative")
	}
	if len(errs) > 0 {
		return errors.New("hub: " + strings.Join(errs, "\n"))
	}
	return nil
}

// NATSConfig validates the configuration, reads the password files and
// returns the nats-server configuration of the node: server name, client
// listener, JetStream (sync_interval always: the default syncs every two
// minutes and loses acknowledged writes), the cluster block without
// advertising (clients use only the URLs they are given), and the ADMIT
// account with the administrator and one user per appliance whose publish
// and subscribe permissions cover what an appliance does and nothing of
// another appliance (see [AppliancePermissions]).
//
// Passwords are written as bcrypt hashes, so the text holds no secret; a new
// salt each call, so two calls differ in their hashes only.
func (c *HubConfig) NATSConfig() (string, error) {
	if err := c.Validate(); err != nil {
		return "", err
	}
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("# Generated by admit hub from its configuration; do not edit: edit hub.toml.\n")
	w("# A stock nats-server (2.14 or later) runs this file as it is: nats-server -c nats.conf\n")
	w("server_name: %s\n", quote(c.Name))
	w("listen: %s\n", quote(c.Listen))
	w("\njetstream {\n")
	w("  store_dir: %s\n", quote(joinPath(c.DataDir, "jetstream")))
	w("  sync_interval: always\n")
	if c.MaxFileStore > 0 {
		w("  max_file_store: %d\n", c.MaxFileStore)
	}
	w("}\n")
	if c.TLS.Cert != "" {
		w("\ntls {\n")
		w("  cert_file: %s\n  key_file: %s\n", quote(c.TLS.Cert), quote(c.TLS.Key))
		if c.TLS.CA != "" {
			w("  ca_file: %s\n", quote(c.TLS.CA))
		}
		if c.TLS.VerifyClients {
			w("  verify: true\n")
		}
		w("}\n")
	}
	if c.Clustered() {
		w("\ncluster {\n")
		w("  name: %s\n", quote(c.Cluster.Name))
		w("  listen: %s\n", quote(c.Cluster.Listen))
		w("  no_advertise: true\n")
		w("  routes: [\n")
		for _, r := range c.Cluster.Routes {
			w("    %s\n", quote(r))
		}
		w("  ]\n")
		if c.TLS.Cert != "" && c.TLS.CA != "" {
			w("  tls {\n    cert_file: %s\n    key_file: %s\n    ca_file: %s\n    verify: true\n  }\n",
				quote(c.TLS.Cert), quote(c.TLS.Key), quote(c.TLS.CA))
		}
		w("}\n")
	}
	w("\naccounts {\n  %s {\n    jetstream: enabled\n    users: [\n", Account)
	hash, err := c.passwordHash(c.Admin.User, c.Admin.PasswordFile)
	if err != nil {
		return "", err
	}
	w("      { user: %s, password: %s }\n", quote(c.Admin.User), quote(hash))
	for _, a := range c.Appliances {
		hash, err := c.passwordHash(a.ID, a.PasswordFile)
		if err != nil {
			return "", err
		}
		p := AppliancePermissions(a.ID)
		w("      {\n        user: %s, password: %s\n        permissions: {\n", quote(a.ID), quote(hash))
		w("          publish: { allow: %s }\n", quoteList(p.Publish, "            "))
		w("          subscribe: { allow: %s }\n", quoteList(p.Subscribe, "            "))
		w("        }\n      }\n")
	}
	w("    ]\n  }\n}\n")
	return b.String(), nil
}

// passwordHash reads the password file of user and returns its bcrypt hash:
// the file's content when it is a hash already, else the hash of the secret.
func (c *HubConfig) passwordHash(user, file string) (string, error) {
	secret, err := ReadSecretFile(file)
	if err != nil {
		return "", fmt.Errorf("hub: user %s: %w", user, err)
	}
	if isBcrypt(secret) {
		if _, err := bcrypt.Cost([]byte(secret)); err != nil {
			return "", fmt.Errorf("hub: user %s: password_file holds a malformed bcrypt hash", user)
		}
		return secret, nil
	}
	if len(secret) < MinSecretLen {
		return "", fmt.Errorf("hub: user %s: the password in password_file is shorter than %d bytes", user, MinSecretLen)
	}
	h, err := bcrypt.GenerateFromPassword([]byte(secret), c.BcryptCost)
	if err != nil {
		return "", fmt.Errorf("hub: user %s: %w", user, err)
	}
	return string(h), nil
}

// ReadSecretFile reads a password file: its content without trailing white
// space. An empty file is an error; the error never holds the content.
func ReadSecretFile(path string) (string, error) {
	if path == "" {
		return "", errors.New("password_file is empty")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("password_file: %w", err)
	}
	s := strings.TrimRight(string(b), " \t\r\n")
	if s == "" {
		return "", fmt.Errorf("password_file %s is empty", path)
	}
	if strings.ContainsAny(s, "\r\n\x00") {
		return "", fmt.Errorf("password_file %s holds more than one line", path)
	}
	return s, nil
}

func isBcrypt(s string) bool {
	return strings.HasPrefix(s, "$2a$") || strings.HasPrefix(s, "$2b$") || strings.HasPrefix(s, "$2y$")
}

// Permissions are one user's allowed subjects.
type Permissions struct {
	Publish   []string
	Subscribe []string
}

// AppliancePermissions are appliance id's permissions at the hub. It may
// publish: the JetStream API calls on the venue's streams that read, create
// (never update, purge or delete, except the file store's purge of replaced
// chunks), consume and fetch; writes to any redemption and double-entry key;
// its own presence key only; its own change subjects only; the file store;
// acknowledgements and flow control of the venue's streams. It may
// subscribe to its own inboxes only. Everything else is refused by the
// server (a permissions violation), including another appliance's change
// subject and presence key.
func AppliancePermissions(id string) Permissions {
	streams := []string{kvStream(BucketRedemptions), kvStream(BucketAppliances), kvStream(BucketDoubleEntries),
		StreamChanges, objStream(BucketFiles)}
	pub := []string{"$JS.API.INFO"}
	for _, s := range streams {
		pub = append(pub,
			"$JS.API.STREAM.INFO."+s,
			"$JS.API.STREAM.CREATE."+s,
			"$JS.API.STREAM.MSG.GET."+s,
			"$JS.API.DIRECT.GET."+s,
			"$JS.API.DIRECT.GET."+s+".>",
			"$JS.API.CONSUMER.CREATE."+s,
			"$JS.API.CONSUMER.CREATE."+s+".>",
			"$JS.API.CONSUMER.DURABLE.CREATE."+s+".>",
			"$JS.API.CONSUMER.INFO."+s+".>",
			"$JS.API.CONSUMER.DELETE."+s+".>",
			"$JS.API.CONSUMER.MSG.NEXT."+s+".>",
			"$JS.ACK."+s+".>",
			"$JS.FC."+s+".>",
		)
	}
	pub = append(pub,
		"$JS.API.STREAM.PURGE."+objStream(BucketFiles),
		"$KV."+BucketRedemptions+".>",
		"$KV."+BucketDoubleEntries+".>",
		"$KV."+BucketAppliances+"."+id,
		ChangeSubject(id),
		ChangeSubject(id)+".>",
		"$O."+BucketFiles+".>",
	)
	return Permissions{Publish: pub, Subscribe: []string{inboxPrefix(id) + ".>"}}
}

// quote writes s as a nats-server configuration string. checkConfString
// keeps out what it cannot hold.
func quote(s string) string { return `"` + s + `"` }

func quoteList(items []string, indent string) string {
	var b strings.Builder
	b.WriteString("[\n")
	for _, it := range items {
		b.WriteString(indent + "  " + quote(it) + "\n")
	}
	b.WriteString(indent + "]")
	return b.String()
}

// checkConfString refuses what a quoted string of the nats-server
// configuration cannot carry as it is.
func checkConfString(s string) error {
	if strings.ContainsAny(s, "\"\\\n\r\x00") {
		return fmt.Errorf("%q holds a quote, backslash or line break", s)
	}
	return nil
}

// checkToken checks a name used as a server, cluster or user name.
func checkToken(s string) error {
	if s == "" {
		return errors.New("empty")
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return errors.New("may hold only letters, digits, _ and -")
		}
	}
	return nil
}

func checkHostPort(s string) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return err
	}
	if err := checkConfString(host); err != nil {
		return err
	}
	if p, err := strconv.Atoi(port); err != nil || p < -1 || p > 65535 {
		return fmt.Errorf("port %q", port)
	}
	return nil
}

func checkRoute(s string) error {
	if err := checkConfString(s); err != nil {
		return err
	}
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	switch u.Scheme {
	case "nats-route", "nats", "tls":
	default:
		return fmt.Errorf("scheme %q, wanted nats-route://", u.Scheme)
	}
	if u.User != nil {
		return errors.New("credentials in a route URL would be written to the configuration")
	}
	if _, _, err := net.SplitHostPort(u.Host); err != nil {
		return err
	}
	return nil
}

func joinPath(dir, name string) string {
	return strings.TrimRight(dir, "/") + "/" + name
}
