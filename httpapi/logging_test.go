package httpapi_test

import (
	"context"
	"encoding/json"
	"github.com/admitgate/admit/internal/testkit"
	"net/url"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/httpapi"
)

// jsonLines keeps JSON log lines (searched for secrets, as every test log
// of the kit is); safe for concurrent use.
type jsonLines struct{ *testkit.Log }

// requests returns the request lines, decoded.
func (j *jsonLines) requests(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range j.Lines() {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("not JSON: %q", l)
		}
		if m["message"] == "request" {
			out = append(out, m)
		}
	}
	return out
}

func TestRequestLines(t *testing.T) {
	const barcode = "9836900602677354"
	logs := &jsonLines{testkit.NewLog(t)}
	log := zerolog.New(logs).Level(zerolog.DebugLevel)
	ix := echoIndex(nil)
	ix.TicketFunc = func(_ context.Context, b string) (gate.TicketView, error) {
		return gate.TicketView{Ticket: gate.Ticket{Barcode: b, Provider: "p", State: gate.StateValid}}, nil
	}
	_, base := testServer(t, httpapi.Config{Index: ix, Logger: &log})

	do(t, "GET", base+"/v1/lanes", viewerSecret, nil)
	do(t, "GET", base+"/v1/lanes", "wrong-secret-0123456789", nil)
	do(t, "POST", base+"/v1/scan", scannerSecret, map[string]string{"barcode": "OK-1", "lane": "south-1"})
	do(t, "GET", base+"/v1/tickets/"+url.PathEscape(barcode), viewerSecret, nil)
	do(t, "GET", base+"/healthz", "", nil)

	lines := logs.requests(t)
	if len(lines) != 5 {
		t.Fatalf("%d request lines, want 5: %v", len(lines), lines)
	}
	for i, want := range []struct {
		level, route string
		status       float64
	}{
		{"debug", "GET /v1/lanes", 200}, // the operator page's polls
		{"info", "GET /v1/lanes", 401},
		{"info", "POST /v1/scan", 200},
		{"debug", "GET /v1/tickets/{barcode}", 200},
		{"debug", "GET /healthz", 200},
	} {
		l := lines[i]
		if l["level"] != want.level || l["route"] != want.route || l["status"] != want.status {
			t.Errorf("line %d: %v, want %+v", i, l, want)
		}
		if _, ok := l["took_ms"].(float64); !ok {
			t.Errorf("line %d has no took_ms: %v", i, l)
		}
	}
	if l := lines[3]; l["barcode"] != "…7354" || l["path"] != nil {
		t.Errorf("a ticket's request line: %v", l)
	}
	if all := logs.String(); strings.Contains(all, barcode) {
		t.Errorf("the log holds the whole barcode:\n%s", all)
	}
}
