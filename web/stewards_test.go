package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/httpapi"
	"github.com/admitgate/admit/internal/testkit"
)

// venueZone is the appliance's time zone in the web tests; the browser runs
// in UTC, so a time shown in the venue's zone is told from the browser's.
const venueZone = "Europe/Zurich"

// laneHardware stands in for the lanes' hardware behind GET /v1/lanes: the
// API's own record of each lane with what a test says of its scanner,
// relay and state, and the emergency release's hold on north-1.
type laneHardware struct {
	api       atomic.Pointer[httpapi.Server]
	emergency *fakeEmergency
	mu        sync.Mutex
	parts     map[string]func(*gate.LaneStatus)
}

var _ gate.LaneMonitor = (*laneHardware)(nil)

func (h *laneHardware) Lanes() []gate.LaneStatus {
	srv := h.api.Load()
	if srv == nil {
		return []gate.LaneStatus{}
	}
	out := srv.LaneMonitor().Lanes()
	h.mu.Lock()
	defer h.mu.Unlock()
	for i := range out {
		if f := h.parts[out[i].ID]; f != nil {
			f(&out[i])
		}
		if h.emergency != nil {
			if st := h.emergency.Status(); st.Active && out[i].ID == "north-1" {
				out[i].Emergency, out[i].State = true, "emergency_open"
			}
		}
	}
	return out
}

// set says what lane has and how it is.
func (h *laneHardware) set(lane string, f func(*gate.LaneStatus)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.parts == nil {
		h.parts = map[string]func(*gate.LaneStatus){}
	}
	h.parts[lane] = f
}

// qrCode is one code the page's encoder made.
type qrCode struct {
	Text    string   `json:"text"`
	Version int      `json:"version"`
	Mask    int      `json:"mask"`
	Rows    []string `json:"rows"`
}

func (c qrCode) modules() [][]bool {
	m := make([][]bool, len(c.Rows))
	for i, r := range c.Rows {
		for _, ch := range r {
			m[i] = append(m[i], ch == '1')
		}
	}
	return m
}

// The page's QR encoder (assets/qr.js), run in the browser, against the
// decoder of these tests: every version it makes, at the edges of their
// capacity and in UTF-8, each of the eight masks, and a text too long for
// it refused in words.
func TestQREncoderIsReadByAnIndependentDecoder(t *testing.T) {
	a := startAppliance(t)
	b := newTab(t, desktop)
	b.run("open a page", chromedp.Navigate(a.base+"/door"), chromedp.WaitVisible(chromedp.ID("token")))
	texts := qrSamples()
	var got struct {
		Codes   []qrCode `json:"codes"`
		Masked  []qrCode `json:"masked"`
		TooLong string   `json:"tooLong"`
	}
	js := `import('/assets/qr.js').then((q) => {
		const out = (t, c) => ({text: t, version: c.version, mask: c.mask, rows: c.modules.map((r) => r.map((m) => (m ? '1' : '0')).join(''))});
		const texts = ` + jsonString(t, texts) + `;
		const codes = texts.map((t) => out(t, q.encode(t)));
		const masked = [0, 1, 2, 3, 4, 5, 6, 7].map((m) => out('mask ' + m, q.encode('mask ' + m, {mask: m})));
		let tooLong = '';
		try { q.encode('x'.repeat(214)); } catch (e) { tooLong = e.message; }
		return {codes, masked, tooLong};
	})`
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]any](js, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	fromJSON(t, v, &got)
	versions := map[int]bool{}
	for i, c := range got.Codes {
		d, err := qrDecode(c.modules())
		if err != nil {
			t.Errorf("%q (version %d, mask %d): %v", texts[i], c.Version, c.Mask, err)
			continue
		}
		if d.Text != texts[i] || d.Version != c.Version || d.Mask != c.Mask {
			t.Errorf("encoded %q as version %d mask %d, decoded %q version %d mask %d", texts[i], c.Version, c.Mask, d.Text, d.Version, d.Mask)
		}
		versions[c.Version] = true
	}
	for v := 1; v <= 10; v++ {
		if !versions[v] {
			t.Errorf("no sample made version %d", v)
		}
	}
	for m, c := range got.Masked {
		if d, err := qrDecode(c.modules()); err != nil || d.Mask != m || d.Text != c.Text {
			t.Errorf("mask %d: %+v, %v", m, d, err)
		}
	}
	if !strings.Contains(got.TooLong, "too long") {
		t.Errorf("a 214-byte text: %q", got.TooLong)
	}
	// The decoder can fail: a flipped data module or format bit is refused.
	c := got.Codes[len(got.Codes)-3].modules()
	c[len(c)-1][len(c)-1] = !c[len(c)-1][len(c)-1]
	if _, err := qrDecode(c); err == nil {
		t.Error("a flipped data module decoded")
	}
	c = got.Codes[0].modules()
	c[8][0] = !c[8][0]
	if _, err := qrDecode(c); err == nil {
		t.Error("a flipped format bit decoded")
	}
}

