package httpapi_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/httpapi"
)

// fakeEmergency is an EmergencyControl that records its calls.
type fakeEmergency struct {
	mu      sync.Mutex
	st      gate.EmergencyStatus
	inputOn bool
	calls   []string
	noLanes bool
}

func (f *fakeEmergency) Release(_ context.Context, by, reason string) (gate.EmergencyStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "release "+by+" "+reason)
	if !f.st.Active {
		f.st.Active, f.st.By, f.st.Since = true, by, time.Date(2026, 12, 5, 19, 0, 0, 0, time.UTC)
		f.st.Lanes[0].State = "emergency_open"
	}
	return f.st, nil
}

func (f *fakeEmergency) Clear(_ context.Context, by string) (gate.EmergencyStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "clear "+by)
	if f.inputOn {
		return f.st, gate.Errorf(gate.ECONFLICT, "the emergency input fire is still active")
	}
	f.st.Active, f.st.By, f.st.Since = false, "", time.Time{}
	f.st.Lanes[0].State = "idle"
	return f.st, nil
}

func (f *fakeEmergency) setInput(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.inputOn = on
}

func (f *fakeEmergency) Status() gate.EmergencyStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.st
}

func TestEmergencyRoutes(t *testing.T) {
	em := &fakeEmergency{st: gate.EmergencyStatus{Lanes: []gate.EmergencyLane{{ID: "north-1", Mode: "open", State: "idle"}}}}
	_, base := testServer(t, httpapi.Config{Index: echoIndex(nil), Emergency: em})

	var st gate.EmergencyStatus
	do(t, "GET", base+"/v1/emergency", viewerSecret, nil).json(t, &st)
	if st.Active || len(st.Lanes) != 1 {
		t.Fatalf("status = %+v", st)
	}
	// Roles: viewers read, only admins act.
	for _, tt := range []struct {
		method, path, secret string
		want                 int
	}{
		{"GET", "/v1/emergency", scannerSecret, 200}, // the door page shows the release
		{"GET", "/v1/emergency", "", 401},
		{"POST", "/v1/emergency/release", viewerSecret, 403},
		{"POST", "/v1/emergency/release", scannerSecret, 403},
		{"POST", "/v1/emergency/clear", viewerSecret, 403},
		{"GET", "/v1/emergency/release", adminSecret, 405},
	} {
		if r := do(t, tt.method, base+tt.path, tt.secret, nil); r.Status != tt.want {
			t.Errorf("%s %s: %d %s, want %d", tt.method, tt.path, r.Status, r.Body, tt.want)
		}
	}
	if len(em.calls) != 0 {
		t.Fatalf("refused requests reached the control: %v", em.calls)
	}

	// Bad bodies are refused before anything is released.
	for _, body := range []string{"{", `{"reason": 3}`, `{"why": "x"}`, `{"reason": "` + strings.Repeat("x", 501) + `"}`} {
		if r := do(t, "POST", base+"/v1/emergency/release", adminSecret, body); r.Status != 400 || r.errorCode(t) != gate.EINVALID {
			t.Errorf("release with %.20q: %d %s", body, r.Status, r.Body)
		}
	}
	if len(em.calls) != 0 {
		t.Fatalf("a bad body released: %v", em.calls)
	}

	// Release without a body, then with a reason: both by the token's name.
	do(t, "POST", base+"/v1/emergency/release", adminSecret, nil).json(t, &st)
	if !st.Active || st.By != "ops" || st.Lanes[0].State != "emergency_open" {
		t.Fatalf("after release: %+v", st)
	}
	do(t, "POST", base+"/v1/emergency/release", adminSecret, httpapi.EmergencyRequest{Reason: " fire drill "}).json(t, &st)
	do(t, "GET", base+"/v1/emergency", adminSecret, nil).json(t, &st)
	if !st.Active || st.Since.IsZero() {
		t.Fatalf("status = %+v", st)
	}

	// Clear is refused while the input holds the release.
	em.setInput(true)
	if r := do(t, "POST", base+"/v1/emergency/clear", adminSecret, nil); r.Status != 409 || r.errorCode(t) != gate.ECONFLICT ||
		!strings.Contains(string(r.Body), "still active") {
		t.Fatalf("clear with the input on: %d %s", r.Status, r.Body)
	}
	em.setInput(false)
	do(t, "POST", base+"/v1/emergency/clear", adminSecret, nil).json(t, &st)
	if st.Active || st.Lanes[0].State != "idle" {
		t.Fatalf("after clear: %+v", st)
	}
	want := []string{"release ops ", "release ops fire drill", "clear ops", "clear ops"}
	if strings.Join(em.calls, "|") != strings.Join(want, "|") {
		t.Errorf("calls = %q, want %q", em.calls, want)
	}
}

