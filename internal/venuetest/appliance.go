package venuetest

import (
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/httpapi"
	"github.com/admitgate/admit/internal/testkit"
	"github.com/admitgate/admit/venue/hubtest"
)

// Appliance is one appliance of the venue, an admit serve process.
type Appliance struct {
	v          *Venue
	ID         string
	Dir        string // its configuration and data
	ConfigPath string
	DataDir    string
	URL        string // its API, http://127.0.0.1:port, the same across restarts
	// Proxies are its links to the hub nodes, one per node in order, when
	// Options.Proxies is set.
	Proxies []*hubtest.Proxy
	proc    process
}

func slicesSortByID(as []*Appliance) {
	slices.SortFunc(as, func(a, b *Appliance) int { return strings.Compare(a.ID, b.ID) })
}

// Start starts the appliance's process (it must not be running); it does
// not wait (WaitReady, WaitServing).
func (a *Appliance) Start() {
	a.v.t.Helper()
	a.proc.start(a.v.t, a.ID, a.v.opts.Bin, "serve", "-config", a.ConfigPath)
}

// WaitServing waits until the API answers (/healthz), whatever its
// readiness: an appliance catching up serves /v1.
func (a *Appliance) WaitServing() {
	a.v.t.Helper()
	a.waitStatus("/healthz", a.ID+" serving")
}

// WaitReady waits until /readyz answers 200: the store is open and the
// appliance has caught up with the venue's changes.
func (a *Appliance) WaitReady() {
	a.v.t.Helper()
	a.waitStatus("/readyz", a.ID+" ready")
}

func (a *Appliance) waitStatus(path, what string) {
	a.v.t.Helper()
	testkit.WaitFor(a.v.t, WaitTimeout, what, func() bool {
		if !a.proc.running() {
			a.v.t.Fatalf("venuetest: %s exited:\n%s", a.ID, tail(a.proc.out.String(), 50))
		}
		resp, err := probe.Get(a.URL + path)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
}

// Running says whether the appliance's process runs.
func (a *Appliance) Running() bool { return a.proc.running() }

// Stop stops the appliance with TERM and waits for it to exit.
func (a *Appliance) Stop() { a.v.t.Helper(); a.proc.stop(a.v.t, a.ID) }

// Kill kills the appliance with SIGKILL and waits for it.
func (a *Appliance) Kill() { a.proc.kill() }

// Restart starts a stopped or killed appliance again and waits until it is
// ready.
func (a *Appliance) Restart() {
	a.v.t.Helper()
	a.Start()
	a.WaitReady()
}

// Output is what the appliance's process wrote, across restarts.
func (a *Appliance) Output() string { return a.proc.out.String() }

// Cut, Blackhole, Slow and Heal act on every one of the appliance's links
// to the hub (Options.Proxies).
func (a *Appliance) Cut() { a.proxies("Cut", (*hubtest.Proxy).Cut) }

// Blackhole: see Cut.
func (a *Appliance) Blackhole() { a.proxies("Blackhole", (*hubtest.Proxy).Blackhole) }

// Heal: see Cut.
func (a *Appliance) Heal() { a.proxies("Heal", (*hubtest.Proxy).Heal) }

// Slow delays every chunk on every link by d: see Cut.
func (a *Appliance) Slow(d time.Duration) {
	a.proxies("Slow", func(p *hubtest.Proxy) { p.Slow(d) })
}

func (a *Appliance) proxies(what string, f func(*hubtest.Proxy)) {
	a.v.t.Helper()
	if len(a.Proxies) == 0 {
		a.v.t.Fatalf("venuetest: %s of %s: the venue has no proxies (Options.Proxies)", what, a.ID)
	}
	for _, p := range a.Proxies {
		f(p)
	}
}

// Do sends a request to the appliance's API with the admin token and
// returns the answer whatever its status.
func (a *Appliance) Do(method, path string, body any) testkit.Response {
	a.v.t.Helper()
	return testkit.Do(a.v.t, method, a.URL+path, a.v.AdminSecret, body)
}

// Must is Do, failing the test unless the status is want; it decodes the
// answer into out when out is not nil.
func (a *Appliance) Must(want int, method, path string, body, out any) testkit.Response {
	a.v.t.Helper()
	r := a.Do(method, path, body)
	if r.Status != want {
		a.v.t.Fatalf("%s: %s %s: %d, want %d: %s", a.ID, method, path, r.Status, want, r.Body)
	}
	if out != nil {
		if err := json.Unmarshal(r.Body, out); err != nil {
			a.v.t.Fatalf("%s: %s %s: %v: %s", a.ID, method, path, err, r.Body)
		}
	}
	return r
}

// Scan scans barcode at lane (POST /v1/scan) and returns the decision.
func (a *Appliance) Scan(barcode, lane string) gate.Decision {
	a.v.t.Helper()
	var d gate.Decision
	a.Must(200, "POST", "/v1/scan", map[string]string{"barcode": barcode, "lane": lane}, &d)
	return d
}

// Check is Scan without redeeming (POST /v1/check).
func (a *Appliance) Check(barcode, lane string) gate.Decision {
	a.v.t.Helper()
	var d gate.Decision
	a.Must(200, "POST", "/v1/check", map[string]string{"barcode": barcode, "lane": lane}, &d)
	return d
}

// WaitCheck waits until a check of barcode at lane answers reason: what
// another appliance did has reached this one.
func (a *Appliance) WaitCheck(barcode, lane string, reason gate.Reason) {
	a.v.t.Helper()
	var last gate.Decision
	testkit.WaitFor(a.v.t, WaitTimeout, a.ID+": "+barcode+" "+reason.String(), func() bool {
		last = a.Check(barcode, lane)
		return last.Reason == reason
	})
}

// Venue is GET /v1/venue.
func (a *Appliance) Venue() httpapi.VenueStatus {
	a.v.t.Helper()
	var st httpapi.VenueStatus
	a.Must(200, "GET", "/v1/venue", nil, &st)
	return st
}

// WaitCatalog waits until the appliance holds the provider box-office and
// the event MATCH (DefaultLanes), which the appliances publish to the
// venue as they start.
func (a *Appliance) WaitCatalog() {
	a.v.t.Helper()
	testkit.WaitFor(a.v.t, WaitTimeout, a.ID+" has the venue's catalog", func() bool {
		var evs httpapi.EventsResponse
		var provs httpapi.ProvidersResponse
		a.Must(200, "GET", "/v1/events", nil, &evs)
		a.Must(200, "GET", "/v1/providers", nil, &provs)
		return slices.ContainsFunc(evs.Events, func(e gate.Event) bool { return e.ID == "MATCH" }) &&
			slices.ContainsFunc(provs.Providers, func(p httpapi.ProviderView) bool { return p.ID == "box-office" })
	})
}

// Import imports lines (one barcode a line) for MATCH of box-office
// through the hub, and returns the result; every appliance imports it.
func (a *Appliance) Import(lines string) httpapi.ImportResponse {
	a.v.t.Helper()
	a.WaitCatalog()
	var r httpapi.ImportResponse
	a.Must(200, "POST", "/v1/imports?provider=box-office&event=MATCH&format=lines", lines, &r)
	return r
}

// Has says whether the appliance's store knows barcode.
func (a *Appliance) Has(barcode string) bool {
	a.v.t.Helper()
	return a.Do("GET", "/v1/tickets/"+barcode, nil).Status == 200
}
