// Package hubtest runs real hub nodes (embedded nats-server with JetStream,
// from venue.StartHub) on 127.0.0.1 for tests: one node or a cluster of
// three, with the test appliances' users and passwords, leader lookup,
// stopping and restarting nodes, and a TCP fault proxy ([Proxy]) to put
// between an appliance and the hub. Everything is cleaned up by t.Cleanup;
// every wait is bounded.
//
// Its shape follows nats-server's own cluster tests
// (createJetStreamClusterExplicit, waitOnLeader), without their code.
package hubtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
	"golang.org/x/crypto/bcrypt"

	"github.com/admitgate/admit/venue"
)

// DefaultAppliances are the appliance ids a cluster has users for unless
// Options.Appliances says otherwise.
var DefaultAppliances = []string{"north", "south", "east", "west", "door"}

// WaitTimeout bounds every wait of the kit: a node's start, a leader
// election, a stop.
const WaitTimeout = 60 * time.Second

// Options shape a cluster. Zero fields take the defaults.
type Options struct {
	Nodes      int      // 1 or 3; default 1
	Appliances []string // default DefaultAppliances
	// Logger receives the nodes' logs; default: nothing unless
	// ADMIT_TEST_LOG is set.
	Logger *zerolog.Logger
}

// Cluster is a running hub of one or more nodes.
type Cluster struct {
	t     testing.TB
	dir   string
	log   zerolog.Logger
	nodes []*Node

	passwords map[string]string // user -> password in clear
	files     map[string]string // user -> password file
}

// Node is one hub node; Hub is nil while it is stopped.
type Node struct {
	Name        string
	cfg         venue.HubConfig
	clientPort  int
	clusterPort int

	mu  sync.Mutex
	hub *venue.Hub
}

// Hub is the node's running hub, nil when stopped.
func (n *Node) Hub() *venue.Hub {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.hub
}

// URL is the node's client URL; it stays the same across restarts.
func (n *Node) URL() string { return "nats://127.0.0.1:" + strconv.Itoa(n.clientPort) }

// Config is the node's hub configuration.
func (n *Node) Config() venue.HubConfig { return n.cfg }

// StartCluster starts a hub of n nodes (1 or 3) with users for
// DefaultAppliances and waits until it is ready.
func StartCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	return Start(t, Options{Nodes: n})
}

// Start starts a hub as opts say and waits until it is ready (every node up,
// a meta leader elected).
func Start(t testing.TB, opts Options) *Cluster {
	t.Helper()
	if opts.Nodes == 0 {
		opts.Nodes = 1
	}
	if opts.Appliances == nil {
		opts.Appliances = DefaultAppliances
	}
	c := &Cluster{t: t, dir: t.TempDir(), passwords: map[string]string{}, files: map[string]string{}}
	c.log = zerolog.Nop()
	if opts.Logger != nil {
		c.log = *opts.Logger
	} else if os.Getenv("ADMIT_TEST_LOG") != "" {
		c.log = zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr}).Level(zerolog.InfoLevel).With().Timestamp().Logger()
	}
	users := append([]string{venue.DefaultAdminUser}, opts.Appliances...)
	for _, u := range users {
		var b [16]byte
		_, _ = rand.Read(b[:])
		c.passwords[u] = hex.EncodeToString(b[:])
		c.files[u] = filepath.Join(c.dir, u+".password")
		if err := os.WriteFile(c.files[u], []byte(c.passwords[u]+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var clusterPorts []int
	if opts.Nodes > 1 {
		clusterPorts = freePorts(t, opts.Nodes)
	}
	for i := range opts.Nodes {
		name := fmt.Sprintf("hub%d", i+1)
		cfg := venue.HubConfig{
			Name:       name,
			DataDir:    filepath.Join(c.dir, name),
			Listen:     "127.0.0.1:-1",
			Admin:      venue.AdminUser{PasswordFile: c.files[venue.DefaultAdminUser]},
			BcryptCost: bcrypt.MinCost,
			// Under -race on a loaded machine elections take seconds.
			ReadyTimeout: WaitTimeout,
		}
		for _, a := range opts.Appliances {
			cfg.Appliances = append(cfg.Appliances, venue.ApplianceUser{ID: a, PasswordFile: c.files[a]})
		}
		if opts.Nodes > 1 {
			cfg.Cluster = venue.ClusterConfig{Name: "hubtest", Listen: "127.0.0.1:" + strconv.Itoa(clusterPorts[i])}
			for j, p := range clusterPorts {
				if j != i {
					cfg.Cluster.Routes = append(cfg.Cluster.Routes, "nats-route://127.0.0.1:"+strconv.Itoa(p))
				}
			}
		}
		node := &Node{Name: name, cfg: cfg}
		if opts.Nodes > 1 {
			node.clusterPort = clusterPorts[i]
		}
		c.nodes = append(c.nodes, node)
	}
	t.Cleanup(c.shutdown)
	// The nodes start together: each waits for a meta leader, which needs
	// a majority of them.
	errs := make([]error, len(c.nodes))
	var wg sync.WaitGroup
	for i, n := range c.nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = c.start(n)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatalf("hubtest: %v", err)
		}
	}
	c.WaitLeader()
	return c
}

