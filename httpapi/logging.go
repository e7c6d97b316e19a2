package httpapi

import (
	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"
)

// The request lines. Every request gets one, at info, except reads that
// succeed: the operator page polls GET /v1/lanes, /v1/report and the rest
// every two seconds per open browser, and Prometheus scrapes /metrics, so
// those are at debug, where they bury nothing. A refused read (401, 403,
// 404) is at info. Durations carry their unit (took_ms). A barcode in the
// path (/v1/tickets/{barcode}) is logged as the configured BarcodeLog
// shows it, in its own field, never within the path.

// requestLevel is the level of a request's line.
func requestLevel(method []byte, status int) zerolog.Level {
	if status < 400 && (string(method) == fasthttp.MethodGet || string(method) == fasthttp.MethodHead) {
		return zerolog.DebugLevel
	}
	return zerolog.InfoLevel
}

// logPath adds the request's path to its line, or, for a route with a
// barcode in its path, the barcode as the log shows barcodes.
func (s *Server) logPath(ev *zerolog.Event, ctx *fasthttp.RequestCtx, c *call) *zerolog.Event {
	if c.route == nil || !c.route.hasBarcode {
		return ev.Bytes("path", ctx.URI().PathOriginal())
	}
	if c.route.barcodeAt < len(c.params) && s.cfg.LogBarcodes.Shown() {
		return ev.Str("barcode", s.cfg.LogBarcodes.Redact(c.params[c.route.barcodeAt]))
	}
	return ev
}

// barcode is what a log line shows of a barcode.
func (s *Server) barcode(b string) string { return s.cfg.LogBarcodes.Redact(b) }
