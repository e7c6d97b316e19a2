package venuetest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/admitgate/admit/internal/testkit"
	"github.com/admitgate/admit/venue/hubtest"
)

// WaitTimeout bounds every wait of the kit: a process's start and stop, a
// hub's readiness, an appliance's catch-up. A loaded two-core machine
// under the race detector takes seconds where an idle one takes
// milliseconds.
const WaitTimeout = 90 * time.Second

// DefaultAppliances are the appliances of a venue unless Options says.
var DefaultAppliances = []string{"north", "south"}

// Options shape a venue. Zero fields take the defaults stated beside them.
type Options struct {
	// Bin is the admit binary (testkit.BuildAdmit). Required.
	Bin string
	// Hubs is the hub's nodes: 1 (default) or 3.
	Hubs int
	// Appliances are the appliances' ids (default DefaultAppliances). The
	// hub has a user for each, and for each of Spare (appliances a test
	// starts later with AddAppliance).
	Appliances []string
	Spare      []string
	// Proxies puts a fault proxy between each appliance and each hub node
	// (Appliance.Cut and the like act on all of its proxies).
	Proxies bool
	// Config returns the configuration appliance id adds to its own
	// (lanes, events, providers); nil: DefaultLanes.
	Config func(id string) string
	// ClaimTimeout is every appliance's [venue] claim_timeout; default
	// "2s", which a loaded machine meets. Tests of the offline policy set
	// it short.
	ClaimTimeout string
	// StartWait is every appliance's [venue] start_wait (default "30s").
	StartWait string
	// LogLevel of every process (default "info").
	LogLevel string
}

// DefaultLanes is an appliance's configuration unless Options.Config says
// otherwise: the provider box-office and the event MATCH (open from an hour
// ago for a day), which every appliance publishes to the venue, and three
// lanes.
func DefaultLanes(id string) string {
	now := time.Now()
	return fmt.Sprintf(`
[[providers]]
id = "box-office"
[[events]]
id = "MATCH"
name = "The match"
opens_at = %s
closes_at = %s
[[lanes]]
id = "%[3]s-1"
offline = "deny"
[[lanes]]
id = "%[3]s-open"
offline = "admit"
[[lanes]]
id = "%[3]s-exit"
direction = "out"
`, now.Add(-time.Hour).UTC().Format(time.RFC3339), now.Add(24*time.Hour).UTC().Format(time.RFC3339), id)
}

// Venue is a running venue.
type Venue struct {
	t          testing.TB
	opts       Options
	dir        string
	hubs       []*Hub
	mu         sync.Mutex
	appliances map[string]*Appliance
	passwords  map[string]string // user -> password file
	// AdminSecret and ViewerSecret are every appliance's admin and viewer
	// tokens.
	AdminSecret, ViewerSecret string
}