func (c *Cluster) start(n *Node) error {
	cfg := n.cfg
	if n.clientPort != 0 {
		cfg.Listen = "127.0.0.1:" + strconv.Itoa(n.clientPort)
	}
	h, err := venue.StartHub(cfg, c.log.With().Str("node", n.Name).Logger())
	if err != nil {
		return err
	}
	n.mu.Lock()
	n.hub = h
	if n.clientPort == 0 {
		n.clientPort = h.Server().Addr().(*net.TCPAddr).Port
	}
	n.mu.Unlock()
	return nil
}

// freePorts finds n free TCP ports on 127.0.0.1 for the route listeners,
// which every node must know before any starts.
func freePorts(t testing.TB, n int) []int {
	t.Helper()
	var ls []net.Listener
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	return ports
}

func (c *Cluster) shutdown() {
	for _, n := range c.nodes {
		c.stop(n)
	}
}

func (c *Cluster) stop(n *Node) {
	n.mu.Lock()
	h := n.hub
	n.hub = nil
	n.mu.Unlock()
	if h == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), WaitTimeout)
	defer cancel()
	if err := h.Shutdown(ctx); err != nil {
		c.t.Errorf("hubtest: stop %s: %v", n.Name, err)
	}
}

// Nodes are the cluster's nodes, in order.
func (c *Cluster) Nodes() []*Node { return c.nodes }

// Node returns node i.
func (c *Cluster) Node(i int) *Node { return c.nodes[i] }

// URLs are the client URLs of every node, in order.
func (c *Cluster) URLs() []string {
	var out []string
	for _, n := range c.nodes {
		out = append(out, n.URL())
	}
	return out
}

// Replicas is the replicas the venue's buckets have on this hub.
func (c *Cluster) Replicas() int {
	if len(c.nodes) > 1 {
		return 3
	}
	return 1
}

// Password is user's password in clear; PasswordFile the file that holds
// it. The admin user is venue.DefaultAdminUser.
func (c *Cluster) Password(user string) string { return c.passwords[user] }

// PasswordFile is the file holding user's password.
func (c *Cluster) PasswordFile(user string) string {
	f, ok := c.files[user]
	if !ok {
		c.t.Fatalf("hubtest: no user %q", user)
	}
	return f
}

// LinkConfig is a link configuration for appliance id through urls (default
// every node's URL), with the test's short intervals, creating the buckets
// when missing.
func (c *Cluster) LinkConfig(id string, urls ...string) venue.LinkConfig {
	if len(urls) == 0 {
		urls = c.URLs()
	}
	return venue.LinkConfig{
		Appliance:        id,
		URLs:             urls,
		PasswordFile:     c.PasswordFile(id),
		Layout:           venue.Layout{Replicas: c.Replicas(), Create: true},
		ConnectTimeout:   20 * time.Second,
		ClaimTimeout:     5 * time.Second,
		PingInterval:     500 * time.Millisecond,
		ReconnectWait:    20 * time.Millisecond,
		MaxReconnectWait: 250 * time.Millisecond,
		Heartbeat:        500 * time.Millisecond,
		Lanes:            []string{id + "-1"},
		Version:          "test",
	}
}

