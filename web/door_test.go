package web_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// answerIs is a JavaScript condition: the answer is shown with this reason.
func answerIs(reason string) string {
	return `(() => { const a = document.getElementById('answer');
		return !a.hidden && a.dataset.reason === '` + reason + `'; })()`
}

// A handheld in keyboard mode types the barcode and Enter into whatever has
// the focus: the door page's input must have it. The first scan is green
// with the price type; the same ticket again is red with when and where it
// was first used; the retry of one scan never counts twice.
func TestDoorScanIsGreenThenRedWithTheTimeOfFirstUse(t *testing.T) {
	a := startAppliance(t)
	b := newTab(t, desktop)
	b.signIn(a.base+"/door", scannerSecret, "door")
	b.waitFor("the input has the focus", `document.activeElement && document.activeElement.id === 'barcode'`, 5*time.Second)
	if got := eval[int](b, `document.querySelectorAll('#lane option').length`); got != 3 {
		t.Errorf("a scanner token for every lane sees %d lanes, want 3", got)
	}
	if lane := eval[string](b, `document.getElementById('lane').value`); lane != "north-1" {
		t.Errorf("lane %q, want the first, north-1", lane)
	}

	b.run("scan a child ticket", chromedp.KeyEvent(sxChild+"\r"))
	b.waitFor("the green answer", answerIs("ok"), 10*time.Second)
	if got := b.text("#answer-verdict"); got != "ADMIT" {
		t.Errorf("verdict %q, want ADMIT", got)
	}
	if got := b.text("#answer-price"); got != "Child" {
		t.Errorf("price type %q, want Child (staff check the age)", got)
	}
	if cls := eval[string](b, `document.getElementById('answer').className`); !strings.Contains(cls, "answer-admit") {
		t.Errorf("answer class %q", cls)
	}
	if bg := eval[string](b, `getComputedStyle(document.getElementById('answer')).backgroundColor`); bg != "rgb(11, 138, 48)" {
		t.Errorf("green answer background %s", bg)
	}
	b.screenshot("door-admit")
	if n := a.admissions(sxChild); n != 1 {
		t.Fatalf("admissions after the first scan: %d", n)
	}

	// The same ticket again: the input kept the focus under the answer.
	b.run("scan it again", chromedp.KeyEvent(sxChild+"\r"))
	b.waitFor("the red answer", answerIs("already_used"), 10*time.Second)
	first := a.mustTicket(sxChild).Redemptions[0].First
	if got := eval[string](b, `document.getElementById('answer').dataset.firstUsed`); got == "" {
		t.Error("the answer does not carry the first use")
	} else if at, err := time.Parse(time.RFC3339Nano, got); err != nil || !at.Equal(first.At) {
		t.Errorf("first use shown %s (%v), want %s", got, err, first.At)
	}
	detail := b.text("#answer-detail")
	if want := "First used at " + first.At.UTC().Format("15:04:05") + " at North 1"; !strings.Contains(detail, want) {
		t.Errorf("detail %q, want it to say %q", detail, want)
	}
	if got := b.text("#answer-verdict"); got != "DENIED" {
		t.Errorf("verdict %q, want DENIED", got)
	}
	if reason := b.text("#answer-reason"); !strings.Contains(reason, "Already used") {
		t.Errorf("reason %q", reason)
	}
	if bg := eval[string](b, `getComputedStyle(document.getElementById('answer')).backgroundColor`); bg != "rgb(196, 16, 47)" {
		t.Errorf("red answer background %s", bg)
	}
	b.screenshot("door-already-used")
	if beeps := eval[string](b, `document.body.dataset.beeps || '0'`); beeps != "1" {
		t.Errorf("beeps after one denial: %s", beeps)
	}
	if n := a.admissions(sxChild); n != 1 {
		t.Errorf("admissions after the second scan: %d", n)
	}

	// A tap closes the answer; then an unknown barcode typed by hand, sent
	// with the Check button.
	b.run("close the answer", chromedp.Click(chromedp.ID("answer")), chromedp.WaitNotVisible(chromedp.ID("answer")))
	b.run("type an unknown barcode", chromedp.KeyEvent("NO-SUCH-TICKET"), chromedp.Click(chromedp.ID("scan-submit")))
	b.waitFor("the unknown answer", answerIs("unknown"), 10*time.Second)
	if reason := b.text("#answer-reason"); !strings.Contains(reason, "No ticket has this barcode") {
		t.Errorf("reason %q", reason)
	}
	b.waitFor("the input has the focus back", `document.activeElement.id === 'barcode'`, 5*time.Second)
	if got := eval[[]string](b, `[...document.querySelectorAll('#recent li .recent-reason')].map((e) => e.textContent)`); strings.Join(got, ",") != "Unknown ticket,Already used,Welcome" {
		t.Errorf("last scans %v", got)
	}
	// Every scan carried a nonce, a fresh one each.
	var feed struct {
		Entries []struct {
			Nonce string `json:"nonce"`
		} `json:"entries"`
	}
	a.call("GET", "/v1/scans", viewerSecret, nil, &feed)
	seen := map[string]bool{}
	for _, e := range feed.Entries {
		if len(e.Nonce) != 36 || seen[e.Nonce] {
			t.Errorf("nonce %q (seen before: %v)", e.Nonce, seen[e.Nonce])
		}
		seen[e.Nonce] = true
	}
	if len(feed.Entries) != 3 {
		t.Errorf("%d journal entries, want 3", len(feed.Entries))
	}
}