// Start writes the hub's configuration, starts its nodes and waits until
// each is healthy, creates the venue's buckets (admit hub init), then
// starts the appliances and waits until each is ready (caught up).
func Start(t testing.TB, o Options) *Venue {
	t.Helper()
	if o.Bin == "" {
		t.Fatal("venuetest: Options.Bin is required")
	}
	if o.Hubs == 0 {
		o.Hubs = 1
	}
	if o.Hubs != 1 && o.Hubs != 3 {
		t.Fatalf("venuetest: %d hub nodes; 1 or 3", o.Hubs)
	}
	if o.Appliances == nil {
		o.Appliances = DefaultAppliances
	}
	if o.Config == nil {
		o.Config = DefaultLanes
	}
	if o.ClaimTimeout == "" {
		o.ClaimTimeout = "2s"
	}
	if o.StartWait == "" {
		o.StartWait = "30s"
	}
	if o.LogLevel == "" {
		o.LogLevel = "info"
	}
	v := &Venue{t: t, opts: o, dir: t.TempDir(), appliances: map[string]*Appliance{}, passwords: map[string]string{},
		AdminSecret: secret(), ViewerSecret: secret()}
	for _, u := range append(append([]string{"admin"}, o.Appliances...), o.Spare...) {
		p := filepath.Join(v.dir, u+".password")
		if err := os.WriteFile(p, []byte(secret()+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		v.passwords[u] = p
	}
	v.startHub()
	for _, id := range o.Appliances {
		v.AddAppliance(id)
	}
	return v
}

// secret is a random secret of 32 hex digits.
func secret() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// FreePorts returns n ports that were free a moment ago on 127.0.0.1.
func FreePorts(t testing.TB, n int) []int {
	t.Helper()
	var lns []net.Listener
	var ports []int
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	for _, ln := range lns {
		ln.Close()
	}
	return ports
}

func (v *Venue) startHub() {
	t := v.t
	n := v.opts.Hubs
	ports := FreePorts(t, 3*n)
	for i := range n {
		name := "hub" + strconv.Itoa(i+1)
		h := &Hub{v: v, Name: name, Dir: filepath.Join(v.dir, name),
			ClientURL:  "nats://127.0.0.1:" + strconv.Itoa(ports[3*i]),
			MetricsURL: "http://127.0.0.1:" + strconv.Itoa(ports[3*i+1])}
		var b strings.Builder
		fmt.Fprintf(&b, "[hub]\nname = %q\ndata_dir = %q\nlisten = \"127.0.0.1:%d\"\nmetrics_listen = \"127.0.0.1:%d\"\n"+
			"bcrypt_cost = 4\nready_timeout = \"2m\"\nshutdown_grace = \"30s\"\n", name, filepath.Join(h.Dir, "data"), ports[3*i], ports[3*i+1])
		if n > 1 {
			fmt.Fprintf(&b, "[hub.cluster]\nname = \"venuetest\"\nlisten = \"127.0.0.1:%d\"\nroutes = [", ports[3*i+2])
			for j := range n {
				if j > 0 {
					b.WriteString(", ")
				}
				fmt.Fprintf(&b, "\"nats-route://127.0.0.1:%d\"", ports[3*j+2])
			}
			b.WriteString("]\n")
		}
		fmt.Fprintf(&b, "[hub.admin]\npassword_file = %q\n", v.passwords["admin"])
		for _, id := range append(append([]string{}, v.opts.Appliances...), v.opts.Spare...) {
			fmt.Fprintf(&b, "[[hub.appliances]]\nid = %q\npassword_file = %q\n", id, v.passwords[id])
		}
		fmt.Fprintf(&b, "[log]\nformat = \"json\"\nlevel = %q\n", v.opts.LogLevel)
		if err := os.MkdirAll(h.Dir, 0o750); err != nil {
			t.Fatal(err)
		}
		h.ConfigPath = filepath.Join(h.Dir, "hub.toml")
		if err := os.WriteFile(h.ConfigPath, []byte(b.String()), 0o600); err != nil {
			t.Fatal(err)
		}
		v.hubs = append(v.hubs, h)
	}
	for _, h := range v.hubs { // together: a cluster needs a majority to be ready
		h.Start()
	}
	for _, h := range v.hubs {
		h.WaitHealthy()
	}
	out, err := exec.Command(v.opts.Bin, "hub", "init", "-config", v.hubs[0].ConfigPath, "-url", v.hubs[0].ClientURL,
		"-timeout", "60s").CombinedOutput()
	if err != nil {
		t.Fatalf("admit hub init: %v\n%s", err, out)
	}
}

// Hubs are the hub's nodes, in order.
func (v *Venue) Hubs() []*Hub { return v.hubs }

// Hub is node i.
func (v *Venue) Hub(i int) *Hub { return v.hubs[i] }

// HubURLs are the nodes' client URLs.
func (v *Venue) HubURLs() []string {
	var out []string
	for _, h := range v.hubs {
		out = append(out, h.ClientURL)
	}
	return out
}

// Leader is the running node that leads the redemptions (the node whose
// loss stalls claims until an election), as the nodes' metrics say; it
// waits for one, bounded.
func (v *Venue) Leader() *Hub {
	v.t.Helper()
	var leader *Hub
	testkit.WaitFor(v.t, WaitTimeout, "a leader of the redemptions", func() bool {
		for _, h := range v.hubs {
			if h.Running() && h.leads("KV_admit_redemptions") {
				leader = h
				return true
			}
		}
		return false
	})
	return leader
}

// Appliance returns the appliance id (nil when there is none).
func (v *Venue) Appliance(id string) *Appliance {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.appliances[id]
}

// Appliances are the venue's appliances, in the order they were added.
func (v *Venue) Appliances() []*Appliance {
	v.mu.Lock()
	defer v.mu.Unlock()
	out := make([]*Appliance, 0, len(v.appliances))
	for _, a := range v.appliances {
		out = append(out, a)
	}
	slicesSortByID(out)
	return out
}

// AddAppliance writes appliance id's configuration (one of Options'
// Appliances or Spare), starts it and waits until it is ready.
func (v *Venue) AddAppliance(id string) *Appliance {
	t := v.t
	t.Helper()
	pw, ok := v.passwords[id]
	if !ok {
		t.Fatalf("venuetest: the hub has no user %q; name it in Options.Appliances or Spare", id)
	}
	port := FreePorts(t, 1)[0]
	a := &Appliance{v: v, ID: id, Dir: filepath.Join(v.dir, "appliance-"+id), URL: "http://127.0.0.1:" + strconv.Itoa(port)}
	a.DataDir = filepath.Join(a.Dir, "data")
	urls := v.HubURLs()
	if v.opts.Proxies {
		for i, h := range v.hubs {
			p := hubtest.NewProxy(t, h.ClientURL)
			a.Proxies = append(a.Proxies, p)
			urls[i] = p.URL()
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "data_dir = %q\nappliance = %q\n[http]\nlisten = \"127.0.0.1:%d\"\n[log]\nformat = \"json\"\nlevel = %q\n",
		a.DataDir, id, port, v.opts.LogLevel)
	fmt.Fprintf(&b, "[[tokens]]\nname = \"ops\"\nrole = \"admin\"\nsecret = %q\n[[tokens]]\nname = \"board\"\nrole = \"viewer\"\nsecret = %q\n",
		v.AdminSecret, v.ViewerSecret)
	fmt.Fprintf(&b, "[venue]\nurls = [%s]\npassword_file = %q\nreplicas = %d\nclaim_timeout = %q\nstart_wait = %q\n",
		quoteList(urls), pw, v.opts.Hubs, v.opts.ClaimTimeout, v.opts.StartWait)
	b.WriteString(v.opts.Config(id))
	if err := os.MkdirAll(a.Dir, 0o750); err != nil {
		t.Fatal(err)
	}
	a.ConfigPath = filepath.Join(a.Dir, "admit.toml")
	if err := os.WriteFile(a.ConfigPath, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	v.mu.Lock()
	v.appliances[id] = a
	v.mu.Unlock()
	a.Start()
	a.WaitReady()
	return a
}

func quoteList(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}

// process is one admit process of the venue, restartable.
type process struct {
	mu   sync.Mutex
	cmd  *exec.Cmd
	out  *testkit.Buffer // its standard output and error, across restarts
	done chan struct{}   // closed when it exits
	err  error
}

func (p *process) start(t testing.TB, name string, args ...string) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		select {
		case <-p.done:
		default:
			t.Fatalf("venuetest: %s is running already", name)
		}
	}
	if p.out == nil {
		p.out = &testkit.Buffer{}
		t.Cleanup(func() {
			p.signal(syscall.SIGKILL)
			p.wait(WaitTimeout)
			if t.Failed() {
				t.Logf("%s's output:\n%s", name, tail(p.out.String(), 200))
			}
		})
	}
	fmt.Fprintf(p.out, "--- venuetest: %s starts: %s\n", name, strings.Join(args, " "))
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = p.out, p.out
	cmd.Env = os.Environ()
	if err := cmd.Start(); err != nil {
		t.Fatalf("venuetest: start %s: %v", name, err)
	}
	p.cmd, p.done = cmd, make(chan struct{})
	done := p.done
	go func() {
		err := cmd.Wait()
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		close(done)
	}()
}

// running says whether the process runs.
func (p *process) running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return false
	}
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

func (p *process) signal(sig syscall.Signal) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil && p.cmd.Process != nil {
		_ = p.cmd.Process.Signal(sig)
	}
}

// wait waits up to d for the process to exit; false when it did not.
func (p *process) wait(d time.Duration) bool {
	p.mu.Lock()
	done := p.done
	p.mu.Unlock()
	if done == nil {
		return true
	}
	select {
	case <-done:
		return true
	case <-time.After(d):
		return false
	}
}

// stop sends TERM and waits for the exit; kill sends SIGKILL.
func (p *process) stop(t testing.TB, name string) {
	t.Helper()
	p.signal(syscall.SIGTERM)
	if !p.wait(WaitTimeout) {
		p.signal(syscall.SIGKILL)
		t.Fatalf("venuetest: %s did not stop within %v of TERM", name, WaitTimeout)
	}
}

func (p *process) kill() {
	p.signal(syscall.SIGKILL)
	p.wait(WaitTimeout)
}

func tail(s string, lines int) string {
	ls := strings.Split(s, "\n")
	if len(ls) > lines {
		ls = ls[len(ls)-lines:]
	}
	return strings.Join(ls, "\n")
}
