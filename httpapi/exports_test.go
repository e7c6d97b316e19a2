package httpapi_test

import (
	"strings"
	"testing"
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/httpapi"
)

type exportsMonitor []gate.DeliveryStatus

func (m exportsMonitor) Exports() []gate.DeliveryStatus { return m }

// GET /v1/exports shows the monitor's deliveries to viewers and admins, an
// empty list without one, and nothing to scanners.
func TestExports(t *testing.T) {
	at := time.Date(2026, 12, 5, 20, 15, 0, 0, time.UTC)
	mon := exportsMonitor{
		{Kind: "export", Name: "secutix", Target: "/srv/out", Format: "secutix", Active: true, Position: 120, Head: 125,
			LagEntries: 5, LagSeconds: 42.5, LastDelivery: at, LastFile: "secutix-000003-101-120.csv", Delivered: 17},
		{Kind: "webhook", Name: "crm", Target: "https://crm.example/hook", Format: "json", Active: true, Position: 80, Head: 125,
			LagEntries: 45, Lagging: true, Failures: 3, Errors: 9, LastError: "the receiver answered 500", LastErrorAt: at},
	}
	_, base := testServer(t, httpapi.Config{Index: echoIndex(nil), Exports: mon})
	var got httpapi.ExportsResponse
	r := do(t, "GET", base+"/v1/exports", viewerSecret, nil)
	if r.Status != 200 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	r.json(t, &got)
	if len(got.Exports) != 2 || got.Exports[0] != mon[0] || got.Exports[1] != mon[1] {
		t.Errorf("got %+v", got)
	}
	if r := do(t, "GET", base+"/v1/exports", scannerSecret, nil); r.Status != 403 {
		t.Errorf("scanner: %d", r.Status)
	}

	_, base = testServer(t, httpapi.Config{Index: echoIndex(nil)})
	r = do(t, "GET", base+"/v1/exports", adminSecret, nil)
	if r.Status != 200 || strings.TrimSpace(string(r.Body)) != `{"exports":[]}` {
		t.Errorf("without a monitor: %d %s", r.Status, r.Body)
	}
}
