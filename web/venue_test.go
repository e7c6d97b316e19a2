package web_test

import (
	"bytes"
	"context"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/httpapi"
	"github.com/admitgate/admit/importfile"
	"github.com/admitgate/admit/index"
	"github.com/admitgate/admit/internal/samples"
	"github.com/admitgate/admit/venue"
	"github.com/admitgate/admit/venue/hubtest"
	"github.com/admitgate/admit/web"
)

// venueLanes are the lanes of the venue test's appliance: one that refuses
// while the hub does not answer, one that admits by its own data.
var venueLanes = []httpapi.LaneInfo{
	{Lane: gate.Lane{ID: "north-1", Name: "North 1", Direction: gate.In, Offline: gate.OfflineDeny}},
	{Lane: gate.Lane{ID: "north-open", Name: "North open", Direction: gate.In, Offline: gate.OfflineAdmit}},
}

// venueMember is one appliance's side of the venue: its store, link,
// Redeemer and (for the appliance with the pages) Applier.
type venueMember struct {
	ix   *index.Index
	link *venue.Link
	red  *venue.Redeemer
	app  *venue.Applier
}

// joinVenue opens a store for appliance id with the Derby and the SecuTix
// sample (both of the sample's events), links it to the hub through url and attaches its Redeemer, as
// cmd/admit wires it (withApplier: the venue's changes too).
func joinVenue(t *testing.T, hub *hubtest.Cluster, id, url string, withApplier bool) *venueMember {
	t.Helper()
	ctx := context.Background()
	log := testLogger()
	dir := t.TempDir()
	ix, err := index.Open(dir, &index.Options{Appliance: id, Logger: log, MemTableSize: 4 << 20, BloomMinCapacity: 10000})
	if err != nil {
		t.Fatal(err)
	}
	m := &venueMember{ix: ix}
	t.Cleanup(func() {
		if m.app != nil {
			m.app.Close()
		}
		if m.red != nil {
			m.red.Close()
		}
		if m.link != nil {
			m.link.Close()
		}
		ix.Close()
	})
	if _, err := ix.PutProvider(ctx, gate.Provider{ID: "secutix-main", Name: "SecuTix"}); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, e := range []gate.Event{
		{ID: derby, Name: "FC Example – Derby", OpensAt: now.Add(-time.Hour), ClosesAt: now.Add(6 * time.Hour)},
		{ID: cup, Name: "FC Example – Cup", OpensAt: now.Add(14 * 24 * time.Hour), ClosesAt: now.Add(14*24*time.Hour + 6*time.Hour)},
	} {
		if _, err := ix.PutEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	sx, err := samples.Read(samples.Secutix)
	if err != nil {
		t.Fatal(err)
	}
	imp := importfile.NewService(ix, log, nil)
	if res, err := imp.Import(ctx, gate.ImportRequest{Provider: "secutix-main", Source: "secutix.csv", By: "test"}, bytes.NewReader(sx)); err != nil || res.Added != 40 {
		t.Fatalf("load the SecuTix sample: %+v, %v", res, err)
	}
	lc := hub.LinkConfig(id, url)
	lc.ClaimTimeout = 2 * time.Second
	lc.Lanes = []string{id + "-1", id + "-open"}
	if m.link, err = venue.Open(ctx, lc, log); err != nil {
		t.Fatal(err)
	}
	m.red = venue.NewRedeemer(m.link, ix, venue.RedeemerConfig{StatusInterval: 200 * time.Millisecond, RetryInterval: 200 * time.Millisecond, Logger: log})
	if err := ix.UseVenue(m.red); err != nil {
		t.Fatal(err)
	}
	m.red.Start()
	if withApplier {
		if m.app, err = venue.StartApplier(venue.ApplierConfig{Link: m.link, Store: ix, Importer: imp, TempDir: t.TempDir(), Logger: log}); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

// pageVenue is httpapi.VenueControl over a venueMember, as cmd/admit maps
// the venue's statuses (venue_status.go), reduced to what the page shows.
type pageVenue struct {
	m    *venueMember
	mu   sync.Mutex
	seen map[string]httpapi.VenueAppliance
}

func (p *pageVenue) Appliance() string { return p.m.link.Appliance() }

func (p *pageVenue) Status(ctx context.Context) httpapi.VenueStatus {
	rs, cs := p.m.red.Status(), p.m.app.Status()
	st := httpapi.VenueStatus{Appliance: p.Appliance(), At: time.Now().UTC(),
		Link:        httpapi.VenueLink{State: rs.Link.State, HubReachable: rs.Link.State == venue.StateUp, LastError: rs.Link.LastError},
		Offline:     httpapi.VenueOffline{Waiting: rs.OfflineWaiting, Replayed: rs.Replayed},
		Doubles:     httpapi.VenueDoubleCounts{Total: rs.DoubleEntries, Here: rs.DoubleEntriesHere},
		Redemptions: httpapi.VenueRedemptions{Learned: rs.Learned, Lag: rs.Lag, Failing: rs.Failing},
		Changes:     httpapi.VenueChanges{State: cs.State, Applied: cs.Applied, DataAgeSeconds: cs.Age.Seconds()},
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	fresh := false
	if st.Link.HubReachable {
		if list, err := p.m.link.Appliances(ctx); err == nil {
			fresh = true
			for id, a := range p.seen {
				a.Up = false
				p.seen[id] = a
			}
			for _, a := range list {
				p.seen[a.ID] = httpapi.VenueAppliance{ID: a.ID, Up: true, LastHeard: a.LastHeard, Lanes: a.Lanes}
			}
			st.Hub = httpapi.VenueHub{Reachable: true, Leader: "hub1"}
		}
	}
	for _, a := range p.seen {
		a.This, a.Stale = a.ID == st.Appliance, !fresh
		st.Appliances = append(st.Appliances, a)
	}
	slices.SortFunc(st.Appliances, func(a, b httpapi.VenueAppliance) int { return cmpString(a.ID, b.ID) })
	return st
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (p *pageVenue) DoubleEntries(ctx context.Context) ([]httpapi.VenueDoubleEntry, error) {
	return nil, gate.Errorf(gate.EUNAVAILABLE, "not in this test")
}
func (p *pageVenue) SkipRedemption(context.Context, uint64, string) error {
	return gate.Errorf(gate.ECONFLICT, "not in this test")
}
func (p *pageVenue) RetryChanges(context.Context, string) error {
	return gate.Errorf(gate.ECONFLICT, "not in this test")
}
func (p *pageVenue) SkipChange(context.Context, uint64, string) error {
	return gate.Errorf(gate.ECONFLICT, "not in this test")
}

// venueMonitor is GET /v1/lanes with each lane's venue state, as
// cmd/admit's laneStates says it (online, or offline by its policy).
type venueMonitor struct {
	api latch[*httpapi.Server]
	m   *venueMember
}

func (v *venueMonitor) Lanes() []gate.LaneStatus {
	out := v.api.load().LaneMonitor().Lanes()
	up := v.m.link.Status().State == venue.StateUp
	for i := range out {
		lv := &gate.LaneVenue{State: gate.LaneOnline, Offline: venueLanes[i].Offline}
		if !up {
			lv.State = gate.LaneOffline
			lv.Detail = "the venue hub does not answer: admissions are refused (offline = deny)"
			if lv.Offline == gate.OfflineAdmit {
				lv.Detail = "the venue hub does not answer: admissions are decided by this appliance's own data (offline = admit) and replayed at the hub later"
			}
		}
		out[i].Venue = lv
	}
	return out
}

// latch holds a value set once the server exists.
type latch[T any] struct {
	mu sync.Mutex
	v  T
}

func (a *latch[T]) store(v T) { a.mu.Lock(); a.v = v; a.mu.Unlock() }
func (a *latch[T]) load() T   { a.mu.Lock(); defer a.mu.Unlock(); return a.v }

// TestOperatorVenueStrip: the operator page of an appliance of a venue
// (a real one-node hub from venue/hubtest) shows the venue strip — every
// appliance up or down, this one's offline admissions waiting, the double
// entries, the data's age — and each lane's venue state, as the link is
// cut, an admission is made offline, another appliance admits the same
// ticket, the link heals into one double entry, and the other appliance
// stops.
func TestOperatorVenueStrip(t *testing.T) {
	b := newTab(t, desktop) // skips with -short before the hub starts
	hub := hubtest.StartCluster(t, 1)
	hub.Init()
	proxy := hubtest.NewProxy(t, hub.Node(0).URL())
	north := joinVenue(t, hub, "north", proxy.URL(), true)
	south := joinVenue(t, hub, "south", hub.Node(0).URL(), false)

	log := testLogger()
	site, err := web.New(log)
	if err != nil {
		t.Fatal(err)
	}
	auth, err := httpapi.NewAuth(testTokens)
	if err != nil {
		t.Fatal(err)
	}
	mon := &venueMonitor{m: north}
	srv, err := httpapi.New(httpapi.Config{Index: north.ix, Importer: importfile.NewService(north.ix, log, nil), Auth: auth,
		Lanes: venueLanes, Pages: site, Logger: &log, ReadTimeout: 2 * time.Second, Monitor: mon, TimeZone: venueZone,
		Venue: &pageVenue{m: north, seen: map[string]httpapi.VenueAppliance{}}, Ready: north.app.Ready})
	if err != nil {
		t.Fatal(err)
	}
	mon.api.store(srv)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		<-done
	})
	base := "http://" + ln.Addr().String()

	b.signIn(base+"/", viewerSecret, "operator")
	refresh := `document.dispatchEvent(new Event('admit:refresh'))`
	strip := func(attr string) string { return `document.getElementById('venue').dataset.` + attr }
	b.waitFor("the venue strip with both appliances up", `!document.getElementById('venue').hidden && `+
		`document.querySelectorAll('#venue-appliances li[data-up="true"]').length === 2`, 20*time.Second)
	if got := b.text("#venue"); !containsAll(got, "north (this one)", "south", "hub reachable", "No offline admission waiting", "No double entry", "Venue data") {
		t.Errorf("the strip says %q", got)
	}
	if got := eval[string](b, `document.querySelector('[data-lane="north-1"]').dataset.venue`); got != "online" {
		t.Errorf("north-1's venue state %q", got)
	}
	b.screenshot("venue-strip")

	// North cut off: the hub unreachable, an admission on the lane that
	// admits by its own data waits for its replay.
	proxy.Cut()
	b.run("refresh", chromedp.Evaluate[chromedp.Void](refresh))
	b.waitFor("the hub unreachable", strip("reachable")+` === 'false'`, 20*time.Second)
	if d := north.ix.Scan(context.Background(), venueLanes[1].Lane.Scan(sxAdult1, time.Now())); !d.Admit || !d.Offline {
		t.Fatalf("north-open while cut: %+v", d)
	}
	b.run("refresh", chromedp.Evaluate[chromedp.Void](refresh))
	b.waitFor("one offline admission waiting", strip("waiting")+` === '1'`, 20*time.Second)
	b.waitFor("north-1 offline", `document.querySelector('[data-lane="north-1"]').dataset.venue === 'offline'`, 20*time.Second)
	if got := b.text("#venue-offline"); got != "1 offline admission waiting for the hub" {
		t.Errorf("offline queue %q", got)
	}
	if got := b.text(`[data-lane="north-open"] .lane-venue`); !containsAll(got, "hub not answering", "offline = admit") {
		t.Errorf("north-open says %q", got)
	}
	b.screenshot("venue-cut")

	// South admits the same ticket online; north's replay finds it spent:
	// a double entry. Then south stops: down.
	if d := south.ix.Scan(context.Background(), gate.Scan{Barcode: sxAdult1, Lane: "south-1", Direction: gate.In, At: time.Now()}); !d.Admit || d.Offline {
		t.Fatalf("south online: %+v", d)
	}
	proxy.Heal()
	b.waitFor("the double entry, nothing waiting", strip("doubles")+` === '1' && `+strip("waiting")+` === '0' && `+
		strip("reachable")+` === 'true'`, 30*time.Second)
	south.red.Close()
	south.link.Close()
	b.waitFor("south down", `(document.querySelector('#venue-appliances li[data-appliance="south"]') || {dataset: {}}).dataset.up === 'false'`, 20*time.Second)
	if got := b.text("#venue-doubles"); got != "1 double entry in the venue" {
		t.Errorf("double entries %q", got)
	}
	if cls := eval[string](b, `document.getElementById('venue').className`); cls != "venue-strip venue-bad" {
		t.Errorf("the strip's class %q with a double entry", cls)
	}
	b.screenshot("venue-double-entry")
}

func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !bytes.Contains([]byte(s), []byte(p)) {
			return false
		}
	}
	return true
}
