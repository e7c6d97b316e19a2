package httpapi

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/admitgate/admit/codes"
	"github.com/admitgate/admit/gate"
)

// Providers whose codes prove themselves (docs/codes.md): PUT
// /v1/providers/{id} with a kind (pretix_sig1 with its public keys and
// mappings, rotating with its event key and clock skew), GET
// /v1/providers and /v1/providers/{id} (no secret: an event key is
// accepted and never shown, public keys are shown), and a pretix_sig1
// provider's revocation and block lists: PUT replaces a list with the
// secrets of the body, POST adds them, DELETE .../{secret} takes one off.
// A list body is text, one secret (a code's text) a line, as pretix's
// revokedsecrets export or any file of codes: blank lines, a UTF-8 BOM,
// CR line ends and spaces around a line are ignored.

// ProviderStore keeps the kinds of providers and a pretix_sig1 provider's
// lists (cmd/admit implements it over the index). Nil: a provider is a
// name (PUT takes no kind) and the list routes answer 503.
type ProviderStore interface {
	// PutProviderSpec creates or changes a provider with the kind of its
	// codes; created reports which.
	PutProviderSpec(ctx context.Context, p ProviderSpec) (created bool, err error)
	// ProviderViews returns every provider as GET /v1/providers shows it,
	// sorted by id.
	ProviderViews(ctx context.Context) ([]ProviderView, error)
	// PutSecrets changes a pretix_sig1 provider's list ("revoked" or
	// "blocked"): op is "replace", "add" or "remove".
	PutSecrets(ctx context.Context, provider, list, op string, secrets []string) (SecretsResult, error)
	// Clocks returns the clock skew of every rotating provider.
	Clocks() []RotatingClock
}

// ProviderSpec is a provider as PUT /v1/providers/{id} sets it.
type ProviderSpec struct {
	ID, Name string
	Kind     string // list, pretix_sig1, rotating
	Sig1     codes.Sig1Config
	// EventKey is a rotating provider's event key (nil: keep the one it
	// has); Step and Skew 0 for the defaults.
	EventKey   []byte
	Step, Skew time.Duration
}

// ProviderRequest is the body of PUT /v1/providers/{id}. Without a kind
// it renames the provider and keeps its kind and keys; with one it sets
// them all (a rotating provider's event key may be left out to keep it).
type ProviderRequest struct {
	Name string `json:"name"`
	// Kind is list (barcodes imported), pretix_sig1 or rotating.
	Kind string `json:"kind,omitempty"`
	// Keys, Items and Subevents are a pretix_sig1 provider's (codes.Sig1Config).
	Keys      []string             `json:"keys,omitempty"`
	Items     []codes.Sig1Item     `json:"items,omitempty"`
	Subevents []codes.Sig1Subevent `json:"subevents,omitempty"`
	// EventKey is a rotating provider's event key, as hex; never shown.
	EventKey string `json:"event_key,omitempty"`
	// Step and Skew are a rotating provider's TOTP step and the clock skew
	// allowed, as durations ("15s"); empty for the defaults (15s, one step).
	Step string `json:"step,omitempty"`
	Skew string `json:"skew,omitempty"`
}

// ProviderView is a provider as the API shows it: no secret.
type ProviderView struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Kind string `json:"kind"`
	// A pretix_sig1 provider's public keys, mappings and list sizes.
	Keys      []string             `json:"keys,omitempty"`
	Items     []codes.Sig1Item     `json:"items,omitempty"`
	Subevents []codes.Sig1Subevent `json:"subevents,omitempty"`
	Lists     *ListSizes           `json:"lists,omitempty"`
	// A rotating provider's settings and the clock skew its codes show.
	Step  string         `json:"step,omitempty"`
	Skew  string         `json:"skew,omitempty"`
	Clock *RotatingClock `json:"clock,omitempty"`
}

// ListSizes counts a pretix_sig1 provider's lists.
type ListSizes struct {
	Revoked int `json:"revoked"`
	Blocked int `json:"blocked"`
}

