package httpapitest

import (
	"net"

	"github.com/valyala/fasthttp"
)

// TrivialBody is what the trivial server answers.
const TrivialBody = `{"admit":true,"reason":"ok"}` + "\n"

// ServeTrivial serves a fasthttp handler that reads nothing and answers
// TrivialBody, the ceiling the API is compared with in the same run. It
// returns the server; call Shutdown when done.
func ServeTrivial(ln net.Listener) *fasthttp.Server {
	s := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("application/json")
		ctx.SetBodyString(TrivialBody)
	}}
	go func() { _ = s.Serve(ln) }()
	return s
}
