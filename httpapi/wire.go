package httpapi

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"

	"github.com/admitgate/admit/gate"
)

// What fasthttp could not read is answered and logged in words of the
// API's own. fasthttp's error messages quote the request they could not
// parse (its raw header block, bearer token included, or a header's value),
// so none of them is ever logged or echoed: a request with two
// Content-Length headers and a token once had the token written to the log
// and sent back in the 400 body (issue 21, item 11).

// readFailure is what was wrong with a request fasthttp could not read.
type readFailure struct {
	status int
	code   string
	words  string
}

// describeReadError classifies err, an error fasthttp met reading a
// request, without quoting it.
func describeReadError(err error) readFailure {
	var small *fasthttp.ErrSmallBuffer
	var netErr net.Error
	var chunk *fasthttp.ErrBrokenChunk
	bad := func(words string) readFailure {
		return readFailure{fasthttp.StatusBadRequest, gate.EINVALID, words}
	}
	msg := strings.ToLower(err.Error()) // read to classify, never shown
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		return readFailure{fasthttp.StatusRequestEntityTooLarge, gate.ETOOLARGE, "the request body is over its limit"}
	case errors.As(err, &small):
		return readFailure{fasthttp.StatusRequestHeaderFieldsTooLarge, gate.ETOOLARGE, "the request's headers are too large"}
	case errors.As(err, &netErr) && netErr.Timeout():
		return readFailure{fasthttp.StatusRequestTimeout, gate.EINVALID, "the request did not arrive in time"}
	case errors.Is(err, fasthttp.ErrDuplicateContentLength):
		return bad("the request has more than one Content-Length header")
	case errors.Is(err, fasthttp.ErrNonNumericChars), strings.Contains(msg, "content-length"):
		return bad("the request's Content-Length is not a number")
	case errors.Is(err, fasthttp.ErrUnsupportedTransferEncoding), strings.Contains(msg, "transfer-encoding"):
		return bad("the request's Transfer-Encoding is given twice or is not chunked")
	case errors.As(err, &chunk):
		return bad("the request's chunked body is broken")
	case strings.Contains(msg, "host header"):
		return bad("the request has more than one Host header")
	case strings.Contains(msg, "invalid header"):
		return bad("a header name or value holds characters HTTP does not allow")
	case errors.Is(err, fasthttp.ErrMissingRequestMethod), errors.Is(err, fasthttp.ErrUnsupportedRequestMethod),
		errors.Is(err, fasthttp.ErrExtraWhitespaceInRequestLine), errors.Is(err, fasthttp.ErrEmptyRequestURI):
		return bad("the request line is not METHOD PATH HTTP/1.1")
	}
	return bad("the request is not HTTP/1.1 that this appliance reads")
}

// connError answers a request fasthttp could not read with the API's error
// shape, and closes the connection (fasthttp closes it too).
func (s *Server) connError(ctx *fasthttp.RequestCtx, err error) {
	f := describeReadError(err)
	s.log.Info().Str("error", f.words).Int("status", f.status).Str("remote", ctx.RemoteIP().String()).Msg("unreadable request")
	writeErrorBody(ctx, f.status, f.code, "the request could not be read: "+f.words)
	ctx.SetConnectionClose()
}

// fasthttpLogger receives fasthttp's own log lines, at debug level, with
// every error among their arguments told in describeReadError's words.
type fasthttpLogger struct{ log *zerolog.Logger }

func (l fasthttpLogger) Printf(format string, args ...any) {
	ev := l.log.Debug()
	if !ev.Enabled() {
		return
	}
	for i, a := range args {
		if err, ok := a.(error); ok {
			args[i] = describeReadError(err).words
		}
	}
	ev.Msg(fmt.Sprintf(format, args...))
}

// framedTwice reports whether a request's head has both a Content-Length
// and a Transfer-Encoding header. fasthttp frames such a request by its
// Transfer-Encoding, as RFC 9112 §6.1 says, but keeps the connection open;
// a proxy in front that framed it by its Content-Length would then see the
// rest of the body as a request of its own (request smuggling). RFC 9112
// says to close the connection after answering; the API refuses it too. It
// costs a look at the raw header lines of requests that carry a body.
func framedTwice(h *fasthttp.RequestHeader) bool {
	if h.ContentLength() == -2 { // neither a length nor chunked
		return false
	}
	var length, encoding bool
	raw := h.RawHeaders()
	for len(raw) > 0 {
		line := raw
		if i := bytes.IndexByte(raw, '\n'); i >= 0 {
			line, raw = raw[:i], raw[i+1:]
		} else {
			raw = nil
		}
		if len(line) == 0 {
			continue
		}
		switch line[0] | 0x20 {
		case 'c':
			length = length || hasPrefixFold(line, "content-length:")
		case 't':
			encoding = encoding || hasPrefixFold(line, "transfer-encoding:")
		}
	}
	return length && encoding
}

func hasPrefixFold(b []byte, p string) bool {
	return len(b) >= len(p) && strings.EqualFold(string(b[:len(p)]), p)
}

var errFramedTwice = gate.Errorf(gate.EINVALID, "the request has both Content-Length and Transfer-Encoding; send one of them")
