package web_test

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"
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
	b.run("open the admin page", chromedp.Navigate(a.base+"/admin"), chromedp.WaitVisible(chromedp.ID("admin")))
	if w := eval[int](b, `document.documentElement.scrollWidth`); w > int(phone.width) {
		t.Errorf("the admin page is %d px wide on a %d px phone", w, phone.width)
	}
	b.screenshot("admin-phone")
}
