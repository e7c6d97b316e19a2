package main

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/httpapi"
	"github.com/admitgate/admit/internal/samples"
)

// Barcodes of the sample files used below.
const (
	sxAdult1     = "9836900602677354" // PRINTED, Derby, ADU
	sxAdult2     = "5119641341163397" // PRINTED, Derby, ADU
	sxAdult3     = "0753103145574459" // PRINTED, Derby, ADU
	sxCupChild   = "6848745268596938" // PRINTED, Cup, CHI
	sxControlled = "2149479505772588" // CONTROLLED, Derby, SEN
	sxCancelled  = "2630583082198227" // CANCELLED, Cup, SEN
	sxInvalid    = "0756199937054380" // INVALIDATED, Cup, CHI
	sxNotPrinted = "5108744277201428" // NOT_PRINTED, Derby, ADU
	boChild      = "BO-hvm3ZNdjS8Fm"
	boVIP        = "BO-adB8QkXAtQVX"
)

func scanBody(barcode, lane string) map[string]string {
	return map[string]string{"barcode": barcode, "lane": lane}
}

func TestWholeFlowOverARealSocket(t *testing.T) {
	for _, b := range []string{sxAdult1, sxAdult2, sxAdult3, sxCupChild, sxControlled, sxCancelled, sxInvalid, sxNotPrinted} {
		if s, _ := samples.Read(samples.Secutix); !strings.Contains(string(s), b+";") {
			t.Fatalf("the SecuTix sample has no %s", b)
		}
	}
	d, base := startDaemon(t, testConfig(t, ""))
	api := apiClient{t: t, base: base}
	now := time.Now()
	rfc := func(t time.Time) string { return t.Format(time.RFC3339) }

	// Catalog.
	for _, p := range []string{"secutix-main", "box-office", "partner"} {
		api.must(201, "PUT", "/v1/providers/"+p, adminSecret, map[string]string{"name": p + " name"})
	}
	api.must(200, "PUT", "/v1/providers/partner", adminSecret, map[string]string{"name": "Partner"})
	events := map[string]map[string]any{
		"MATCH-2026-12-05": {"name": "Derby", "opens_at": rfc(now.Add(-time.Hour)), "closes_at": rfc(now.Add(6 * time.Hour))},
		"MATCH-2026-12-19": {"name": "Cup", "opens_at": rfc(now.Add(14 * 24 * time.Hour)), "closes_at": rfc(now.Add(14*24*time.Hour + 6*time.Hour))},
		"FEST":             {"name": "Festival", "opens_at": rfc(now.Add(-time.Hour)), "closes_at": rfc(now.Add(6 * time.Hour)), "reentry": true},
		"OLD":              {"name": "Last week", "opens_at": rfc(now.Add(-7 * 24 * time.Hour)), "closes_at": rfc(now.Add(-6 * 24 * time.Hour))},
	}
	for id, e := range events {
		want := 201
		if id == "MATCH-2026-12-05" {
			want = 200 // declared by testConfig, since north-1 admits it
		}
		api.must(want, "PUT", "/v1/events/"+id, adminSecret, e)
	}
	var evs httpapi.EventsResponse
	api.must(200, "GET", "/v1/events", viewerSecret, nil).decode(t, &evs)
	if len(evs.Events) != 4 {
		t.Fatalf("events = %+v", evs)
	}

	// Imports: every sample, then the SecuTix file again (idempotent).
	imp := func(query, file string, want int) httpapi.ImportResponse {
		t.Helper()
		var r httpapi.ImportResponse
		api.must(want, "POST", "/v1/imports?"+query, adminSecret, file).decode(t, &r)
		return r
	}
	read := func(name string) string { b, _ := samples.Read(name); return string(b) }
	if r := imp("provider=secutix-main", read(samples.Secutix), 200); r.Added != 40 || r.Lines != 40 || r.Format != gate.FormatSecutix || !r.Applied {
		t.Errorf("secutix: %+v", r)
	}
	if r := imp("provider=box-office&name=bo.csv", read(samples.BoxOffice), 200); r.Added != 15 || r.Format != gate.FormatCSV {
		t.Errorf("box office: %+v", r)
	}
	if r := imp("provider=partner&event=MATCH-2026-12-05&price_type=ADU", read(samples.Paste), 200); r.Added != 28 || r.Format != gate.FormatLines {
		t.Errorf("paste: %+v", r)
	}
	if r := imp("provider=secutix-main", read(samples.Secutix), 200); r.Added != 0 || r.Unchanged != 40 {
		t.Errorf("secutix again: %+v", r)
	}
	odd := []string{"a/b?c%d e", "ünï/条码 #1", "FEST-1", "FEST-2"}
	if r := imp("provider=partner&event=FEST&price_type=GEN&format=lines", strings.Join(odd, "\n")+"\n", 200); r.Added != 4 {
		t.Errorf("fest: %+v", r)
	}
	imp("provider=partner&event=OLD&price_type=GEN", "OLD-1\n", 200)
	// A rejected import loads nothing; a dry run changes nothing.
	rej := imp("provider=partner&event=FEST&format=lines", "GOOD-1\nBAD\x01LINE\n", 422)
	if rej.Rejected != 1 || rej.Error == nil || len(rej.Errors) != 1 || rej.Errors[0].Line != 2 {
		t.Errorf("rejected: %+v", rej)
	}
	api.must(404, "GET", "/v1/tickets/GOOD-1", viewerSecret, nil)
	if r := imp("provider=partner&event=FEST&dry_run=true", "GOOD-2\n", 200); !r.DryRun || r.Added != 1 || r.Applied {
		t.Errorf("dry run: %+v", r)
	}
	api.must(404, "GET", "/v1/tickets/GOOD-2", viewerSecret, nil)
	if r := imp("provider=box-office", read(samples.Secutix), 422); r.Rejected != 40 {
		t.Errorf("another provider's barcodes: %+v", r)
	}
	var imports httpapi.ImportsResponse
	api.must(200, "GET", "/v1/imports", viewerSecret, nil).decode(t, &imports)
	if len(imports.Imports) < 5 || imports.Imports[0].By != "ops" {
		t.Errorf("imports = %+v", imports)
	}

	// Scans giving every reason the API can produce.
	scan := func(secret, barcode, lane string, extra map[string]string) gate.Decision {
		t.Helper()
		body := scanBody(barcode, lane)
		for k, v := range extra {
			body[k] = v
		}
		var dec gate.Decision
		api.must(200, "POST", "/v1/scan", secret, body).decode(t, &dec)
		if dec.Admit != dec.Reason.Admits() || dec.Barcode != barcode || dec.Lane != lane {
			t.Fatalf("decision %+v", dec)
		}
		return dec
	}
	expect := func(dec gate.Decision, want gate.Reason) gate.Decision {
		t.Helper()
		if dec.Reason != want {
			t.Fatalf("%s at %s: %s (%s), want %s", dec.Barcode, dec.Lane, dec.Reason, dec.Detail, want)
		}
		return dec
	}
	first := expect(scan(scannerSecret, sxAdult1, "north-1", nil), gate.ReasonOK)
	if first.Event != "MATCH-2026-12-05" || first.Ticket == nil || first.Ticket.PriceType != "ADU" || first.Ticket.Provider != "secutix-main" || first.Seq == 0 {
		t.Errorf("ok = %+v", first)
	}
	again := expect(scan(scannerSecret, sxAdult1, "south-1", nil), gate.ReasonAlreadyUsed)
	if again.FirstUsed == nil || again.FirstUsed.Lane != "north-1" || !again.FirstUsed.At.Equal(first.At) {
		t.Errorf("already used: first_used = %+v", again.FirstUsed)
	}
	if up := expect(scan(scannerSecret, sxControlled, "north-1", nil), gate.ReasonAlreadyUsed); up.FirstUsed == nil || up.FirstUsed.Lane != gate.UpstreamLane {
		t.Errorf("controlled upstream: %+v", up.FirstUsed)
	}
	expect(scan(scannerSecret, sxCancelled, "south-1", nil), gate.ReasonCancelled)
	expect(scan(scannerSecret, sxInvalid, "south-1", nil), gate.ReasonInvalidated)
	expect(scan(scannerSecret, sxCupChild, "south-1", nil), gate.ReasonNotYetValid)
	expect(scan(scannerSecret, sxCupChild, "north-1", nil), gate.ReasonWrongEvent)
	expect(scan(scannerSecret, "NOT-A-TICKET", "south-1", nil), gate.ReasonUnknown)
	expect(scan(scannerSecret, "bad\x01code", "south-1", nil), gate.ReasonMalformed)
	expect(scan(scannerSecret, "OLD-1", "south-1", nil), gate.ReasonExpired)
	expect(scan(scannerSecret, "FEST-1", "south-1", nil), gate.ReasonOK)
	expect(scan(scannerSecret, "FEST-1", "exit-1", nil), gate.ReasonExit)
	expect(scan(scannerSecret, "FEST-1", "south-1", nil), gate.ReasonReentry)
	expect(scan(scannerSecret, "FEST-1", "south-1", nil), gate.ReasonAlreadyUsed) // no passback while inside
	for _, b := range odd[:2] {
		expect(scan(scannerSecret, b, "south-1", nil), gate.ReasonOK)
		var v gate.TicketView
		api.must(200, "GET", "/v1/tickets/"+url.PathEscape(b), viewerSecret, nil).decode(t, &v)
		if v.Barcode != b || len(v.Redemptions) != 1 || v.Redemptions[0].Admissions != 1 {
			t.Errorf("odd barcode %q: %+v", b, v)
		}
	}

	// Block and unblock.
	api.must(200, "POST", "/v1/tickets/"+boChild+"/block", adminSecret, nil)
	expect(scan(scannerSecret, boChild, "north-1", nil), gate.ReasonBlocked)
	api.must(200, "POST", "/v1/tickets/"+boChild+"/unblock", adminSecret, nil)
	expect(scan(scannerSecret, boChild, "north-1", nil), gate.ReasonOK)
	// Cancel.
	api.must(200, "POST", "/v1/tickets/"+sxNotPrinted+"/cancel", adminSecret, nil)
	expect(scan(scannerSecret, sxNotPrinted, "north-1", nil), gate.ReasonCancelled)
	api.must(409, "POST", "/v1/tickets/"+sxNotPrinted+"/unblock", adminSecret, nil)
	// Reissue: the old barcode is revoked, the new one admits once; a
	// reissue after entry buys nothing; onto an existing barcode is 409.
	api.must(200, "POST", "/v1/tickets/FEST-2/reissue", adminSecret, map[string]string{"barcode": "FEST-2B"})
	expect(scan(scannerSecret, "FEST-2", "south-1", nil), gate.ReasonRevoked)
	expect(scan(scannerSecret, "FEST-2B", "south-1", nil), gate.ReasonOK)
	api.must(200, "POST", "/v1/tickets/FEST-1/reissue", adminSecret, map[string]string{"barcode": "FEST-1B"})
	expect(scan(scannerSecret, "FEST-1B", "south-1", nil), gate.ReasonAlreadyUsed)
	if a := api.must(409, "POST", "/v1/tickets/"+sxAdult2+"/reissue", adminSecret, map[string]string{"barcode": sxAdult3}); !strings.Contains(string(a.body), "conflict") {
		t.Errorf("reissue onto an existing barcode: %s", a.body)
	}
	api.must(404, "POST", "/v1/tickets/NO-SUCH/reissue", adminSecret, map[string]string{"barcode": "X-1"})
	// Pass update: the Cup ticket also admits to the Derby.
	api.must(200, "POST", "/v1/tickets/"+sxCupChild+"/events", adminSecret, map[string][]string{"add": {"MATCH-2026-12-05"}})
	expect(scan(scannerSecret, sxCupChild, "north-1", nil), gate.ReasonOK)
	api.must(400, "POST", "/v1/tickets/"+sxCupChild+"/events", adminSecret, map[string][]string{"add": {"NO-EVENT"}})
	// Annul: the turnstile did not turn, the ticket is usable again.
	annulled := expect(scan(scannerSecret, boVIP, "north-1", nil), gate.ReasonOK)
	var ann gate.JournalEntry
	api.must(200, "POST", fmt.Sprintf("/v1/scans/%d/annul", annulled.Seq), adminSecret, nil).decode(t, &ann)
	if ann.Kind != gate.KindAnnulment || ann.By != "ops" || ann.Decision.Seq != annulled.Seq {
		t.Errorf("annulment = %+v", ann)
	}
	api.must(409, "POST", fmt.Sprintf("/v1/scans/%d/annul", annulled.Seq), adminSecret, nil)
	api.must(409, "POST", fmt.Sprintf("/v1/scans/%d/annul", again.Seq), adminSecret, nil)
	api.must(404, "POST", "/v1/scans/99999999/annul", adminSecret, nil)
	expect(scan(scannerSecret, boVIP, "north-1", nil), gate.ReasonOK)
	// A nonce: the retry gets the first decision and redeems nothing.
	n1 := expect(scan(scannerSecret, sxAdult2, "north-1", map[string]string{"nonce": "retry-1"}), gate.ReasonOK)
	n2 := expect(scan(scannerSecret, sxAdult2, "north-1", map[string]string{"nonce": "retry-1"}), gate.ReasonOK)
	if !n2.Replayed || n2.Seq != n1.Seq {
		t.Errorf("nonce replay: %+v after %+v", n2, n1)
	}
	// A check redeems nothing.
	var chk gate.Decision
	api.must(200, "POST", "/v1/check", scannerSecret, scanBody(sxAdult3, "north-1")).decode(t, &chk)
	if chk.Reason != gate.ReasonOK || chk.Seq != 0 {
		t.Errorf("check = %+v", chk)
	}
	expect(scan(scannerSecret, sxAdult3, "north-1", nil), gate.ReasonOK)

	// Roles and lanes of tokens.
	api.must(401, "POST", "/v1/scan", "", scanBody(sxAdult3, "north-1"))
	api.must(401, "POST", "/v1/scan", "not-a-known-token-1234", scanBody(sxAdult3, "north-1"))
	api.must(403, "POST", "/v1/scan", viewerSecret, scanBody(sxAdult3, "north-1"))
	api.must(403, "POST", "/v1/scan", northSecret, scanBody(sxAdult3, "south-1"))
	expect(scan(northSecret, "NOT-A-TICKET", "north-1", nil), gate.ReasonUnknown)
	api.must(403, "GET", "/v1/report?event=FEST", scannerSecret, nil)
	api.must(403, "POST", "/v1/tickets/"+sxAdult3+"/cancel", viewerSecret, nil)
	api.must(400, "POST", "/v1/scan", adminSecret, scanBody(sxAdult3, "west-9"))

	// The report, exact.
	var rep gate.Report
	api.must(200, "GET", "/v1/report?event=MATCH-2026-12-05", viewerSecret, nil).decode(t, &rep)
	type row struct{ sold, used, inside, cancelled, noShow int }
	want := map[string]row{
		"box-office/Adult": {5, 0, 0, 0, 5},
		"box-office/Child": {5, 1, 1, 0, 4},
		"box-office/VIP":   {5, 1, 1, 0, 4},
		"partner/ADU":      {28, 0, 0, 0, 28},
		"secutix-main/ADU": {5, 3, 3, 2, 2},
		"secutix-main/CHI": {7, 1, 1, 0, 6},
		"secutix-main/SEN": {7, 1, 0, 0, 6},
		"TOTAL":            {62, 7, 6, 2, 55},
	}
	got := map[string]row{}
	for _, r := range rep.Rows {
		got[r.Provider+"/"+r.PriceType] = row{r.Sold, r.Used, r.Inside, r.Cancelled, r.NoShow}
	}
	got["TOTAL"] = row{rep.Total.Sold, rep.Total.Used, rep.Total.Inside, rep.Total.Cancelled, rep.Total.NoShow}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("report %s = %+v, want %+v", k, got[k], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("report rows = %+v", got)
	}
	if rep.Denials[gate.ReasonAlreadyUsed] != 2 || rep.Denials[gate.ReasonBlocked] != 1 {
		t.Errorf("denials = %v", rep.Denials)
	}
	entries := 0
	for _, m := range rep.Minutes {
		entries += m.Entries
	}
	if entries != 6 {
		t.Errorf("entries per minute add up to %d, want 6: %+v", entries, rep.Minutes)
	}
	csvRep := api.must(200, "GET", "/v1/report?event=MATCH-2026-12-05&format=csv", viewerSecret, nil)
	if !strings.Contains(string(csvRep.body), "MATCH-2026-12-05,TOTAL,,,62,7,6,2,55") {
		t.Errorf("csv report:\n%s", csvRep.body)
	}

	// The feed is gapless, and the SecuTix export lists the first uses.
	var feed httpapi.ScansResponse
	api.must(200, "GET", "/v1/scans?after=0&limit=1000", viewerSecret, nil).decode(t, &feed)
	for i, e := range feed.Entries {
		if e.Seq != uint64(i+1) {
			t.Fatalf("feed entry %d has seq %d", i, e.Seq)
		}
	}
	if len(feed.Entries) < 25 || feed.Next != feed.Entries[len(feed.Entries)-1].Seq {
		t.Errorf("feed: %d entries, next %d", len(feed.Entries), feed.Next)
	}
	var page httpapi.ScansResponse
	api.must(200, "GET", fmt.Sprintf("/v1/scans?after=%d&limit=5", feed.Entries[9].Seq), viewerSecret, nil).decode(t, &page)
	if len(page.Entries) != 5 || page.Entries[0].Seq != feed.Entries[10].Seq {
		t.Errorf("page = %+v", page)
	}
	export := api.must(200, "GET", "/v1/scans?format=secutix&provider=secutix-main&limit=1000", viewerSecret, nil)
	lines := strings.Split(strings.TrimSpace(string(export.body)), "\n")
	var used []string
	for _, l := range lines[1:] {
		f := strings.Split(strings.TrimRight(l, "\r"), ";")
		if len(f) != 11 || f[1] != "CONTROLLED" {
			t.Errorf("export line %q", l)
		}
		used = append(used, f[0])
	}
	slices.Sort(used)
	wantUsed := []string{sxAdult3, sxAdult2, sxCupChild, sxAdult1}
	slices.Sort(wantUsed)
	if !slices.Equal(used, wantUsed) {
		t.Errorf("export lists %v, want %v\n%s", used, wantUsed, export.body)
	}

	// Lanes show the last decision.
	var lanes httpapi.LanesResponse
	api.must(200, "GET", "/v1/lanes", viewerSecret, nil).decode(t, &lanes)
	if len(lanes.Lanes) != 3 || lanes.Lanes[0].Last == nil || lanes.Lanes[0].Scans == 0 || lanes.Lanes[0].State != "idle" {
		t.Errorf("lanes = %+v", lanes.Lanes)
	}
	// Metrics carry the scans, the store (sized by testConfig's [store]) and
	// the imports.
	m := string(api.must(200, "GET", "/metrics", "", nil).body)
	for _, w := range []string{`admit_scans_total{lane="north-1",reason="ok"}`, `admit_store_tickets 90`, "admit_store_journal_backlog_limit 4096", "admit_store_cache_warmed_tickets",
		"admit_store_sync_commits_total", "admit_store_wal_syncs_total", "admit_store_compactions_paced_total", "admit_store_compaction_paced_seconds_total", `admit_imports_total{result="rejected"} 2`, "admit_decision_seconds_bucket"} {
		if !strings.Contains(m, w) {
			t.Errorf("metrics lack %q", w)
		}
	}

	// Withdraw the FEST import: its never-used tickets are cancelled.
	var festImport uint64
	for _, r := range imports.Imports {
		if r.Event == "FEST" {
			festImport = r.ID
		}
	}
	var wd gate.ImportRecord
	api.must(200, "POST", fmt.Sprintf("/v1/imports/%d/withdraw", festImport), adminSecret, nil).decode(t, &wd)
	if wd.WithdrawnBy != "ops" {
		t.Errorf("withdraw = %+v", wd)
	}
	api.must(409, "POST", fmt.Sprintf("/v1/imports/%d/withdraw", festImport), adminSecret, nil)

	// Reload: new tokens at once, the old admin refused.
	next := testConfig(t, "")
	next.DataDir = d.Config.DataDir
	next.Tokens = next.Tokens[1:]
	next.Tokens = append(next.Tokens, TokenConfig{Name: "ops2", Role: "admin", Secret: "e2e-second-admin-000000"})
	next.Events = []EventConfig{{ID: "CONFIG-EVENT", Name: "From the config"}}
	if err := d.Reload(context.Background(), next); err != nil {
		t.Fatal(err)
	}
	api.must(401, "GET", "/v1/events", adminSecret, nil)
	api.must(200, "GET", "/v1/events", "e2e-second-admin-000000", nil).decode(t, &evs)
	if len(evs.Events) != 5 {
		t.Errorf("the config's event was not applied: %+v", evs)
	}
	bad := testConfig(t, "")
	bad.Tokens[0].Role = "root"
	if err := d.Reload(context.Background(), bad); err == nil {
		t.Error("a bad config was accepted on reload")
	}
	api.must(200, "GET", "/v1/events", "e2e-second-admin-000000", nil)
}
