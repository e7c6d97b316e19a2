package web_test

import (
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/admitgate/admit/web"
)

// requestCtx is a request as the server hands it to a handler.
func requestCtx(method, uri string, header map[string]string) *fasthttp.RequestCtx {
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod(method)
	ctx.Request.SetRequestURI(uri)
	for k, v := range header {
		ctx.Request.Header.Set(k, v)
	}
	return &ctx
}

// FuzzServe: whatever the method, path and validators, Serve answers one of
// its four statuses with its security headers, and only GET and HEAD of a
// path it has get a file.
func FuzzServe(f *testing.F) {
	s := newSite(f)
	for _, seed := range []struct{ method, uri, inm, ae string }{
		{"GET", "/", "", "gzip"}, {"HEAD", "/door", `"x"`, ""}, {"POST", "/admin", "*", "br"},
		{"GET", "/assets/door.js", `W/"abc", "def"`, "gzip, deflate"}, {"GET", "/assets/../door.html", "", ""},
		{"DELETE", "/nope", "", ""}, {"GET", "//door?x=1#y", ",,,", "identity"}, {"GET", "/%2e%2e/admin", "", ""},
	} {
		f.Add(seed.method, seed.uri, seed.inm, seed.ae)
	}
	f.Fuzz(func(t *testing.T, method, uri, inm, ae string) {
		if method == "" {
			method = "GET"
		}
		ctx := requestCtx(method, uri, map[string]string{"If-None-Match": inm, "Accept-Encoding": ae})
		s.Serve(ctx)
		st := ctx.Response.StatusCode()
		has := s.Has(string(ctx.URI().PathOriginal()))
		switch {
		case !has && st != 404:
			t.Fatalf("%s %q: %d for a path the site does not have", method, uri, st)
		case has && !ctx.IsGet() && !ctx.IsHead() && st != 405:
			t.Fatalf("%s %q: %d, want 405", method, uri, st)
		case st != 200 && st != 304 && st != 404 && st != 405:
			t.Fatalf("%s %q: status %d", method, uri, st)
		}
		if string(ctx.Response.Header.Peek("Content-Security-Policy")) != web.ContentSecurityPolicy {
			t.Fatalf("%s %q: no Content-Security-Policy", method, uri)
		}
		if st == 200 && len(ctx.Response.Body()) == 0 && !ctx.IsHead() {
			t.Fatalf("%s %q: 200 without a body", method, uri)
		}
	})
}

// BenchmarkServe measures serving a page's script: compressed, and a
// revalidation that answers 304.
func BenchmarkServe(b *testing.B) {
	s := newSite(b)
	get := requestCtx("GET", "/assets/door.js", map[string]string{"Accept-Encoding": "gzip"})
	s.Serve(get)
	etag := string(get.Response.Header.Peek("ETag"))
	for _, bc := range []struct {
		name   string
		header map[string]string
		want   int
	}{
		{"gzip", map[string]string{"Accept-Encoding": "gzip"}, 200},
		{"plain", nil, 200},
		{"not-modified", map[string]string{"If-None-Match": etag}, 304},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ctx := requestCtx("GET", "/assets/door.js", bc.header)
			b.ReportAllocs()
			for b.Loop() {
				ctx.Response.Reset()
				s.Serve(ctx)
			}
			if st := ctx.Response.StatusCode(); st != bc.want {
				b.Fatalf("status %d, want %d", st, bc.want)
			}
		})
	}
}
