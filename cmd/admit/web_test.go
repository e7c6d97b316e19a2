package main

import (
	"strings"
	"testing"

	"github.com/admitgate/admit/httpapi"
)

// The daemon serves the web pages beside the API: the files without a
// token, the data behind them only with one. (The pages themselves are
// tested in a browser in package web.)
func TestDaemonServesTheWebPages(t *testing.T) {
	_, base := startDaemon(t, testConfig(t, ""))
	api := apiClient{t: t, base: base}
	for path, want := range map[string]string{"/": "<title>admit · Operator</title>", "/door": "<title>admit · Door</title>",
		"/admin": "<title>admit · Admin</title>", "/assets/door.js": "BarcodeDetector"} {
		a := api.must(200, "GET", path, "", nil)
		if !strings.Contains(string(a.body), want) {
			t.Errorf("GET %s: %.80q does not hold %q", path, a.body, want)
		}
		if a.header.Get("Content-Security-Policy") == "" {
			t.Errorf("GET %s: no Content-Security-Policy", path)
		}
	}
	api.must(404, "GET", "/assets/nope.js", "", nil)
	api.must(401, "GET", "/v1/session", "", nil)
	var s httpapi.SessionResponse
	api.must(200, "GET", "/v1/session", northSecret, nil).decode(t, &s)
	if s.Name != "north-door" || s.Role != httpapi.RoleScanner || len(s.Lanes) != 1 || s.Lanes[0].ID != "north-1" {
		t.Errorf("session %+v", s)
	}
}
