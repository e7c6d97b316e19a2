package httpapi

import (
	"strconv"

	"github.com/valyala/fasthttp"

	"github.com/admitgate/admit/gate"
)

// ChangesResponse is the answer to GET /v1/changes: the recorded changes
// with seq > after, oldest first; continue with after=next.
type ChangesResponse struct {
	Changes []gate.Change `json:"changes"`
	Next    uint64        `json:"next"`
}

// Limits of GET /v1/changes.
const (
	DefaultChangesLimit = 100
	MaxChangesLimit     = 1000
)

// changes lists the record of changes to the sets and the catalog: who
// asked for what, when (and in a venue, where and at which position).
func (s *Server) changes(ctx *fasthttp.RequestCtx, c *call) error {
	args := ctx.QueryArgs()
	var bad string
	args.VisitAll(func(k, _ []byte) {
		if bad == "" && string(k) != "after" && string(k) != "limit" {
			bad = string(k)
		}
	})
	if bad != "" {
		return gate.Errorf(gate.EINVALID, "unknown query parameter %q; use after and limit", truncate(bad, 64))
	}
	var after uint64
	if v := args.Peek("after"); len(v) > 0 {
		n, err := strconv.ParseUint(string(v), 10, 64)
		if err != nil {
			return gate.Errorf(gate.EINVALID, "query parameter after must be a change number, not %q", truncate(string(v), 32))
		}
		after = n
	}
	limit := DefaultChangesLimit
	if v := args.Peek("limit"); len(v) > 0 {
		n, err := strconv.Atoi(string(v))
		if err != nil || n < 1 || n > MaxChangesLimit {
			return gate.Errorf(gate.EINVALID, "query parameter limit must be between 1 and %d, not %q", MaxChangesLimit, truncate(string(v), 32))
		}
		limit = n
	}
	cs, err := c.store.index.Changes(ctx, after, limit)
	if err != nil {
		return err
	}
	if cs == nil {
		cs = []gate.Change{}
	}
	next := after
	if len(cs) > 0 {
		next = cs[len(cs)-1].Seq
	}
	return writeJSON(ctx, fasthttp.StatusOK, ChangesResponse{Changes: cs, Next: next})
}
