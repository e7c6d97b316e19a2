package httpapi

import (
	"net/url"
	"slices"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/admitgate/admit/gate"
)

// Route is one method and path pattern the API serves. Path parameters are
// written {name} and match one percent-encoded path segment, which the
// handler receives decoded (so a barcode may hold '/', '?', '%', spaces or
// any UTF-8 when the client percent-encodes it).
type Route struct {
	Method  string
	Pattern string
	// Access says who may call it: "open" (no token), "any token",
	// "admin, scanner or supervisor", "admin, viewer or supervisor",
	// "admin", "supervisor".
	Access string
}

type handlerFunc func(s *Server, ctx *fasthttp.RequestCtx, c *call) error

type route struct {
	method  string
	pattern string
	name    string // method and pattern, the metrics label
	segs    []string
	access  access
	handle  handlerFunc
	metrics *routeMetrics
	// hasBarcode says the path has a {barcode} parameter, the barcodeAt-th:
	// its requests' lines show the barcode as the log shows barcodes,
	// never the raw path (logging.go).
	hasBarcode bool
	barcodeAt  int
}

// routeTable is every route the API serves. api/openapi.yaml documents each
// one; a test keeps the two in step.
var routeTable = []struct {
	method, pattern string
	access          access
	handle          handlerFunc
}{
	{"GET", "/healthz", accessOpen, (*Server).healthz},
	{"GET", "/readyz", accessOpen, (*Server).readyz},
	{"GET", "/metrics", accessOpen, (*Server).serveMetrics},

	{"GET", "/v1/session", accessAny, (*Server).session},

	{"POST", "/v1/scan", accessScan, (*Server).scan},
	{"POST", "/v1/check", accessScan, (*Server).check},
	{"GET", "/v1/scans", accessRead, (*Server).scans},
	{"POST", "/v1/scans/{seq}/annul", accessAdmin, (*Server).annul},
	{"GET", "/v1/lanes", accessRead, (*Server).lanesList},
	{"POST", "/v1/lanes/{id}/override", accessOverride, (*Server).override},
	{"GET", "/v1/zones", accessRead, (*Server).zones},
	{"GET", "/v1/emergency", accessAny, (*Server).emergencyStatus},
	{"POST", "/v1/emergency/release", accessAdmin, (*Server).emergencyRelease},
	{"POST", "/v1/emergency/clear", accessAdmin, (*Server).emergencyClear},
	{"GET", "/v1/exports", accessRead, (*Server).exportsList},
	{"POST", "/v1/backup", accessAdmin, (*Server).backup},

	{"GET", "/v1/providers", accessRead, (*Server).providers},
	{"PUT", "/v1/providers/{id}", accessAdmin, (*Server).putProvider},
	{"GET", "/v1/providers/{id}", accessRead, (*Server).provider},
	{"PUT", "/v1/providers/{id}/revoked", accessAdmin, (*Server).putRevoked},
	{"POST", "/v1/providers/{id}/revoked", accessAdmin, (*Server).addRevoked},
	{"DELETE", "/v1/providers/{id}/revoked/{secret}", accessAdmin, (*Server).deleteRevoked},
	{"PUT", "/v1/providers/{id}/blocked", accessAdmin, (*Server).putBlocked},
	{"POST", "/v1/providers/{id}/blocked", accessAdmin, (*Server).addBlocked},
	{"DELETE", "/v1/providers/{id}/blocked/{secret}", accessAdmin, (*Server).deleteBlocked},
	{"GET", "/v1/events", accessAny, (*Server).events},
	{"PUT", "/v1/events/{id}", accessAdmin, (*Server).putEvent},

	{"POST", "/v1/imports", accessAdmin, (*Server).importFile},
	{"GET", "/v1/imports", accessRead, (*Server).imports},
	{"POST", "/v1/imports/{id}/withdraw", accessAdmin, (*Server).withdraw},

	{"GET", "/v1/tickets/{barcode}", accessRead, (*Server).ticket},
	{"POST", "/v1/tickets/{barcode}/cancel", accessAdmin, (*Server).cancel},
	{"POST", "/v1/tickets/{barcode}/invalidate", accessAdmin, (*Server).invalidate},
	{"POST", "/v1/tickets/{barcode}/block", accessAdmin, (*Server).block},
	{"POST", "/v1/tickets/{barcode}/unblock", accessAdmin, (*Server).unblock},
	{"POST", "/v1/tickets/{barcode}/reissue", accessAdmin, (*Server).reissue},
	{"POST", "/v1/tickets/{barcode}/events", accessAdmin, (*Server).ticketEvents},

	{"GET", "/v1/report", accessRead, (*Server).report},
	{"GET", "/v1/changes", accessRead, (*Server).changes},

	{"GET", "/v1/venue", accessRead, (*Server).venue},
	{"GET", "/v1/venue/double-entries", accessRead, (*Server).venueDoubleEntries},
	{"POST", "/v1/venue/redemptions/skip", accessAdmin, (*Server).venueSkipRedemption},
	{"POST", "/v1/venue/changes/retry", accessAdmin, (*Server).venueRetryChanges},
	{"POST", "/v1/venue/changes/skip", accessAdmin, (*Server).venueSkipChange},

	{"POST", "/v1/devices", accessAdmin, (*Server).createDevice},
	{"GET", "/v1/devices", accessAdmin, (*Server).listDevices},
	{"DELETE", "/v1/devices/{id}", accessAdmin, (*Server).revokeDevice},
	{"POST", "/v1/devices/{id}/pairing", accessAdmin, (*Server).repairDevice},
	{"POST", "/v1/devices/pair", accessOpen, (*Server).pairDevice},
}

