package httpapi_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/gate/gatetest"
	"github.com/admitgate/admit/httpapi"
	"github.com/admitgate/admit/internal/testkit"
)

const (
	adminSecret   = "admin-secret-0123456789"
	viewerSecret  = "viewer-secret-0123456789"
	scannerSecret = "scanner-secret-0123456789"
	northSecret   = "north-only-secret-0123456789"
)

var testTokens = []httpapi.Token{
	{Name: "ops", Role: httpapi.RoleAdmin, Secret: adminSecret},
	{Name: "board", Role: httpapi.RoleViewer, Secret: viewerSecret},
	{Name: "handheld", Role: httpapi.RoleScanner, Secret: scannerSecret},
	{Name: "north-door", Role: httpapi.RoleScanner, Secret: northSecret, Lanes: []string{"north-1"}},
}

var testLanes = []httpapi.LaneInfo{
	{Lane: gate.Lane{ID: "north-1", Name: "North 1", Direction: gate.In, Events: []string{"derby"}}},
	{Lane: gate.Lane{ID: "south-1", Direction: gate.In}},
	{Lane: gate.Lane{ID: "exit-1", Direction: gate.Out}},
}

// Every line the package's tests log is kept and searched for every secret
// the tests use (issue 21, item 11: no secret in logs). Each test's lines
// are searched when it ends, naming the test; TestMain fails the run for a
// line written after a test's end.
func init() {
	for _, tok := range testTokens {
		testkit.WatchSecret(tok.Secret)
	}
}

func TestMain(m *testing.M) { testkit.Main(m) }

// testLogger logs at debug level, so that fasthttp's own lines are kept
// too (and to the test's log when ADMIT_TEST_LOG is set); t fails at its
// end if a line holds a secret.
func testLogger(t testing.TB) *zerolog.Logger {
	l := testkit.NewLog(t).Logger()
	return &l
}

// testServer serves cfg on 127.0.0.1 and returns its base URL.
func testServer(t testing.TB, cfg httpapi.Config) (*httpapi.Server, string) {
	t.Helper()
	if cfg.Auth == nil {
		a, err := httpapi.NewAuth(testTokens)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Auth = a
	}
	if cfg.Lanes == nil {
		cfg.Lanes = testLanes
	}
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t)
	}
	srv, err := httpapi.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return srv, "http://" + ln.Addr().String()
}

type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r response) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// errorCode returns the code of an error body, failing the test when the
// body is not the API's error shape.
func (r response) errorCode(t testing.TB) string {
	t.Helper()
	var e httpapi.ErrorBody
	if err := json.Unmarshal(r.Body, &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
		t.Fatalf("status %d: body %q is not an error body", r.Status, r.Body)
	}
	return e.Error.Code
}

// do sends a request with a bearer secret ("" for none) and a body (string,
// []byte, io.Reader or a value sent as JSON).
func do(t testing.TB, method, url, secret string, body any) response {
	t.Helper()
	testkit.WatchSecret(secret)
	var header []string
	if accept, ok := body.(acceptMarker); ok {
		body, header = nil, []string{"Accept", string(accept)}
	}
	r := testkit.Do(t, method, url, secret, body, header...)
	return response{Status: r.Status, Header: r.Header, Body: r.Body}
}

// echoIndex is a fake index whose scans admit everything and report the
// scan they were given.
func echoIndex(got chan<- gate.Scan) *gatetest.Index {
	var seq atomic.Uint64
	decide := func(s gate.Scan, redeem bool) gate.Decision {
		if got != nil {
			got <- s
		}
		d := s.Refusal(gate.ReasonUnknown, "")
		if strings.HasPrefix(s.Barcode, "OK") {
			d.Admit, d.Reason, d.Event = true, gate.ReasonOK, "derby"
			d.Ticket = &gate.TicketInfo{Provider: "p", PriceType: "ADU", PriceTypeName: "Adult", State: gate.StateValid}
		}
		if redeem {
			d.Seq = seq.Add(1)
		}
		return d
	}
	return &gatetest.Index{
		ScanFunc:  func(_ context.Context, s gate.Scan) gate.Decision { return decide(s, true) },
		CheckFunc: func(_ context.Context, s gate.Scan) gate.Decision { return decide(s, false) },
		ProvidersFunc: func(context.Context) ([]gate.Provider, error) {
			return []gate.Provider{{ID: "box", Name: "Box office"}, {ID: "p", Name: "p"}}, nil
		},
	}
}

// acceptMarker, passed as the body to do, sends no body and this Accept header.
type acceptMarker string
