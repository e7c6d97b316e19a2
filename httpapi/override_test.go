package httpapi_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/gate/gatetest"
	"github.com/admitgate/admit/httpapi"
)

const (
	supervisorSecret = "supervisor-secret-0123456789"
	southSupSecret   = "south-supervisor-secret-0123456789"
)

// zoneIndex is a fake index that also overrides, lists overrides and
// reports zones, as the real one does.
type zoneIndex struct {
	*gatetest.Index
	override func(gate.OverrideRequest) (gate.Decision, error)
}

func (x *zoneIndex) Override(_ context.Context, req gate.OverrideRequest) (gate.Decision, error) {
	return x.override(req)
}

func (x *zoneIndex) Overrides(_ context.Context, event string) ([]gate.JournalEntry, error) {
	return []gate.JournalEntry{{Seq: 9, Kind: gate.KindDecision, Decision: gate.Decision{Admit: true, Reason: gate.ReasonOverride, Seq: 9,
		Barcode: "B1", Lane: "north-1", Direction: gate.In, Event: event,
		Override: &gate.Override{By: "kim", Why: "lost, wristband, checked", Refused: gate.ReasonAlreadyUsed, RefusedSeq: 7}}}}, nil
}

func (x *zoneIndex) Zones(series bool) []gate.ZoneStatus {
	z := gate.ZoneStatus{Zone: gate.Zone{ID: "north", Name: "North stand", Capacity: 2400}, Occupancy: 1200}
	if series {
		z.Series = []gate.ZoneSample{{At: time.Date(2026, 12, 5, 18, 0, 0, 0, time.UTC), Occupancy: 1200}}
	}
	return []gate.ZoneStatus{z}
}

func supervisorServer(t *testing.T, x *zoneIndex) string {
	t.Helper()
	tokens := append([]httpapi.Token{
		{Name: "kim", Role: httpapi.RoleSupervisor, Secret: supervisorSecret},
		{Name: "south-sup", Role: httpapi.RoleSupervisor, Secret: southSupSecret, Lanes: []string{"south-1"}},
	}, testTokens...)
	auth, err := httpapi.NewAuth(tokens)
	if err != nil {
		t.Fatal(err)
	}
	_, base := testServer(t, httpapi.Config{Auth: auth, Index: x})
	return base
}

func TestOverrideRoute(t *testing.T) {
	var got []gate.OverrideRequest
	x := &zoneIndex{Index: echoIndex(nil), override: func(req gate.OverrideRequest) (gate.Decision, error) {
		got = append(got, req)
		if req.Why == "conflict" {
			return gate.Decision{}, gate.Errorf(gate.ECONFLICT, "the last scan at lane north-1 was admitted: there is nothing to override")
		}
		return gate.Decision{Admit: true, Reason: gate.ReasonOverride, Seq: 12, Barcode: "B1", Lane: req.Lane, Direction: gate.In, At: req.At,
			Override: &gate.Override{By: req.By, Why: req.Why, Refused: gate.ReasonRule, RefusedSeq: 11}}, nil
	}}
	base := supervisorServer(t, x)
	url := base + "/v1/lanes/north-1/override"
	body := map[string]string{"reason": "child with a parent's ticket"}
	for _, who := range []string{adminSecret, scannerSecret, viewerSecret, northSecret} {
		if r := do(t, "POST", url, who, body); r.Status != 403 {
			t.Errorf("a token that is not a supervisor's: %d %s", r.Status, r.Body)
		}
	}
	if r := do(t, "POST", url, southSupSecret, body); r.Status != 403 {
		t.Errorf("a supervisor of another lane: %d %s", r.Status, r.Body)
	}
	if len(got) != 0 {
		t.Fatalf("the index was asked for refused tokens: %+v", got)
	}
	r := do(t, "POST", url, supervisorSecret, body)
	if r.Status != 200 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	var d gate.Decision
	r.json(t, &d)
	if !d.Admit || d.Reason != gate.ReasonOverride || d.Override.By != "kim" || d.Override.Why != body["reason"] {
		t.Fatalf("%+v", d)
	}
	if len(got) != 1 || got[0].Lane != "north-1" || got[0].Source != "http:kim" || got[0].At.IsZero() {
		t.Fatalf("asked %+v", got)
	}
	// The lane shows it as its last decision.
	var lanes httpapi.LanesResponse
	do(t, "GET", base+"/v1/lanes", supervisorSecret, nil).json(t, &lanes)
	if l := lanes.Lanes[0]; l.Last == nil || l.Last.Reason != gate.ReasonOverride {
		t.Fatalf("lane %+v", l)
	}
	for _, c := range []struct {
		url    string
		body   any
		status int
	}{
		{url, map[string]string{"reason": ""}, 400},
		{url, map[string]string{"reason": strings.Repeat("x", gate.MaxOverrideReason+1)}, 400},
		{url, `{"reason":"x","by":"someone else"}`, 400},
		{base + "/v1/lanes/nowhere/override", body, 404},
		{url, map[string]string{"reason": "conflict"}, 409},
	} {
		if r := do(t, "POST", c.url, supervisorSecret, c.body); r.Status != c.status {
			t.Errorf("%v: %d %s, want %d", c.body, r.Status, r.Body, c.status)
		}
	}
	// A supervisor scans, too, at its lanes.
	if r := do(t, "POST", base+"/v1/scan", southSupSecret, `{"barcode":"OK-1","lane":"north-1"}`); r.Status != 403 {
		t.Errorf("a lane-limited supervisor scanning elsewhere: %d", r.Status)
	}
	if r := do(t, "POST", base+"/v1/scan", southSupSecret, `{"barcode":"OK-1","lane":"south-1"}`); r.Status != 200 {
		t.Errorf("a supervisor scanning: %d %s", r.Status, r.Body)
	}
	var s httpapi.SessionResponse
	do(t, "GET", base+"/v1/session", southSupSecret, nil).json(t, &s)
	if s.Role != httpapi.RoleSupervisor || len(s.Lanes) != 1 || s.Lanes[0].ID != "south-1" {
		t.Errorf("session %+v", s)
	}
}