// On a phone: a lane-limited scanner token sees its lane only, nothing is
// wider than the screen, and the answer fills it.
func TestDoorOnAPhone(t *testing.T) {
	a := startAppliance(t)
	b := newTab(t, phone)
	b.signIn(a.base+"/door", northSecret, "door")
	if got := eval[[]string](b, `[...document.querySelectorAll('#lane option')].map((o) => o.value)`); strings.Join(got, ",") != "north-1" {
		t.Errorf("lanes %v, want only north-1", got)
	}
	if got := eval[[]string](b, `[...document.querySelectorAll('#nav a')].map((a) => a.textContent)`); strings.Join(got, ",") != "Door" {
		t.Errorf("a scanner token is offered %v, want the door page only", got)
	}
	// (A mobile browser widens its layout viewport to overflowing content,
	// so compare with the phone's width, not innerWidth.)
	if w := eval[int](b, `document.documentElement.scrollWidth`); w > int(phone.width) {
		t.Errorf("the door page is %d px wide on a %d px phone", w, phone.width)
	}
	if eval[bool](b, `!('BarcodeDetector' in window)`) && eval[bool](b, `!document.getElementById('camera-toggle').hidden`) {
		t.Error("the camera button shows in a browser without BarcodeDetector")
	}
	b.screenshot("phone-door")
	b.run("scan", chromedp.KeyEvent(sxAdult2+"\r"))
	b.waitFor("the green answer", answerIs("ok"), 10*time.Second)
	rect := eval[[]float64](b, `(() => { const r = document.getElementById('answer').getBoundingClientRect();
		return [r.left, r.top, r.width, r.height, innerWidth, innerHeight]; })()`)
	if rect[0] != 0 || rect[1] != 0 || rect[2] != rect[4] || rect[3] != rect[5] {
		t.Errorf("the answer covers %v of the %vx%v screen", rect[:4], rect[4], rect[5])
	}
	if !eval[bool](b, `(() => { const v = document.getElementById('answer-verdict'); return v.scrollWidth <= v.clientWidth; })()`) {
		t.Error("the verdict does not fit the phone's width")
	}
	if got := b.text("#answer-price"); got != "Adult" {
		t.Errorf("price type %q", got)
	}
	b.screenshot("phone-admit")

	// Leaving through the same lane: the Out toggle sends direction out.
	b.run("close, choose Out and scan", chromedp.Click(chromedp.ID("answer")), chromedp.WaitNotVisible(chromedp.ID("answer")),
		chromedp.Click(chromedp.ID("dir-out")), chromedp.KeyEvent(sxAdult2+"\r"))
	b.waitFor("the exit answer", answerIs("exit"), 10*time.Second)
	if got := b.text("#answer-verdict"); got != "EXIT" {
		t.Errorf("verdict %q, want EXIT", got)
	}
	if r := a.mustTicket(sxAdult2).Redemptions[0]; r.Exits != 1 || r.Inside {
		t.Errorf("after the exit: %+v", r)
	}
	b.screenshot("phone-exit")
}

