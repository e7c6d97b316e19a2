package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/httpapi"
	"github.com/admitgate/admit/importfile"
	"github.com/admitgate/admit/index"
	"github.com/admitgate/admit/internal/samples"
	"github.com/admitgate/admit/internal/testkit"
	"github.com/admitgate/admit/web"
)

// The site is what the API mounts as its pages.
var _ httpapi.Pages = (*web.Site)(nil)

const (
	adminSecret   = "web-admin-secret-0000000"
	viewerSecret  = "web-viewer-secret-000000"
	scannerSecret = "web-scanner-secret-00000"
	northSecret   = "web-north-secret-0000000"

	derby = "MATCH-2026-12-05" // open now
	cup   = "MATCH-2026-12-19" // in two weeks

	// Barcodes of the SecuTix sample, all for the Derby.
	sxAdult1 = "9836900602677354"
	sxAdult2 = "5119641341163397"
	sxAdult3 = "0753103145574459"
	sxChild  = "2799556063622461"
	sxSenior = "4937396401757228"
)

var testTokens = []httpapi.Token{
	{Name: "ops", Role: httpapi.RoleAdmin, Secret: adminSecret},
	{Name: "board", Role: httpapi.RoleViewer, Secret: viewerSecret},
	{Name: "handheld", Role: httpapi.RoleScanner, Secret: scannerSecret},
	{Name: "north-door", Role: httpapi.RoleScanner, Secret: northSecret, Lanes: []string{"north-1"}},
}

var testLanes = []httpapi.LaneInfo{
	{Lane: gate.Lane{ID: "north-1", Name: "North 1", Direction: gate.In, Events: []string{derby}}},
	{Lane: gate.Lane{ID: "south-1", Name: "South 1", Direction: gate.In}},
	{Lane: gate.Lane{ID: "exit-1", Name: "Exit 1", Direction: gate.Out}},
}

// appliance is the whole appliance in process, as cmd/admit wires it: the
// ticket store on disk in a temporary directory, the importer, and the API
// with the pages mounted, on a real socket at 127.0.0.1.
type appliance struct {
	t    testing.TB
	dir  string
	addr string
	base string
	ix   *index.Index
	srv  *httpapi.Server
	done chan error
	// emergency stands in for the turnstile lanes' emergency release.
	emergency *fakeEmergency
	// hardware stands in for the lanes' hardware (GET /v1/lanes).
	hardware *laneHardware
}

// fakeEmergency is an emergency release over one turnstile lane, north-1.
type fakeEmergency struct {
	mu     sync.Mutex
	st     gate.EmergencyStatus
	reason string
}

var _ httpapi.EmergencyControl = (*fakeEmergency)(nil)

func newFakeEmergency() *fakeEmergency {
	return &fakeEmergency{st: gate.EmergencyStatus{Lanes: []gate.EmergencyLane{{ID: "north-1", Mode: "open", State: "idle"}}}}
}

func (f *fakeEmergency) Release(_ context.Context, by, reason string) (gate.EmergencyStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.st.Active {
		f.st.Active, f.st.Since, f.st.By = true, time.Now(), by
		f.st.Lanes[0].State = "emergency"
	}
	f.reason = reason
	return f.st, nil
}

func (f *fakeEmergency) Clear(_ context.Context, by string) (gate.EmergencyStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.st.InputActive {
		return f.st, gate.Errorf(gate.ECONFLICT, "the emergency input is still asserted; reset it first")
	}
	f.st.Active, f.st.Since, f.st.By = false, time.Time{}, ""
	f.st.Lanes[0].State = "idle"
	return f.st, nil
}

func (f *fakeEmergency) Status() gate.EmergencyStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.st
}

// setInput asserts or releases the emergency input.
func (f *fakeEmergency) setInput(on bool) {
	f.mu.Lock()
	f.st.InputActive = on
	f.mu.Unlock()
}

func (f *fakeEmergency) lastReason() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reason
}

