package httpapi_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/gate/gatetest"
	"github.com/admitgate/admit/httpapi"
)

func TestScanFillsTheScanFromTheLane(t *testing.T) {
	got := make(chan gate.Scan, 1)
	_, base := testServer(t, httpapi.Config{Index: echoIndex(got)})
	tests := []struct {
		name   string
		body   string
		secret string
		want   gate.Scan
	}{
		{"lane policy and direction", `{"barcode":"OK 1","lane":"north-1"}`, adminSecret,
			gate.Scan{Barcode: "OK 1", Lane: "north-1", Direction: gate.In, LaneEvents: []string{"derby"}, Source: "http:ops"}},
		{"open-now lane, explicit exit and nonce", `{"barcode":"x/y?%","lane":"south-1","direction":"out","nonce":"n-1"}`, scannerSecret,
			gate.Scan{Barcode: "x/y?%", Lane: "south-1", Direction: gate.Out, Nonce: "n-1", Source: "http:handheld"}},
		{"exit lane", `{"barcode":"ünï","lane":"exit-1"}`, northSecret + "", gate.Scan{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := do(t, "POST", base+"/v1/scan", tt.secret, tt.body)
			if tt.want.Barcode == "" {
				if r.Status != 403 || r.errorCode(t) != gate.EFORBIDDEN {
					t.Fatalf("status %d %s, want 403", r.Status, r.Body)
				}
				return
			}
			if r.Status != 200 {
				t.Fatalf("status %d: %s", r.Status, r.Body)
			}
			s := <-got
			if s.At.IsZero() || time.Since(s.At) > time.Minute {
				t.Errorf("scan time %v", s.At)
			}
			s.At = time.Time{}
			if fmt.Sprint(s) != fmt.Sprint(tt.want) {
				t.Errorf("scan = %+v\nwant   %+v", s, tt.want)
			}
			var d gate.Decision
			r.json(t, &d)
			if d.Barcode != tt.want.Barcode || d.Lane != tt.want.Lane || d.Seq == 0 {
				t.Errorf("decision = %+v", d)
			}
		})
	}
}

func TestScanAnswersTheDecision(t *testing.T) {
	first := time.Date(2026, 12, 5, 18, 5, 0, 0, time.UTC)
	idx := &gatetest.Index{ScanFunc: func(_ context.Context, s gate.Scan) gate.Decision {
		d := s.Refusal(gate.ReasonAlreadyUsed, "")
		d.Seq, d.Event = 7, "derby"
		d.Ticket = &gate.TicketInfo{Provider: "secutix", PriceType: "CHI", PriceTypeName: "Child", Product: "MATCH", State: gate.StateValid}
		d.FirstUsed = &gate.Movement{At: first, Lane: "north-1", Seq: 3}
		return d
	}}
	_, base := testServer(t, httpapi.Config{Index: idx})
	r := do(t, "POST", base+"/v1/scan", adminSecret, `{"barcode":"B","lane":"north-1"}`)
	if r.Status != 200 {
		t.Fatalf("a refusal is a decision: status %d %s", r.Status, r.Body)
	}
	var got map[string]any
	r.json(t, &got)
	for k, want := range map[string]any{"admit": false, "reason": "already_used", "seq": 7.0, "barcode": "B", "event": "derby"} {
		if got[k] != want {
			t.Errorf("%s = %v, want %v", k, got[k], want)
		}
	}
	tk, _ := got["ticket"].(map[string]any)
	if tk["provider"] != "secutix" || tk["price_type"] != "CHI" || tk["price_type_name"] != "Child" || tk["product"] != "MATCH" {
		t.Errorf("ticket = %v", got["ticket"])
	}
	fu, _ := got["first_used"].(map[string]any)
	if fu["at"] != "2026-12-05T18:05:00Z" || fu["lane"] != "north-1" {
		t.Errorf("first_used = %v", got["first_used"])
	}
}