// Routes lists every route the API serves, in a stable order.
func Routes() []Route {
	out := make([]Route, 0, len(routeTable))
	for _, r := range routeTable {
		out = append(out, Route{Method: r.method, Pattern: r.pattern, Access: r.access.String()})
	}
	return out
}

// router matches a method and a raw (still percent-encoded) path. Static
// paths are one map lookup; patterns with parameters compare segments.
type router struct {
	static    map[string][]*route // by path
	params    []*route
	unmatched *routeMetrics
}

func newRouter(m *Metrics) *router {
	rt := &router{static: make(map[string][]*route), unmatched: m.route("unmatched")}
	for _, e := range routeTable {
		r := &route{method: e.method, pattern: e.pattern, name: e.method + " " + e.pattern,
			segs: strings.Split(strings.TrimPrefix(e.pattern, "/"), "/"), access: e.access, handle: e.handle}
		r.metrics = m.route(r.name)
		for i, p := range slices.DeleteFunc(slices.Clone(r.segs), func(s string) bool { return !isParam(s) }) {
			if p == "{barcode}" {
				r.hasBarcode, r.barcodeAt = true, i
			}
		}
		if strings.Contains(e.pattern, "{") {
			rt.params = append(rt.params, r)
		} else {
			rt.static[e.pattern] = append(rt.static[e.pattern], r)
		}
	}
	return rt
}

// match returns the route for method and the raw path with its decoded
// parameters: ENOTFOUND when no pattern matches the path, 405 when one does
// but not for this method, EINVALID for a parameter that is not valid
// percent-encoding.
func (rt *router) match(method, rawPath []byte) (*route, []string, error) {
	if rs, ok := rt.static[string(rawPath)]; ok {
		for _, r := range rs {
			if r.method == string(method) {
				return r, nil, nil
			}
		}
		return nil, nil, methodError(method, rawPath, rs)
	}
	p := string(rawPath)
	if !strings.HasPrefix(p, "/") {
		return nil, nil, gate.Errorf(gate.ENOTFOUND, "no such path %q", p)
	}
	segs := strings.Split(p[1:], "/")
	var found []*route
	var params []string
	for _, r := range rt.params {
		if len(r.segs) != len(segs) || !segsMatch(r.segs, segs) {
			continue
		}
		found = append(found, r)
		if r.method != string(method) || params != nil {
			continue
		}
		for i, s := range r.segs {
			if !isParam(s) {
				continue
			}
			v, err := url.PathUnescape(segs[i])
			if err != nil {
				return r, nil, gate.Errorf(gate.EINVALID, "path parameter %s is not valid percent-encoding: %q", s, segs[i])
			}
			params = append(params, v)
		}
		return r, params, nil
	}
	if len(found) > 0 {
		return nil, nil, methodError(method, rawPath, found)
	}
	return nil, nil, gate.Errorf(gate.ENOTFOUND, "no such path %q", truncate(p, 200))
}

func segsMatch(pattern, segs []string) bool {
	for i, s := range pattern {
		if !isParam(s) && s != segs[i] {
			return false
		}
	}
	return true
}

func isParam(seg string) bool { return strings.HasPrefix(seg, "{") }

func methodError(method, path []byte, rs []*route) error {
	allowed := make([]string, 0, len(rs))
	for _, r := range rs {
		allowed = append(allowed, r.method)
	}
	slices.Sort(allowed)
	return &gate.Error{Code: codeMethod,
		Message: "method " + truncate(string(method), 20) + " is not allowed on " + truncate(string(path), 200) + "; use " + strings.Join(allowed, ", ")}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
