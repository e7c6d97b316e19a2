package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/gate/gatetest"
	"github.com/admitgate/admit/httpapi"
)

// fuzzIndex answers every call plausibly, or ENOTFOUND for barcodes
// starting with "x", so the fuzzer reaches every handler's success path.
func fuzzIndex() *gatetest.Index {
	idx := echoIndex(nil)
	found := func(b string) error {
		if strings.HasPrefix(b, "x") {
			return gate.Errorf(gate.ENOTFOUND, "no ticket %q", b)
		}
		return nil
	}
	tk := func(b string) gate.Ticket { return gate.Ticket{Barcode: b, Provider: "p", State: gate.StateValid} }
	change := func(_ context.Context, b, by string) (gate.Ticket, error) { return tk(b), found(b) }
	idx.CancelFunc, idx.BlockFunc, idx.UnblockFunc, idx.InvalidateFunc = change, change, change, change
	idx.TicketFunc = func(_ context.Context, b string) (gate.TicketView, error) {
		return gate.TicketView{Ticket: tk(b)}, found(b)
	}
	idx.ReissueFunc = func(_ context.Context, o, n, by string) (gate.Ticket, error) { return tk(n), found(o) }
	idx.UpdateEventsFunc = func(_ context.Context, b string, add, rm []string, by string) (gate.Ticket, error) {
		return tk(b), found(b)
	}
	idx.PutProviderFunc = func(context.Context, gate.Provider) (bool, error) { return true, nil }
	idx.ProvidersFunc = func(context.Context) ([]gate.Provider, error) { return nil, nil }
	idx.PutEventFunc = func(context.Context, gate.Event) (bool, error) { return false, nil }
	idx.EventsFunc = func(context.Context) ([]gate.Event, error) { return nil, nil }
	idx.ImportsFunc = func(context.Context) ([]gate.ImportRecord, error) { return nil, nil }
	idx.WithdrawFunc = func(_ context.Context, id uint64, by string) (gate.ImportRecord, error) {
		return gate.ImportRecord{ID: id}, nil
	}
	idx.AnnulFunc = func(_ context.Context, seq uint64, by string) (gate.JournalEntry, error) {
		return gate.JournalEntry{}, gate.Errorf(gate.ENOTFOUND, "no scan %d", seq)
	}
	idx.EntriesFunc = func(context.Context, uint64, int) ([]gate.JournalEntry, error) { return nil, nil }
	idx.ReportFunc = func(_ context.Context, e string, at time.Time) (gate.Report, error) {
		return gate.Report{Event: e, At: at}, nil
	}
	return idx
}

// FuzzHandler sends arbitrary methods, paths, query strings, bodies and
// tokens to the handler: nothing panics, nothing answers 500, and every
// error has the API's error shape.
func FuzzHandler(f *testing.F) {
	seeds := []struct {
		method, uri, body string
		token             uint8
	}{
		{"POST", "/v1/scan", `{"barcode":"OK-1","lane":"north-1"}`, 0},
		{"POST", "/v1/scan", `{"barcode":"a\u0000b","lane":"south-1","direction":"out","nonce":"n"}`, 2},
		{"POST", "/v1/check", `{"barcode":1}`, 2},
		{"POST", "/v1/scan", "{\"barcode\":\"\xff\",\"lane\":\"north-1\"}", 3},
		{"GET", "/v1/tickets/a%2Fb%3Fc", "", 1},
		{"POST", "/v1/tickets/%zz/cancel", "", 0},
		{"POST", "/v1/tickets/B/reissue", `{"barcode":"C"}`, 0},
		{"POST", "/v1/tickets/B/events", `{"add":["E"],"remove":[]}`, 0},
		{"PUT", "/v1/events/E", `{"name":"e","opens_at":"2026-12-05T18:00:00Z","entries":2}`, 0},
		{"PUT", "/v1/providers/p", `{"name":"P"}`, 0},
		{"PUT", "/v1/providers/p", `{"name":"P","kind":"rotating","event_key":"00112233445566778899aabbccddeeff","skew":"30s"}`, 0},
		{"PUT", "/v1/providers/p", `{"kind":"pretix_sig1","keys":["k"],"items":[{"item":1,"price_type":{"code":"A"}}]}`, 0},
		{"PUT", "/v1/providers/p/revoked", "\xef\xbb\xbf==AQ\r\n\n x \n", 0},
		{"POST", "/v1/providers/p/blocked", "a\x01b\n", 0},
		{"DELETE", "/v1/providers/p/blocked/%3D%3DAQ%2F", "", 0},
		{"GET", "/v1/providers/p", "", 1},
		{"POST", "/v1/imports?provider=p&format=csv&on_error=skip&dry_run=1", "barcode\nB1\n", 0},
		{"POST", "/v1/imports/3/withdraw", "", 0},
		{"POST", "/v1/scans/18446744073709551615/annul", "", 0},
		{"GET", "/v1/scans?after=5&limit=1000&format=secutix&provider=p", "", 1},
		{"GET", "/v1/report?event=E&format=csv&part=minutes", "", 1},
		{"GET", "/v1/lanes", "", 1},
		{"GET", "/readyz", "", 4},
		{"DELETE", "/v1/../v1/scan", "", 0},
		{"GET", "//v1//tickets//", "", 0},
	}
	for _, s := range seeds {
		f.Add(s.method, s.uri, []byte(s.body), s.token)
	}
	imp := &gatetest.Importer{ImportFunc: func(_ context.Context, req gate.ImportRequest, r io.Reader) (gate.ImportResult, error) {
		n, err := io.Copy(io.Discard, r)
		return gate.ImportResult{Lines: int(n)}, err
	}}
	auth, err := httpapi.NewAuth(testTokens)
	if err != nil {
		f.Fatal(err)
	}
	srv, err := httpapi.New(httpapi.Config{Index: fuzzIndex(), Importer: imp, Auth: auth, Lanes: testLanes, Logger: testLogger(f), MaxBodyBytes: 2048,
		Providers: &fakeProviders{}})
	if err != nil {
		f.Fatal(err)
	}
	h := srv.Handler()
	secrets := []string{adminSecret, viewerSecret, scannerSecret, northSecret, ""}
	remote := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9}
	f.Fuzz(func(t *testing.T, method, uri string, body []byte, token uint8) {
		var req fasthttp.Request
		req.Header.SetMethod(method)
		req.SetRequestURI(uri)
		if s := secrets[int(token)%len(secrets)]; s != "" {
			req.Header.Set("Authorization", "Bearer "+s)
		}
		req.SetBody(body)
		var ctx fasthttp.RequestCtx
		ctx.Init(&req, remote, nil)
		h(&ctx)
		status := ctx.Response.StatusCode()
		if status >= 500 {
			t.Fatalf("%s %q %q: %d %s", method, uri, body, status, ctx.Response.Body())
		}
		if status >= 400 {
			var e httpapi.ErrorBody
			if err := json.Unmarshal(ctx.Response.Body(), &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
				t.Fatalf("%s %q: %d with body %q", method, uri, status, ctx.Response.Body())
			}
		}
	})
}
