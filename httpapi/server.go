package httpapi

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/internal/defaults"
)

// Defaults for the zero values of Config.
const (
	DefaultMaxBodyBytes   = 8 << 10 // JSON request bodies
	DefaultMaxImportBytes = 1 << 30 // import files, streamed
	DefaultReadTimeout    = 10 * time.Second
	DefaultWriteTimeout   = 30 * time.Second
	DefaultIdleTimeout    = 2 * time.Minute
	DefaultImportTimeout  = 15 * time.Minute
)

// Config is what a Server serves. The zero value of every field has the
// default its comment states.
type Config struct {
	// Index is the ticket store every /v1 route works on. Nil: every /v1
	// route and /readyz answer 503 until SetStore gives one, so a server
	// can listen while its store opens.
	Index gate.Index
	// Importer parses and loads import files (POST /v1/imports). Nil answers
	// 503 on that route. SetStore replaces it with the index.
	Importer gate.Importer
	// Auth holds the bearer tokens. Nil refuses every /v1 request with 401.
	// Replace it at run time with SetAuth.
	Auth *Auth
	// Lanes are the configured lanes a scan may name. Replace them at run
	// time with SetLanes.
	Lanes []LaneInfo
	// Monitor, when set, answers GET /v1/lanes instead of the API's own
	// record of the last decision per lane (the turnstile lanes, once wired).
	Monitor gate.LaneMonitor
	// Emergency is the emergency release behind /v1/emergency. Nil: the
	// status shows no release and release/clear answer 409 (no turnstile).
	Emergency EmergencyControl
	// Exports answers GET /v1/exports (the export files and webhooks). Nil:
	// an empty list.
	Exports ExportsMonitor
	// Providers keeps the kinds of providers (pretix_sig1, rotating) and a
	// pretix_sig1 provider's revocation and block lists (providers.go).
	// Nil: providers are names only.
	Providers ProviderStore
	// Ready reports whether the store and its filter are open and healthy:
	// /readyz answers 503 while there is no store or it returns an error.
	// Nil: ready whenever there is a store.
	Ready func() error
	// Serving reports whether /v1 may be served: every /v1 route answers
	// 503 while there is no store or it returns an error. A store that is
	// faulted (a full disk, corruption) is not ready but still serves: its
	// scans are refused with their reason or error, decisions rather than
	// a 503, and its changes answer 503 themselves. Nil: serving whenever
	// there is a store. It is called on every /v1 request, scans included,
	// so it must cost next to nothing: read flags, never gather figures
	// (Pebble's metrics take its lock and allocate kilobytes).
	Serving func() error
	// Metrics are the collectors served on /metrics. Nil: new ones on a new
	// registry with the Go and process collectors.
	Metrics *Metrics
	// Logger receives one line per request and the audit trail of admin
	// actions. Default: zerolog.Nop().
	Logger *zerolog.Logger
	// MaxBodyBytes limits JSON request bodies (default DefaultMaxBodyBytes).
	MaxBodyBytes int
	// MaxImportBytes limits an import file, which is streamed and never held
	// in memory (default DefaultMaxImportBytes); beyond it the import fails
	// with 413 and loads nothing.
	MaxImportBytes int64
	// ReadTimeout, WriteTimeout and IdleTimeout bound a request's reading,
	// its response's writing and a keep-alive connection's idle time
	// (defaults DefaultReadTimeout, DefaultWriteTimeout, DefaultIdleTimeout).
	ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	// ImportTimeout replaces ReadTimeout for import uploads (default
	// DefaultImportTimeout).
	ImportTimeout time.Duration
	// Now is the clock scans are decided at (default time.Now).
	Now func() time.Time
	// Pages, when set, serves the web pages (package web) at the paths it
	// has outside the API's routes; no token is needed to fetch them.
	Pages Pages
	// Devices, when set, are the paired door devices, whose scanner tokens
	// are accepted beside Auth's (devices.go). Nil: /v1/devices answers 503.
	Devices *DeviceStore
	// TimeZone is the venue's IANA time zone ("Europe/Zurich"), which the
	// pages show times in (GET /v1/session); "" leaves it to each browser.
	TimeZone string
	// Backup makes POST /v1/backup's backups (backup.go). Nil: 503.
	Backup BackupFunc
	// Venue is the appliance's part in a venue (venue.go): GET /v1/venue
	// and the operator's routes. Nil: not in a venue (404).
	Venue VenueControl
	// LogBarcodes says how log lines show barcodes (request lines of the
	// /v1/tickets/{barcode} routes, the audit of ticket changes). Default
	// (zero): the last four characters.
	LogBarcodes gate.BarcodeLog
}

// Server is the HTTP API: a fasthttp server with the routes of
// api/openapi.yaml. Its methods are safe for concurrent use.
type Server struct {
	cfg     Config
	log     zerolog.Logger
	auth    atomic.Pointer[Auth]
	store   atomic.Pointer[store]
	lanes   *laneBoard
	metrics *Metrics
	router  *router
	http    *fasthttp.Server
	promh   fasthttp.RequestHandler
	now     func() time.Time
	inner   context.Context // scans run on it: never cancelled mid-decision
	pages   *route          // stands for every page request in logs and metrics
}

