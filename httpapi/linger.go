package httpapi

import (
	"bufio"
	"io"
	"net"
	"time"

	"github.com/valyala/fasthttp"
)

// How long, and how much, a connection closed with its request body unread
// (an import refused before its file was read) keeps reading and discarding
// what the client still sends after the answer went out.
const (
	lingerTime  = 2 * time.Second
	lingerBytes = 16 << 20
)

// closeLingering answers on this connection and then closes it without
// reading the rest of the request body, but not at once: closing a socket
// with unread data makes the kernel send a reset, and a reset that reaches
// the client while it is still sending the body can destroy the answer
// before the client reads it ("connection reset by peer" instead of "413,
// the limit is 1 GiB"). So the answer is written with Connection: close,
// then what arrives is read and thrown away for up to lingerTime or
// lingerBytes, as web servers' lingering close does; the client, having its
// answer, stops sending.
//
// Call it after the error response is set. fasthttp skips a hijack when
// either side says Connection: close, so the response's header is set only
// in the hijack handler; a request that itself asked to close is closed at
// once, as before.
func closeLingering(ctx *fasthttp.RequestCtx) {
	if ctx.Hijacked() {
		return
	}
	if ctx.Request.Header.ConnectionClose() {
		ctx.SetConnectionClose()
		return
	}
	ctx.HijackSetNoResponse(true)
	ctx.Hijack(func(c net.Conn) {
		ctx.Response.SetConnectionClose()
		_ = c.SetWriteDeadline(time.Now().Add(lingerTime))
		w := bufio.NewWriter(c)
		if err := ctx.Response.Write(w); err != nil || w.Flush() != nil {
			return
		}
		_ = c.SetReadDeadline(time.Now().Add(lingerTime))
		_, _ = io.CopyN(io.Discard, c, lingerBytes)
	})
}
