package web_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// The browser tests drive Debian's Chromium, headless, through chromedp: one
// browser for the test binary, one tab per test (sessionStorage is per tab,
// so each tab is a fresh browser session).

var (
	browserOnce sync.Once
	browserCtx  context.Context
	browserErr  error
	browserStop = func() {}
)

func TestMain(m *testing.M) {
	code := m.Run()
	browserStop()
	os.Exit(code)
}

// chromiumPath is the browser the tests start: ADMIT_CHROMIUM, else Debian's.
func chromiumPath() string {
	if p := os.Getenv("ADMIT_CHROMIUM"); p != "" {
		return p
	}
	return "/usr/bin/chromium"
}

func startBrowser() {
	exe := chromiumPath()
	if _, err := exec.LookPath(exe); err != nil {
		browserErr = fmt.Errorf("no Chromium at %s (install it with scripts/deps.sh test, or set ADMIT_CHROMIUM): %v", exe, err)
		return
	}
	dir, err := os.MkdirTemp("", "admit-web-chromium-")
	if err != nil {
		browserErr = err
		return
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		chromedp.UserDataDir(dir),
		chromedp.WindowSize(1280, 900),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelBrowser := chromedp.NewContext(allocCtx)
	browserStop = func() {
		cancelBrowser()
		cancelAlloc()
		_ = os.RemoveAll(dir)
	}
	// Start the browser now, on a context without a deadline (a deadline on
	// the first run would bound the browser's life).
	if err := chromedp.Do(ctx); err != nil {
		browserErr = fmt.Errorf("start %s: %w", exe, err)
		return
	}
	browserCtx = ctx
}

// viewport is a window size and whether it is a phone.
type viewport struct {
	width, height int64
	scale         float64
	mobile        bool
}

var (
	desktop = viewport{width: 1280, height: 900, scale: 1}
	phone   = viewport{width: 390, height: 844, scale: 2, mobile: true}
)

// browserTab is one tab of the shared browser, with the test it belongs to.
type browserTab struct {
	t   *testing.T
	ctx context.Context
	mu  sync.Mutex
	// problems are script errors, console errors and refusals by the
	// Content-Security-Policy seen in the tab; the test fails on any.
	problems []string
}

// newTab opens a tab in UTC and en-US at the viewport. The test fails if a
// page throws, logs an error or breaks its Content-Security-Policy.
func newTab(t *testing.T, vp viewport) *browserTab {
	t.Helper()
	if testing.Short() {
		t.Skip("the browser tests do not run with -short")
	}
	start := time.Now()
	browserOnce.Do(startBrowser)
	if d := time.Since(start); d > time.Second {
		t.Logf("starting Chromium took %v", d.Round(time.Millisecond))
	}
	if browserErr != nil {
		t.Fatal(browserErr)
	}
	ctx, cancel := chromedp.NewContext(browserCtx)
	t.Cleanup(cancel)
	b := &browserTab{t: t, ctx: ctx}
	if err := chromedp.Do(ctx); err != nil { // open the tab
		t.Fatal(err)
	}
	if err := chromedp.Listen(ctx, b.watch); err != nil {
		t.Fatal(err)
	}
	opts := []chromedp.EmulateViewportOption{chromedp.EmulateScale(vp.scale)}
	if vp.mobile {
		opts = append(opts, chromedp.EmulateMobile)
	}
	b.run("set up the tab",
		chromedp.EmulateViewport(vp.width, vp.height, opts...),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			if _, err := chromedp.Call(ctx, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: "UTC"}); err != nil {
				return err
			}
			if _, err := chromedp.Call(ctx, emulation.SetLocaleOverride, emulation.SetLocaleOverrideParams{Locale: "en-US"}); err != nil {
				return err
			}
			_, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
				Source: `document.addEventListener('securitypolicyviolation',
					(e) => console.error('CSP refused ' + e.violatedDirective + ' ' + e.blockedURI + ' in ' + e.sourceFile + ':' + e.lineNumber));`})
			return err
		}))
	t.Cleanup(func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, p := range b.problems {
			t.Errorf("in the browser: %s", p)
		}
	})
	return b
}

