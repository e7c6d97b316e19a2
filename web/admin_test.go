package web_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/internal/samples"
)

// cardFigure is a JavaScript expression for one figure of an event's card
// on the operator page ("" while the card is not there).
func cardFigure(event, figure string) string {
	return fmt.Sprintf(`((document.querySelector('[data-event=%q].event-card') || {dataset: {}}).dataset[%q] || '')`, event, figure)
}

// An admin uploads a file on the admin page, previews it (a dry run that
// changes nothing), applies it, and the operator page's figures change.
func TestAdminUploadChangesTheOperatorFigures(t *testing.T) {
	a := startAppliance(t)
	before := a.report(derby).Total
	if before.Sold == 0 {
		t.Fatalf("the Derby sold nothing before the upload: %+v", before)
	}

	op := newTab(t, desktop)
	op.signIn(a.base+"/", viewerSecret, "operator")
	op.waitFor("the Derby's card", cardFigure(derby, "sold")+` === '`+strconv.Itoa(before.Sold)+`'`, 10*time.Second)
	op.screenshot("operator-before")

	file := filepath.Join(t.TempDir(), "box-office.csv")
	b, err := samples.Read(samples.BoxOffice)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, b, 0o644); err != nil {
		t.Fatal(err)
	}
	ad := newTab(t, desktop)
	ad.signIn(a.base+"/admin", adminSecret, "admin")
	ad.waitFor("the providers", `document.querySelectorAll('#imp-provider option').length === 3`, 10*time.Second)
	ad.run("choose the file and preview",
		chromedp.SetValue(chromedp.ID("imp-provider"), "box-office"),
		chromedp.SetUploadFiles(chromedp.ID("imp-file"), []string{file}),
		chromedp.Click(chromedp.ID("imp-preview")))
	ad.waitFor("the preview", `document.getElementById('imp-result').dataset.dryRun === 'true'`, 10*time.Second)
	counts := func() map[string]string {
		return eval[map[string]string](ad, `Object.fromEntries([...document.querySelectorAll('#imp-result [data-count]')]
			.map((e) => [e.dataset.count, e.textContent]))`)
	}
	if got := counts(); got["added"] != "15" || got["updated"] != "0" || got["unchanged"] != "0" || got["rejected"] != "0" {
		t.Errorf("preview counts %v, want 15 added", got)
	}
	if head := ad.text("#imp-headline"); !strings.Contains(head, "Preview: 15 lines read (csv). Nothing has changed yet.") {
		t.Errorf("preview headline %q", head)
	}
	if eval[bool](ad, `document.getElementById('imp-apply').disabled`) {
		t.Error("Apply stays disabled after a good preview")
	}
	if _, err := a.ticket("BO-WTekurHSvCp4"); !isNotFound(err) {
		t.Errorf("the dry run loaded a ticket: %v", err)
	}
	ad.screenshot("admin-preview")

	ad.run("apply", chromedp.Click(chromedp.ID("imp-apply")))
	ad.waitFor("the import", `document.getElementById('imp-result').dataset.applied === 'true'`, 10*time.Second)
	if head := ad.text("#imp-headline"); !strings.HasPrefix(head, "Loaded as import #") {
		t.Errorf("headline %q", head)
	}
	ad.waitFor("the import listed", `!!document.querySelector('#imports tr[data-import] td:nth-child(5)') &&
		document.querySelector('#imports tbody tr').children[4].textContent === 'box-office.csv'`, 10*time.Second)
	ad.screenshot("admin-applied")
	after := a.report(derby).Total
	if after.Sold != before.Sold+15 {
		t.Fatalf("sold %d after the import, want %d", after.Sold, before.Sold+15)
	}

	// The operator page follows without a reload.
	op.waitFor("the operator's new figures", cardFigure(derby, "sold")+` === '`+strconv.Itoa(after.Sold)+`'`, 10*time.Second)
	if got := op.text(`[data-event="` + derby + `"] [data-stat="sold"]`); got != strconv.Itoa(after.Sold) {
		t.Errorf("sold shown %q, want %d", got, after.Sold)
	}
	op.run("ask for the catalog now", chromedp.Evaluate[chromedp.Void](`document.dispatchEvent(new Event('admit:refresh'))`))
	op.waitFor("the box office's import age", `(document.querySelector('#providers tr[data-provider="box-office"] td:nth-child(2)') || {}).textContent.includes('ago')`, 10*time.Second)
	op.screenshot("operator-after")

	// Pasted barcodes with a bad line: refused whole, with the line listed,
	// until the admin chooses to load the good lines.
	long := strings.Repeat("X", 300)
	ad.run("paste two lines, one too long",
		chromedp.Click(chromedp.ID("imp-source-paste")),
		chromedp.SetValue(chromedp.ID("imp-provider"), "partner"),
		chromedp.SetValue(chromedp.ID("imp-event"), derby),
		chromedp.SetValue(chromedp.ID("imp-paste"), "PASTED-1\n"+long+"\n"),
		chromedp.SetValue(chromedp.ID("imp-price"), "ADU"),
		chromedp.Click(chromedp.ID("imp-preview")))
	ad.waitFor("the refusal", `!!document.getElementById('imp-error')`, 10*time.Second)
	if msg := ad.text("#imp-error"); !strings.HasPrefix(msg, "Refused: ") {
		t.Errorf("refusal %q", msg)
	}
	if got := eval[[]string](ad, `[...document.querySelectorAll('#rejected tbody td')].map((e) => e.textContent)`); len(got) < 3 ||
		got[0] != "2" || got[2] != "too long" || !strings.Contains(got[3], "300 bytes") {
		t.Errorf("rejected lines %q", got)
	}
	if !eval[bool](ad, `document.getElementById('imp-apply').disabled`) {
		t.Error("Apply is enabled for a file that would be refused")
	}
	ad.screenshot("admin-paste-refused")
	ad.run("load the good lines", chromedp.SetValue(chromedp.ID("imp-onerror"), "skip"), chromedp.Click(chromedp.ID("imp-preview")))
	ad.waitFor("the preview", `document.getElementById('imp-result').dataset.dryRun === 'true'`, 10*time.Second)
	if got := counts(); got["added"] != "1" || got["rejected"] != "1" {
		t.Errorf("preview counts %v, want 1 added and 1 rejected", got)
	}
	ad.run("apply", chromedp.Click(chromedp.ID("imp-apply")))
	ad.waitFor("the import", `document.getElementById('imp-result').dataset.applied === 'true'`, 10*time.Second)
	if v := a.mustTicket("PASTED-1"); v.Provider != "partner" || v.PriceType.Code != "ADU" {
		t.Errorf("pasted ticket %+v", v.Ticket)
	}

	// Withdraw the pasted import: its unused ticket is cancelled.
	ad.waitFor("the pasted import listed", `document.querySelector('#imports tbody tr').children[4].textContent === 'pasted'`, 10*time.Second)
	id := eval[string](ad, `document.querySelector('#imports tbody tr').dataset.import`)
	ad.run("withdraw it", chromedp.Click(chromedp.CSS(`#imports tr[data-import="`+id+`"] button`)),
		chromedp.WaitVisible(chromedp.ID("confirm")), chromedp.Click(chromedp.ID("confirm-ok")))
	ad.waitFor("withdrawn", `document.querySelector('#imports tr[data-import="`+id+`"]').classList.contains('withdrawn')`, 10*time.Second)
	if s := a.mustTicket("PASTED-1").State.String(); s != "cancelled" {
		t.Errorf("a withdrawn import's unused ticket is %s, want cancelled", s)
	}
}

