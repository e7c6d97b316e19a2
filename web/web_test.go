package web_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"io/fs"
	"net"
	"net/http"
	"path"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"

	"github.com/admitgate/admit/internal/testkit"
	"github.com/admitgate/admit/web"
)

// testLogger logs nothing unless ADMIT_TEST_LOG is set.
func testLogger() zerolog.Logger { return testkit.Logger(nil) }

func newSite(t testing.TB) *web.Site {
	t.Helper()
	s, err := web.New(testLogger())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// serveSite serves the site alone on a real socket and returns its base URL.
func serveSite(t testing.TB, s *web.Site) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: s.Serve}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	return "http://" + ln.Addr().String()
}

var client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableCompression: true}}

func get(t testing.TB, method, url string, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func TestEveryPathIsServedWithItsTypeAndPolicy(t *testing.T) {
	s := newSite(t)
	base := serveSite(t, s)
	want := map[string]string{
		"/": "text/html", "/door": "text/html", "/admin": "text/html",
		"/assets/app.css": "text/css", "/assets/common.js": "text/javascript", "/assets/door.js": "text/javascript",
		"/assets/operator.js": "text/javascript", "/assets/admin.js": "text/javascript", "/assets/icon.svg": "image/svg+xml",
		"/assets/devices.js": "text/javascript", "/assets/qr.js": "text/javascript",
	}
	paths := s.Paths()
	if len(paths) != len(want) {
		t.Errorf("Paths() = %v, want the %d of %v", paths, len(want), want)
	}
	for _, p := range paths {
		t.Run(p, func(t *testing.T) {
			if !s.Has(p) {
				t.Fatalf("Has(%q) = false for a path Paths lists", p)
			}
			resp, body := get(t, "GET", base+p, nil)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, want[p]) {
				t.Errorf("Content-Type %q, want %s", ct, want[p])
			}
			for h, v := range map[string]string{"Content-Security-Policy": web.ContentSecurityPolicy,
				"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Cache-Control": "no-cache"} {
				if got := resp.Header.Get(h); got != v {
					t.Errorf("%s = %q, want %q", h, got, v)
				}
			}
			if len(body) == 0 || resp.Header.Get("ETag") == "" {
				t.Errorf("%d bytes, ETag %q", len(body), resp.Header.Get("ETag"))
			}
		})
	}
}

func TestConditionalCompressedHeadAndRefused(t *testing.T) {
	s := newSite(t)
	base := serveSite(t, s)
	resp, plain := get(t, "GET", base+"/assets/door.js", nil)
	etag := resp.Header.Get("ETag")

	t.Run("304 for a matching ETag", func(t *testing.T) {
		for _, inm := range []string{etag, "W/" + etag, `"other", ` + etag, "*"} {
			resp, body := get(t, "GET", base+"/assets/door.js", map[string]string{"If-None-Match": inm})
			if resp.StatusCode != 304 || len(body) != 0 {
				t.Errorf("If-None-Match %s: %d with %d bytes", inm, resp.StatusCode, len(body))
			}
		}
		resp, _ := get(t, "GET", base+"/assets/door.js", map[string]string{"If-None-Match": `"stale"`})
		if resp.StatusCode != 200 {
			t.Errorf("a stale ETag: %d", resp.StatusCode)
		}
	})
	t.Run("gzip when accepted", func(t *testing.T) {
		resp, body := get(t, "GET", base+"/assets/door.js", map[string]string{"Accept-Encoding": "gzip"})
		if resp.Header.Get("Content-Encoding") != "gzip" || resp.Header.Get("Vary") != "Accept-Encoding" {
			t.Fatalf("headers %v", resp.Header)
		}
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(zr)
		if err != nil || !bytes.Equal(got, plain) {
			t.Errorf("gunzipped %d bytes (%v), want the %d plain ones", len(got), err, len(plain))
		}
	})
	t.Run("HEAD", func(t *testing.T) {
		resp, body := get(t, "HEAD", base+"/door", nil)
		if resp.StatusCode != 200 || len(body) != 0 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			t.Errorf("HEAD: %d, %d bytes, %v", resp.StatusCode, len(body), resp.Header)
		}
	})
	for _, m := range []string{"POST", "PUT", "DELETE"} {
		t.Run(m+" is refused", func(t *testing.T) {
			resp, _ := get(t, m, base+"/admin", nil)
			if resp.StatusCode != 405 || resp.Header.Get("Allow") != "GET, HEAD" {
				t.Errorf("%s: %d, Allow %q", m, resp.StatusCode, resp.Header.Get("Allow"))
			}
		})
	}
	for _, p := range []string{"/nope", "/assets/", "/assets/../door.html", "/door/", "/static/door.html", "/assets/missing.js"} {
		t.Run("404 "+p, func(t *testing.T) {
			if s.Has(p) {
				t.Errorf("Has(%q) = true", p)
			}
			resp, _ := get(t, "GET", base+p, nil)
			if resp.StatusCode != 404 {
				t.Errorf("status %d", resp.StatusCode)
			}
		})
	}
}

// The pages work offline: no file names anything outside the appliance, and
// every file a page or script refers to is served.
func TestPagesAreSelfContained(t *testing.T) {
	s := newSite(t)
	external := regexp.MustCompile(`(?i)(https?:)?//[a-z0-9.-]+\.[a-z]{2,}`)
	refs := regexp.MustCompile(`(?:src|href)="(/[^"#?]*)"|from '\./([^']+)'|import '\./([^']+)'`)
	fsys := web.Files()
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		text := strings.ReplaceAll(string(b), "http://www.w3.org/2000/svg", "")
		if m := external.FindString(text); m != "" {
			t.Errorf("%s refers to %q outside the appliance", p, m)
		}
		for _, m := range refs.FindAllStringSubmatch(text, -1) {
			ref := m[1]
			if ref == "" {
				ref = "/assets/" + path.Base(m[2]+m[3])
			}
			if !s.Has(ref) {
				t.Errorf("%s refers to %s, which is not served", p, ref)
			}
		}
		if strings.HasSuffix(p, ".html") && (strings.Contains(text, "<script>") || strings.Contains(text, " style=\"") ||
			regexp.MustCompile(` on[a-z]+="`).MatchString(text)) {
			t.Errorf("%s has inline script or style, which the Content-Security-Policy refuses", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
