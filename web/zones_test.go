package web_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/httpapi"
)

const supervisorSecret = "web-supervisor-secret-00"

// withZones gives the appliance a zone behind a lane of its own and a
// supervisor's token.
func withZones(t *testing.T, a *appliance) {
	t.Helper()
	if err := a.ix.SetZones([]gate.Zone{{ID: "north-stand", Name: "North stand", Capacity: 3, NoPassback: true}}); err != nil {
		t.Fatal(err)
	}
	lanes := append(append([]httpapi.LaneInfo(nil), testLanes...),
		httpapi.LaneInfo{Lane: gate.Lane{ID: "stand-1", Name: "Stand 1", Direction: gate.In, From: gate.Outside, To: "north-stand"}})
	if err := a.srv.SetLanes(lanes); err != nil {
		t.Fatal(err)
	}
	auth, err := httpapi.NewAuth(append(append([]httpapi.Token(nil), testTokens...),
		httpapi.Token{Name: "kim", Role: httpapi.RoleSupervisor, Secret: supervisorSecret}))
	if err != nil {
		t.Fatal(err)
	}
	a.srv.SetAuth(auth)
}

// A supervisor on the door page lets a refused guest through, saying why;
// the answer says who did; the operator page shows the zone's occupancy
// against its capacity and lists the override under the event.
func TestSupervisorOverrideAndZonesOnThePages(t *testing.T) {
	a := startAppliance(t)
	withZones(t, a)
	if d := a.scan(sxAdult1, "stand-1"); d.Reason != gate.ReasonOK {
		t.Fatalf("%+v", d)
	}

	b := newTab(t, desktop)
	b.signIn(a.base+"/door", supervisorSecret, "door")
	b.run("choose the stand's lane", chromedp.SetValue(chromedp.ID("lane"), "stand-1"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById('lane').dispatchEvent(new Event('change'))`))
	b.run("scan a used ticket", chromedp.Focus(chromedp.ID("barcode")), chromedp.KeyEvent(sxAdult1+"\r"))
	b.waitFor("the refusal", answerIs("already_used"), 10*time.Second)
	if !eval[bool](b, `!document.getElementById('answer-override').hidden`) {
		t.Fatal("a supervisor is not offered to let the guest through")
	}
	b.screenshot("door-supervisor-refusal")
	b.run("let the guest through", chromedp.Click(chromedp.ID("answer-override")), chromedp.WaitVisible(chromedp.ID("confirm-input")),
		chromedp.SendKeys(chromedp.ID("confirm-input"), "wristband checked by hand"), chromedp.Click(chromedp.ID("confirm-ok")))
	b.waitFor("the override", answerIs("override"), 10*time.Second)
	if v := b.text("#answer-verdict"); v != "LET THROUGH" {
		t.Errorf("verdict %q", v)
	}
	if r := b.text("#answer-reason"); !strings.Contains(r, "kim let this guest through: wristband checked by hand") ||
		!strings.Contains(r, "Refused first: Already used") {
		t.Errorf("reason %q", r)
	}
	b.screenshot("door-supervisor-override")
	if n := a.admissions(sxAdult1); n != 2 {
		t.Errorf("admissions after the override: %d", n)
	}

	// A scanner's door page offers no override.
	s := newTab(t, desktop)
	s.signIn(a.base+"/door", scannerSecret, "door")
	s.run("scan a used ticket", chromedp.Focus(chromedp.ID("barcode")), chromedp.KeyEvent(sxAdult1+"\r"))
	s.waitFor("the refusal", answerIs("already_used"), 10*time.Second)
	if eval[bool](s, `!document.getElementById('answer-override').hidden`) {
		t.Error("a scanner is offered an override")
	}

	o := newTab(t, desktop)
	o.signIn(a.base+"/", viewerSecret, "operator")
	o.waitFor("the zone", `(() => { const z = document.querySelector('[data-zone="north-stand"]');
		return z && !document.getElementById('zones-panel').hidden && z.querySelector('.zone-count').textContent === '1 / 3'; })()`,
		10*time.Second)
	o.waitFor("the override under the Derby", `[...document.querySelectorAll('[data-event="`+derby+`"] .overrides li')]
		.some((li) => li.textContent.includes('kim: wristband checked by hand'))`, 10*time.Second)
	o.screenshot("operator-zones-overrides")
}