// An admin adds a provider and an event with the forms; times are entered
// in the browser's time zone.
func TestAdminKeepsProvidersAndEvents(t *testing.T) {
	a := startAppliance(t)
	b := newTab(t, desktop)
	b.signIn(a.base+"/admin", adminSecret, "admin")
	b.run("add a provider", chromedp.SendKeys(chromedp.ID("prov-id"), "goldstar"), chromedp.SendKeys(chromedp.ID("prov-name"), "Goldstar"),
		chromedp.Click(chromedp.CSS("#provider-form button[type=submit]")))
	b.waitFor("the provider", `!!document.querySelector('#providers tr[data-provider="goldstar"]') &&
		[...document.querySelectorAll('#imp-provider option')].some((o) => o.value === 'goldstar')`, 10*time.Second)
	b.run("add an event", chromedp.SendKeys(chromedp.ID("ev-id"), "CONCERT-1"), chromedp.SendKeys(chromedp.ID("ev-name"), "Concert"),
		chromedp.SetValue(chromedp.ID("ev-opens"), "2026-12-05T18:00"), chromedp.SetValue(chromedp.ID("ev-closes"), "2026-12-05T23:30"),
		chromedp.SetValue(chromedp.ID("ev-entries"), "2"), chromedp.Click(chromedp.ID("ev-reentry")),
		chromedp.Click(chromedp.CSS("#event-form button[type=submit]")))
	b.waitFor("the event", `!!document.querySelector('#events tr[data-event="CONCERT-1"]')`, 10*time.Second)
	var evs struct {
		Events []struct {
			ID       string    `json:"id"`
			Name     string    `json:"name"`
			OpensAt  time.Time `json:"opens_at"`
			ClosesAt time.Time `json:"closes_at"`
			Reentry  bool      `json:"reentry"`
			Entries  int       `json:"entries"`
		} `json:"events"`
	}
	a.call("GET", "/v1/events", viewerSecret, nil, &evs)
	found := false
	for _, e := range evs.Events {
		if e.ID != "CONCERT-1" {
			continue
		}
		found = true
		if e.Name != "Concert" || !e.OpensAt.Equal(time.Date(2026, 12, 5, 18, 0, 0, 0, time.UTC)) ||
			!e.ClosesAt.Equal(time.Date(2026, 12, 5, 23, 30, 0, 0, time.UTC)) || !e.Reentry || e.Entries != 2 {
			t.Errorf("event saved as %+v", e)
		}
	}
	if !found {
		t.Fatalf("no CONCERT-1 in %+v", evs)
	}
	// A bad id is refused in words, and nothing is saved.
	b.run("an event that closes before it opens", chromedp.Click(chromedp.CSS(`#events tr[data-event="CONCERT-1"] button`)),
		chromedp.SetValue(chromedp.ID("ev-closes"), "2026-12-05T17:00"), chromedp.Click(chromedp.CSS("#event-form button[type=submit]")))
	b.waitFor("the refusal", `document.getElementById('event-message').classList.contains('error')`, 10*time.Second)
	if msg := b.text("#event-message"); !strings.Contains(msg, "closes_at must be after opens_at") {
		t.Errorf("message %q", msg)
	}
}