// An admin pairs a phone from the admin page: the QR code it shows is
// decoded from a screenshot, the phone opens the link in it and scans at
// its lane without a token typed, again after its browser restarts and
// after the appliance restarts; unpaired on the admin page, its next scan
// is refused and the door page says the device was unpaired.
func TestPairADoorDeviceByQRCode(t *testing.T) {
	a := startAppliance(t)
	ad := newTab(t, desktop)
	ad.signIn(a.base+"/admin", adminSecret, "admin")
	ad.waitFor("the lanes to choose", `document.querySelectorAll('#dev-lanes input').length === 3`, 10*time.Second)
	ad.run("make a device for North 1",
		chromedp.SendKeys(chromedp.ID("dev-name"), "door-3 phone"),
		chromedp.Click(`#dev-lanes input[value="north-1"]`),
		chromedp.Click(chromedp.ID("dev-create")),
		chromedp.WaitVisible(chromedp.ID("pairing-svg")))
	if got := ad.text("#pairing-title"); got != "Pair “door-3 phone”" {
		t.Errorf("title %q", got)
	}
	code := ad.text("#pairing-code")
	link := ad.text("#pairing-link")
	if link != a.base+"/door#pair="+code {
		t.Errorf("link %q, code %q", link, code)
	}
	ad.waitFor("the device listed", `!!document.querySelector('#devices tr[data-state="waiting"]')`, 10*time.Second)
	ad.screenshot("admin-pairing-qr")

	// The QR code as drawn on the screen.
	ctx, cancel := context.WithTimeout(ad.ctx, 20*time.Second)
	shot, err := chromedp.Run(ctx, chromedp.Screenshot(chromedp.ID("pairing-svg")))
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatal(err)
	}
	m, err := qrFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	qr, err := qrDecode(m)
	if err != nil {
		t.Fatalf("the QR code on the admin page: %v", err)
	}
	if qr.Text != link {
		t.Fatalf("the QR code says %q, the link is %q", qr.Text, link)
	}

	// The phone opens what it read.
	ph := newTab(t, phone)
	ph.run("open the pairing link", chromedp.Navigate(qr.Text), chromedp.WaitVisible(chromedp.ID("door")))
	if got := eval[string](ph, `location.href`); strings.Contains(got, "pair=") {
		t.Errorf("the code stays in the address bar: %s", got)
	}
	if got := ph.text("#door-status"); !strings.Contains(got, "paired as “door-3 phone”") {
		t.Errorf("status %q", got)
	}
	if got := eval[[]string](ph, `[...document.querySelectorAll('#lane option')].map((o) => o.value)`); strings.Join(got, ",") != "north-1" {
		t.Errorf("the device's lanes %v", got)
	}
	if eval[string](ph, `sessionStorage.getItem('admit.token') || ''`) != "" || !eval[bool](ph, `!!JSON.parse(localStorage.getItem('admit.device')).token`) {
		t.Error("the device's token is not kept in localStorage alone")
	}
	ph.screenshot("phone-paired")
	ph.run("scan", chromedp.KeyEvent(sxAdult1+"\r"))
	ph.waitFor("admitted", answerIs("ok"), 10*time.Second)
	var feed struct {
		Entries []struct {
			Source string `json:"source"`
		} `json:"entries"`
	}
	a.call("GET", "/v1/scans", viewerSecret, nil, &feed)
	if n := len(feed.Entries); n == 0 || !strings.HasPrefix(feed.Entries[n-1].Source, "device:dev-") {
		t.Errorf("the journal names the scan's source %+v", feed.Entries)
	}
	ad.waitFor("the admin sees it paired", `document.getElementById('pairing').dataset.paired === 'true'`, 15*time.Second)
	if got := ad.text("#pairing-status"); !strings.Contains(got, "Paired") {
		t.Errorf("pairing status %q", got)
	}
	ad.screenshot("admin-paired")

	// A restart of the kiosk's browser (a new tab: a new session) and of the
	// appliance: no token typed.
	a.restart()
	k := newTab(t, phone)
	k.run("open the door page", chromedp.Navigate(a.base+"/door"), chromedp.WaitVisible(chromedp.ID("door")))
	if got := k.text(".who-name"); got != "door-3 phone" {
		t.Errorf("signed in as %q", got)
	}
	if got := k.text("#logout"); got != "Forget pairing" {
		t.Errorf("the device is offered %q", got)
	}
	k.run("scan", chromedp.KeyEvent(sxAdult2+"\r"))
	k.waitFor("admitted after the restarts", answerIs("ok"), 10*time.Second)

	// Unpaired on the admin page: its next scan is refused and it says so.
	ad.run("reload the admin page", chromedp.Navigate(a.base+"/admin"), chromedp.WaitVisible(chromedp.ID("admin")))
	ad.waitFor("the paired device", `!!document.querySelector('#devices tr[data-state="paired"]')`, 10*time.Second)
	ad.run("unpair", chromedp.Click(`#devices tr[data-state="paired"] .device-unpair`), chromedp.WaitVisible(chromedp.ID("confirm")),
		chromedp.Click(chromedp.ID("confirm-ok")))
	ad.waitFor("no device", `!document.getElementById('devices-empty').hidden`, 10*time.Second)
	k.run("close the answer and scan", chromedp.Click(chromedp.ID("answer")), chromedp.WaitNotVisible(chromedp.ID("answer")),
		chromedp.KeyEvent(sxAdult3+"\r"))
	k.waitFor("not checked", `document.getElementById('answer').classList.contains('answer-problem')`, 10*time.Second)
	if got := k.text("#answer-reason"); !strings.Contains(got, "This device was unpaired") {
		t.Errorf("reason %q", got)
	}
	k.screenshot("device-unpaired")
	if n := a.admissions(sxAdult3); n != 0 {
		t.Errorf("an unpaired device admitted %d", n)
	}
	k.waitAcrossReload("the sign-in form says it", `(document.getElementById('login-error') || {}).textContent === `+jsonString(t, "This device was unpaired: its pairing is no longer valid. Ask an admin for a new pairing link or code."), 15*time.Second)
	if eval[string](k, `localStorage.getItem('admit.device') || ''`) != "" {
		t.Error("the unpaired token is kept")
	}
	k.screenshot("device-unpaired-sign-in")

	// A used link does not pair again; a typed code does, once.
	ph2 := newTab(t, phone)
	ph2.run("open the used link", chromedp.Navigate(qr.Text), chromedp.WaitVisible(chromedp.ID("login-error")))
	if got := ph2.text("#login-error"); !strings.Contains(got, "This pairing link does not work") {
		t.Errorf("a used link: %q", got)
	}
	var made httpapi.DeviceCreated
	a.call("POST", "/v1/devices", adminSecret, httpapi.DeviceRequest{Name: "spare", Lanes: []string{"south-1"}}, &made)
	ph2.run("type the code", chromedp.SendKeys(chromedp.ID("token"), strings.ToLower(made.Pairing.Code)),
		chromedp.Click(chromedp.ID("login-submit")), chromedp.WaitVisible(chromedp.ID("door")))
	if got := ph2.text(".who-name"); got != "spare" {
		t.Errorf("paired by a typed code as %q", got)
	}
}

