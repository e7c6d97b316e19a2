// Package httpapi is admit's HTTP API: a fasthttp server that exposes a
// gate.Index (scans, checks, the catalog of providers and events, imports,
// ticket corrections, the journal feed and reports) under /v1, with
// /healthz, /readyz and Prometheus /metrics beside it. api/openapi.yaml
// documents every route; a test keeps the file and the router in step.
//
// # Requests and answers
//
// Bodies are JSON (at most Config.MaxBodyBytes, UTF-8, one object, no
// unknown fields) except import files, which are streamed to the
// gate.Importer and never held in memory (at most Config.MaxImportBytes; an
// import over it fails whole with 413 and loads nothing). A scan's refusal
// is a decision and answers 200; errors answer
//
//	{"error": {"code": "...", "message": "..."}}
//
// with the status that StatusFor gives the gate error code (400 invalid,
// 401 unauthorized, 403 forbidden, 404 not_found, 405, 409 conflict, 413
// too_large, 422 rejected, 503 unavailable). An error without a code is a
// fault inside admit: it is logged and answered 500 "internal error",
// never with its details. Bad input never yields 500, and a panicking
// handler is recovered, logged and answered 500 without stopping the
// process.
//
// POST /v1/scan and /v1/check, the routes every turnstile and handheld
// calls, read the plain request shape and write the decision by hand
// (scanjson.go) and leave every other body to encoding/json, so the API's
// errors and bytes are those of encoding/json; fuzz tests compare the two.
// Config.Ready is called on every /v1 request and must stay cheap.
//
// Path parameters are matched on the raw path and percent-decoded one
// segment at a time, so /v1/tickets/{barcode} takes any barcode ('/', '?',
// '%', spaces, any UTF-8) that the client percent-encodes.
//
// # Tokens
//
// Every /v1 route needs "Authorization: Bearer <secret>" of a token whose
// role allows it: admin for everything but overrides, viewer for every GET (but the
// devices), scanner for POST /v1/scan and /v1/check, only at the token's
// lanes when it names some, and for the events and the emergency release a
// door page shows, supervisor for what a scanner and a viewer may and alone
// for POST /v1/lanes/{id}/override (override.go: a lane's last refusal let
// through, through the lane's turnstile when it has one; GET /v1/zones; the
// report's overrides and zones); GET /v1/session tells any token its name, role and lanes. Secrets are compared as SHA-256 hashes in constant time
// against every token, so timing reveals nothing; they are never logged.
// A missing or unknown token is 401, a known token of the wrong role or
// lane 403. SetAuth and SetLanes swap tokens and lanes atomically (SIGHUP in
// the daemon). A server may listen before its store is open: it answers 503
// on /readyz and every /v1 route until SetStore gives it one.
//
// Request bodies are read strictly: JSON with keys exactly as documented,
// each once, and no escape encoding/json would replace (a lone surrogate);
// what fasthttp cannot read is answered in words of the API's own, never
// quoting the request's headers; a request framed by both Content-Length
// and Transfer-Encoding is refused and its connection closed.
//
// # Logs and metrics
//
// One log line per request (route, status, latency, token name) and an
// audit line per admin action (import, cancel, block, reissue, annul,
// withdraw, emergency release and clear, ...) naming the token. Metrics: admit_scans_total{lane,reason},
// admit_decision_seconds{kind}, admit_imports_total{result},
// admit_import_lines_total{outcome}, admit_http_requests_total{route,code}
// and admit_http_request_seconds{route}; the children on the scan path are
// resolved in advance so a scan allocates nothing for them. The daemon adds
// the store's health to the same registry.
//
// # Lanes and the emergency release
//
// A lane whose LaneInfo.Turnstile is set (a turnstile.Lane, wired by the
// daemon) decides POST /v1/scan through it, so an admission unlocks the
// turnstile and a scan while it holds one is refused with lane_busy;
// Config.Monitor answers GET /v1/lanes with the lanes' hardware state.
// Config.Emergency is the emergency release behind GET /v1/emergency and
// the admin-only POST /v1/emergency/release and /v1/emergency/clear, each
// audited with the token's name.
//
// # Door devices
//
// Config.Devices (a DeviceStore, a file in the data directory written
// atomically) holds the paired door devices: an admin makes one for some
// lanes (POST /v1/devices) with a one-time pairing code of 80 random bits
// that works for 15 minutes; the device exchanges it once, with no bearer
// token, for a scanner token of its own (POST /v1/devices/pair). The file
// keeps SHA-256 hashes of tokens and codes only; device tokens are checked
// after the configured ones, in constant time over every device, from an
// immutable snapshot, so unpairing (DELETE /v1/devices/{id}) makes the
// device's next request 401. A device's scans carry the source
// "device:<id>".
//
// # Pages
//
// Config.Pages mounts the web pages (package web): a request whose path
// matches no API route and that the pages have is theirs, served without a
// token; every other path keeps the API's answers.
//
// Package httpapitest holds the load generator used by the benchmarks and
// by `admit bench`.
package httpapi