// An admin looks a ticket up, annuls its admission, blocks it (after saying
// so in a dialog), unblocks it and reissues it; every change shows and holds.
func TestAdminFixesATicket(t *testing.T) {
	a := startAppliance(t)
	if d := a.scan(sxAdult1, "north-1"); !d.Admit {
		t.Fatalf("scan: %+v", d)
	}
	b := newTab(t, desktop)
	b.signIn(a.base+"/admin", adminSecret, "admin")
	b.run("look it up", chromedp.SendKeys(chromedp.ID("ticket-barcode"), sxAdult1), chromedp.Click(chromedp.ID("ticket-lookup")))
	b.waitFor("the ticket", `(document.getElementById('ticket-state') || {}).textContent === 'valid'`, 10*time.Second)
	if got := b.text("#redemptions tbody tr td:nth-child(2)"); got != "1" {
		t.Errorf("entries shown %q, want 1", got)
	}
	if got := b.text("#history tbody tr td:nth-child(3)"); got != "Admitted: Welcome" {
		t.Errorf("history %q", got)
	}
	b.screenshot("ticket")

	// Annul the admission (the turnstile did not turn).
	b.run("annul", chromedp.Click(chromedp.CSS("[data-annul]")), chromedp.WaitVisible(chromedp.ID("confirm")),
		chromedp.Click(chromedp.ID("confirm-ok")))
	b.waitFor("the annulment", `document.getElementById('ticket-message').textContent.includes('annulled')`, 10*time.Second)
	if n := a.admissions(sxAdult1); n != 0 {
		t.Errorf("admissions after the annulment: %d", n)
	}

	// Block: cancelling the dialog changes nothing; confirming blocks.
	b.run("block, then think again", chromedp.Click(chromedp.ID("act-block")), chromedp.WaitVisible(chromedp.ID("confirm")),
		chromedp.Click(chromedp.ID("confirm-cancel")), chromedp.WaitNotPresent(chromedp.ID("confirm")))
	if s := a.mustTicket(sxAdult1).State.String(); s != "valid" {
		t.Fatalf("state %s after a cancelled dialog", s)
	}
	b.run("block", chromedp.Click(chromedp.ID("act-block")), chromedp.WaitVisible(chromedp.ID("confirm")))
	b.screenshot("confirm-block")
	b.run("confirm", chromedp.Click(chromedp.ID("confirm-ok")))
	b.waitFor("blocked", `document.getElementById('ticket-state').textContent === 'blocked'`, 10*time.Second)
	if d := a.scan(sxAdult1, "north-1"); d.Reason.String() != "blocked" {
		t.Errorf("a blocked ticket scans %s", d.Reason)
	}
	b.run("unblock", chromedp.Click(chromedp.ID("act-unblock")))
	b.waitFor("valid again", `document.getElementById('ticket-state').textContent === 'valid'`, 10*time.Second)

	// Reissue onto a new barcode; the page follows it.
	b.run("reissue", chromedp.Click(chromedp.ID("act-reissue")), chromedp.WaitVisible(chromedp.ID("confirm-input")),
		chromedp.SendKeys(chromedp.ID("confirm-input"), "REPRINT 1/2"), chromedp.Click(chromedp.ID("confirm-ok")))
	b.waitFor("the new barcode", `(document.querySelector('.ticket-barcode') || {}).textContent === 'REPRINT 1/2'`, 10*time.Second)
	if s := a.mustTicket(sxAdult1).State.String(); s != "revoked" {
		t.Errorf("old barcode %s, want revoked", s)
	}
	if v := a.mustTicket("REPRINT 1/2"); v.Replaces != sxAdult1 {
		t.Errorf("new ticket %+v", v.Ticket)
	}
	b.screenshot("reissued")

	// A conflict is shown in words: reissuing onto a barcode that exists.
	b.run("reissue onto an existing barcode", chromedp.Click(chromedp.ID("act-reissue")), chromedp.WaitVisible(chromedp.ID("confirm-input")),
		chromedp.SendKeys(chromedp.ID("confirm-input"), sxAdult2), chromedp.Click(chromedp.ID("confirm-ok")))
	b.waitFor("the conflict", `document.getElementById('ticket-message').classList.contains('error')`, 10*time.Second)
	if msg := b.text("#ticket-message"); !strings.HasPrefix(msg, "That change conflicts with the ticket’s state: ") {
		t.Errorf("message %q", msg)
	}
	// The replaced barcode lists its events but offers no change: the new
	// barcode is the one to change.
	b.run("look up the replaced barcode", chromedp.Click(chromedp.CSS(`.fields button.link`)))
	b.waitFor("the replaced ticket", `document.getElementById('ticket-state').textContent === 'revoked' &&
		!!document.querySelector('#ticket-events li[data-event="`+derby+`"]')`, 10*time.Second)
	if n := eval[int](b, `document.querySelectorAll('#ticket-events [data-remove-event], #add-event').length`); n != 0 {
		t.Errorf("a revoked ticket offers %d event changes", n)
	}
	// An unknown barcode.
	// (Typed with Enter, as a handheld scanner sends it.)
	b.run("look up an unknown barcode", chromedp.Evaluate[chromedp.Void](`document.getElementById('ticket-barcode').value = ''`),
		chromedp.SendKeys(chromedp.ID("ticket-barcode"), "NOPE\r"))
	b.waitFor("not found", `document.getElementById('ticket-message').textContent === 'No ticket has the barcode “NOPE”.'`, 10*time.Second)
}

