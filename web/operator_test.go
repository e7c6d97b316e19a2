package web_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// A wrong token is refused in words and nothing of the pages shows; each
// role sees only the pages it may use.
func TestWrongTokenIsRefusedAndRolesChooseThePages(t *testing.T) {
	a := startAppliance(t)
	b := newTab(t, desktop)
	b.run("sign in with a wrong token",
		chromedp.Navigate(a.base+"/admin"),
		chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), "not-a-token-of-this-box"),
		chromedp.Click(chromedp.ID("login-submit")))
	b.waitFor("the refusal", `document.getElementById('login-error').textContent !== ''`, 10*time.Second)
	if msg := b.text("#login-error"); msg != "The token is not valid: the bearer token is not valid" {
		t.Errorf("refusal %q", msg)
	}
	if eval[bool](b, `!document.getElementById('admin').hidden`) || eval[string](b, `sessionStorage.getItem('admit.token') || ''`) != "" {
		t.Error("a wrong token opened the page or was kept")
	}
	b.screenshot("wrong-token")

	// A scanner token on the admin page: refused, pointed to the door page.
	b.run("sign in as a scanner", chromedp.Evaluate[chromedp.Void](`document.getElementById('token').value = ''`), chromedp.SendKeys(chromedp.ID("token"), scannerSecret),
		chromedp.Click(chromedp.ID("login-submit")), chromedp.WaitVisible(chromedp.ID("blocked")))
	if msg := b.text("#blocked"); !strings.Contains(msg, `The token “handheld” (scanner) may not open the admin page.`) ||
		!strings.Contains(msg, "Door page") {
		t.Errorf("blocked message %q", msg)
	}
	if !eval[bool](b, `document.getElementById('admin').hidden`) {
		t.Error("the admin page shows for a scanner token")
	}
	if got := eval[[]string](b, `[...document.querySelectorAll('#nav a')].map((a) => a.textContent)`); strings.Join(got, ",") != "Door" {
		t.Errorf("a scanner is offered %v", got)
	}
	b.screenshot("scanner-on-admin")
	// The operator page sends a scanner to its door page; the token is kept
	// for the session, so no second sign-in.
	b.run("open the operator page", chromedp.Navigate(a.base+"/"), chromedp.WaitVisible(chromedp.ID("door")))
	if u := eval[string](b, `location.pathname`); u != "/door" {
		t.Errorf("a scanner on / lands on %s, want /door", u)
	}

	// A viewer may watch but not scan.
	b.run("sign out", chromedp.Click(chromedp.ID("logout")), chromedp.WaitVisible(chromedp.ID("token")))
	b.run("sign in as a viewer", chromedp.SendKeys(chromedp.ID("token"), viewerSecret), chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.ID("blocked")))
	if got := eval[[]string](b, `[...document.querySelectorAll('#nav a')].map((a) => a.textContent)`); strings.Join(got, ",") != "Operator" {
		t.Errorf("a viewer is offered %v", got)
	}
	b.run("open the operator page", chromedp.Navigate(a.base+"/"), chromedp.WaitVisible(chromedp.ID("operator")))

	// An admin sees every page.
	b.run("sign out", chromedp.Click(chromedp.ID("logout")), chromedp.WaitVisible(chromedp.ID("token")))
	b.signIn(a.base+"/", adminSecret, "operator")
	if got := eval[[]string](b, `[...document.querySelectorAll('#nav a')].map((a) => a.textContent)`); strings.Join(got, ",") != "Operator,Door,Admin" {
		t.Errorf("an admin is offered %v", got)
	}
}