func TestEmergencyWithoutTurnstiles(t *testing.T) {
	_, base := testServer(t, httpapi.Config{Index: echoIndex(nil)})
	var st gate.EmergencyStatus
	r := do(t, "GET", base+"/v1/emergency", viewerSecret, nil)
	r.json(t, &st)
	if r.Status != 200 || st.Active || st.Lanes == nil || !strings.Contains(string(r.Body), `"lanes":[]`) {
		t.Fatalf("status = %d %s", r.Status, r.Body)
	}
	for _, p := range []string{"/v1/emergency/release", "/v1/emergency/clear"} {
		if r := do(t, "POST", base+p, adminSecret, nil); r.Status != 409 || !strings.Contains(string(r.Body), "nothing to release") {
			t.Errorf("%s: %d %s", p, r.Status, r.Body)
		}
	}
}

// laneScanner is a turnstile stand-in: it answers lane_busy to every scan.
type laneScanner struct {
	mu    sync.Mutex
	scans []gate.Scan
}

func (l *laneScanner) Scan(_ context.Context, s gate.Scan) gate.Decision {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.scans = append(l.scans, s)
	return s.Refusal(gate.ReasonLaneBusy, "the lane is busy")
}

// A lane with a turnstile decides its scans through it; checks and other
// lanes still go to the index.
func TestScansAtATurnstileLaneGoThroughIt(t *testing.T) {
	ts := &laneScanner{}
	got := make(chan gate.Scan, 4)
	lanes := []httpapi.LaneInfo{
		{Lane: gate.Lane{ID: "north-1", Direction: gate.In, Events: []string{"derby"}}, Turnstile: ts},
		{Lane: gate.Lane{ID: "south-1", Direction: gate.In}},
	}
	_, base := testServer(t, httpapi.Config{Index: echoIndex(got), Lanes: lanes})

	var d gate.Decision
	do(t, "POST", base+"/v1/scan", scannerSecret, httpapi.ScanRequest{Barcode: "OK-1", Lane: "north-1", Nonce: "n1"}).json(t, &d)
	if d.Admit || d.Reason != gate.ReasonLaneBusy {
		t.Fatalf("scan at the turnstile lane = %+v", d)
	}
	if len(ts.scans) != 1 || ts.scans[0].Lane != "north-1" || ts.scans[0].Nonce != "n1" || ts.scans[0].Source != "http:handheld" ||
		len(ts.scans[0].LaneEvents) != 1 {
		t.Fatalf("the turnstile got %+v", ts.scans)
	}
	select {
	case s := <-got:
		t.Fatalf("the index decided a turnstile lane's scan: %+v", s)
	default:
	}
	do(t, "POST", base+"/v1/check", scannerSecret, httpapi.ScanRequest{Barcode: "OK-1", Lane: "north-1"}).json(t, &d)
	if !d.Admit || (<-got).Lane != "north-1" {
		t.Fatalf("check = %+v", d)
	}
	do(t, "POST", base+"/v1/scan", scannerSecret, httpapi.ScanRequest{Barcode: "OK-2", Lane: "south-1"}).json(t, &d)
	if !d.Admit || (<-got).Lane != "south-1" || len(ts.scans) != 1 {
		t.Fatalf("scan at a lane without a turnstile = %+v", d)
	}
}