// wakeLockStub records screen wake lock requests, as a browser that has the
// Wake Lock API (headless Chromium refuses them) would grant them.
const wakeLockStub = `(() => {
  window.wakeLocks = 0;
  Object.defineProperty(navigator, 'wakeLock', {configurable: true, value: {
    request: async (type) => {
      window.wakeLocks++;
      const s = new EventTarget();
      s.type = type;
      s.released = false;
      s.release = async () => { s.released = true; s.dispatchEvent(new Event('release')); };
      return s;
    },
  }});
})();`

// A kiosk: full screen, the screen kept on, READY filling the screen, and
// still so after the kiosk restarts; a browser without the Wake Lock API
// says the screen may sleep and works all the same.
func TestDoorKiosk(t *testing.T) {
	a := startAppliance(t)
	b := newTab(t, phone)
	b.run("grant wake locks", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: wakeLockStub})
		return err
	}))
	b.signIn(a.base+"/door", northSecret, "door")
	b.waitFor("READY", `document.getElementById('ready').dataset.state === 'ready'`, 10*time.Second)
	if got := b.text("#ready-word"); got != "READY" {
		t.Errorf("idle %q", got)
	}
	if got := b.text("#ready-lane"); got != "North 1 · entering" {
		t.Errorf("lane %q", got)
	}
	b.waitFor("the events by name", `document.getElementById('ready-events').textContent === 'FC Example – Derby'`, 10*time.Second)
	b.screenshot("door-ready")

	b.run("kiosk", chromedp.Click(chromedp.ID("kiosk-toggle")))
	b.waitFor("full screen with the screen kept on", `document.body.classList.contains('kiosk') && !!document.fullscreenElement &&
		document.body.dataset.wakeLock === 'on'`, 10*time.Second)
	if n := eval[int](b, `window.wakeLocks`); n != 1 {
		t.Errorf("%d wake lock requests", n)
	}
	big := eval[[]float64](b, `(() => { const r = document.getElementById('ready').getBoundingClientRect();
		return [r.width, r.height, innerWidth, innerHeight, parseFloat(getComputedStyle(document.getElementById('ready-word')).fontSize)]; })()`)
	if big[0] < big[2]*0.9 || big[1] < big[3]*0.6 || big[4] < 64 {
		t.Errorf("READY is %vx%v on a %vx%v screen, its word %v px", big[0], big[1], big[2], big[3], big[4])
	}
	if eval[bool](b, `getComputedStyle(document.querySelector('header.bar')).display !== 'none'`) {
		t.Error("the header shows in kiosk mode")
	}
	b.screenshot("kiosk-ready")
	// The input keeps the focus: a handheld's scan still lands.
	b.run("scan", chromedp.KeyEvent(sxSenior+"\r"))
	b.waitFor("admitted", answerIs("ok"), 10*time.Second)
	b.screenshot("kiosk-admit")

	// The kiosk restarts: still a kiosk, the screen kept on again.
	b.run("reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("door")))
	b.waitFor("a kiosk again", `document.body.classList.contains('kiosk') && document.body.dataset.wakeLock === 'on'`, 10*time.Second)
	b.run("leave", chromedp.Click(chromedp.ID("kiosk-toggle")))
	b.waitFor("left", `!document.body.classList.contains('kiosk') && !document.fullscreenElement`, 10*time.Second)

	// Without the Wake Lock API.
	n := newTab(t, phone)
	n.run("no wake lock", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
			Source: `delete Navigator.prototype.wakeLock;`})
		return err
	}))
	n.signIn(a.base+"/door", northSecret, "door")
	n.run("kiosk", chromedp.Click(chromedp.ID("kiosk-toggle")))
	n.waitFor("kiosk without a wake lock", `document.body.classList.contains('kiosk') && document.body.dataset.wakeLock === 'unsupported'`, 10*time.Second)
	if got := n.text("#ready-note"); !strings.Contains(got, "cannot keep the screen on") {
		t.Errorf("note %q", got)
	}
	n.screenshot("kiosk-no-wake-lock")
	n.run("scan", chromedp.KeyEvent(sxAdult1+"\r"))
	n.waitFor("admitted", answerIs("ok"), 10*time.Second)
}