// The operator page shows scans live, keeps its figures while the appliance
// restarts, says so, and picks up again by itself.
func TestOperatorPageLiveThroughARestart(t *testing.T) {
	a := startAppliance(t)
	b := newTab(t, desktop)
	b.signIn(a.base+"/", viewerSecret, "operator")
	b.waitFor("live", `document.getElementById('live').classList.contains('live-ok')`, 10*time.Second)
	before := a.report(derby).Total
	b.waitFor("the Derby's card", cardFigure(derby, "sold")+` === '`+strconv.Itoa(before.Sold)+`'`, 10*time.Second)

	// Scans at the lanes show up: inside, used, the chart, denials, the lane.
	for _, s := range []struct{ barcode, lane string }{{sxAdult1, "north-1"}, {sxChild, "north-1"}, {sxAdult1, "north-1"},
		{"NO-SUCH-TICKET", "south-1"}, {sxChild, "exit-1"}} {
		a.scan(s.barcode, s.lane)
	}
	used := strconv.Itoa(before.Used + 2)
	b.waitFor("the scans", cardFigure(derby, "used")+` === '`+used+`' && `+cardFigure(derby, "inside")+` === '1'`, 10*time.Second)
	b.waitFor("the lane's last decision", `(document.querySelector('[data-lane="exit-1"] .lane-last') || {dataset: {}}).dataset.reason === 'exit'`, 10*time.Second)
	denials := eval[map[string]string](b, `Object.fromEntries([...document.querySelectorAll('[data-event="`+derby+`"] .denials li')]
		.map((li) => [li.dataset.reason, li.querySelector('.denial-count').textContent]))`)
	if denials["already_used"] != "1" || denials["unknown"] != "1" {
		t.Errorf("denials shown %v, want already_used 1 and unknown 1", denials)
	}
	chart := eval[map[string]string](b, `({...document.querySelector('[data-event="`+derby+`"] .chart-svg').dataset})`)
	if chart["entries"] != "2" || chart["exits"] != "1" || (chart["bars"] != "2" && chart["bars"] != "3") {
		t.Errorf("the chart draws %v, want 2 entries and 1 exit in 2 or 3 bars (the scans may straddle a minute)", chart)
	}
	b.screenshot("operator-live")

	a.stop()
	b.waitFor("the page notices", `document.getElementById('live').classList.contains('live-down')`, 15*time.Second)
	if got := eval[string](b, cardFigure(derby, "used")); got != used {
		t.Errorf("the figures went away while the appliance was down: used %q", got)
	}
	if msg := b.text("#live-text"); !strings.Contains(msg, "does not answer") || !strings.Contains(msg, "Showing figures from") {
		t.Errorf("live text while down %q", msg)
	}
	b.screenshot("operator-down")

	a.restart()
	a.scan(sxAdult2, "north-1")
	b.waitFor("live again with the new scan", `document.getElementById('live').classList.contains('live-ok') && `+
		cardFigure(derby, "inside")+` === '2'`, 20*time.Second)
	if eval[bool](b, `!!document.getElementById('login')`) {
		t.Error("the restart asked for the token again")
	}
	b.screenshot("operator-back")
}

// An admin releases every turnstile lane from the operator page and clears
// the release; a viewer sees the state but may not act.
func TestOperatorEmergencyRelease(t *testing.T) {
	a := startAppliance(t)
	b := newTab(t, desktop)
	b.signIn(a.base+"/", adminSecret, "operator")
	b.waitFor("the emergency panel", `!document.getElementById('emergency').hidden &&
		document.getElementById('emergency').dataset.active === 'false'`, 10*time.Second)
	if got := b.text("#emergency"); !strings.Contains(got, "Emergency release: off.") || !strings.Contains(got, "mode: open — unlocks when released") {
		t.Errorf("panel %q", got)
	}
	b.run("release", chromedp.Click(chromedp.ID("emergency-release")), chromedp.WaitVisible(chromedp.ID("confirm-input")),
		chromedp.SendKeys(chromedp.ID("confirm-input"), "fire alarm, north stand"), chromedp.Click(chromedp.ID("confirm-ok")))
	b.waitFor("released", `document.getElementById('emergency').dataset.active === 'true'`, 10*time.Second)
	if got := b.text("#emergency-detail"); !strings.Contains(got, "by ops") {
		t.Errorf("detail %q", got)
	}
	if r := a.emergency.lastReason(); r != "fire alarm, north stand" {
		t.Errorf("reason %q reached the appliance", r)
	}
	b.screenshot("emergency-active")

	// A viewer sees it, without the buttons.
	v := newTab(t, desktop)
	v.signIn(a.base+"/", viewerSecret, "operator")
	v.waitFor("the release shown", `document.getElementById('emergency').dataset.active === 'true'`, 10*time.Second)
	if eval[bool](v, `!document.getElementById('emergency-clear').hidden || !document.getElementById('emergency-release').hidden`) {
		t.Error("a viewer is offered the emergency buttons")
	}

	// The input still on: clearing is refused in words.
	a.emergency.setInput(true)
	b.run("clear", chromedp.Click(chromedp.ID("emergency-clear")), chromedp.WaitVisible(chromedp.ID("confirm")),
		chromedp.Click(chromedp.ID("confirm-ok")))
	b.waitFor("the refusal", `document.getElementById('emergency-message').classList.contains('error')`, 10*time.Second)
	if got := b.text("#emergency-message"); !strings.Contains(got, "still asserted") {
		t.Errorf("message %q", got)
	}
	a.emergency.setInput(false)
	b.run("clear again", chromedp.Click(chromedp.ID("emergency-clear")), chromedp.WaitVisible(chromedp.ID("confirm")),
		chromedp.Click(chromedp.ID("confirm-ok")))
	b.waitFor("cleared", `document.getElementById('emergency').dataset.active === 'false'`, 10*time.Second)
}