// New returns a Server for cfg.
func New(cfg Config) (*Server, error) {
	defaults.Set(&cfg.MaxBodyBytes, DefaultMaxBodyBytes)
	defaults.Set(&cfg.MaxImportBytes, DefaultMaxImportBytes)
	defaults.Set(&cfg.ReadTimeout, DefaultReadTimeout)
	defaults.Set(&cfg.WriteTimeout, DefaultWriteTimeout)
	defaults.Set(&cfg.IdleTimeout, DefaultIdleTimeout)
	defaults.Set(&cfg.ImportTimeout, DefaultImportTimeout)
	s := &Server{cfg: cfg, now: cfg.Now, inner: context.Background()}
	if s.now == nil {
		s.now = time.Now
	}
	if cfg.Logger != nil {
		s.log = cfg.Logger.With().Str("component", "httpapi").Logger()
	} else {
		s.log = zerolog.Nop()
	}
	s.metrics = cfg.Metrics
	if s.metrics == nil {
		reg := prometheus.NewRegistry()
		reg.MustRegister(prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
		m, err := NewMetrics(reg)
		if err != nil {
			return nil, err
		}
		s.metrics = m
	}
	s.auth.Store(cfg.Auth)
	s.SetStore(cfg.Index, cfg.Importer)
	s.lanes = newLaneBoard(s.metrics)
	if err := s.lanes.set(cfg.Lanes); err != nil {
		return nil, err
	}
	s.router = newRouter(s.metrics)
	s.pages = &route{name: "pages", metrics: s.metrics.route("pages")}
	s.promh = fasthttpadaptor.NewFastHTTPHandler(promhttp.HandlerFor(s.metrics.registry, promhttp.HandlerOpts{}))
	s.http = &fasthttp.Server{
		Handler:                      s.Handler(),
		Name:                         "admit",
		ReadTimeout:                  cfg.ReadTimeout,
		WriteTimeout:                 cfg.WriteTimeout,
		IdleTimeout:                  cfg.IdleTimeout,
		MaxRequestBodySize:           cfg.MaxBodyBytes + 1, // larger bodies are streamed
		StreamRequestBody:            true,
		DisablePreParseMultipartForm: true,
		NoDefaultDate:                false,
		CloseOnShutdown:              true,
		ReadBufferSize:               8 << 10,
		HeaderReceived:               s.headerReceived,
		Logger:                       fasthttpLogger{&s.log},
		ErrorHandler:                 s.connError,
		SecureErrorLogMessage:        true, // and connError never shows fasthttp's messages

	}
	return s, nil
}

// SetAuth replaces the tokens; requests already authenticated finish with
// the old ones.
func (s *Server) SetAuth(a *Auth) { s.auth.Store(a) }

// store is what the /v1 routes work on.
type store struct {
	index    gate.Index
	importer gate.Importer
}

// errOpening answers the /v1 routes while the server has no store.
var errOpening = gate.Errorf(gate.EUNAVAILABLE, "the ticket store is opening")

// SetStore gives the /v1 routes the ticket store and the importer that
// loads into it (nil: POST /v1/imports answers 503). Until a server has an
// index, every /v1 route and /readyz answer 503; a nil index takes it away
// again. Requests already under way finish with the store they began with.
func (s *Server) SetStore(ix gate.Index, imp gate.Importer) {
	if ix == nil {
		s.store.Store(nil)
		return
	}
	s.store.Store(&store{index: ix, importer: imp})
}

// SetLanes replaces the configured lanes atomically. Lanes that stay keep
// their counters and last decision. On error nothing changes.
func (s *Server) SetLanes(lanes []LaneInfo) error { return s.lanes.set(lanes) }

// LaneMonitor returns the API's record of the lanes and their last decisions.
func (s *Server) LaneMonitor() gate.LaneMonitor { return s.lanes }

// Metrics returns the server's collectors.
func (s *Server) Metrics() *Metrics { return s.metrics }

// Serve accepts connections on ln until Shutdown. It returns nil after a
// Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	return s.http.Serve(ln)
}

// ServeTLS is Serve over TLS with the certificate and key in PEM files.
func (s *Server) ServeTLS(ln net.Listener, certFile, keyFile string) error {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return gate.Errorf(gate.EINVALID, "tls: %v", err)
	}
	s.http.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	return s.http.Serve(tls.NewListener(ln, s.http.TLSConfig))
}

// Shutdown stops accepting connections and waits for in-flight requests to
// finish, or for ctx to end.
func (s *Server) Shutdown(ctx context.Context) error {
	return s.http.ShutdownWithContext(ctx)
}

// headerReceived gives import uploads (and lists of secrets) their longer
// read timeout.
func (s *Server) headerReceived(h *fasthttp.RequestHeader) fasthttp.RequestConfig {
	if h.IsPost() && hasPrefix(h.RequestURI(), "/v1/imports") || (h.IsPost() || h.IsPut()) && isListRoute(h.RequestURI()) {
		return fasthttp.RequestConfig{ReadTimeout: s.cfg.ImportTimeout}
	}
	return fasthttp.RequestConfig{}
}