// fakeCamera stands in for a phone's camera and the browser's
// BarcodeDetector (Chromium on Linux has none): the detector sees nothing
// for a few frames, then the barcode for as long as it is held in view.
const fakeCamera = `(() => {
  let frames = 0;
  window.BarcodeDetector = class {
    static async getSupportedFormats() { return ['code_128', 'ean_13', 'qr_code']; }
    constructor(opts) { this.formats = opts.formats; }
    async detect(source) {
      frames++;
      return frames >= 3 ? [{rawValue: window.heldBarcode, format: 'code_128'}] : [];
    }
  };
  navigator.mediaDevices.getUserMedia = async () => {
    const c = document.createElement('canvas');
    c.width = 320; c.height = 240;
    const g = c.getContext('2d');
    let n = 0;
    setInterval(() => { g.fillStyle = n++ % 2 ? '#777' : '#888'; g.fillRect(0, 0, 320, 240); }, 50);
    return c.captureStream(20);
  };
})();`

// Where the browser has BarcodeDetector, the camera button shows and a code
// held in front of the camera is scanned once, not once per frame.
func TestDoorCameraScansWithBarcodeDetector(t *testing.T) {
	a := startAppliance(t)
	b := newTab(t, phone)
	b.run("fake the camera", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
			Source: fakeCamera + "\nwindow.heldBarcode = '" + sxAdult3 + "';"})
		return err
	}))
	b.signIn(a.base+"/door", adminSecret, "door")
	b.run("start the camera", chromedp.WaitVisible(chromedp.ID("camera-toggle")), chromedp.Click(chromedp.ID("camera-toggle")))
	b.waitFor("the camera's scan", answerIs("ok"), 10*time.Second)
	if got := b.text("#answer-barcode"); got != sxAdult3 {
		t.Errorf("scanned %q, want %s", got, sxAdult3)
	}
	b.screenshot("camera-admit")
	time.Sleep(time.Second) // the code stays in view for five more frames
	if n := a.admissions(sxAdult3); n != 1 {
		t.Errorf("admissions %d, want 1", n)
	}
	if got := eval[int](b, `document.querySelectorAll('#recent li').length`); got != 1 {
		t.Errorf("%d scans sent for one code held in view, want 1", got)
	}
	b.run("stop the camera", chromedp.Click(chromedp.ID("answer")), chromedp.Click(chromedp.ID("camera-toggle")),
		chromedp.WaitNotVisible(chromedp.ID("camera-box")))
	if live := eval[bool](b, `!!document.getElementById('camera').srcObject`); live {
		t.Error("the camera still streams after stopping")
	}
}

// answerLoss makes the browser lose the appliance's answers to scans: the
// request reaches the appliance and is decided, then the connection breaks
// before the answer arrives, as on a flaky Wi-Fi.
type answerLoss struct {
	mu      sync.Mutex
	drop    int // answers still to lose
	dropped int
}

func (l *answerLoss) set(n int) {
	l.mu.Lock()
	l.drop = n
	l.mu.Unlock()
}

func (l *answerLoss) lost() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.dropped
}