// emergencyTurnstile stands in for north-1's turnstile: during the
// emergency release it refuses as a turnstile does (reason error, the
// release in the detail); otherwise the store decides.
type emergencyTurnstile struct{ a *appliance }

func (e emergencyTurnstile) Scan(ctx context.Context, s gate.Scan) gate.Decision {
	if st := e.a.emergency.Status(); st.Active {
		return s.Refusal(gate.ReasonError, "lane "+s.Lane+": emergency release by "+st.By+" since "+st.Since.Format(time.RFC3339))
	}
	return e.a.ix.Scan(ctx, s)
}

// The door page and the operator page answer in words: the event's name,
// "too early — opens at 18:30" in the venue's time, an emergency release
// as such (not "system fault"), the price type by name with its code small.
func TestAnswersInWords(t *testing.T) {
	a := startAppliance(t)
	// An evening event opening in two hours, with a ticket.
	opens := time.Now().Add(2 * time.Hour).Truncate(time.Minute)
	a.call("PUT", "/v1/events/EVENING", adminSecret, map[string]any{"name": "Evening concert", "opens_at": opens}, nil)
	q := url.Values{"provider": {"box-office"}, "event": {"EVENING"}, "price_type": {"ADU"}, "format": {"lines"}}
	a.postRaw("/v1/imports?"+q.Encode(), adminSecret, "EVENING-0001\n")
	lanes := append([]httpapi.LaneInfo{}, testLanes...)
	lanes[0].Turnstile = emergencyTurnstile{a}
	if err := a.srv.SetLanes(lanes); err != nil {
		t.Fatal(err)
	}

	b := newTab(t, desktop)
	b.signIn(a.base+"/door", scannerSecret, "door")
	b.run("scan a child ticket", chromedp.KeyEvent(sxChild+"\r"))
	b.waitFor("admitted", answerIs("ok"), 10*time.Second)
	if got := b.text("#answer-detail"); !strings.Contains(got, "Event: FC Example – Derby.") || strings.Contains(got, derby) {
		t.Errorf("detail %q: the event by its name, not its id", got)
	}
	if name, code := b.text("#answer-price"), b.text("#answer-price-code"); name != "Child" || code != "CHI" {
		t.Errorf("price type %q, code %q", name, code)
	}
	if eval[float64](b, `parseFloat(getComputedStyle(document.getElementById('answer-price-code')).fontSize)`) >=
		eval[float64](b, `parseFloat(getComputedStyle(document.getElementById('answer-price')).fontSize)`)/2 {
		t.Error("the price type's code is not small beside its name")
	}
	b.screenshot("words-admit")

	// Too early, at a lane for every event open now.
	b.run("scan the evening ticket at South 1", chromedp.Click(chromedp.ID("answer")), chromedp.WaitNotVisible(chromedp.ID("answer")),
		chromedp.SetValue(chromedp.ID("lane"), "south-1"), chromedp.KeyEvent("EVENING-0001\r"))
	b.waitFor("too early", answerIs("not_yet_valid"), 10*time.Second)
	zone, err := time.LoadLocation(venueZone)
	if err != nil {
		t.Fatal(err)
	}
	reason := b.text("#answer-reason")
	if want := "Too early — opens at "; !strings.HasPrefix(reason, want) || !strings.Contains(reason, opens.In(zone).Format("15:04")) ||
		!strings.Contains(reason, "Evening concert opens at") {
		t.Errorf("reason %q, want %q with %s (the venue's time)", reason, want, opens.In(zone).Format("15:04"))
	}
	if utc := opens.UTC().Format("15:04"); utc != opens.In(zone).Format("15:04") && strings.Contains(reason, utc) {
		t.Errorf("reason %q shows the browser's time %s", reason, utc)
	}
	b.screenshot("words-too-early")

	// The emergency release: READY says it, and north-1's turnstile refusal
	// is an emergency, not a system fault.
	b.run("back to North 1", chromedp.Click(chromedp.ID("answer")), chromedp.WaitNotVisible(chromedp.ID("answer")),
		chromedp.SetValue(chromedp.ID("lane"), "north-1"))
	a.call("POST", "/v1/emergency/release", adminSecret, map[string]string{"reason": "drill"}, nil)
	b.waitFor("READY says the release", `document.getElementById('ready').dataset.state === 'emergency'`, 15*time.Second)
	b.screenshot("ready-emergency")
	b.run("scan during the release", chromedp.KeyEvent(sxAdult1+"\r"))
	b.waitFor("the emergency answer", `document.getElementById('answer').dataset.emergency === 'true'`, 10*time.Second)
	if got := b.text("#answer-verdict"); got != "EMERGENCY" {
		t.Errorf("verdict %q", got)
	}
	if !eval[bool](b, `(() => { const v = document.getElementById('answer-verdict'); return v.scrollWidth <= v.clientWidth &&
		v.getBoundingClientRect().right <= innerWidth; })()`) {
		t.Error("EMERGENCY is wider than the screen")
	}
	if got := b.text("#answer-reason"); !strings.HasPrefix(got, "Emergency release.") || strings.Contains(got, "System fault") {
		t.Errorf("reason %q", got)
	}
	b.screenshot("words-emergency")

	// The operator page says the same of north-1's last decision.
	op := newTab(t, desktop)
	op.signIn(a.base+"/", viewerSecret, "operator")
	op.waitFor("north-1's last decision", `(document.querySelector('[data-lane="north-1"] .lane-last') || {dataset: {}}).dataset.reason === 'error'`, 10*time.Second)
	if got := op.text(`[data-lane="north-1"] .lane-last`); !strings.HasPrefix(got, "Last: Emergency release · ") || strings.Contains(got, "System fault") {
		t.Errorf("north-1's last decision %q", got)
	}
	if got := op.text(`[data-lane="south-1"] .lane-last`); !strings.HasPrefix(got, "Last: Too early — opens at ") || !strings.Contains(got, "Evening concert") {
		t.Errorf("south-1's last decision %q", got)
	}
	op.screenshot("operator-words")
}