func TestCheckRedeemsNothingAndLanesShowTheLastScan(t *testing.T) {
	srv, base := testServer(t, httpapi.Config{Index: echoIndex(nil)})
	if r := do(t, "POST", base+"/v1/check", scannerSecret, `{"barcode":"OK-check","lane":"south-1"}`); r.Status != 200 {
		t.Fatalf("check: %d %s", r.Status, r.Body)
	}
	if r := do(t, "POST", base+"/v1/scan", scannerSecret, `{"barcode":"OK-1","lane":"south-1"}`); r.Status != 200 {
		t.Fatalf("scan: %d %s", r.Status, r.Body)
	}
	if r := do(t, "POST", base+"/v1/scan", scannerSecret, `{"barcode":"nope","lane":"south-1"}`); r.Status != 200 {
		t.Fatalf("scan: %d %s", r.Status, r.Body)
	}
	var lanes httpapi.LanesResponse
	r := do(t, "GET", base+"/v1/lanes", viewerSecret, nil)
	r.json(t, &lanes)
	if len(lanes.Lanes) != 3 {
		t.Fatalf("lanes = %s", r.Body)
	}
	south := lanes.Lanes[1]
	if south.ID != "south-1" || south.Scans != 2 || south.Admits != 1 || south.Last == nil || south.Last.Barcode != "nope" || south.Events != nil {
		t.Errorf("south = %+v", south)
	}
	if n := lanes.Lanes[0]; n.Scans != 0 || n.Last != nil || len(n.Events) != 1 {
		t.Errorf("north = %+v", n)
	}
	// A reload keeps the counters of lanes that stay.
	if err := srv.SetLanes([]httpapi.LaneInfo{{Lane: gate.Lane{ID: "south-1", Direction: gate.Out}}}); err != nil {
		t.Fatal(err)
	}
	do(t, "GET", base+"/v1/lanes", viewerSecret, nil).json(t, &lanes)
	if len(lanes.Lanes) != 1 || lanes.Lanes[0].Scans != 2 || lanes.Lanes[0].Direction != gate.Out {
		t.Errorf("after reload: %+v", lanes.Lanes)
	}
	if r := do(t, "POST", base+"/v1/scan", adminSecret, `{"barcode":"OK","lane":"north-1"}`); r.Status != 400 {
		t.Errorf("a removed lane: %d %s", r.Status, r.Body)
	}
	if err := srv.SetLanes([]httpapi.LaneInfo{{Lane: gate.Lane{ID: "bad lane", Direction: gate.In}}}); err == nil {
		t.Error("a lane id with a space was accepted")
	}
}

