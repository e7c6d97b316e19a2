package httpapi

import (
	"bytes"
	"io"
	"strconv"

	"github.com/valyala/fasthttp"

	"github.com/admitgate/admit/gate"
)

// ImportResponse is the answer to POST /v1/imports: what the import did, and
// for a rejected import (422) the error as well.
type ImportResponse struct {
	gate.ImportResult
	Error *ErrorDetail `json:"error,omitempty"`
}

// ImportsResponse is the answer to GET /v1/imports.
type ImportsResponse struct {
	Imports []gate.ImportRecord `json:"imports"`
}

var importParams = map[string]bool{"provider": true, "event": true, "price_type": true, "format": true,
	"dry_run": true, "on_error": true, "name": true, "create_provider": true}

// importRequest reads an import's query string.
func importRequest(args *fasthttp.Args, by string) (gate.ImportRequest, error) {
	var bad string
	args.VisitAll(func(k, _ []byte) {
		if bad == "" && !importParams[string(k)] {
			bad = string(k)
		}
	})
	if bad != "" {
		return gate.ImportRequest{}, gate.Errorf(gate.EINVALID, "unknown query parameter %q; use provider, event, price_type, format, dry_run, on_error, name, create_provider", truncate(bad, 64))
	}
	req := gate.ImportRequest{
		Provider:  string(args.Peek("provider")),
		Event:     string(args.Peek("event")),
		PriceType: string(args.Peek("price_type")),
		Source:    string(args.Peek("name")),
		By:        by,
	}
	if req.Source == "" {
		req.Source = "api"
	}
	if req.Provider == "" {
		return req, gate.Errorf(gate.EINVALID, "query parameter provider is required")
	}
	var err error
	if req.Format, err = gate.ParseFormat(string(args.Peek("format"))); err != nil {
		return req, err
	}
	if req.OnError, err = gate.ParseOnError(string(args.Peek("on_error"))); err != nil {
		return req, err
	}
	if req.DryRun, err = parseBool("dry_run", args.Peek("dry_run")); err != nil {
		return req, err
	}
	if err := req.Validate(); err != nil {
		return req, err
	}
	return req, nil
}

func parseBool(name string, v []byte) (bool, error) {
	switch string(v) {
	case "", "false", "0", "no":
		return false, nil
	case "true", "1", "yes":
		return true, nil
	}
	return false, gate.Errorf(gate.EINVALID, "query parameter %s must be true or false, not %q", name, truncate(string(v), 32))
}

// limitReader passes at most max bytes and then fails with ETOOLARGE, so an
// import over the limit fails as a whole and loads nothing.
type limitReader struct {
	r        io.Reader
	left     int64
	max      int64
	exceeded bool
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.exceeded {
		return 0, gate.Errorf(gate.ETOOLARGE, "the import file is over the limit of %d bytes", l.max)
	}
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	if int64(n) > l.left {
		l.exceeded = true
		l.left = 0
		return 0, gate.Errorf(gate.ETOOLARGE, "the import file is over the limit of %d bytes", l.max)
	}
	l.left -= int64(n)
	return n, err
}

func (s *Server) importFile(ctx *fasthttp.RequestCtx, c *call) error {
	if c.store.importer == nil {
		return gate.Errorf(gate.EUNAVAILABLE, "imports are not available on this appliance")
	}
	req, err := importRequest(ctx.QueryArgs(), c.by())
	if err != nil {
		return err
	}
	if err := s.knownProvider(ctx, c, req.Provider, ctx.QueryArgs().Peek("create_provider")); err != nil {
		return err
	}
	max := s.cfg.MaxImportBytes
	if cl := ctx.Request.Header.ContentLength(); int64(cl) > max {
		return gate.Errorf(gate.ETOOLARGE, "the import file is %d bytes; the limit is %d", cl, max)
	}
	var body io.Reader = ctx.RequestBodyStream()
	if body == nil {
		body = bytes.NewReader(ctx.PostBody())
	}
	lr := &limitReader{r: body, left: max, max: max}
	res, err := c.store.importer.Import(ctx, req, lr)
	if lr.exceeded {
		err = gate.Errorf(gate.ETOOLARGE, "the import file is over the limit of %d bytes; nothing was loaded", max)
	}
	s.metrics.importDone(res, err)
	ev := s.audit(c, "import").Str("provider", req.Provider).Str("event", req.Event).Str("source", req.Source).
		Bool("dry_run", req.DryRun).Uint64("import", res.ID).Int("lines", res.Lines).Int("added", res.Added).
		Int("updated", res.Updated).Int("unchanged", res.Unchanged).Int("rejected", res.Rejected)
	switch code := gate.ErrorCode(err); code {
	case "":
		ev.Bool("applied", res.Applied).Msg("import done")
		return writeJSON(ctx, fasthttp.StatusOK, ImportResponse{ImportResult: fillErrors(res)})
	case gate.EREJECTED:
		ev.Str("error", gate.ErrorMessage(err)).Msg("import rejected")
		return writeJSON(ctx, fasthttp.StatusUnprocessableEntity, ImportResponse{ImportResult: fillErrors(res),
			Error: &ErrorDetail{Code: code, Message: gate.ErrorMessage(err)}})
	default:
		ev.Str("error", gate.ErrorMessage(err)).Msg("import failed")
		return err
	}
}

// knownProvider refuses an import into a provider the store does not have,
// unless the request asks for it to be created (create_provider=true): a
// misspelt provider would otherwise become a new one, with the barcodes of
// the real one's file in it. The store creates it with the import (drop
// folders, which name their provider in the configuration, always do).
func (s *Server) knownProvider(ctx *fasthttp.RequestCtx, c *call, id string, create []byte) error {
	if ok, err := parseBool("create_provider", create); err != nil || ok {
		return err
	}
	providers, err := c.store.index.Providers(ctx)
	if err != nil {
		return err
	}
	for _, p := range providers {
		if p.ID == id {
			return nil
		}
	}
	return gate.Errorf(gate.EINVALID, "no provider %q; create it first with PUT /v1/providers/%s, or import with create_provider=true (admit import -create-provider)",
		truncate(id, 128), truncate(id, 128))
}

func fillErrors(r gate.ImportResult) gate.ImportResult {
	if r.Errors == nil {
		r.Errors = []gate.LineError{}
	}
	return r
}

func (s *Server) imports(ctx *fasthttp.RequestCtx, c *call) error {
	recs, err := c.store.index.Imports(ctx)
	if err != nil {
		return err
	}
	if recs == nil {
		recs = []gate.ImportRecord{}
	}
	return writeJSON(ctx, fasthttp.StatusOK, ImportsResponse{Imports: recs})
}

func (s *Server) withdraw(ctx *fasthttp.RequestCtx, c *call) error {
	id, err := parseUint("import id", c.params[0])
	if err != nil {
		return err
	}
	rec, err := c.store.index.Withdraw(ctx, id, c.by())
	if err != nil {
		return err
	}
	s.audit(c, "withdraw").Uint64("import", id).Int("cancelled", rec.Cancelled).Msg("import withdrawn")
	return writeJSON(ctx, fasthttp.StatusOK, rec)
}

func parseUint(what, v string) (uint64, error) {
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil || n == 0 {
		return 0, gate.Errorf(gate.EINVALID, "%s must be a positive whole number, not %q", what, truncate(v, 32))
	}
	return n, nil
}
