package httpapi_test

import (
	"context"
	"io"
	"testing"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/gate/gatetest"
	"github.com/admitgate/admit/httpapi"
)

// TestTheServerAnswers503UntilItHasAStore is issue 14, item 9: a server
// listens before its store is open (the daemon opens it after), answering
// 503 on /readyz and every /v1 route until SetStore gives it one, instead
// of the daemon forwarding every gate.Index method through a stand-in.
func TestTheServerAnswers503UntilItHasAStore(t *testing.T) {
	srv, base := testServer(t, httpapi.Config{})
	scan := `{"barcode":"OK-1","lane":"north-1"}`
	opening := func(when string) {
		t.Helper()
		for _, r := range []response{
			do(t, "POST", base+"/v1/scan", scannerSecret, scan),
			do(t, "GET", base+"/v1/events", viewerSecret, nil),
			do(t, "POST", base+"/v1/imports?provider=p", adminSecret, "B1\n"),
		} {
			if r.Status != 503 || r.errorCode(t) != gate.EUNAVAILABLE {
				t.Errorf("%s: %d %s", when, r.Status, r.Body)
			}
		}
		if r := do(t, "GET", base+"/readyz", "", nil); r.Status != 503 {
			t.Errorf("%s: readyz %d %s", when, r.Status, r.Body)
		}
		if r := do(t, "GET", base+"/healthz", "", nil); r.Status != 200 {
			t.Errorf("%s: healthz %d", when, r.Status)
		}
	}
	opening("before SetStore")

	idx := fuzzIndex()
	imp := &gatetest.Importer{ImportFunc: func(_ context.Context, req gate.ImportRequest, r io.Reader) (gate.ImportResult, error) {
		n, err := io.Copy(io.Discard, r)
		return gate.ImportResult{Lines: int(n), Applied: true}, err
	}}
	srv.SetStore(idx, imp)
	if r := do(t, "POST", base+"/v1/scan", scannerSecret, scan); r.Status != 200 {
		t.Errorf("scan: %d %s", r.Status, r.Body)
	}
	if r := do(t, "POST", base+"/v1/imports?provider=p&create_provider=true", adminSecret, "B1\n"); r.Status != 200 {
		t.Errorf("import: %d %s", r.Status, r.Body)
	}
	if r := do(t, "GET", base+"/readyz", "", nil); r.Status != 200 {
		t.Errorf("readyz: %d %s", r.Status, r.Body)
	}

	srv.SetStore(idx, nil) // a store without an importer
	if r := do(t, "POST", base+"/v1/imports?provider=p", adminSecret, "B1\n"); r.Status != 503 {
		t.Errorf("import without an importer: %d %s", r.Status, r.Body)
	}
	srv.SetStore(nil, nil)
	opening("after SetStore(nil)")
}