func TestTokensAndRoles(t *testing.T) {
	idx := echoIndex(nil)
	idx.ReportFunc = func(_ context.Context, event string, _ time.Time) (gate.Report, error) {
		return gate.Report{Event: event}, nil
	}
	idx.CancelFunc = func(_ context.Context, b, by string) (gate.Ticket, error) {
		return gate.Ticket{Barcode: b, State: gate.StateCancelled}, nil
	}
	srv, base := testServer(t, httpapi.Config{Index: idx})
	scan := `{"barcode":"OK","lane":"north-1"}`
	southScan := `{"barcode":"OK","lane":"south-1"}`
	tests := []struct {
		name, method, path, secret string
		body                       any
		want                       int
	}{
		{"no token", "POST", "/v1/scan", "", scan, 401},
		{"unknown token", "POST", "/v1/scan", "not-a-token-at-all-123", scan, 401},
		{"a prefix of a secret", "POST", "/v1/scan", adminSecret[:10], scan, 401},
		{"admin scans", "POST", "/v1/scan", adminSecret, scan, 200},
		{"scanner scans", "POST", "/v1/scan", scannerSecret, scan, 200},
		{"viewer may not scan", "POST", "/v1/scan", viewerSecret, scan, 403},
		{"viewer may not check", "POST", "/v1/check", viewerSecret, scan, 403},
		{"lane-limited scanner at its lane", "POST", "/v1/scan", northSecret, scan, 200},
		{"lane-limited scanner elsewhere", "POST", "/v1/scan", northSecret, southScan, 403},
		{"lane-limited scanner checks elsewhere", "POST", "/v1/check", northSecret, southScan, 403},
		{"viewer reads", "GET", "/v1/report?event=derby", viewerSecret, nil, 200},
		{"scanner may not read", "GET", "/v1/report?event=derby", scannerSecret, nil, 403},
		{"viewer may not cancel", "POST", "/v1/tickets/B/cancel", viewerSecret, nil, 403},
		{"scanner may not cancel", "POST", "/v1/tickets/B/cancel", scannerSecret, nil, 403},
		{"admin cancels", "POST", "/v1/tickets/B/cancel", adminSecret, nil, 200},
		{"health needs no token", "GET", "/healthz", "", nil, 200},
		{"metrics need no token", "GET", "/metrics", "", nil, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := do(t, tt.method, base+tt.path, tt.secret, tt.body)
			if r.Status != tt.want {
				t.Fatalf("status %d, want %d: %s", r.Status, tt.want, r.Body)
			}
			switch tt.want {
			case 401:
				if r.errorCode(t) != gate.EUNAUTHORIZED || r.Header.Get("WWW-Authenticate") == "" {
					t.Errorf("401 without its code or WWW-Authenticate: %s", r.Body)
				}
			case 403:
				if r.errorCode(t) != gate.EFORBIDDEN {
					t.Errorf("403 without its code: %s", r.Body)
				}
			}
			if strings.Contains(string(r.Body), "secret-0123") {
				t.Errorf("a secret appears in the answer: %s", r.Body)
			}
		})
	}

	// A reload swaps the tokens at once.
	a, err := httpapi.NewAuth([]httpapi.Token{{Name: "new", Role: httpapi.RoleAdmin, Secret: "brand-new-secret-000"}})
	if err != nil {
		t.Fatal(err)
	}
	srv.SetAuth(a)
	if r := do(t, "POST", base+"/v1/scan", adminSecret, scan); r.Status != 401 {
		t.Errorf("old token after reload: %d", r.Status)
	}
	if r := do(t, "POST", base+"/v1/scan", "brand-new-secret-000", scan); r.Status != 200 {
		t.Errorf("new token after reload: %d %s", r.Status, r.Body)
	}
}

func TestNewAuthRefusesBadTokens(t *testing.T) {
	tests := []struct {
		name   string
		tokens []httpapi.Token
		want   string
	}{
		{"no name", []httpapi.Token{{Role: httpapi.RoleAdmin, Secret: adminSecret}}, "no name"},
		{"duplicate name", []httpapi.Token{{Name: "a", Role: httpapi.RoleAdmin, Secret: adminSecret}, {Name: "a", Role: httpapi.RoleViewer, Secret: viewerSecret}}, "twice"},
		{"bad role", []httpapi.Token{{Name: "a", Role: "root", Secret: adminSecret}}, "role"},
		{"short secret", []httpapi.Token{{Name: "a", Role: httpapi.RoleAdmin, Secret: "short"}}, "shorter"},
		{"same secret", []httpapi.Token{{Name: "a", Role: httpapi.RoleAdmin, Secret: adminSecret}, {Name: "b", Role: httpapi.RoleViewer, Secret: adminSecret}}, "same secret"},
		{"lanes on a viewer", []httpapi.Token{{Name: "a", Role: httpapi.RoleViewer, Secret: adminSecret, Lanes: []string{"x"}}}, "only scanner"},
		{"white space", []httpapi.Token{{Name: "a", Role: httpapi.RoleAdmin, Secret: "has a space in it!!"}}, "white space"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := httpapi.NewAuth(tt.tokens)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			if strings.Contains(err.Error(), adminSecret) {
				t.Errorf("the error shows the secret: %v", err)
			}
		})
	}
}