// RotatingClock is how far the appliance's clock runs from the codes of a
// rotating provider: the median, over the latest codes its event key drew
// (refused ones included), of the appliance's clock minus the code's time.
// Far from zero, the appliance's clock is wrong (check NTP).
type RotatingClock struct {
	Provider    string  `json:"provider"`
	SkewSeconds float64 `json:"skew_seconds"`
	Codes       int     `json:"codes"` // codes seen since the start
}

// SecretsResult is the answer to a change of a list.
type SecretsResult struct {
	Provider string `json:"provider"`
	List     string `json:"list"`
	Added    int    `json:"added"`
	Removed  int    `json:"removed"`
	Total    int    `json:"total"` // secrets on the list now
}

// ProvidersResponse is the answer to GET /v1/providers.
type ProvidersResponse struct {
	Providers []ProviderView `json:"providers"`
}

// maxProviderBody bounds a provider's JSON: its keys and mappings (an
// event series maps hundreds of subevents).
const maxProviderBody = 256 << 10

// maxListSecrets bounds one list body (the store holds lists in memory).
const maxListSecrets = 1 << 20

func (s *Server) providers(ctx *fasthttp.RequestCtx, c *call) error {
	if s.cfg.Providers != nil {
		vs, err := s.cfg.Providers.ProviderViews(ctx)
		if err != nil {
			return err
		}
		if vs == nil {
			vs = []ProviderView{}
		}
		return writeJSON(ctx, fasthttp.StatusOK, ProvidersResponse{Providers: vs})
	}
	ps, err := c.store.index.Providers(ctx)
	if err != nil {
		return err
	}
	vs := make([]ProviderView, 0, len(ps))
	for _, p := range ps {
		vs = append(vs, ProviderView{ID: p.ID, Name: p.Name, Kind: "list"})
	}
	return writeJSON(ctx, fasthttp.StatusOK, ProvidersResponse{Providers: vs})
}

func (s *Server) provider(ctx *fasthttp.RequestCtx, c *call) error {
	v, err := s.providerView(ctx, c, c.params[0])
	if err != nil {
		return err
	}
	return writeJSON(ctx, fasthttp.StatusOK, v)
}

// providerView returns one provider as GET /v1/providers shows it.
func (s *Server) providerView(ctx context.Context, c *call, id string) (ProviderView, error) {
	if s.cfg.Providers != nil {
		vs, err := s.cfg.Providers.ProviderViews(ctx)
		if err != nil {
			return ProviderView{}, err
		}
		for _, v := range vs {
			if v.ID == id {
				return v, nil
			}
		}
	} else {
		ps, err := c.store.index.Providers(ctx)
		if err != nil {
			return ProviderView{}, err
		}
		for _, p := range ps {
			if p.ID == id {
				return ProviderView{ID: p.ID, Name: p.Name, Kind: "list"}, nil
			}
		}
	}
	return ProviderView{}, gate.Errorf(gate.ENOTFOUND, "no provider %q", id)
}

func (s *Server) putProvider(ctx *fasthttp.RequestCtx, c *call) error {
	var req ProviderRequest
	if err := s.readJSONUpTo(ctx, &req, max(s.cfg.MaxBodyBytes, maxProviderBody)); err != nil {
		return err
	}
	p := gate.Provider{ID: c.params[0], Name: req.Name}
	if err := p.Validate(); err != nil {
		return err
	}
	if req.Kind == "" {
		if len(req.Keys) > 0 || len(req.Items) > 0 || len(req.Subevents) > 0 || req.EventKey != "" || req.Step != "" || req.Skew != "" {
			return gate.Errorf(gate.EINVALID, "name the provider's kind (pretix_sig1 or rotating) with its keys; without a kind a PUT only renames")
		}
		created, err := c.store.index.PutProvider(gate.WithBy(ctx, c.by()), p)
		if err != nil {
			return err
		}
		s.audit(c, "put_provider").Str("provider", p.ID).Bool("created", created).Msg("provider saved")
		v, err := s.providerView(ctx, c, p.ID)
		if err != nil {
			return err
		}
		return writeJSON(ctx, createdStatus(created), v)
	}
	if s.cfg.Providers == nil {
		return gate.Errorf(gate.EUNAVAILABLE, "providers with a kind are not available on this appliance")
	}
	spec, err := req.spec(p)
	if err != nil {
		return err
	}
	created, err := s.cfg.Providers.PutProviderSpec(ctx, spec)
	if err != nil {
		return err
	}
	// The audit names what changed, never the event key.
	s.audit(c, "put_provider").Str("provider", p.ID).Str("kind", spec.Kind).Int("keys", len(spec.Sig1.Keys)).
		Int("items", len(spec.Sig1.Items)).Int("subevents", len(spec.Sig1.Subevents)).Bool("event_key", spec.EventKey != nil).
		Bool("created", created).Msg("provider saved")
	v, err := s.providerView(ctx, c, p.ID)
	if err != nil {
		return err
	}
	return writeJSON(ctx, createdStatus(created), v)
}