func hasPrefix(b []byte, p string) bool { return len(b) >= len(p) && string(b[:len(p)]) == p }

// Handler returns the request handler, for serving on a listener of your own
// or calling in tests.
func (s *Server) Handler() fasthttp.RequestHandler {
	return s.handle
}

// call is one request's matched route and authenticated token.
type call struct {
	route    *route
	token    *Token
	source   string   // the token's scan source, "http:<name>"
	params   []string // decoded path parameters, in pattern order
	bodyRead bool     // the request body was read to its end
	store    *store   // the store the request works on (every /v1 route has one)
}

func (c *call) by() string {
	if c.token == nil {
		return ""
	}
	return c.token.Name
}

func (s *Server) handle(ctx *fasthttp.RequestCtx) {
	start := time.Now()
	var c call
	defer func() {
		if p := recover(); p != nil {
			s.log.Error().Interface("panic", p).Bytes("stack", debug.Stack()).Msg("request handler panicked")
			ctx.Response.Reset()
			writeErrorBody(ctx, fasthttp.StatusInternalServerError, gate.EINTERNAL, "internal error")
		}
		s.finish(ctx, &c, start)
	}()
	if framedTwice(&ctx.Request.Header) {
		s.writeError(ctx, &c, errFramedTwice)
		closeLingering(ctx) // nothing more is read from this connection
		return
	}
	if err := s.serve(ctx, &c); err != nil {
		s.writeError(ctx, &c, err)
	}
	if !c.bodyRead {
		finishBody(ctx)
	}
}

// finishBody reads what is left of a streamed request body so the next
// request on the connection starts where it should; a body with more left
// than is worth reading (an import refused early) closes the connection.
func finishBody(ctx *fasthttp.RequestCtx) {
	r := ctx.RequestBodyStream()
	if r == nil {
		return
	}
	if _, err := io.CopyN(io.Discard, r, 64<<10); err != io.EOF {
		closeLingering(ctx)
	}
}

func (s *Server) serve(ctx *fasthttp.RequestCtx, c *call) error {
	method := ctx.Method()
	path := ctx.URI().PathOriginal()
	r, params, err := s.router.match(method, path)
	if err != nil {
		if s.servePage(ctx, c, path, err) {
			return nil
		}
		return err
	}
	c.route, c.params = r, params
	if r.access != accessOpen {
		if c.store = s.store.Load(); c.store == nil {
			return errOpening
		}
		if err := s.serving(); err != nil {
			return err
		}
		at, err := s.authenticate(ctx.Request.Header.Peek("Authorization"))
		if err != nil {
			ctx.Response.Header.Set("WWW-Authenticate", `Bearer realm="admit"`)
			return err
		}
		tok := &at.Token
		c.token, c.source = tok, at.source
		if !r.access.allows(tok.Role) {
			return gate.Errorf(gate.EFORBIDDEN, "token %q (%s) may not %s %s; it needs %s", tok.Name, tok.Role, method, r.pattern, r.access)
		}
	}
	return r.handle(s, ctx, c)
}

// ready reports Config.Ready's answer; the caller checked there is a store.
func (s *Server) ready() error { return unavailable(s.cfg.Ready) }

// serving reports Config.Serving's answer; the caller checked there is a store.
func (s *Server) serving() error { return unavailable(s.cfg.Serving) }

// unavailable calls check (nil: nothing to check) and gives its error the
// code EUNAVAILABLE.
func unavailable(check func() error) error {
	if check == nil {
		return nil
	}
	if err := check(); err != nil {
		if gate.ErrorCode(err) == gate.EUNAVAILABLE {
			return err
		}
		return gate.Errorf(gate.EUNAVAILABLE, "not ready: %v", err)
	}
	return nil
}

// finish records the request's metrics and logs its line.
func (s *Server) finish(ctx *fasthttp.RequestCtx, c *call, start time.Time) {
	elapsed := time.Since(start)
	status := ctx.Response.StatusCode()
	if c.route != nil {
		c.route.metrics.observe(status, elapsed.Seconds())
	} else {
		s.router.unmatched.observe(status, elapsed.Seconds())
	}
	ev := s.log.WithLevel(requestLevel(ctx.Method(), status))
	if !ev.Enabled() {
		return
	}
	route := "unmatched"
	if c.route != nil {
		route = c.route.name
	}
	ev = ev.Bytes("method", ctx.Method()).Str("route", route)
	ev = s.logPath(ev, ctx, c).Int("status", status).Dur("took_ms", elapsed).Str("remote", ctx.RemoteIP().String())
	if c.token != nil {
		ev = ev.Str("token", c.token.Name)
	}
	ev.Msg("request")
}

// audit logs an admin action with the token's name.
func (s *Server) audit(c *call, action string) *zerolog.Event {
	return s.log.Info().Str("audit", action).Str("by", c.by())
}
