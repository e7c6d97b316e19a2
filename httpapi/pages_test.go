package httpapi_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/httpapi"
)

// fakePages serves "/" and "/assets/app.css" and records what it was asked.
type fakePages struct{}

func (fakePages) Has(path string) bool { return path == "/" || path == "/assets/app.css" }

func (fakePages) Serve(ctx *fasthttp.RequestCtx) {
	if !ctx.IsGet() && !ctx.IsHead() {
		ctx.SetStatusCode(fasthttp.StatusMethodNotAllowed)
		return
	}
	ctx.SetContentType("text/html; charset=utf-8")
	ctx.SetBodyString("page " + string(ctx.Path()))
}

func TestPagesAreServedOutsideTheAPI(t *testing.T) {
	_, base := testServer(t, httpapi.Config{Index: echoIndex(nil), Pages: fakePages{}})
	tests := []struct {
		name, method, path, secret string
		status                     int
		body                       string // a prefix of the body; "" to check an API error instead
		code                       string
	}{
		{"a page needs no token", "GET", "/", "", 200, "page /", ""},
		{"an asset needs no token", "GET", "/assets/app.css", "", 200, "page /assets/app.css", ""},
		{"a bad token does not matter for pages", "GET", "/", "not-a-token-at-all", 200, "page /", ""},
		{"the pages answer other methods", "POST", "/", "", 405, "", ""},
		{"an unknown path stays the API's 404", "GET", "/nope", "", 404, "", gate.ENOTFOUND},
		{"an unknown asset stays the API's 404", "GET", "/assets/nope.js", "", 404, "", gate.ENOTFOUND},
		{"the API still needs its token", "GET", "/v1/lanes", "", 401, "", gate.EUNAUTHORIZED},
		{"health is untouched", "GET", "/healthz", "", 200, `{"status":"ok"}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := do(t, tt.method, base+tt.path, tt.secret, nil)
			if r.Status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.Status, tt.status, r.Body)
			}
			if tt.code != "" {
				if got := r.errorCode(t); got != tt.code {
					t.Errorf("code %q, want %q", got, tt.code)
				}
			}
			if tt.body != "" && !strings.HasPrefix(string(r.Body), tt.body) {
				t.Errorf("body %q, want it to start with %q", r.Body, tt.body)
			}
		})
	}
}

func TestWithoutPagesTheRootIsNotFound(t *testing.T) {
	_, base := testServer(t, httpapi.Config{Index: echoIndex(nil)})
	r := do(t, "GET", base+"/", "", nil)
	if r.Status != 404 || r.errorCode(t) != gate.ENOTFOUND {
		t.Fatalf("GET / without pages: %d %s", r.Status, r.Body)
	}
}

func TestSessionTellsEachTokenWhoItIs(t *testing.T) {
	_, base := testServer(t, httpapi.Config{Index: echoIndex(nil)})
	all := []string{"north-1", "south-1", "exit-1"}
	tests := []struct {
		secret string
		name   string
		role   httpapi.Role
		lanes  []string
	}{
		{adminSecret, "ops", httpapi.RoleAdmin, all},
		{viewerSecret, "board", httpapi.RoleViewer, all},
		{scannerSecret, "handheld", httpapi.RoleScanner, all},
		{northSecret, "north-door", httpapi.RoleScanner, []string{"north-1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := do(t, "GET", base+"/v1/session", tt.secret, nil)
			if r.Status != 200 {
				t.Fatalf("status %d: %s", r.Status, r.Body)
			}
			if strings.Contains(string(r.Body), tt.secret) {
				t.Fatalf("the session answer holds the secret: %s", r.Body)
			}
			var s httpapi.SessionResponse
			r.json(t, &s)
			if s.Name != tt.name || s.Role != tt.role {
				t.Errorf("session = %+v, want %s (%s)", s, tt.name, tt.role)
			}
			var ids []string
			for _, l := range s.Lanes {
				ids = append(ids, l.ID)
			}
			if !slices.Equal(ids, tt.lanes) {
				t.Errorf("lanes = %v, want %v", ids, tt.lanes)
			}
		})
	}
	// The lane's policy comes along, as the door page needs it.
	var s map[string]any
	if err := json.Unmarshal(do(t, "GET", base+"/v1/session", northSecret, nil).Body, &s); err != nil {
		t.Fatal(err)
	}
	lane := s["lanes"].([]any)[0].(map[string]any)
	if lane["name"] != "North 1" || lane["direction"] != "in" || lane["events"].([]any)[0] != "derby" {
		t.Errorf("lane = %v", lane)
	}
	for _, secret := range []string{"", "wrong-secret-0123456789"} {
		r := do(t, "GET", base+"/v1/session", secret, nil)
		if r.Status != 401 || r.errorCode(t) != gate.EUNAUTHORIZED {
			t.Errorf("secret %q: %d %s", secret, r.Status, r.Body)
		}
	}
}