// spec checks what a request can tell by itself and returns its spec; the
// store checks the rest (keys, mappings, events).
func (req *ProviderRequest) spec(p gate.Provider) (ProviderSpec, error) {
	sp := ProviderSpec{ID: p.ID, Name: p.Name, Kind: req.Kind}
	sig1 := len(req.Keys) > 0 || len(req.Items) > 0 || len(req.Subevents) > 0
	rotating := req.EventKey != "" || req.Step != "" || req.Skew != ""
	switch req.Kind {
	case "list":
		if sig1 || rotating {
			return sp, gate.Errorf(gate.EINVALID, "a list provider has no keys, items, subevents, event_key, step or skew")
		}
	case "pretix_sig1":
		if rotating {
			return sp, gate.Errorf(gate.EINVALID, "a pretix_sig1 provider has no event_key, step or skew: those are a rotating provider's")
		}
		sp.Sig1 = codes.Sig1Config{Keys: req.Keys, Items: req.Items, Subevents: req.Subevents}
	case "rotating":
		if sig1 {
			return sp, gate.Errorf(gate.EINVALID, "a rotating provider has no keys, items or subevents: those are a pretix_sig1 provider's")
		}
		if req.EventKey != "" {
			k, err := codes.ParseKey(req.EventKey)
			if err != nil {
				// Never the key itself: the message says what a key is.
				return sp, gate.Errorf(gate.EINVALID, "field \"event_key\" must be the event key as hex, %d to %d digits", 2*codes.MinKeyLen, 2*codes.MaxKeyLen)
			}
			sp.EventKey = k
		}
		var err error
		if sp.Step, err = parseDuration("step", req.Step); err != nil {
			return sp, err
		}
		if sp.Skew, err = parseDuration("skew", req.Skew); err != nil {
			return sp, err
		}
	default:
		return sp, gate.Errorf(gate.EINVALID, "field \"kind\" must be list, pretix_sig1 or rotating, not %q", truncate(req.Kind, 32))
	}
	return sp, nil
}

// parseDuration reads a duration field; "" is 0 (the default).
func parseDuration(field, v string) (time.Duration, error) {
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, gate.Errorf(gate.EINVALID, "field %q must be a duration such as \"15s\", not %q", field, truncate(v, 32))
	}
	return d, nil
}

// readJSONUpTo is readJSON with a body limit of its own.
func (s *Server) readJSONUpTo(ctx *fasthttp.RequestCtx, v any, limit int) error {
	if cl := ctx.Request.Header.ContentLength(); cl > limit {
		return gate.Errorf(gate.ETOOLARGE, "the request body is %d bytes; the limit is %d", cl, limit)
	}
	var body []byte
	if r := ctx.RequestBodyStream(); r != nil {
		var err error
		if body, err = readLimited(r, nil, limit); err != nil {
			return err
		}
	} else if body = ctx.PostBody(); len(body) > limit {
		return gate.Errorf(gate.ETOOLARGE, "the request body is over the limit of %d bytes", limit)
	}
	return decodeJSON(body, v)
}

func (s *Server) putRevoked(ctx *fasthttp.RequestCtx, c *call) error {
	return s.changeList(ctx, c, "revoked", "replace")
}
func (s *Server) addRevoked(ctx *fasthttp.RequestCtx, c *call) error {
	return s.changeList(ctx, c, "revoked", "add")
}
func (s *Server) deleteRevoked(ctx *fasthttp.RequestCtx, c *call) error {
	return s.changeList(ctx, c, "revoked", "remove")
}
func (s *Server) putBlocked(ctx *fasthttp.RequestCtx, c *call) error {
	return s.changeList(ctx, c, "blocked", "replace")
}
func (s *Server) addBlocked(ctx *fasthttp.RequestCtx, c *call) error {
	return s.changeList(ctx, c, "blocked", "add")
}
func (s *Server) deleteBlocked(ctx *fasthttp.RequestCtx, c *call) error {
	return s.changeList(ctx, c, "blocked", "remove")
}