// An admin corrects a pass's events on the admin page: an added event
// admits the ticket at once, a removed one (after the dialog) refuses it as
// wrong_event, and a refusal from a change made elsewhere is shown in words
// with the ticket as it is now.
func TestAdminChangesAPassesEvents(t *testing.T) {
	a := startAppliance(t)
	const friendly = "FRIENDLY-2026"
	now := time.Now()
	if _, err := a.ix.PutEvent(context.Background(), gate.Event{ID: friendly, Name: "Friendly",
		OpensAt: now.Add(-time.Hour), ClosesAt: now.Add(6 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	// The Derby entry is spent; a lane for every event has nothing left to
	// admit the ticket to.
	if d := a.scan(sxAdult1, "north-1"); !d.Admit {
		t.Fatalf("first scan: %+v", d)
	}
	if d := a.scan(sxAdult1, "south-1"); d.Admit || d.Reason.String() != "already_used" {
		t.Fatalf("second scan before the change: %+v", d)
	}

	b := newTab(t, desktop)
	b.signIn(a.base+"/admin?ticket="+sxAdult1, adminSecret, "admin")
	b.waitFor("the ticket's events", `!!document.querySelector('#ticket-events li[data-event="`+derby+`"]') &&
		!!document.getElementById('add-event')`, 10*time.Second)
	if n := eval[int](b, `document.querySelectorAll('#ticket-events [data-remove-event]').length`); n != 0 {
		t.Errorf("the only event can be removed (%d buttons): the index would refuse it", n)
	}
	if got := eval[[]string](b, `[...document.querySelectorAll('#add-event option')].map((o) => o.value)`); !slices.Equal(got, []string{friendly, cup}) {
		t.Errorf("events offered %q, want the catalog's others, %q", got, []string{friendly, cup})
	}

	// Add the friendly: listed, stored, and the ticket is admitted to it.
	b.run("add the friendly", chromedp.SetValue(chromedp.ID("add-event"), friendly), chromedp.Click(chromedp.ID("act-add-event")))
	b.waitFor("the friendly listed", `!!document.querySelector('#ticket-events li[data-event="`+friendly+`"]')`, 10*time.Second)
	if msg := b.text("#ticket-message"); !strings.HasPrefix(msg, "Added Friendly ("+friendly+")") {
		t.Errorf("message %q", msg)
	}
	if got := eval[[]string](b, `[...document.querySelectorAll('#add-event option')].map((o) => o.value)`); !slices.Equal(got, []string{cup}) {
		t.Errorf("events offered after the add %q, want %q", got, []string{cup})
	}
	if ev := a.mustTicket(sxAdult1).Events; !slices.Equal(ev, []string{friendly, derby}) {
		t.Errorf("stored events %q", ev)
	}
	b.screenshot("ticket-event-added")
	if d := a.scan(sxAdult1, "south-1"); !d.Admit || d.Event != friendly {
		t.Errorf("scan after adding the friendly: %+v, want admitted to %s", d, friendly)
	}

	// Remove the Derby: cancelling the dialog changes nothing; confirming
	// removes it, and the panel shows the friendly's admission.
	removeDerby := chromedp.Click(chromedp.CSS(`#ticket-events [data-remove-event="` + derby + `"]`))
	b.run("remove the Derby, then think again", removeDerby, chromedp.WaitVisible(chromedp.ID("confirm")),
		chromedp.Click(chromedp.ID("confirm-cancel")), chromedp.WaitNotPresent(chromedp.ID("confirm")))
	if ev := a.mustTicket(sxAdult1).Events; !slices.Equal(ev, []string{friendly, derby}) {
		t.Fatalf("events %q after a cancelled dialog", ev)
	}
	b.run("remove the Derby", removeDerby, chromedp.WaitVisible(chromedp.ID("confirm")))
	b.screenshot("confirm-remove-event")
	b.run("confirm", chromedp.Click(chromedp.ID("confirm-ok")))
	b.waitFor("the Derby gone", `!document.querySelector('#ticket-events li[data-event="`+derby+`"]') &&
		!!document.querySelector('#redemptions tr[data-event="`+friendly+`"]')`, 10*time.Second)
	if msg := b.text("#ticket-message"); !strings.HasPrefix(msg, "Removed FC Example – Derby ("+derby+")") {
		t.Errorf("message %q", msg)
	}
	if ev := a.mustTicket(sxAdult1).Events; !slices.Equal(ev, []string{friendly}) {
		t.Errorf("stored events %q", ev)
	}
	if d := a.scan(sxAdult1, "north-1"); d.Admit || d.Reason.String() != "wrong_event" {
		t.Errorf("a Derby lane after removing the Derby: %+v, want wrong_event", d)
	}
	b.screenshot("ticket-event-removed")

	// Another admin removes the friendly behind this page's back; removing
	// the cup here would leave no event: refused in words, and the panel
	// shows what the ticket admits to now.
	b.run("add the cup", chromedp.SetValue(chromedp.ID("add-event"), cup), chromedp.Click(chromedp.ID("act-add-event")))
	b.waitFor("the cup listed", `!!document.querySelector('#ticket-events [data-remove-event="`+cup+`"]')`, 10*time.Second)
	a.call("POST", "/v1/tickets/"+sxAdult1+"/events", adminSecret, map[string][]string{"remove": {friendly}}, nil)
	b.run("remove the cup", chromedp.Click(chromedp.CSS(`#ticket-events [data-remove-event="`+cup+`"]`)),
		chromedp.WaitVisible(chromedp.ID("confirm")), chromedp.Click(chromedp.ID("confirm-ok")))
	b.waitFor("the refusal", `document.getElementById('ticket-message').classList.contains('error') &&
		!document.querySelector('#ticket-events li[data-event="`+friendly+`"]')`, 10*time.Second)
	if msg := b.text("#ticket-message"); !strings.HasPrefix(msg, "The request was refused: ") || !strings.Contains(msg, "would admit to no event") {
		t.Errorf("message %q", msg)
	}
	if ev := a.mustTicket(sxAdult1).Events; !slices.Equal(ev, []string{cup}) {
		t.Errorf("stored events %q after the refusal", ev)
	}
}

// cutShort is a context whose Err says cancelled from the first call: a
// withdrawal asked with it marks its import pending and stops before its
// first chunk, as one cut short by a stop or a disk error.
type cutShort struct{ context.Context }

func (cutShort) Err() error { return context.Canceled }

// A withdrawal cut short shows on the admin page as unfinished, and its
// button finishes it: the import's unused tickets are cancelled.
func TestAdminFinishesAnUnfinishedWithdrawal(t *testing.T) {
	a := startAppliance(t)
	imps, err := a.ix.Imports(context.Background())
	if err != nil || len(imps) != 1 {
		t.Fatalf("imports %+v, %v", imps, err)
	}
	id := imps[0].ID
	if _, err := a.ix.Withdraw(cutShort{context.Background()}, id, "ops"); err == nil {
		t.Fatal("the cut-short withdrawal finished")
	}
	ad := newTab(t, desktop)
	ad.signIn(a.base+"/admin", adminSecret, "admin")
	row := `document.querySelector('#imports tr[data-import="` + strconv.FormatUint(id, 10) + `"]')`
	ad.waitFor("the unfinished withdrawal", `!!`+row+` && `+row+`.textContent.includes('unfinished')`, 10*time.Second)
	if got := ad.text(`#imports tr[data-import="` + strconv.FormatUint(id, 10) + `"] button`); got != "Finish withdrawal" {
		t.Errorf("the row's button says %q", got)
	}
	ad.screenshot("admin-withdrawal-unfinished")
	ad.run("finish it", chromedp.Click(chromedp.CSS(`#imports tr[data-import="`+strconv.FormatUint(id, 10)+`"] button`)),
		chromedp.WaitVisible(chromedp.ID("confirm")), chromedp.Click(chromedp.ID("confirm-ok")))
	ad.waitFor("withdrawn", row+`.classList.contains('withdrawn')`, 10*time.Second)
	imps, err = a.ix.Imports(context.Background())
	// (some of the sample's tickets are already cancelled or used upstream)
	if err != nil || imps[0].WithdrawPending || imps[0].WithdrawnAt.IsZero() || imps[0].Cancelled == 0 {
		t.Fatalf("after finishing: %+v, %v", imps[0], err)
	}
}
