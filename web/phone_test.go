package web_test

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/admitgate/admit/gate"
)

// The operator and admin pages fit a phone's width too: tables scroll in
// their own boxes, the chart is drawn for the width it has.
func TestOperatorAndAdminPagesFitAPhone(t *testing.T) {
	a := startAppliance(t)
	for _, s := range []string{sxAdult1, sxChild, sxAdult1, "NO-SUCH-TICKET"} {
		a.scan(s, "north-1")
	}
	b := newTab(t, phone)
	b.signIn(a.base+"/", adminSecret, "operator")
	b.waitFor("the Derby's card", cardFigure(derby, "used")+` !== ''`, 10*time.Second)
	if w := eval[int](b, `document.documentElement.scrollWidth`); w > int(phone.width) {
		t.Errorf("the operator page is %d px wide on a %d px phone", w, phone.width)
	}
	if vb := eval[string](b, `document.querySelector('.chart-svg').getAttribute('viewBox')`); vb == "0 0 720 200" {
		t.Errorf("the chart is drawn %q, for a desktop", vb)
	}
	b.screenshot("operator-phone")
	// A pass for two events, looked up: its events, each removable, and the
	// "add event" choice (a long name) fit too.
	if _, err := a.ix.PutEvent(context.Background(), gate.Event{ID: "FRIENDLY-2026",
		Name: "FC Example – Pre-season friendly against the reigning champions, with the youth cup final before it"}); err != nil {
		t.Fatal(err)
	}
	a.call("POST", "/v1/tickets/"+sxAdult1+"/events", adminSecret, map[string][]string{"add": {cup}}, nil)
	b.run("open the admin page on a ticket", chromedp.Navigate(a.base+"/admin?ticket="+sxAdult1), chromedp.WaitVisible(chromedp.ID("admin")))
	b.waitFor("the ticket's events", `document.querySelectorAll('#ticket-events [data-remove-event]').length === 2 &&
		document.querySelectorAll('#add-event option').length === 1`, 10*time.Second)
	if w := eval[int](b, `document.documentElement.scrollWidth`); w > int(phone.width) {
		t.Errorf("the admin page is %d px wide on a %d px phone", w, phone.width)
	}
	b.screenshot("admin-phone")
}
