package httpapi_test

import (
	"testing"
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/httpapi"
	"github.com/admitgate/admit/importfile"
	"github.com/admitgate/admit/index"
)

// GET /v1/changes on a single appliance lists every admin change made
// through the API with who asked and when, in order, page by page; refused
// requests are not changes.
func TestChangesListsAdminChanges(t *testing.T) {
	log := testLogger(t)
	ix, err := index.Open(t.TempDir(), &index.Options{Appliance: "api-test", Logger: *log, MemTableSize: 4 << 20,
		BloomMinCapacity: 1000, DisableWALWarmup: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ix.Close() })
	_, base := testServer(t, httpapi.Config{Index: ix, Importer: importfile.NewService(ix, *log, nil)})
	begin := time.Now().Add(-time.Second)
	for _, r := range []struct {
		method, path string
		body         any
		status       int
	}{
		{"PUT", "/v1/providers/box", map[string]any{"name": "Box office"}, 201},
		{"PUT", "/v1/events/derby", map[string]any{"name": "Derby"}, 201},
		{"POST", "/v1/imports?provider=box&event=derby&name=list.txt", "T1\nT2\nT3\n", 200},
		{"POST", "/v1/imports?provider=box&event=derby&dry_run=true", "T4\n", 200}, // a dry run changes nothing
		{"POST", "/v1/tickets/T1/cancel", nil, 200},
		{"POST", "/v1/tickets/nope/cancel", nil, 404}, // refused: not a change
		{"POST", "/v1/tickets/T2/reissue", map[string]any{"barcode": "T2-R"}, 200},
	} {
		if got := do(t, r.method, base+r.path, adminSecret, r.body); got.Status != r.status {
			t.Fatalf("%s %s: %d %s", r.method, r.path, got.Status, got.Body)
		}
	}
	var page httpapi.ChangesResponse
	do(t, "GET", base+"/v1/changes", viewerSecret, nil).json(t, &page)
	want := []gate.ChangeKind{gate.ChangePutProvider, gate.ChangePutEvent, gate.ChangeImport, gate.ChangeCancel, gate.ChangeReissue}
	if len(page.Changes) != len(want) || page.Next != uint64(len(want)) {
		t.Fatalf("changes %+v", page)
	}
	for i, c := range page.Changes {
		if c.Kind != want[i] || c.By != "ops" || c.Seq != uint64(i+1) || c.At.Before(begin) || c.At.After(time.Now()) {
			t.Errorf("change %d: %+v", i+1, c)
		}
	}
	if imp := page.Changes[2].Import; imp == nil || imp.Source != "list.txt" || imp.Added != 3 || len(imp.File) != 64 {
		t.Errorf("the import's change: %+v", imp)
	}
	var rest httpapi.ChangesResponse
	do(t, "GET", base+"/v1/changes?after=3&limit=1", adminSecret, nil).json(t, &rest)
	if len(rest.Changes) != 1 || rest.Changes[0].Kind != gate.ChangeCancel || rest.Changes[0].Barcode != "T1" || rest.Next != 4 {
		t.Fatalf("after=3&limit=1: %+v", rest)
	}
	for _, q := range []string{"?after=x", "?limit=0", "?limit=1001", "?since=1"} {
		if r := do(t, "GET", base+"/v1/changes"+q, viewerSecret, nil); r.Status != 400 || r.errorCode(t) != gate.EINVALID {
			t.Errorf("%s: %d %s", q, r.Status, r.Body)
		}
	}
	if r := do(t, "GET", base+"/v1/changes", scannerSecret, nil); r.Status != 403 {
		t.Errorf("a scanner token: %d", r.Status)
	}
}
