package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"fmt"
	"io/fs"
	"mime"
	"path"
	"slices"
	"strings"

	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"
)

//go:embed static
var static embed.FS

// pages maps each page's URL path to its file under static/.
var pages = map[string]string{
	"/":      "operator.html",
	"/door":  "door.html",
	"/admin": "admin.html",
}

// AssetPrefix is the URL path under which the pages' CSS, scripts and
// icons are served.
const AssetPrefix = "/assets/"

// ContentSecurityPolicy is sent with every file: scripts, styles and data
// come from the appliance itself and nowhere else, nothing may frame the
// pages, and images may be data: or blob: URLs (the camera preview).
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; " +
	"media-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// file is one embedded file, ready to serve.
type file struct {
	name        string // under static/
	contentType string
	body        []byte
	gzipped     []byte // nil when compressing does not pay
	etag        string // quoted strong validator of body
}

// Site serves the operator, door and admin pages and their assets from
// files embedded in the binary. It holds no state besides the files and is
// safe for concurrent use.
type Site struct {
	files map[string]*file // by URL path
	log   zerolog.Logger
}

// New returns the Site, with every file read, hashed and compressed once.
func New(logger zerolog.Logger) (*Site, error) {
	s := &Site{files: map[string]*file{}, log: logger.With().Str("component", "web").Logger()}
	for urlPath, name := range pages {
		f, err := load(name)
		if err != nil {
			return nil, err
		}
		s.files[urlPath] = f
	}
	assets, err := fs.ReadDir(static, "static/assets")
	if err != nil {
		return nil, fmt.Errorf("web: read the assets: %w", err)
	}
	for _, e := range assets {
		if e.IsDir() {
			continue
		}
		f, err := load("assets/" + e.Name())
		if err != nil {
			return nil, err
		}
		s.files[AssetPrefix+e.Name()] = f
	}
	return s, nil
}

func load(name string) (*file, error) {
	body, err := static.ReadFile("static/" + name)
	if err != nil {
		return nil, fmt.Errorf("web: read %s: %w", name, err)
	}
	ct := contentType(name)
	if ct == "" {
		return nil, fmt.Errorf("web: %s: no content type for its extension", name)
	}
	sum := sha256.Sum256(body)
	f := &file{name: name, contentType: ct, body: body,
		etag: `"` + base64.RawURLEncoding.EncodeToString(sum[:18]) + `"`}
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, fmt.Errorf("web: gzip %s: %w", name, err)
	}
	if _, err := zw.Write(body); err != nil {
		return nil, fmt.Errorf("web: gzip %s: %w", name, err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("web: gzip %s: %w", name, err)
	}
	if buf.Len() < len(body)*9/10 {
		f.gzipped = buf.Bytes()
	}
	return f, nil
}

// contentType returns the media type for a file name; "" for one the site
// does not serve.
func contentType(name string) string {
	switch path.Ext(name) {
	case ".html":
		return "text/html; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".webmanifest":
		return "application/manifest+json"
	}
	return mime.TypeByExtension(path.Ext(name))
}

// Paths lists every URL path the site serves, pages first, then assets, each
// group sorted.
func (s *Site) Paths() []string {
	var ps, as []string
	for p := range s.files {
		if strings.HasPrefix(p, AssetPrefix) {
			as = append(as, p)
		} else {
			ps = append(ps, p)
		}
	}
	slices.Sort(ps)
	slices.Sort(as)
	return append(ps, as...)
}

// Has reports whether path (as sent, before any decoding) is a page or an
// asset of the site. The API asks before handing a request to Serve, so
// every other path keeps the API's own answers.
func (s *Site) Has(path string) bool {
	_, ok := s.files[path]
	return ok
}

// Serve answers a request for one of the site's paths: GET and HEAD get the
// file (gzip-compressed when the client accepts it, 304 when its ETag
// matches If-None-Match), other methods 405, unknown paths 404. Every answer
// carries a strict Content-Security-Policy and asks browsers to revalidate,
// so an upgraded appliance serves its new pages at once.
func (s *Site) Serve(ctx *fasthttp.RequestCtx) {
	h := &ctx.Response.Header
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Permissions-Policy", "camera=(self), microphone=(), geolocation=()")
	f, ok := s.files[string(ctx.URI().PathOriginal())]
	if !ok {
		ctx.SetStatusCode(fasthttp.StatusNotFound)
		ctx.SetContentType("text/plain; charset=utf-8")
		ctx.SetBodyString("no such page\n")
		return
	}
	if !ctx.IsGet() && !ctx.IsHead() {
		h.Set("Allow", "GET, HEAD")
		ctx.SetStatusCode(fasthttp.StatusMethodNotAllowed)
		ctx.SetContentType("text/plain; charset=utf-8")
		ctx.SetBodyString("method " + string(ctx.Method()) + " is not allowed here; use GET\n")
		return
	}
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", f.etag)
	h.Set("Vary", "Accept-Encoding")
	if etagMatches(ctx.Request.Header.Peek("If-None-Match"), f.etag) {
		ctx.SetStatusCode(fasthttp.StatusNotModified)
		return
	}
	h.SetContentType(f.contentType)
	ctx.SetStatusCode(fasthttp.StatusOK)
	body := f.body
	if f.gzipped != nil && ctx.Request.Header.HasAcceptEncoding("gzip") {
		h.Set("Content-Encoding", "gzip")
		body = f.gzipped
	}
	if ctx.IsHead() {
		h.SetContentLength(len(body))
		return
	}
	ctx.SetBody(body)
}

// etagMatches reports whether an If-None-Match header names etag (or is *).
// Weak validators match too, as RFC 9110 asks for If-None-Match.
func etagMatches(header []byte, etag string) bool {
	for len(header) > 0 {
		part := header
		if i := bytes.IndexByte(header, ','); i >= 0 {
			part, header = header[:i], header[i+1:]
		} else {
			header = nil
		}
		part = bytes.TrimSpace(part)
		part = bytes.TrimPrefix(part, []byte("W/"))
		if string(part) == "*" || string(part) == etag {
			return true
		}
	}
	return false
}

// Files returns the embedded files (pages at the root, assets under
// assets/), for tests and tools that check them.
func Files() fs.FS {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // "static" is embedded: it exists
	}
	return sub
}
