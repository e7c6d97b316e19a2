package web_test

import (
	"strings"
	"testing"
	"time"

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