// startAppliance starts the appliance with the Derby open now, the Cup in
// two weeks, three providers and the SecuTix sample loaded.
func startAppliance(t testing.TB) *appliance {
	t.Helper()
	a := &appliance{t: t, dir: t.TempDir(), emergency: newFakeEmergency()}
	a.hardware = &laneHardware{emergency: a.emergency}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a.addr = ln.Addr().String()
	a.base = "http://" + a.addr
	a.open(ln)
	t.Cleanup(a.stop)

	ctx := context.Background()
	for _, p := range []gate.Provider{{ID: "secutix-main", Name: "SecuTix"}, {ID: "box-office", Name: "Box office"},
		{ID: "partner", Name: "Partner list"}} {
		if _, err := a.ix.PutProvider(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	for _, e := range []gate.Event{
		{ID: derby, Name: "FC Example – Derby", OpensAt: now.Add(-time.Hour), ClosesAt: now.Add(6 * time.Hour)},
		{ID: cup, Name: "FC Example – Cup", OpensAt: now.Add(14 * 24 * time.Hour), ClosesAt: now.Add(14*24*time.Hour + 6*time.Hour)},
	} {
		if _, err := a.ix.PutEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	sx, err := samples.Read(samples.Secutix)
	if err != nil {
		t.Fatal(err)
	}
	imp := importfile.NewService(a.ix, testLogger(), nil)
	res, err := imp.Import(ctx, gate.ImportRequest{Provider: "secutix-main", Source: "secutix.csv", By: "test"}, bytes.NewReader(sx))
	if err != nil || res.Added != 40 {
		t.Fatalf("load the SecuTix sample: %+v, %v", res, err)
	}
	return a
}

// open opens the store in the appliance's directory and serves on ln.
func (a *appliance) open(ln net.Listener) {
	a.t.Helper()
	log := testLogger()
	ix, err := index.Open(a.dir, &index.Options{Appliance: "web-test", Logger: log, MemTableSize: 4 << 20,
		BloomMinCapacity: 10000})
	if err != nil {
		a.t.Fatal(err)
	}
	site, err := web.New(log)
	if err != nil {
		a.t.Fatal(err)
	}
	auth, err := httpapi.NewAuth(testTokens)
	if err != nil {
		a.t.Fatal(err)
	}
	// Chromium opens spare connections it may never use; Shutdown waits for
	// them until the read timeout ends them (10 s by default), so the tests
	// read with a shorter one.
	devices, err := httpapi.OpenDevices(filepath.Join(a.dir, httpapi.DevicesFile), 0, nil)
	if err != nil {
		a.t.Fatal(err)
	}
	srv, err := httpapi.New(httpapi.Config{Index: ix, Importer: importfile.NewService(ix, log, nil), Auth: auth,
		Lanes: testLanes, Pages: site, Emergency: a.emergency, Logger: &log, ReadTimeout: 2 * time.Second,
		Monitor: a.hardware, Devices: devices, TimeZone: venueZone})
	if err != nil {
		a.t.Fatal(err)
	}
	a.hardware.api.Store(srv)
	a.ix, a.srv, a.done = ix, srv, make(chan error, 1)
	go func() { a.done <- srv.Serve(ln) }()
}

// stop shuts the API down and closes the store, as the daemon does.
func (a *appliance) stop() {
	if a.srv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.srv.Shutdown(ctx); err != nil {
		a.t.Errorf("shutdown: %v", err)
	}
	if err := <-a.done; err != nil {
		a.t.Errorf("serve: %v", err)
	}
	if err := a.ix.Close(); err != nil {
		a.t.Errorf("close the store: %v", err)
	}
	a.srv = nil
}

// restart opens the store again and serves on the same address.
func (a *appliance) restart() {
	a.t.Helper()
	a.stop()
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ {
		if ln, err = net.Listen("tcp", a.addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		a.t.Fatalf("listen on %s again: %v", a.addr, err)
	}
	a.open(ln)
}

// call sends a request to the API and decodes a 2xx answer into out.
func (a *appliance) call(method, path, secret string, body, out any) {
	a.t.Helper()
	r := testkit.Do(a.t, method, a.base+path, secret, body)
	if r.Status/100 != 2 {
		a.t.Fatalf("%s %s: %d %s", method, path, r.Status, r.Body)
	}
	if out != nil {
		if err := json.Unmarshal(r.Body, out); err != nil {
			a.t.Fatalf("%s %s: decode %s: %v", method, path, r.Body, err)
		}
	}
}

// scan scans barcode at lane through the API, as a fixed scanner would.
func (a *appliance) scan(barcode, lane string) gate.Decision {
	a.t.Helper()
	var d gate.Decision
	a.call("POST", "/v1/scan", adminSecret, map[string]string{"barcode": barcode, "lane": lane}, &d)
	return d
}

// report returns the event's figures.
func (a *appliance) report(event string) gate.Report {
	a.t.Helper()
	var r gate.Report
	a.call("GET", "/v1/report?event="+event, viewerSecret, nil, &r)
	return r
}

// ticket returns a ticket with its redemptions, or ENOTFOUND.
func (a *appliance) ticket(barcode string) (gate.TicketView, error) {
	return a.ix.Ticket(context.Background(), barcode)
}

func (a *appliance) mustTicket(barcode string) gate.TicketView {
	a.t.Helper()
	v, err := a.ticket(barcode)
	if err != nil {
		a.t.Fatalf("ticket %s: %v", barcode, err)
	}
	return v
}

// admissions counts the entries a ticket spent on the Derby.
func (a *appliance) admissions(barcode string) int {
	a.t.Helper()
	for _, r := range a.mustTicket(barcode).Redemptions {
		if r.Event == derby {
			return r.Admissions
		}
	}
	return 0
}

func isNotFound(err error) bool { return gate.ErrorCode(err) == gate.ENOTFOUND }