func TestBadInputIsA4xxAndTheServerStaysUp(t *testing.T) {
	idx := echoIndex(nil)
	idx.TicketFunc = func(_ context.Context, b string) (gate.TicketView, error) {
		return gate.TicketView{}, gate.Errorf(gate.ENOTFOUND, "no ticket")
	}
	imp := &gatetest.Importer{ImportFunc: func(_ context.Context, req gate.ImportRequest, f io.Reader) (gate.ImportResult, error) {
		return gate.ImportResult{}, nil
	}}
	_, base := testServer(t, httpapi.Config{Index: idx, Importer: imp, MaxBodyBytes: 4096})
	huge := `{"barcode":"` + strings.Repeat("A", 10000) + `","lane":"north-1"}`
	tests := []struct {
		name, method, path string
		body               any
		want               int
		code               string
	}{
		{"malformed JSON", "POST", "/v1/scan", `{"barcode":`, 400, gate.EINVALID},
		{"not JSON", "POST", "/v1/scan", `barcode=1`, 400, gate.EINVALID},
		{"empty body", "POST", "/v1/scan", ``, 400, gate.EINVALID},
		{"an array", "POST", "/v1/scan", `[1,2]`, 400, gate.EINVALID},
		{"wrong type", "POST", "/v1/scan", `{"barcode":123,"lane":"north-1"}`, 400, gate.EINVALID},
		{"wrong type for lane", "POST", "/v1/scan", `{"barcode":"1","lane":["north-1"]}`, 400, gate.EINVALID},
		{"unknown field", "POST", "/v1/scan", `{"barcode":"1","lane":"north-1","barcdoe":"x"}`, 400, gate.EINVALID},
		{"two values", "POST", "/v1/scan", `{"barcode":"1","lane":"north-1"}{}`, 400, gate.EINVALID},
		{"trailing garbage", "POST", "/v1/scan", `{"barcode":"1","lane":"north-1"} x`, 400, gate.EINVALID},
		{"huge body", "POST", "/v1/scan", huge, 413, gate.ETOOLARGE},
		{"huge chunked body", "POST", "/v1/scan", io.MultiReader(strings.NewReader(huge)), 413, gate.ETOOLARGE},
		{"invalid UTF-8", "POST", "/v1/scan", "{\"barcode\":\"\xff\xfe\",\"lane\":\"north-1\"}", 400, gate.EINVALID},
		{"raw NUL byte", "POST", "/v1/scan", "{\"barcode\":\"a\x00b\",\"lane\":\"north-1\"}", 400, gate.EINVALID},
		{"NUL body", "POST", "/v1/scan", "\x00\x00\x00", 400, gate.EINVALID},
		{"missing barcode", "POST", "/v1/scan", `{"lane":"north-1"}`, 400, gate.EINVALID},
		{"missing lane", "POST", "/v1/scan", `{"barcode":"1"}`, 400, gate.EINVALID},
		{"unknown lane", "POST", "/v1/scan", `{"barcode":"1","lane":"west-9"}`, 400, gate.EINVALID},
		{"bad direction", "POST", "/v1/scan", `{"barcode":"1","lane":"north-1","direction":"up"}`, 400, gate.EINVALID},
		{"long nonce", "POST", "/v1/check", `{"barcode":"1","lane":"north-1","nonce":"` + strings.Repeat("n", 200) + `"}`, 400, gate.EINVALID},
		{"unknown path", "GET", "/v1/nothing", nil, 404, gate.ENOTFOUND},
		{"no such root", "GET", "/", nil, 404, gate.ENOTFOUND},
		{"trailing slash", "POST", "/v1/scan/", `{}`, 404, gate.ENOTFOUND},
		{"wrong method", "GET", "/v1/scan", nil, 405, "method_not_allowed"},
		{"wrong method on a pattern", "DELETE", "/v1/tickets/B", nil, 405, "method_not_allowed"},
		{"encoded NUL in a barcode", "GET", "/v1/tickets/a%00b", nil, 400, gate.EINVALID},
		{"invalid UTF-8 in a barcode", "GET", "/v1/tickets/%ff%fe", nil, 400, gate.EINVALID},
		{"empty barcode", "POST", "/v1/tickets//cancel", nil, 400, gate.EINVALID},
		{"unknown ticket", "GET", "/v1/tickets/nope", nil, 404, gate.ENOTFOUND},
		{"seq not a number", "POST", "/v1/scans/abc/annul", nil, 400, gate.EINVALID},
		{"seq zero", "POST", "/v1/scans/0/annul", nil, 400, gate.EINVALID},
		{"import id negative", "POST", "/v1/imports/-1/withdraw", nil, 400, gate.EINVALID},
		{"report without event", "GET", "/v1/report", nil, 400, gate.EINVALID},
		{"report with a bad format", "GET", "/v1/report?event=e&format=xml", nil, 400, gate.EINVALID},
		{"feed with a bad limit", "GET", "/v1/scans?limit=100000", nil, 400, gate.EINVALID},
		{"feed with a bad after", "GET", "/v1/scans?after=-3", nil, 400, gate.EINVALID},
		{"event with a bad time", "PUT", "/v1/events/derby", `{"name":"D","opens_at":"tomorrow"}`, 400, gate.EINVALID},
		{"event closing before it opens", "PUT", "/v1/events/derby", `{"opens_at":"2026-12-05T20:00:00Z","closes_at":"2026-12-05T18:00:00Z"}`, 400, gate.EINVALID},
		{"event with a bad id", "PUT", "/v1/events/der%20by", `{"name":"D"}`, 400, gate.EINVALID},
		{"provider with a wrong type", "PUT", "/v1/providers/p", `{"name":5}`, 400, gate.EINVALID},
		{"reissue without a barcode", "POST", "/v1/tickets/B/reissue", `{}`, 400, gate.EINVALID},
		{"reissue onto itself", "POST", "/v1/tickets/B/reissue", `{"barcode":"B"}`, 400, gate.EINVALID},
		{"pass update with nothing", "POST", "/v1/tickets/B/events", `{}`, 400, gate.EINVALID},
		{"pass update with a bad id", "POST", "/v1/tickets/B/events", `{"add":["a b"]}`, 400, gate.EINVALID},
		{"import without provider", "POST", "/v1/imports", "B1\n", 400, gate.EINVALID},
		{"import with an unknown parameter", "POST", "/v1/imports?provider=p&evnt=x", "B1\n", 400, gate.EINVALID},
		{"import with a bad format", "POST", "/v1/imports?provider=p&format=xls", "B1\n", 400, gate.EINVALID},
		{"import with a bad dry_run", "POST", "/v1/imports?provider=p&dry_run=maybe", "B1\n", 400, gate.EINVALID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := do(t, tt.method, base+tt.path, adminSecret, tt.body)
			if r.Status != tt.want {
				t.Fatalf("status %d, want %d: %s", r.Status, tt.want, r.Body)
			}
			if code := r.errorCode(t); code != tt.code {
				t.Errorf("code %q, want %q", code, tt.code)
			}
		})
		if r := do(t, "GET", base+"/healthz", "", nil); r.Status != 200 {
			t.Fatalf("after %s the server is down: %d", tt.name, r.Status)
		}
	}
}

