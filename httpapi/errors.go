package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/valyala/fasthttp"

	"github.com/admitgate/admit/gate"
)

// StatusFor returns the HTTP status of an error code: the one table from
// gate's codes to statuses.
func StatusFor(code string) int {
	switch code {
	case gate.EINVALID:
		return fasthttp.StatusBadRequest
	case gate.EUNAUTHORIZED:
		return fasthttp.StatusUnauthorized
	case gate.EFORBIDDEN:
		return fasthttp.StatusForbidden
	case gate.ENOTFOUND:
		return fasthttp.StatusNotFound
	case gate.ECONFLICT:
		return fasthttp.StatusConflict
	case gate.ETOOLARGE:
		return fasthttp.StatusRequestEntityTooLarge
	case gate.EREJECTED:
		return fasthttp.StatusUnprocessableEntity
	case gate.EUNAVAILABLE:
		return fasthttp.StatusServiceUnavailable
	case gate.ENOSPACE:
		return fasthttp.StatusInsufficientStorage
	case codeMethod:
		return fasthttp.StatusMethodNotAllowed
	}
	return fasthttp.StatusInternalServerError
}

// codeMethod is the code of a 405; gate has no code for it since only HTTP
// has methods.
const codeMethod = "method_not_allowed"

// diskFull begins every no_space message.
const diskFull = "the data disk is full"

// ErrorBody is the shape of every error response.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is the code and message of an error response.
type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// writeError answers err: its code's status and message, or, for an error
// without a code, 500 "internal error" with the real error logged.
func (s *Server) writeError(ctx *fasthttp.RequestCtx, c *call, err error) {
	code := gate.ErrorCode(err)
	msg := gate.ErrorMessage(err)
	status := StatusFor(code)
	if code == gate.ENOSPACE && !strings.HasPrefix(msg, diskFull) {
		// The store's words may say what it was writing; the client reads
		// first what happened.
		msg = strings.TrimSuffix(diskFull+": "+msg, ": ")
	}
	if code == gate.EINTERNAL {
		route := "unmatched"
		if c.route != nil {
			route = c.route.name
		}
		s.log.Error().Err(err).Str("route", route).Msg("internal error")
		msg = "internal error"
	}
	writeErrorBody(ctx, status, code, msg)
	if status == fasthttp.StatusRequestEntityTooLarge {
		closeLingering(ctx) // the rest of the body is not read
	}
}

func writeErrorBody(ctx *fasthttp.RequestCtx, status int, code, msg string) {
	ctx.Response.ResetBody()
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	b, _ := json.Marshal(ErrorBody{Error: ErrorDetail{Code: code, Message: msg}})
	ctx.SetBody(append(b, '\n'))
}

// writeDecision answers a scan's or a check's decision, 200, as writeJSON
// would, without reflection for the decisions appendDecision writes.
func writeDecision(ctx *fasthttp.RequestCtx, d *gate.Decision) error {
	bp := bodyPool.Get().(*[]byte)
	defer bodyPool.Put(bp)
	b, ok := appendDecision((*bp)[:0], d)
	*bp = b[:0]
	if !ok {
		return writeJSON(ctx, fasthttp.StatusOK, d)
	}
	ctx.SetStatusCode(fasthttp.StatusOK)
	ctx.SetContentType("application/json")
	ctx.SetBody(b)
	return nil
}

// writeJSON answers v as JSON with status.
func writeJSON(ctx *fasthttp.RequestCtx, status int, v any) error {
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	enc := json.NewEncoder(ctx)
	return enc.Encode(v)
}

var bodyPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// readJSON decodes the request body into v: at most MaxBodyBytes of UTF-8
// JSON, one value, no unknown, repeated or miscased fields (decodeJSON). Every problem is EINVALID or
// ETOOLARGE with a message that says what to fix.
func (s *Server) readJSON(ctx *fasthttp.RequestCtx, v any) error {
	bp, body, err := s.readBody(ctx)
	defer bodyPool.Put(bp)
	if err != nil {
		return err
	}
	return decodeJSON(body, v)
}

// readScan is readJSON for a ScanRequest, decoded by hand (scanjson.go).
func (s *Server) readScan(ctx *fasthttp.RequestCtx, c *call, req *ScanRequest) error {
	bp, body, err := s.readBody(ctx)
	defer bodyPool.Put(bp)
	if err != nil {
		return err
	}
	c.bodyRead = true
	return parseScanRequest(body, req, s.lanes)
}

// readBody reads the request body, at most MaxBodyBytes, into a pooled
// buffer; the caller puts the buffer back into bodyPool once done with the
// body, whatever the error.
func (s *Server) readBody(ctx *fasthttp.RequestCtx) (*[]byte, []byte, error) {
	bp := bodyPool.Get().(*[]byte)
	limit := s.cfg.MaxBodyBytes
	if cl := ctx.Request.Header.ContentLength(); cl > limit {
		return bp, nil, gate.Errorf(gate.ETOOLARGE, "the request body is %d bytes; the limit is %d", cl, limit)
	}
	body := (*bp)[:0]
	if r := ctx.RequestBodyStream(); r != nil {
		var err error
		body, err = readLimited(r, body, limit)
		*bp = body[:0]
		if err != nil {
			return bp, nil, err
		}
	} else {
		body = append(body, ctx.PostBody()...)
		*bp = body[:0]
		if len(body) > limit {
			return bp, nil, gate.Errorf(gate.ETOOLARGE, "the request body is over the limit of %d bytes", limit)
		}
	}
	return bp, body, nil
}

// readLimited appends r's bytes to buf, failing with ETOOLARGE past limit.
func readLimited(r io.Reader, buf []byte, limit int) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if len(buf) > limit {
			return buf, gate.Errorf(gate.ETOOLARGE, "the request body is over the limit of %d bytes", limit)
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, gate.Errorf(gate.EINVALID, "the request body could not be read: %v", err)
		}
	}
}

// decodeJSON decodes one JSON value from body into v, held to checkJSON's
// strictness first: a struct's keys exactly as its tags write them, each
// once, and no escape encoding/json would replace.
func decodeJSON(body []byte, v any) error {
	if err := checkJSON(body, jsonFields(v)); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	return nil
}

// jsonError turns a decoding error into a message a client can act on.
func jsonError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var ge *gate.Error
	switch {
	case errors.As(err, &ge):
		return gate.Errorf(gate.EINVALID, "%s", ge.Message)
	case errors.As(err, &syn):
		return gate.Errorf(gate.EINVALID, "the request body is not valid JSON (at byte %d): %v", syn.Offset, syn)
	case errors.As(err, &typ):
		if typ.Field != "" {
			return gate.Errorf(gate.EINVALID, "field %q must be %s, not %s", typ.Field, jsonKind(typ.Type.Kind().String()), typ.Value)
		}
		return gate.Errorf(gate.EINVALID, "the request body must be a JSON object, not %s", typ.Value)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return gate.Errorf(gate.EINVALID, "the request body ends in the middle of its JSON value")
	}
	msg := err.Error()
	if f, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		return gate.Errorf(gate.EINVALID, "unknown field %s", f)
	}
	return gate.Errorf(gate.EINVALID, "the request body cannot be read: %s", strings.TrimPrefix(msg, "json: "))
}

func jsonKind(k string) string {
	switch k {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "slice", "array":
		return "an array"
	case "struct", "map", "ptr":
		return "an object"
	}
	if strings.HasPrefix(k, "int") || strings.HasPrefix(k, "uint") || strings.HasPrefix(k, "float") {
		return "a number"
	}
	return fmt.Sprintf("a %s", k)
}