// watch records script exceptions, console errors and security messages.
func (b *browserTab) watch(ev any) {
	var p string
	switch ev := ev.(type) {
	case *runtime.EventExceptionThrown:
		p = "exception: " + ev.ExceptionDetails.Text
		if ev.ExceptionDetails.Exception != nil {
			p += " " + ev.ExceptionDetails.Exception.Description
		}
	case *runtime.EventConsoleAPICalled:
		if ev.Type != runtime.ConsoleAPICalledTypeError {
			return
		}
		var args []string
		for _, a := range ev.Args {
			args = append(args, strings.Trim(string(a.Value), `"`)+a.Description)
		}
		p = "console.error: " + strings.Join(args, " ")
	case *log.EventEntryAdded:
		if ev.Entry.Source != log.EntrySourceSecurity && ev.Entry.Source != log.EntrySourceJavascript {
			return
		}
		p = string(ev.Entry.Source) + ": " + ev.Entry.Text
	default:
		return
	}
	b.mu.Lock()
	b.problems = append(b.problems, p)
	b.mu.Unlock()
}

// run runs the steps within 20 s; on failure it keeps a screenshot.
func (b *browserTab) run(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	start := time.Now()
	defer func() {
		if d := time.Since(start); d > time.Second {
			b.t.Logf("%s took %v", what, d.Round(time.Millisecond))
		}
	}()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.screenshot("failed-" + what)
		b.t.Fatalf("%s: %v", what, err)
	}
}

// eval evaluates a JavaScript expression.
func eval[T any](b *browserTab, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// waitFor waits until the JavaScript expression is true.
func (b *browserTab) waitFor(what, expr string, timeout time.Duration) {
	b.t.Helper()
	b.run(what, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingInterval(50*time.Millisecond),
			chromedp.WithPollingTimeout(timeout))(ctx, t)
		return err
	}))
}

// text returns an element's textContent ("" when there is none).
func (b *browserTab) text(selector string) string {
	b.t.Helper()
	return eval[string](b, fmt.Sprintf(`(document.querySelector(%q) || {}).textContent || ''`, selector))
}

// artifacts is where screenshots are kept: ADMIT_WEB_ARTIFACTS/<test>, or a
// temporary directory removed after the test.
func artifacts(t *testing.T) string {
	dir := os.Getenv("ADMIT_WEB_ARTIFACTS")
	if dir == "" {
		return t.TempDir()
	}
	dir = filepath.Join(dir, regexp.MustCompile(`[^A-Za-z0-9_.-]+`).ReplaceAllString(t.Name(), "_"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// screenshot saves the page as <n>-<name>.png among the test's artifacts.
func (b *browserTab) screenshot(name string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	start := time.Now()
	// A full-page capture draws the sticky header where the page is
	// scrolled to; from the top it is where people see it.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`)); err != nil {
		b.t.Logf("scroll to the top: %v", err)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if d := time.Since(start); d > time.Second {
		b.t.Logf("screenshot %s took %v", name, d.Round(time.Millisecond))
	}
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	p := shots.next(b.t, name)
	if err := os.WriteFile(p, png, 0o644); err != nil {
		b.t.Errorf("save the screenshot: %v", err)
		return
	}
	b.t.Logf("screenshot %s", p)
}

// shots numbers each test's screenshots in its artifacts directory.
var shots = shotCounter{dirs: map[*testing.T]string{}, n: map[*testing.T]int{}}

type shotCounter struct {
	mu   sync.Mutex
	dirs map[*testing.T]string
	n    map[*testing.T]int
}

func (c *shotCounter) next(t *testing.T, name string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	dir, ok := c.dirs[t]
	if !ok {
		dir = artifacts(t)
		c.dirs[t] = dir
	}
	c.n[t]++
	name = regexp.MustCompile(`[^A-Za-z0-9_.-]+`).ReplaceAllString(name, "-")
	return filepath.Join(dir, fmt.Sprintf("%02d-%s.png", c.n[t], name))
}

// signIn opens url, enters the secret in the sign-in form and waits for the
// page's main element.
func (b *browserTab) signIn(url, secret, mainID string) {
	b.t.Helper()
	b.run("sign in at "+url,
		chromedp.Navigate(url),
		chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), secret),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.ID(mainID)),
	)
}