// Admin connects as the administrator to every node's URL; the connection
// is closed at cleanup.
func (c *Cluster) Admin() (*nats.Conn, jetstream.JetStream) {
	c.t.Helper()
	nc, err := nats.Connect(joinURLs(c.URLs()), nats.UserInfo(venue.DefaultAdminUser, c.passwords[venue.DefaultAdminUser]),
		nats.MaxReconnects(-1), nats.ReconnectWait(20*time.Millisecond), nats.IgnoreDiscoveredServers())
	if err != nil {
		c.t.Fatalf("hubtest: admin connect: %v", err)
	}
	c.t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		c.t.Fatal(err)
	}
	return nc, js
}

// Init creates the venue's buckets as admit hub init does.
func (c *Cluster) Init() {
	c.t.Helper()
	_, js := c.Admin()
	ctx, cancel := context.WithTimeout(context.Background(), WaitTimeout)
	defer cancel()
	if _, err := (venue.Layout{Replicas: c.Replicas(), Create: true}).Ensure(ctx, js); err != nil {
		c.t.Fatalf("hubtest: init: %v", err)
	}
}

func joinURLs(urls []string) string {
	s := ""
	for i, u := range urls {
		if i > 0 {
			s += ","
		}
		s += u
	}
	return s
}

// WaitLeader waits until every running node knows one and the same meta
// leader, and returns it.
func (c *Cluster) WaitLeader() *Node {
	c.t.Helper()
	var last string
	deadline := time.Now().Add(WaitTimeout)
	for time.Now().Before(deadline) {
		leader, agreed := "", true
		for _, n := range c.nodes {
			h := n.Hub()
			if h == nil {
				continue
			}
			l := h.MetaLeader()
			if l == "" || (leader != "" && l != leader) {
				agreed = false
				break
			}
			leader = l
		}
		last = leader
		if agreed && leader != "" {
			for _, n := range c.nodes {
				if n.Name == leader && n.Hub() != nil {
					return n
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.t.Fatalf("hubtest: no agreed meta leader within %s (last seen %q)", WaitTimeout, last)
	return nil
}

// Leader is the meta leader (waiting for one, bounded).
func (c *Cluster) Leader() *Node { return c.WaitLeader() }

// StreamLeader waits until a running node leads stream (of the venue's
// account) and returns it: the node whose loss stalls the stream's writes.
func (c *Cluster) StreamLeader(stream string) *Node {
	c.t.Helper()
	deadline := time.Now().Add(WaitTimeout)
	for time.Now().Before(deadline) {
		for _, n := range c.nodes {
			if h := n.Hub(); h != nil && h.IsStreamLeader(stream) {
				return n
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.t.Fatalf("hubtest: no leader for stream %s within %s", stream, WaitTimeout)
	return nil
}

// StopNode stops node i (a clean shutdown; its data stays on disk).
func (c *Cluster) StopNode(i int) { c.stop(c.nodes[i]) }

// RestartNode starts node i again on its ports and data, and waits until it
// is ready.
func (c *Cluster) RestartNode(i int) {
	c.t.Helper()
	if err := c.start(c.nodes[i]); err != nil {
		c.t.Fatalf("hubtest: restart %s: %v", c.nodes[i].Name, err)
	}
}

// KillLeader stops the meta leader and returns its index; with stream set,
// the leader of that stream instead.
func (c *Cluster) KillLeader(stream ...string) int {
	c.t.Helper()
	var n *Node
	if len(stream) > 0 {
		n = c.StreamLeader(stream[0])
	} else {
		n = c.WaitLeader()
	}
	i := slices.Index(c.nodes, n)
	c.stop(n)
	return i
}