func (b *browserTab) loseScanAnswers(l *answerLoss) {
	b.t.Helper()
	ctx := b.ctx
	if err := chromedp.Listen(ctx, func(ev any) {
		e, ok := ev.(*fetch.EventRequestPaused)
		if !ok {
			return
		}
		l.mu.Lock()
		fail := l.drop > 0
		if fail {
			l.drop--
			l.dropped++
		}
		l.mu.Unlock()
		go func() { // no protocol call may run inside the listener
			var err error
			if fail {
				_, err = chromedp.Call(ctx, fetch.FailRequest, fetch.FailRequestParams{RequestID: e.RequestID,
					ErrorReason: network.ErrorReasonConnectionReset})
			} else {
				_, err = chromedp.Call(ctx, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: e.RequestID})
			}
			if err != nil && ctx.Err() == nil {
				b.t.Errorf("intercept %s: %v", e.Request.URL, err)
			}
		}()
	}); err != nil {
		b.t.Fatal(err)
	}
	b.run("intercept scan answers", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{
			{URLPattern: "*/v1/scan", RequestStage: fetch.RequestStageResponse}}})
		return err
	}))
}

// A scan whose answer is lost is sent again with the same nonce: the
// appliance answers its first decision again, and the ticket is counted
// once. When no answer comes at all, the page says the ticket was not
// checked, and scanning it again reuses the nonce, so the entry the lost
// attempt spent is not refused as already used.
func TestDoorRetryNeverCountsTwice(t *testing.T) {
	a := startAppliance(t)
	b := newTab(t, desktop)
	b.signIn(a.base+"/door", scannerSecret, "door")
	loss := &answerLoss{}
	b.loseScanAnswers(loss)

	loss.set(2)
	b.run("scan with two answers lost", chromedp.KeyEvent(sxSenior+"\r"))
	b.waitFor("the answer of the third attempt", answerIs("ok"), 15*time.Second)
	if !strings.Contains(b.text("#answer-detail"), "decided already") {
		t.Errorf("detail %q does not say the answer is the first decision again", b.text("#answer-detail"))
	}
	if n := a.admissions(sxSenior); n != 1 || loss.lost() != 2 {
		t.Errorf("admissions %d after %d lost answers, want 1", n, loss.lost())
	}

	// Every attempt lost: not checked, and not admitted on screen.
	loss.set(100)
	b.run("close and scan with every answer lost", chromedp.Click(chromedp.ID("answer")), chromedp.WaitNotVisible(chromedp.ID("answer")),
		chromedp.KeyEvent(sxAdult1+"\r"))
	b.waitFor("not checked", `document.getElementById('answer').classList.contains('answer-problem')`, 15*time.Second)
	if got := b.text("#answer-verdict"); got != "NOT CHECKED" {
		t.Errorf("verdict %q", got)
	}
	if reason := b.text("#answer-reason"); !strings.Contains(reason, "Do not admit yet") || !strings.Contains(reason, "cannot count it twice") {
		t.Errorf("reason %q", reason)
	}
	b.screenshot("not-checked")
	if n := a.admissions(sxAdult1); n != 1 {
		t.Fatalf("admissions %d: the lost attempts should have admitted once", n)
	}
	loss.set(0)
	b.run("scan it again", chromedp.Click(chromedp.ID("answer")), chromedp.WaitNotVisible(chromedp.ID("answer")),
		chromedp.KeyEvent(sxAdult1+"\r"))
	b.waitFor("the first decision again", answerIs("ok"), 10*time.Second)
	if n := a.admissions(sxAdult1); n != 1 {
		t.Errorf("admissions %d after the rescan, want 1", n)
	}
	// A later, separate scan of the same ticket is a new scan: already used.
	b.run("scan it once more", chromedp.Click(chromedp.ID("answer")), chromedp.WaitNotVisible(chromedp.ID("answer")),
		chromedp.KeyEvent(sxAdult1+"\r"))
	b.waitFor("already used", answerIs("already_used"), 10*time.Second)
}
