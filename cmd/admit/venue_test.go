package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/httpapi"
	"github.com/admitgate/admit/internal/testkit"
	"github.com/admitgate/admit/outbound"
	"github.com/admitgate/admit/venue"
	"github.com/admitgate/admit/venue/hubtest"
)

// venueWait bounds every wait of the venue tests: a loaded two-core machine
// under -race takes seconds where an idle one takes milliseconds.
const venueWait = 30 * time.Second

// venueAppliance is one appliance of a test venue, run in process.
type venueAppliance struct {
	t    *testing.T
	id   string
	d    *Daemon
	api  apiClient
	stop func()
}

// venueOptions shape a test appliance; zero fields take the defaults.
type venueOptions struct {
	urls         []string // the hub's URLs it uses (default: every node's)
	claimTimeout string   // default 5s: a loaded machine must not make claims offline
	startWait    string   // default 20s
	offline      string   // the -1 lane's offline policy (default deny)
	extra        string   // TOML added at the end (more lanes)
}

// venueConfig is appliance id's configuration in the venue of hub.
func venueConfig(t testing.TB, hub *hubtest.Cluster, id string, o venueOptions) *Config {
	t.Helper()
	if o.urls == nil {
		o.urls = hub.URLs()
	}
	if o.claimTimeout == "" {
		o.claimTimeout = "5s"
	}
	if o.startWait == "" {
		o.startWait = "20s"
	}
	if o.offline == "" {
		o.offline = "deny"
	}
	v := configValues(t.TempDir())
	v["Appliance"], v["Listen"], v["URLs"], v["PasswordFile"] = id, "127.0.0.1:0", o.urls, hub.PasswordFile(id)
	v["ClaimTimeout"], v["StartWait"], v["Extra"], v["Offline"] = o.claimTimeout, o.startWait, o.extra, o.offline
	// Written and read as admit serve reads it: files named in it (a
	// webhook's secret) are read relative to it.
	path := filepath.Join(t.TempDir(), "admit.toml")
	if err := os.WriteFile(path, []byte(testkit.Template(t, "testdata/daemon/venue.toml", v)), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := ReadConfigFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.checkServe(); err != nil {
		t.Fatal(err)
	}
	c.Venue.test = func(lc *venue.LinkConfig) {
		lc.ConnectTimeout = 3 * time.Second
		lc.PingInterval = 500 * time.Millisecond
		lc.ReconnectWait, lc.MaxReconnectWait = 20*time.Millisecond, 250*time.Millisecond
		lc.Heartbeat = 500 * time.Millisecond
	}
	return c
}

// startVenueAppliance opens appliance id in process; it is closed when the
// test ends (or by stop).
func startVenueAppliance(t *testing.T, hub *hubtest.Cluster, id string, o venueOptions) *venueAppliance {
	t.Helper()
	c := venueConfig(t, hub, id, o)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := &venueAppliance{t: t, id: id, d: &Daemon{Config: c, Logger: testLogger(), Listener: ln}}
	if err := a.d.Open(t.Context()); err != nil {
		t.Fatal(err)
	}
	a.api = apiClient{t, "http://" + a.d.Addr().String()}
	closed := false
	a.stop = func() {
		if closed {
			return
		}
		closed = true
		ctx, cancel := context.WithTimeout(context.Background(), venueWait)
		defer cancel()
		if err := a.d.Close(ctx); err != nil {
			t.Errorf("%s: close: %v", id, err)
		}
	}
	t.Cleanup(a.stop)
	return a
}

func (a *venueAppliance) scan(barcode, lane string) gate.Decision {
	a.t.Helper()
	var d gate.Decision
	a.api.must(200, "POST", "/v1/scan", adminSecret, scanBody(barcode, lane)).decode(a.t, &d)
	return d
}

func (a *venueAppliance) check(barcode, lane string) gate.Decision {
	a.t.Helper()
	var d gate.Decision
	a.api.must(200, "POST", "/v1/check", adminSecret, scanBody(barcode, lane)).decode(a.t, &d)
	return d
}

// waitCheck waits until a check of barcode at lane answers reason.
func (a *venueAppliance) waitCheck(barcode, lane string, reason gate.Reason) {
	a.t.Helper()
	testkit.WaitFor(a.t, venueWait, a.id+": "+barcode+" "+reason.String(), func() bool { return a.check(barcode, lane).Reason == reason })
}

func (a *venueAppliance) venue() httpapi.VenueStatus {
	a.t.Helper()
	var st httpapi.VenueStatus
	a.api.must(200, "GET", "/v1/venue", viewerSecret, nil).decode(a.t, &st)
	return st
}

func (a *venueAppliance) lane(id string) gate.LaneStatus {
	a.t.Helper()
	var r httpapi.LanesResponse
	a.api.must(200, "GET", "/v1/lanes", viewerSecret, nil).decode(a.t, &r)
	for _, l := range r.Lanes {
		if l.ID == id {
			return l
		}
	}
	a.t.Fatalf("%s: no lane %s in %+v", a.id, id, r.Lanes)
	return gate.LaneStatus{}
}

// metric is the value of an unlabelled series on /metrics ("" when absent).
func (a *venueAppliance) metric(name string) string {
	a.t.Helper()
	return sampleValue(parseExposition(a.t, a.api.must(200, "GET", "/metrics", "", nil).body), name, "")
}

// has says whether the appliance's store knows barcode.
func (a *venueAppliance) has(barcode string) bool {
	return a.api.do("GET", "/v1/tickets/"+barcode, viewerSecret, nil).status == 200
}

// waitCatalog waits until the configuration's provider and event, which
// the appliances publish through the hub, are in a's store.
func (a *venueAppliance) waitCatalog() {
	a.t.Helper()
	testkit.WaitFor(a.t, venueWait, a.id+" has the venue's provider and event", func() bool {
		var evs httpapi.EventsResponse
		var provs httpapi.ProvidersResponse
		a.api.must(200, "GET", "/v1/events", viewerSecret, nil).decode(a.t, &evs)
		a.api.must(200, "GET", "/v1/providers", viewerSecret, nil).decode(a.t, &provs)
		return len(evs.Events) == 1 && len(provs.Providers) == 1
	})
}

// importLines imports barcodes for MATCH at a, through the hub.
func (a *venueAppliance) importLines(barcodes ...string) {
	a.t.Helper()
	var r httpapi.ImportResponse
	a.api.must(200, "POST", "/v1/imports?provider=box-office&event=MATCH&format=lines", adminSecret,
		strings.Join(barcodes, "\n")+"\n").decode(a.t, &r)
	if r.Added != len(barcodes) || !r.Applied {
		a.t.Fatalf("%s: import %+v", a.id, r)
	}
}

// startVenue starts a one-node hub, creates its buckets as admit hub init
// does, and opens the appliances given, each with its options.
func startVenue(t *testing.T, ids ...string) (*hubtest.Cluster, map[string]*venueAppliance) {
	t.Helper()
	hub := hubtest.StartCluster(t, 1)
	hub.Init()
	apps := map[string]*venueAppliance{}
	for _, id := range ids {
		apps[id] = startVenueAppliance(t, hub, id, venueOptions{})
	}
	return hub, apps
}

// TestVenueTwoAppliances runs two appliances in process sharing a one-node
// hub: the configuration's catalog reaches both through the hub, an
// import made at north reaches south, a ticket admitted at north is
// refused at south as already used from south's own store (learned, not
// claimed), a cancel at north is applied at south, and each sees both in
// GET /v1/venue, its lanes online, /metrics connected.
func TestVenueTwoAppliances(t *testing.T) {
	_, apps := startVenue(t, "north", "south")
	north, south := apps["north"], apps["south"]
	north.waitCatalog()
	south.waitCatalog()

	north.importLines("V-1", "V-2", "V-3")
	testkit.WaitFor(t, venueWait, "the import at south", func() bool { return south.has("V-3") })

	if d := north.scan("V-1", "north-1"); !d.Admit || d.Reason != gate.ReasonOK || d.Offline {
		t.Fatalf("north admits V-1: %+v", d)
	}
	testkit.WaitFor(t, venueWait, "south learns V-1's use", func() bool {
		return south.check("V-1", "south-1").Reason == gate.ReasonAlreadyUsed
	})
	lostBefore := south.venue().Redemptions.Lost
	d := south.scan("V-1", "south-1")
	if d.Admit || d.Reason != gate.ReasonAlreadyUsed || d.FirstUsed == nil || d.FirstUsed.Appliance != "north" || d.FirstUsed.Lane != "north-1" {
		t.Fatalf("south on V-1: %+v (first used %+v)", d, d.FirstUsed)
	}
	if st := south.venue(); st.Redemptions.Lost != lostBefore {
		t.Errorf("south claimed V-1 at the hub (claims lost %d -> %d): it should have refused it from its own store", lostBefore, st.Redemptions.Lost)
	}

	north.api.must(200, "POST", "/v1/tickets/V-2/cancel", adminSecret, nil)
	testkit.WaitFor(t, venueWait, "the cancel at south", func() bool {
		return strings.Contains(string(south.api.must(200, "GET", "/v1/tickets/V-2", viewerSecret, nil).body), `"state":"cancelled"`)
	})
	if d := south.scan("V-2", "south-1"); d.Admit || d.Reason != gate.ReasonCancelled {
		t.Fatalf("south on the cancelled V-2: %+v", d)
	}
	if d := south.scan("V-3", "south-1"); !d.Admit {
		t.Fatalf("south on V-3: %+v", d)
	}

	for _, a := range []*venueAppliance{north, south} {
		var st httpapi.VenueStatus
		testkit.WaitFor(t, venueWait, a.id+" sees both appliances up", func() bool {
			st = a.venue()
			up := map[string]bool{}
			for _, x := range st.Appliances {
				up[x.ID] = x.Up
			}
			return len(st.Appliances) == 2 && up["north"] && up["south"]
		})
		if st.Appliance != a.id || !st.Link.HubReachable || st.Link.State != venue.StateUp || !st.Hub.Reachable || st.Hub.Leader != "hub1" ||
			st.Changes.State != "current" || st.Changes.Applied == 0 || st.Redemptions.Failing != "" {
			t.Errorf("%s: /v1/venue %+v", a.id, st)
		}
		if l := a.lane(a.id + "-1"); l.Venue == nil || l.Venue.State != gate.LaneOnline || l.Venue.Offline != gate.OfflineDeny {
			t.Errorf("%s: lane %+v venue %+v", a.id, l, l.Venue)
		}
		if v := a.metric("admit_venue_hub_connected"); v != "1" {
			t.Errorf("%s: admit_venue_hub_connected %q", a.id, v)
		}
		a.api.must(200, "GET", "/readyz", "", nil)
	}
	var session httpapi.SessionResponse
	north.api.must(200, "GET", "/v1/session", viewerSecret, nil).decode(t, &session)
	if session.Venue != "north" {
		t.Errorf("session %+v", session)
	}
}

// TestVenueHubCut cuts north's link to the hub (a fault proxy between
// them): each lane follows its offline policy, /v1/venue, /v1/lanes and
// /metrics say the hub is unreachable, readiness stays (the lanes run on
// their policy); a ticket south admitted meanwhile and north admitted
// offline is one double entry once the link heals and north replays, seen
// from both appliances. Then a third appliance starting while its own link
// is cut is not ready and refuses admissions (catching up), and opens once
// the hub answers.
func TestVenueHubCut(t *testing.T) {
	hub := hubtest.StartCluster(t, 1)
	hub.Init()
	proxy := hubtest.NewProxy(t, hub.Node(0).URL())
	lagLanes := `
[[lanes]]
id = "north-lag"
offline = "admit"
max_lag = "5s"
[[lanes]]
id = "north-lag-warn"
offline = "admit"
max_lag = "5s"
on_max_lag = "warn"
`
	north := startVenueAppliance(t, hub, "north", venueOptions{urls: []string{proxy.URL()}, claimTimeout: "1s", extra: lagLanes})
	south := startVenueAppliance(t, hub, "south", venueOptions{})
	north.waitCatalog()
	south.waitCatalog()
	north.importLines("C-1", "C-2", "C-3", "C-4")
	testkit.WaitFor(t, venueWait, "the import at south", func() bool { return south.has("C-4") })
	if d := north.scan("C-1", "north-1"); !d.Admit || d.Offline {
		t.Fatalf("north online: %+v", d)
	}

	proxy.Cut()
	testkit.WaitFor(t, venueWait, "north sees the hub unreachable", func() bool {
		return !north.venue().Link.HubReachable && north.metric("admit_venue_hub_connected") == "0"
	})
	st := north.venue()
	if st.Hub.Reachable || st.Hub.Error == "" || st.Link.State == venue.StateUp {
		t.Errorf("north's venue while cut: link %+v hub %+v", st.Link, st.Hub)
	}
	if l := north.lane("north-1"); l.Venue == nil || l.Venue.State != gate.LaneOffline || !strings.Contains(l.Venue.Detail, "refused") {
		t.Errorf("north-1 while cut: %+v", l.Venue)
	}
	if l := north.lane("north-open"); l.Venue == nil || l.Venue.State != gate.LaneOffline || l.Venue.Offline != gate.OfflineAdmit {
		t.Errorf("north-open while cut: %+v", l.Venue)
	}
	if d := north.scan("C-2", "north-1"); d.Admit || d.Reason != gate.ReasonOffline || !d.Offline {
		t.Errorf("north-1 (offline = deny) while cut: %+v", d)
	}
	if d := south.scan("C-3", "south-1"); !d.Admit || d.Offline {
		t.Fatalf("south online while north is cut: %+v", d)
	}
	if d := north.scan("C-3", "north-open"); !d.Admit || d.Reason != gate.ReasonOK || !d.Offline {
		t.Fatalf("north-open (offline = admit) while cut: %+v", d)
	}
	if d := north.scan("C-4", "north-open"); !d.Admit || !d.Offline {
		t.Fatalf("north-open on C-4 while cut: %+v", d)
	}
	if st := north.venue(); st.Offline.Waiting != 2 {
		t.Errorf("north's offline admissions waiting: %+v", st.Offline)
	}
	if v := north.metric("admit_venue_offline_waiting"); v != "2" {
		t.Errorf("admit_venue_offline_waiting %q", v)
	}
	north.api.must(200, "GET", "/readyz", "", nil)
	// An admin change needs the hub: refused, nothing half-done; the
	// double entries are kept there.
	north.api.must(503, "POST", "/v1/tickets/C-4/cancel", adminSecret, nil)
	north.api.must(503, "GET", "/v1/venue/double-entries", viewerSecret, nil)

	// The data ages while the hub is away: past max_lag the lane refuses
	// (stale_data), or only says so (warn).
	testkit.WaitFor(t, venueWait, "north-lag's data past its max_lag", func() bool {
		l := north.lane("north-lag")
		return l.Venue != nil && l.Venue.State == gate.LaneStaleData
	})
	if d := north.scan("C-2", "north-lag"); d.Admit || d.Reason != gate.ReasonStaleData || !strings.Contains(d.Detail, "the lane allows 5s") {
		t.Errorf("north-lag past its max_lag: %+v", d)
	}
	if l := north.lane("north-lag-warn"); l.Venue == nil || l.Venue.State != gate.LaneOffline || !strings.Contains(l.Venue.Detail, "on_max_lag = warn") {
		t.Errorf("north-lag-warn past its max_lag: %+v", l.Venue)
	}
	if d := north.check("C-2", "north-lag-warn"); d.Reason != gate.ReasonOK {
		t.Errorf("north-lag-warn (on_max_lag = warn) past its max_lag: %+v", d)
	}
	if d := north.scan("C-2", "north-exit"); d.Reason == gate.ReasonStaleData {
		t.Errorf("an exit held back by the data's age: %+v", d)
	}

	// SIGHUP changes a lane's offline policy at once.
	next := venueConfig(t, hub, "north", venueOptions{urls: []string{proxy.URL()}, claimTimeout: "1s", extra: lagLanes, offline: "admit"})
	next.DataDir = north.d.Config.DataDir
	if err := north.d.Reload(t.Context(), next); err != nil {
		t.Fatal(err)
	}
	if l := north.lane("north-1"); l.Venue == nil || l.Venue.Offline != gate.OfflineAdmit {
		t.Errorf("north-1 after the reload: %+v", l.Venue)
	}
	if d := north.scan("C-2", "north-1"); !d.Admit || d.Reason != gate.ReasonOK || !d.Offline {
		t.Errorf("north-1 (offline = admit after the reload) while cut: %+v", d)
	}

	proxy.Heal()
	testkit.WaitFor(t, venueWait, "north replays its offline admissions", func() bool {
		st := north.venue()
		return st.Link.HubReachable && st.Offline.Waiting == 0 && st.Doubles.Total == 1
	})
	if v := north.metric("admit_venue_double_entries_total"); v != "1" {
		t.Errorf("admit_venue_double_entries_total %q", v)
	}
	var des httpapi.DoubleEntriesResponse
	testkit.WaitFor(t, venueWait, "south lists the double entry", func() bool {
		south.api.must(200, "GET", "/v1/venue/double-entries", viewerSecret, nil).decode(t, &des)
		return len(des.DoubleEntries) == 1
	})
	de := des.DoubleEntries[0]
	if de.Ticket != "C-3" || de.Event != "MATCH" || de.Hub.Appliance != "south" || de.Offline.Appliance != "north" ||
		de.Offline.Lane != "north-open" || de.Reason != gate.ReasonOK {
		t.Errorf("double entry %+v", de)
	}
	// C-4, admitted at north alone while it was cut, is known used at south.
	testkit.WaitFor(t, venueWait, "south learns north's offline admission", func() bool {
		return south.check("C-4", "south-1").Reason == gate.ReasonAlreadyUsed
	})

	// A third appliance that starts cut off: not ready, admissions refused
	// as stale data while it cannot catch up, then open once it can.
	// Its lane names an event made through the API at north, which door
	// cannot have before it catches up: the start goes on, and the
	// reference is checked once it has caught up.
	north.api.must(201, "PUT", "/v1/events/API-EVENT", adminSecret, map[string]string{"name": "made at north"})
	doorProxy := hubtest.NewProxy(t, hub.Node(0).URL())
	doorProxy.Cut()
	door := startVenueAppliance(t, hub, "door", venueOptions{urls: []string{doorProxy.URL()},
		extra: "[[lanes]]\nid = \"door-api\"\nevents = [\"API-EVENT\"]\n"})
	if r := door.api.do("GET", "/readyz", "", nil); r.status != 503 || !strings.Contains(string(r.body), "catching up") {
		t.Errorf("door's readiness while cut at its start: %d %s", r.status, r.body)
	}
	if d := door.scan("C-1", "door-1"); d.Admit || d.Reason != gate.ReasonStaleData || !strings.Contains(d.Detail, "catching up") {
		t.Errorf("door's scan while catching up: %+v", d)
	}
	if l := door.lane("door-1"); l.Venue == nil || l.Venue.State != gate.LaneCatchingUp {
		t.Errorf("door-1 while catching up: %+v", l.Venue)
	}
	doorProxy.Heal()
	testkit.WaitFor(t, venueWait, "door catches up", func() bool { return door.api.do("GET", "/readyz", "", nil).status == 200 })
	testkit.WaitFor(t, venueWait, "door learns C-1's use", func() bool {
		return door.check("C-1", "door-1").Reason == gate.ReasonAlreadyUsed
	})
}

// TestMonitoringVenueNamesExist scrapes an appliance of a venue and checks
// that every admit_venue_* metric (and label) the alert rules and the
// dashboard name is on its /metrics, and the ones the venue promises.
func TestMonitoringVenueNamesExist(t *testing.T) {
	_, apps := startVenue(t, "north")
	north := apps["north"]
	series := parseExposition(t, north.api.must(200, "GET", "/metrics", "", nil).body)
	exprs := map[string]string{}
	for _, r := range readAlertRules(t) {
		exprs["alert "+r.alert] = r.expr
	}
	for i, e := range dashboardExprs(t) {
		exprs[fmt.Sprintf("dashboard query %d", i+1)] = e
	}
	named := 0
	for where, expr := range exprs {
		for _, sel := range selectorRE.FindAllStringSubmatch(expr, -1) {
			name, matchers := sel[1], sel[3]
			if !venueOnly(name) {
				continue
			}
			named++
			got, ok := series[name]
			if !ok {
				t.Errorf("%s names %s, which a venue appliance's /metrics does not have", where, name)
				continue
			}
			for _, m := range matcherRE.FindAllStringSubmatch(matchers, -1) {
				if !targetLabels[m[1]] && !slices.ContainsFunc(got, func(l map[string]string) bool { _, ok := l[m[1]]; return ok }) {
					t.Errorf("%s selects %s by label %q, which no %s series has", where, name, m[1], name)
				}
			}
		}
	}
	if named < 5 {
		t.Errorf("the monitoring files name %d venue metrics; the alerts on the hub, failing, stopped changes, double entries and data age were expected", named)
	}
	for _, want := range []string{"admit_venue_hub_connected", "admit_venue_double_entries_total", "admit_venue_offline_waiting",
		"admit_venue_claim_seconds", "admit_venue_learn_lag", "admit_venue_changes_behind", "admit_venue_data_age_seconds",
		"admit_venue_claims_total", "admit_venue_changes_stopped", "admit_venue_failing"} {
		if _, ok := series[want]; !ok {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if v := sampleValue(series, "admit_venue_hub_connected", ""); v != "1" {
		t.Errorf("admit_venue_hub_connected %q", v)
	}
}

// TestVenueUsesDeliveredOnce: in a venue each appliance delivers the uses
// of its own journal (venue_outbound.go), so a webhook that both
// appliances post to receives each use of the venue once — the ticket
// north admitted from north, the one south admitted from south — and
// nothing for what south learned of north's use; ids are unique venue-wide.
func TestVenueUsesDeliveredOnce(t *testing.T) {
	var mu sync.Mutex
	got := map[string]outbound.Item{} // by id: a receiver de-duplicates by id
	posts := map[string]int{}         // batches by appliance
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b outbound.Batch
		if err := json.NewDecoder(r.Body).Decode(&b); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		mu.Lock()
		posts[b.Appliance]++
		for _, it := range b.Decisions {
			got[it.ID] = it
		}
		mu.Unlock()
	}))
	t.Cleanup(recv.Close)
	secret := filepath.Join(t.TempDir(), "hook.secret")
	if err := os.WriteFile(secret, []byte("a-webhook-secret-0123456789\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	hook := fmt.Sprintf("[[webhooks]]\nname = \"crm\"\nurl = %q\nsecret_file = %q\nadmissions_only = true\nbackoff_min = \"50ms\"\n", recv.URL, secret)
	hub := hubtest.StartCluster(t, 1)
	hub.Init()
	north := startVenueAppliance(t, hub, "north", venueOptions{extra: hook})
	south := startVenueAppliance(t, hub, "south", venueOptions{extra: hook})
	north.waitCatalog()
	south.waitCatalog()
	north.importLines("U-1", "U-2")
	testkit.WaitFor(t, venueWait, "the import at south", func() bool { return south.has("U-2") })
	n := north.scan("U-1", "north-1")
	s := south.scan("U-2", "south-1")
	if !n.Admit || !s.Admit {
		t.Fatalf("admissions: north %+v, south %+v", n, s)
	}
	south.waitCheck("U-1", "south-1", gate.ReasonAlreadyUsed)
	if d := south.scan("U-1", "south-1"); d.Reason != gate.ReasonAlreadyUsed {
		t.Fatalf("south on U-1: %+v", d)
	}
	// Every appliance's webhook has delivered its whole journal.
	for _, a := range []*venueAppliance{north, south} {
		testkit.WaitFor(t, venueWait, a.id+"'s webhook delivered everything", func() bool {
			var r httpapi.ExportsResponse
			a.api.must(200, "GET", "/v1/exports", viewerSecret, nil).decode(t, &r)
			return len(r.Exports) == 1 && r.Exports[0].Active && r.Exports[0].LagEntries == 0 && r.Exports[0].Position > 0
		})
	}
	mu.Lock()
	defer mu.Unlock()
	want := map[string]string{fmt.Sprintf("north:%d", n.Seq): "U-1", fmt.Sprintf("south:%d", s.Seq): "U-2"}
	if len(got) != len(want) {
		t.Fatalf("the receiver got %d uses, want %d: %+v", len(got), len(want), got)
	}
	for id, barcode := range want {
		if it, ok := got[id]; !ok || it.Decision.Barcode != barcode || !it.Decision.Admit {
			t.Errorf("use %s: %+v (ok %v), want %s admitted", id, it, ok, barcode)
		}
	}
	if posts["north"] == 0 || posts["south"] == 0 {
		t.Errorf("batches by appliance: %v", posts)
	}
}

// TestNoVenueWithoutTheSection: without [venue] an appliance is the single
// one it always was: no venue route, no venue metric, no venue state on
// its lanes or its session, its id the top-level appliance.
func TestNoVenueWithoutTheSection(t *testing.T) {
	d, base := startDaemon(t, testConfig(t, ""))
	api := apiClient{t, base}
	if r := api.do("GET", "/v1/venue", viewerSecret, nil); r.status != 404 || !strings.Contains(string(r.body), "not in a venue") {
		t.Errorf("GET /v1/venue: %d %s", r.status, r.body)
	}
	if strings.Contains(string(api.must(200, "GET", "/metrics", "", nil).body), "admit_venue_") {
		t.Error("/metrics has venue metrics")
	}
	for _, b := range []string{string(api.must(200, "GET", "/v1/lanes", viewerSecret, nil).body), string(api.must(200, "GET", "/v1/session", viewerSecret, nil).body)} {
		if strings.Contains(b, `"venue"`) {
			t.Errorf("a venue field: %s", b)
		}
	}
	if d.venue.get() != nil || d.Config.applianceID() != "e2e" {
		t.Errorf("venue %v, id %q", d.venue.get(), d.Config.applianceID())
	}
}

// TestVenueOperatorRoutes: an appliance that joins after an import whose
// file is gone from the hub stops applying changes there — not ready,
// /v1/venue and /metrics say where and why — until an admin skips that
// change on it (a retry first, which stops again: the file is still gone);
// then it goes on and opens. The routes refuse what they cannot do (409),
// a viewer (403), and the double entries are 503 while the hub is away.
func TestVenueOperatorRoutes(t *testing.T) {
	hub, apps := startVenue(t, "north")
	north := apps["north"]
	north.waitCatalog()
	north.importLines("K-1", "K-2")
	var ch httpapi.ChangesResponse
	north.api.must(200, "GET", "/v1/changes", viewerSecret, nil).decode(t, &ch)
	var imp gate.Change
	for _, c := range ch.Changes {
		if c.Kind == gate.ChangeImport {
			imp = c
		}
	}
	if imp.Import == nil || imp.Import.File == "" || imp.Position == 0 {
		t.Fatalf("the import's change: %+v", imp)
	}
	// The file is lost at the hub (an operator's mistake).
	_, js := hub.Admin()
	files, err := js.ObjectStore(t.Context(), venue.BucketFiles)
	if err != nil {
		t.Fatal(err)
	}
	if err := files.Delete(t.Context(), imp.Import.File); err != nil {
		t.Fatal(err)
	}

	for _, r := range []struct {
		path, body string
		want       int
	}{
		{"/v1/venue/changes/retry", "", 409},
		{"/v1/venue/changes/skip", `{"position": 1}`, 409},
		{"/v1/venue/changes/skip", `{}`, 400},
		{"/v1/venue/redemptions/skip", `{"revision": 7}`, 409},
		{"/v1/venue/redemptions/skip", `{"position": 7}`, 400},
	} {
		if a := north.api.do("POST", r.path, adminSecret, r.body); a.status != r.want {
			t.Errorf("POST %s %s: %d %s, want %d", r.path, r.body, a.status, a.body, r.want)
		}
	}
	north.api.must(403, "POST", "/v1/venue/changes/retry", viewerSecret, nil)

	door := startVenueAppliance(t, hub, "door", venueOptions{})
	var st httpapi.VenueStatus
	testkit.WaitFor(t, venueWait, "door stops at the import", func() bool {
		st = door.venue()
		return st.Changes.Stopped != nil
	})
	if st.Changes.Stopped.Position != imp.Position || !strings.Contains(st.Changes.Stopped.Error, imp.Import.File[:12]) {
		t.Errorf("door stopped at %+v, want the import at %d", st.Changes.Stopped, imp.Position)
	}
	if r := door.api.do("GET", "/readyz", "", nil); r.status != 503 {
		t.Errorf("door's readiness while stopped: %d %s", r.status, r.body)
	}
	if v := door.metric("admit_venue_changes_stopped"); v != "1" {
		t.Errorf("admit_venue_changes_stopped %q", v)
	}
	door.api.must(200, "POST", "/v1/venue/changes/retry", adminSecret, nil)
	testkit.WaitFor(t, venueWait, "door stops at the import again", func() bool { return door.venue().Changes.Stopped != nil })
	door.api.must(200, "POST", "/v1/venue/changes/skip", adminSecret, map[string]uint64{"position": imp.Position})
	testkit.WaitFor(t, venueWait, "door goes on and opens", func() bool { return door.api.do("GET", "/readyz", "", nil).status == 200 })
	if door.has("K-1") {
		t.Error("door has the skipped import's tickets")
	}
	door.api.must(200, "GET", "/v1/venue/double-entries", viewerSecret, nil)
	var dch httpapi.ChangesResponse
	door.api.must(200, "GET", "/v1/changes", viewerSecret, nil).decode(t, &dch)
	if !slices.ContainsFunc(dch.Changes, func(c gate.Change) bool {
		return c.Kind == gate.ChangeSkip && c.Position == imp.Position && c.By == "ops"
	}) {
		t.Errorf("door's changes record no skip by ops at %d: %+v", imp.Position, dch.Changes)
	}
}