// TestOverrideWithoutAnOverrider: an index that cannot override is 503.
func TestOverrideWithoutAnOverrider(t *testing.T) {
	auth, err := httpapi.NewAuth([]httpapi.Token{{Name: "kim", Role: httpapi.RoleSupervisor, Secret: supervisorSecret}})
	if err != nil {
		t.Fatal(err)
	}
	_, base := testServer(t, httpapi.Config{Auth: auth, Index: echoIndex(nil)})
	if r := do(t, "POST", base+"/v1/lanes/north-1/override", supervisorSecret, map[string]string{"reason": "x"}); r.Status != 503 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	var z httpapi.ZonesResponse
	if r := do(t, "GET", base+"/v1/zones", supervisorSecret, nil); r.Status != 200 {
		t.Fatalf("zones %d", r.Status)
	} else if r.json(t, &z); z.Zones == nil || len(z.Zones) != 0 {
		t.Fatalf("zones %+v", z)
	}
}

func TestZonesAndOverridesInTheReport(t *testing.T) {
	idx := echoIndex(nil)
	idx.ReportFunc = func(_ context.Context, event string, now time.Time) (gate.Report, error) {
		return gate.Report{Event: event, At: now, Denials: map[gate.Reason]int{gate.ReasonRule: 3, gate.ReasonZoneFull: 1}}, nil
	}
	base := supervisorServer(t, &zoneIndex{Index: idx})
	var z httpapi.ZonesResponse
	do(t, "GET", base+"/v1/zones?series=1", viewerSecret, nil).json(t, &z)
	if len(z.Zones) != 1 || z.Zones[0].Occupancy != 1200 || z.Zones[0].Capacity != 2400 || len(z.Zones[0].Series) != 1 {
		t.Fatalf("zones %+v", z)
	}
	if r := do(t, "GET", base+"/v1/zones?series=maybe", viewerSecret, nil); r.Status != 400 {
		t.Fatalf("series=maybe: %d", r.Status)
	}
	if r := do(t, "GET", base+"/v1/zones", scannerSecret, nil); r.Status != 403 {
		t.Fatalf("a scanner reading zones: %d", r.Status)
	}
	var rep httpapi.ReportResponse
	do(t, "GET", base+"/v1/report?event=derby", supervisorSecret, nil).json(t, &rep)
	if rep.Denials[gate.ReasonRule] != 3 || len(rep.Overrides) != 1 || rep.Overrides[0].Decision.Override.By != "kim" ||
		len(rep.Zones) != 1 || len(rep.Zones[0].Series) != 1 {
		t.Fatalf("report %+v", rep)
	}
	r := do(t, "GET", base+"/v1/report?event=derby&format=csv&part=overrides", viewerSecret, nil)
	want := "event,seq,at,lane,barcode,by,why,refused,refused_seq,annulled\nderby,9,0001-01-01T00:00:00Z,north-1,B1,kim,\"lost, wristband, checked\",already_used,7,0\n"
	if r.Status != 200 || string(r.Body) != want {
		t.Fatalf("%d\n%s\nwant\n%s", r.Status, r.Body, want)
	}
}

// TestPutEventWithARule: the rule reaches the index as given, and a rule
// the index refuses is 400 with its words.
func TestPutEventWithARule(t *testing.T) {
	var put []gate.Event
	idx := echoIndex(nil)
	idx.PutEventFunc = func(_ context.Context, e gate.Event) (bool, error) {
		if strings.Contains(string(e.Rule), "todya") {
			return false, gate.Errorf(gate.EINVALID, `event derby rule: unknown variable "entries_todya" (did you mean "entries_today"?) (at byte 8, $['<'][0]['var'])`)
		}
		put = append(put, e)
		return true, nil
	}
	_, base := testServer(t, httpapi.Config{Index: idx})
	rule := `{"<": [{"var": "entries_today"}, 1]}`
	r := do(t, "PUT", base+"/v1/events/derby", adminSecret,
		`{"name":"Derby","time_zone":"Europe/Zurich","starts_at":"2026-12-05T20:00:00+01:00","rule":`+rule+`}`)
	if r.Status != 201 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	if len(put) != 1 || string(put[0].Rule) != rule || put[0].TimeZone != "Europe/Zurich" || put[0].StartsAt.IsZero() {
		t.Fatalf("put %+v", put)
	}
	var shown struct {
		Rule map[string][]any `json:"rule"`
	}
	if r.json(t, &shown); len(shown.Rule["<"]) != 2 {
		t.Fatalf("the answer shows the rule as JSON: %s", r.Body)
	}
	r = do(t, "PUT", base+"/v1/events/derby", adminSecret, `{"name":"Derby","rule":{"<": [{"var": "entries_todya"}, 1]}}`)
	if r.Status != 400 || !strings.Contains(string(r.Body), "at byte 8") {
		t.Fatalf("a rule that does not compile: %d %s", r.Status, r.Body)
	}
	if r := do(t, "PUT", base+"/v1/events/derby", adminSecret, `{"name":"Derby","rule":null}`); r.Status != 201 || string(put[len(put)-1].Rule) != "" {
		t.Fatalf("rule null: %d %s %+v", r.Status, r.Body, put)
	}
}
