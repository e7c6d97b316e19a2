package httpapi_test

import (
	"testing"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/httpapi"
)

// GET /v1/lanes says what each lane has by design, so a door whose scans
// come over the API only is not shown as missing its scanner and relay.
func TestLanesSayWhatEachLaneHas(t *testing.T) {
	lanes := []httpapi.LaneInfo{
		{Lane: gate.Lane{ID: "north-1", Direction: gate.In}, HasScanner: true, Turnstile: &laneScanner{}},
		{Lane: gate.Lane{ID: "door-1", Direction: gate.In}, HasScanner: true},
		{Lane: gate.Lane{ID: "api-door", Direction: gate.In}},
	}
	_, base := testServer(t, httpapi.Config{Index: echoIndex(nil), Lanes: lanes})
	var got httpapi.LanesResponse
	do(t, "GET", base+"/v1/lanes", viewerSecret, nil).json(t, &got)
	want := map[string][2]bool{"north-1": {true, true}, "door-1": {true, false}, "api-door": {false, false}}
	for _, l := range got.Lanes {
		if w := want[l.ID]; l.HasScanner != w[0] || l.HasRelay != w[1] {
			t.Errorf("%s: has_scanner %v, has_relay %v, want %v", l.ID, l.HasScanner, l.HasRelay, w)
		}
	}
	if len(got.Lanes) != 3 {
		t.Errorf("%d lanes", len(got.Lanes))
	}
}