func TestRawRequestsAreAnsweredAs4xx(t *testing.T) {
	_, base := testServer(t, httpapi.Config{Index: echoIndex(nil)})
	addr := strings.TrimPrefix(base, "http://")
	tests := []struct{ name, raw, want string }{
		{"garbage request line", "\x00\x01\x02 nonsense\r\n\r\n", "HTTP/1.1 400"},
		{"raw space in the path", "GET /v1/tickets/a b HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 4"},
		{"bad content length", "POST /v1/scan HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n", "HTTP/1.1 400"},
		{"bad percent-encoding", "GET /v1/tickets/%zz HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + viewerSecret + "\r\nConnection: close\r\n\r\n", "HTTP/1.1 400"},
		{"encoded slash only", "GET /v1/tickets/%2F HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "HTTP/1.1 401"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			if _, err := io.WriteString(c, tt.raw); err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(c)
			if !strings.HasPrefix(string(b), tt.want) {
				t.Fatalf("answer %q, want %q...", b, tt.want)
			}
		})
	}
	if r := do(t, "GET", base+"/healthz", "", nil); r.Status != 200 {
		t.Fatalf("server down: %d", r.Status)
	}
}

func TestOddBarcodesInPaths(t *testing.T) {
	var got atomic.Value
	idx := &gatetest.Index{
		TicketFunc: func(_ context.Context, b string) (gate.TicketView, error) {
			got.Store(b)
			return gate.TicketView{Ticket: gate.Ticket{Barcode: b, State: gate.StateValid}}, nil
		},
		BlockFunc: func(_ context.Context, b, by string) (gate.Ticket, error) {
			got.Store(b + "|" + by)
			return gate.Ticket{Barcode: b, State: gate.StateBlocked}, nil
		},
	}
	_, base := testServer(t, httpapi.Config{Index: idx})
	for _, b := range []string{"plain", "a/b", "a?b=c", "100%", "with space", "ünïcødé-条码", "+plus+", "#hash", "..", "a%2Fb", "GS1\x1d0123"} {
		t.Run(b, func(t *testing.T) {
			r := do(t, "GET", base+"/v1/tickets/"+url.PathEscape(b), viewerSecret, nil)
			if r.Status != 200 || got.Load() != b {
				t.Fatalf("status %d, index got %q, want %q: %s", r.Status, got.Load(), b, r.Body)
			}
			var v gate.TicketView
			r.json(t, &v)
			if v.Barcode != b || v.Redemptions == nil || v.History == nil {
				t.Errorf("view = %+v", v)
			}
			r = do(t, "POST", base+"/v1/tickets/"+url.PathEscape(b)+"/block", adminSecret, nil)
			if r.Status != 200 || got.Load() != b+"|ops" {
				t.Fatalf("block: status %d, index got %q: %s", r.Status, got.Load(), r.Body)
			}
		})
	}
}