// The operator page's strip sums the lanes up; a door whose scans come
// over the API has no scanner or relay to miss; the emergency panel says
// each lane's mode and state apart.
func TestOperatorStatusStrip(t *testing.T) {
	a := startAppliance(t)
	b := newTab(t, desktop)
	b.signIn(a.base+"/", viewerSecret, "operator")
	b.waitFor("all lanes OK", `document.getElementById('strip').classList.contains('strip-ok')`, 10*time.Second)
	if got := b.text("#strip-text"); got != "3 of 3 lanes OK" {
		t.Errorf("strip %q", got)
	}
	// API-only doors: no amber for what they do not have.
	for _, lane := range []string{"north-1", "south-1", "exit-1"} {
		if got := eval[string](b, `document.querySelector('[data-lane="`+lane+`"] .check-scanner').className`); strings.Contains(got, "warn") {
			t.Errorf("%s: scanner check %q", lane, got)
		}
		if got := eval[string](b, `document.querySelector('[data-lane="`+lane+`"] .check-relay').className`); strings.Contains(got, "warn") || strings.Contains(got, "bad") {
			t.Errorf("%s: relay check %q", lane, got)
		}
	}
	if got := b.text(`[data-lane="south-1"] .check-scanner`); got != "Scans over the API (no scanner of its own)" {
		t.Errorf("south-1 %q", got)
	}
	b.screenshot("strip-ok")

	// North 1 is a turnstile whose relay stopped answering; Exit 1 has a
	// scanner, unplugged.
	a.hardware.set("north-1", func(l *gate.LaneStatus) {
		l.HasScanner, l.HasRelay, l.ScannerConnected, l.RelayOK = true, true, true, false
		l.State, l.Fault = "faulted", "relay channel 1 does not answer"
	})
	a.hardware.set("exit-1", func(l *gate.LaneStatus) { l.HasScanner = true })
	b.run("refresh", chromedp.Evaluate[chromedp.Void](`document.dispatchEvent(new Event('admit:refresh'))`))
	b.waitFor("the faults", `document.getElementById('strip').classList.contains('strip-bad')`, 10*time.Second)
	if got, want := b.text("#strip-text"), "1 of 3 lanes OK · 1 faulted: North 1 relay · 1 scanner disconnected: Exit 1"; got != want {
		t.Errorf("strip %q, want %q", got, want)
	}
	if got := eval[string](b, `document.querySelector('[data-lane="exit-1"]').dataset.problems`); got != "scanner" {
		t.Errorf("exit-1 problems %q", got)
	}
	b.screenshot("strip-faults")

	// The emergency panel: mode and state apart, before and during a release.
	if got := b.text(`#emergency-lanes li[data-lane="north-1"]`); !strings.Contains(got, "mode: open — unlocks when released") ||
		!strings.Contains(got, "state: idle") {
		t.Errorf("emergency lane %q", got)
	}
	a.hardware.set("north-1", nil)
	a.call("POST", "/v1/emergency/release", adminSecret, nil, nil)
	b.run("refresh", chromedp.Evaluate[chromedp.Void](`document.dispatchEvent(new Event('admit:refresh'))`))
	b.waitFor("released", `document.getElementById('emergency').dataset.active === 'true'`, 10*time.Second)
	if got := b.text(`#emergency-lanes li[data-lane="north-1"]`); !strings.Contains(got, "North 1") ||
		!strings.Contains(got, "mode: open — held unlocked") || !strings.Contains(got, "state: emergency") {
		t.Errorf("emergency lane during the release %q", got)
	}
	if got := b.text("#strip-text"); !strings.Contains(got, "1 under the emergency release: North 1") {
		t.Errorf("strip %q", got)
	}
	if got := b.text(`[data-lane="north-1"] .lane-state`); got != "emergency, held open" {
		t.Errorf("north-1 state %q", got)
	}
	b.screenshot("strip-emergency")
}

// jsonString is v as a JavaScript literal.
func jsonString(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// fromJSON converts a value the browser returned into out.
func fromJSON(t *testing.T, v, out any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatal(err)
	}
}

// postRaw sends body as it is, for imports.
func (a *appliance) postRaw(path, secret, body string) {
	a.t.Helper()
	if r := testkit.Do(a.t, "POST", a.base+path, secret, body); r.Status/100 != 2 {
		a.t.Fatalf("POST %s: %d %s", path, r.Status, r.Body)
	}
}

// waitAcrossReload waits until the JavaScript expression is true while the
// page may reload meanwhile (an evaluation cut off by the reload is tried
// again).
func (b *browserTab) waitAcrossReload(what, expr string, timeout time.Duration) {
	b.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(b.ctx, 2*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => { try { return !!(`+expr+`); } catch (e) { return false; } })()`))
		cancel()
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			b.screenshot("failed-" + what)
			b.t.Fatalf("%s: not within %v (last error: %v)", what, timeout, err)
		}
		time.Sleep(100 * time.Millisecond) // polling, not synchronisation
	}
}