// changeList replaces, adds to or takes one secret off a list.
func (s *Server) changeList(ctx *fasthttp.RequestCtx, c *call, list, op string) error {
	if s.cfg.Providers == nil {
		return gate.Errorf(gate.EUNAVAILABLE, "revocation and block lists are not available on this appliance")
	}
	provider := c.params[0]
	var secrets []string
	if op == "remove" {
		secrets = []string{c.params[1]}
	} else {
		var err error
		if secrets, err = s.readSecrets(ctx, c); err != nil {
			return err
		}
	}
	res, err := s.cfg.Providers.PutSecrets(ctx, provider, list, op, secrets)
	if err != nil {
		return err
	}
	res.Provider, res.List = provider, list
	s.audit(c, op+"_"+list).Str("provider", provider).Int("added", res.Added).Int("removed", res.Removed).Int("total", res.Total).Msg("list changed")
	return writeJSON(ctx, fasthttp.StatusOK, res)
}

// readSecrets reads a list body: one secret a line, streamed, at most
// MaxImportBytes and maxListSecrets lines.
func (s *Server) readSecrets(ctx *fasthttp.RequestCtx, c *call) ([]string, error) {
	max := s.cfg.MaxImportBytes
	if cl := ctx.Request.Header.ContentLength(); int64(cl) > max {
		return nil, gate.Errorf(gate.ETOOLARGE, "the list is %d bytes; the limit is %d", cl, max)
	}
	var body io.Reader = ctx.RequestBodyStream()
	if body == nil {
		body = bytes.NewReader(ctx.PostBody())
	}
	lr := &limitReader{r: body, left: max, max: max}
	secrets, err := readSecretLines(lr)
	c.bodyRead = err == nil
	if lr.exceeded {
		return nil, gate.Errorf(gate.ETOOLARGE, "the list is over the limit of %d bytes; nothing was changed", max)
	}
	return secrets, err
}

// readSecretLines reads one secret a line. A line longer than a barcode
// can be, or text that is not UTF-8, refuses the whole list (nothing is
// changed); what makes a secret a barcode the store checks.
func readSecretLines(r io.Reader) ([]string, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 4096)
	var out []string
	for n := 1; sc.Scan(); n++ {
		line := sc.Bytes()
		if n == 1 {
			line = bytes.TrimPrefix(line, []byte("\xef\xbb\xbf"))
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		if err := gate.CheckBarcode(string(line)); err != nil {
			return nil, gate.Errorf(gate.EINVALID, "line %d: %v; nothing was changed", n, err)
		}
		if len(out) == maxListSecrets {
			return nil, gate.Errorf(gate.EINVALID, "the list holds more than %d secrets; nothing was changed", maxListSecrets)
		}
		out = append(out, string(line))
	}
	if err := sc.Err(); err != nil {
		if err == bufio.ErrTooLong {
			return nil, gate.Errorf(gate.EINVALID, "a line is longer than a barcode can be (%d bytes); send one secret a line", gate.MaxBarcodeLen)
		}
		if code := gate.ErrorCode(err); code != "" {
			return nil, err
		}
		return nil, gate.Errorf(gate.EINVALID, "the list could not be read: %v", err)
	}
	return out, nil
}

// clocks is the rotating providers' clock skew for GET /v1/lanes.
func (s *Server) clocks() []RotatingClock {
	if s.cfg.Providers == nil {
		return nil
	}
	return s.cfg.Providers.Clocks()
}

// isListRoute reports whether a path is a list upload, which may take
// as long as an import to arrive.
func isListRoute(path []byte) bool {
	p := string(path)
	return strings.HasPrefix(p, "/v1/providers/") && (strings.HasSuffix(p, "/revoked") || strings.HasSuffix(p, "/blocked"))
}