func TestErrorCodesMapToStatuses(t *testing.T) {
	type errBox struct{ err error }
	var next atomic.Value
	idx := &gatetest.Index{CancelFunc: func(_ context.Context, b, by string) (gate.Ticket, error) {
		return gate.Ticket{}, next.Load().(errBox).err
	}}
	_, base := testServer(t, httpapi.Config{Index: idx})
	tests := []struct {
		err    error
		status int
		msg    string
	}{
		{gate.Errorf(gate.EINVALID, "bad"), 400, "bad"},
		{gate.Errorf(gate.ENOTFOUND, "no ticket B"), 404, "no ticket B"},
		{fmt.Errorf("index: wrapped: %w", gate.Errorf(gate.ECONFLICT, "revoked")), 409, "revoked"},
		{gate.Errorf(gate.ETOOLARGE, "big"), 413, "big"},
		{gate.Errorf(gate.EUNAVAILABLE, "closing"), 503, "closing"},
		{fmt.Errorf("index: cancel: %w", gate.Errorf(gate.ENOSPACE, "the data disk is full")), 507, "the data disk is full"},
		{gate.Errorf(gate.ENOSPACE, "no room to write the change"), 507, "the data disk is full: no room to write the change"},
		{gate.Errorf(gate.ENOSPACE, ""), 507, "the data disk is full"},
		{errors.New("pebble: disk on fire at /var/lib/admit"), 500, "internal error"},
		{gate.Errorf(gate.EINTERNAL, "index: secret detail"), 500, "internal error"},
	}
	for _, tt := range tests {
		next.Store(errBox{tt.err})
		r := do(t, "POST", base+"/v1/tickets/B/cancel", adminSecret, nil)
		var e httpapi.ErrorBody
		r.json(t, &e)
		if r.Status != tt.status || e.Error.Message != tt.msg {
			t.Errorf("%v: %d %q, want %d %q", tt.err, r.Status, e.Error.Message, tt.status, tt.msg)
		}
	}
}

func TestAPanicIsAnsweredAndTheServerStaysUp(t *testing.T) {
	idx := &gatetest.Index{ProvidersFunc: func(context.Context) ([]gate.Provider, error) { panic("boom") }}
	_, base := testServer(t, httpapi.Config{Index: idx})
	r := do(t, "GET", base+"/v1/providers", viewerSecret, nil)
	if r.Status != 500 || r.errorCode(t) != gate.EINTERNAL || strings.Contains(string(r.Body), "boom") {
		t.Fatalf("panic answered %d %s", r.Status, r.Body)
	}
	if r := do(t, "GET", base+"/healthz", "", nil); r.Status != 200 {
		t.Fatal("server down after a panic")
	}
}

func TestReadiness(t *testing.T) {
	var ready atomic.Bool
	check := func() error {
		if !ready.Load() {
			return errors.New("store opening")
		}
		return nil
	}
	_, base := testServer(t, httpapi.Config{Index: echoIndex(nil), Ready: check, Serving: check})
	if r := do(t, "GET", base+"/readyz", "", nil); r.Status != 503 {
		t.Errorf("readyz before ready: %d", r.Status)
	}
	if r := do(t, "POST", base+"/v1/scan", adminSecret, `{"barcode":"OK","lane":"north-1"}`); r.Status != 503 || r.errorCode(t) != gate.EUNAVAILABLE {
		t.Errorf("scan before ready: %d %s", r.Status, r.Body)
	}
	if r := do(t, "GET", base+"/healthz", "", nil); r.Status != 200 {
		t.Errorf("healthz before ready: %d", r.Status)
	}
	ready.Store(true)
	if r := do(t, "GET", base+"/readyz", "", nil); r.Status != 200 {
		t.Errorf("readyz when ready: %d", r.Status)
	}
}

// A faulted store is not ready, but its scans are still decided: a full disk
// refuses them, it does not make the API go away.
func TestNotReadyButServing(t *testing.T) {
	_, base := testServer(t, httpapi.Config{Index: echoIndex(nil), Ready: func() error { return errors.New("the data disk is full") }})
	if r := do(t, "GET", base+"/readyz", "", nil); r.Status != 503 || !strings.Contains(string(r.Body), "the data disk is full") {
		t.Errorf("readyz of a faulted store: %d %s", r.Status, r.Body)
	}
	if r := do(t, "POST", base+"/v1/scan", adminSecret, `{"barcode":"OK","lane":"north-1"}`); r.Status != 200 {
		t.Errorf("scan at a faulted store: %d %s", r.Status, r.Body)
	}
}

func TestMetricsCountScans(t *testing.T) {
	_, base := testServer(t, httpapi.Config{Index: echoIndex(nil)})
	for _, b := range []string{"OK-1", "OK-2", "unknown-1"} {
		do(t, "POST", base+"/v1/scan", adminSecret, `{"barcode":"`+b+`","lane":"north-1"}`)
	}
	do(t, "GET", base+"/v1/nope", adminSecret, nil)
	r := do(t, "GET", base+"/metrics", "", nil)
	for _, want := range []string{
		`admit_scans_total{lane="north-1",reason="ok"} 2`,
		`admit_scans_total{lane="north-1",reason="unknown"} 1`,
		`admit_decision_seconds_count{kind="scan"} 3`,
		`admit_http_requests_total{code="2xx",route="POST /v1/scan"} 3`,
		`admit_http_requests_total{code="4xx",route="unmatched"} 1`,
		`go_goroutines`,
	} {
		if !strings.Contains(string(r.Body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}
