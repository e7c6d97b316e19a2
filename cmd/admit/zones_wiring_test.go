package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/httpapi"
)

const (
	supervisorSecret = "e2e-supervisor-secret-00"
	supervisorCard   = "SUPERCARD-7f3a9c2e51" // its SHA-256 is configured below
)

// zonesConfig is testConfig with a zone, lanes into and out of it, a
// supervisor, a supervisor card and an event with a rule.
func zonesConfig(t *testing.T, capacity int) *Config {
	return testConfig(t, fmt.Sprintf(`
[[tokens]]
name = "kim"
role = "supervisor"
secret = "%s"

[[zones]]
id = "north-stand"
name = "North stand"
capacity = %d

[[supervisor_cards]]
name = "card-kim"
sha256 = "f8ad307b83c602cf408fd60d676916b47374dc08938bbc72e83a773650dc8f1e"
reason = "checked at the door by the supervisor"

[[events]]
id = "MATCH-2026-12-05"
name = "Derby"
time_zone = "Europe/Zurich"
rule = '''{"!=": [{"var": "price_type"}, "BANNED"]}'''

[[lanes]]
id = "stand-1"
to = "north-stand"

[[lanes]]
id = "stand-exit"
direction = "out"
from = "north-stand"
to = "outside"
`, supervisorSecret, capacity))
}

func decision(t *testing.T, a answer) gate.Decision {
	t.Helper()
	var d gate.Decision
	a.decode(t, &d)
	return d
}

// TestZonesRulesAndOverridesEndToEnd: a configured zone, rule, supervisor
// and card, through the API of a running appliance and across a restart.
func TestZonesRulesAndOverridesEndToEnd(t *testing.T) {
	c := zonesConfig(t, 2)
	d, base := startDaemon(t, c)
	api := apiClient{t: t, base: base}
	ev := "MATCH-2026-12-05"
	api.must(200, "POST", "/v1/imports?provider=box-office&create_provider=true&event="+ev+"&price_type=ADU", adminSecret, "A1\nA2\nA3\n")
	api.must(200, "POST", "/v1/imports?provider=box-office&create_provider=true&event="+ev+"&price_type=BANNED", adminSecret, "B1\nB2\n")
	scan := func(barcode, lane string) gate.Decision {
		t.Helper()
		return decision(t, api.must(200, "POST", "/v1/scan", scannerSecret, scanBody(barcode, lane)))
	}
	for _, bc := range []string{"A1", "A2"} {
		if d := scan(bc, "stand-1"); d.Reason != gate.ReasonOK {
			t.Fatalf("%s: %+v", bc, d)
		}
	}
	if d := scan("A3", "stand-1"); d.Reason != gate.ReasonZoneFull || !strings.Contains(d.Detail, "North stand is full") {
		t.Fatalf("A3: %+v", d)
	}
	why := map[string]string{"reason": "a season ticket holder, checked by hand"}
	for _, secret := range []string{scannerSecret, adminSecret, viewerSecret} {
		api.must(403, "POST", "/v1/lanes/stand-1/override", secret, why)
	}
	if a := api.must(409, "POST", "/v1/lanes/stand-1/override", supervisorSecret, why); !strings.Contains(string(a.body), "full") {
		t.Fatalf("an override into a full zone: %s", a.body)
	}
	if d := scan("A1", "stand-exit"); d.Reason != gate.ReasonExit {
		t.Fatalf("exit: %+v", d)
	}
	if d := scan("A3", "stand-1"); d.Reason != gate.ReasonOK {
		t.Fatalf("A3 after an exit: %+v", d)
	}
	// The event's rule, and a supervisor's override of its refusal.
	refused := scan("B1", "south-1")
	if refused.Reason != gate.ReasonRule || !strings.Contains(refused.Detail, `price_type != "BANNED" was false`) {
		t.Fatalf("B1: %+v", refused)
	}
	o := decision(t, api.must(200, "POST", "/v1/lanes/south-1/override", supervisorSecret, why))
	if o.Reason != gate.ReasonOverride || o.Barcode != "B1" || o.Override.By != "kim" || o.Override.Refused != gate.ReasonRule ||
		o.Override.RefusedSeq != refused.Seq {
		t.Fatalf("override %+v", o)
	}
	api.must(409, "POST", "/v1/lanes/south-1/override", supervisorSecret, why)
	// A supervisor card scanned after a refusal.
	if d := scan("B2", "south-1"); d.Reason != gate.ReasonRule {
		t.Fatalf("B2: %+v", d)
	}
	card := scan(supervisorCard, "south-1")
	if card.Reason != gate.ReasonOverride || card.Barcode != "B2" || card.Override.By != "card-kim" {
		t.Fatalf("card %+v", card)
	}

	var zones httpapi.ZonesResponse
	api.must(200, "GET", "/v1/zones", viewerSecret, nil).decode(t, &zones)
	if len(zones.Zones) != 1 || zones.Zones[0].Occupancy != 2 || zones.Zones[0].Capacity != 2 || !zones.Zones[0].Full {
		t.Fatalf("zones %+v", zones)
	}
	metrics := string(api.must(200, "GET", "/metrics", "", nil).body)
	for _, want := range []string{`admit_zone_occupancy{zone="north-stand"} 2`, `admit_zone_capacity{zone="north-stand"} 2`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	var rep httpapi.ReportResponse
	api.must(200, "GET", "/v1/report?event="+ev, viewerSecret, nil).decode(t, &rep)
	if rep.Denials[gate.ReasonRule] != 2 || rep.Denials[gate.ReasonZoneFull] != 1 || len(rep.Overrides) != 2 || len(rep.Zones) != 1 ||
		len(rep.Zones[0].Series) == 0 {
		t.Fatalf("report denials %v, overrides %+v, zones %+v", rep.Denials, rep.Overrides, rep.Zones)
	}
	for _, e := range rep.Overrides {
		if strings.Contains(e.Decision.Barcode, supervisorCard) {
			t.Fatalf("the card's barcode is in the report: %+v", e)
		}
	}

	// A restart keeps the occupancy and the overrides.
	if err := d.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, base = startDaemon(t, c)
	api = apiClient{t: t, base: base}
	api.must(200, "GET", "/v1/zones", viewerSecret, nil).decode(t, &zones)
	if zones.Zones[0].Occupancy != 2 {
		t.Fatalf("after a restart: %+v", zones)
	}
	if d := decision(t, api.must(200, "POST", "/v1/scan", scannerSecret, scanBody("A2", "stand-1"))); d.Reason != gate.ReasonAlreadyUsed {
		t.Fatalf("A2 again: %+v", d)
	}
	api.must(200, "GET", "/v1/report?event="+ev, viewerSecret, nil).decode(t, &rep)
	if len(rep.Overrides) != 2 {
		t.Fatalf("overrides after a restart: %+v", rep.Overrides)
	}
}

// TestOverrideOpensTheSimulatedTurnstile: an override at a turnstile lane
// goes through the lane, whose relay opens.
func TestOverrideOpensTheSimulatedTurnstile(t *testing.T) {
	c := testConfig(t, `
[[tokens]]
name = "kim"
role = "supervisor"
secret = "`+supervisorSecret+`"

[[lanes]]
id = "turn-1"
[lanes.relay]
driver = "sim"
unlock_time = "1m"
walk_after = "-1s"
`)
	_, base := startDaemon(t, c)
	api := apiClient{t: t, base: base}
	api.must(201, "PUT", "/v1/events/E", adminSecret, map[string]any{"name": "E"})
	if d := decision(t, api.must(200, "POST", "/v1/scan", scannerSecret, scanBody("NOBODY", "turn-1"))); d.Reason != gate.ReasonUnknown {
		t.Fatalf("%+v", d)
	}
	o := decision(t, api.must(200, "POST", "/v1/lanes/turn-1/override", supervisorSecret, map[string]string{"reason": "box office sale, not imported yet"}))
	if !o.Admit || o.Reason != gate.ReasonOverride {
		t.Fatalf("%+v", o)
	}
	var lanes httpapi.LanesResponse
	api.must(200, "GET", "/v1/lanes", viewerSecret, nil).decode(t, &lanes)
	for _, l := range lanes.Lanes {
		if l.ID == "turn-1" && (l.State != "unlocked" || l.Last == nil || l.Last.Reason != gate.ReasonOverride) {
			t.Fatalf("the turnstile after the override: %+v", l)
		}
	}
	// It is open for the guest: a second override waits.
	api.must(409, "POST", "/v1/lanes/turn-1/override", supervisorSecret, map[string]string{"reason": "again"})
}

// TestConfigRefusesBadRulesAndZones: check-config's rules say where a
// rule's fault is and what is wrong with zones and cards.
func TestConfigRefusesBadRulesAndZones(t *testing.T) {
	for _, c := range []struct{ extra, want string }{
		{"[[events]]\nid = \"E\"\nname = \"E\"\nrule = '''{\"<\": [{\"var\": \"entries_todya\"}, 1]}'''\n",
			`events[0].rule: unknown variable "entries_todya" (did you mean "entries_today"?)`},
		{"[[events]]\nid = \"E\"\nname = \"E\"\nrule = '''{\"and\": [true, {\"<\": [1]}]}'''\n", `"<" takes 2 or 3 arguments, not 1 (at byte 21, $['and'][1]['<'])`},
		{"[[events]]\nid = \"E\"\nname = \"E\"\ntime_zone = \"Mars/Olympus\"\n", "time_zone"},
		{"[[lanes]]\nid = \"x-1\"\nrule = '''{\"var\": \"nope\"}'''\n", "lanes[3].rule: unknown variable"},
		{"[[lanes]]\nid = \"x-1\"\nto = \"nowhere\"\n", `lanes[3].to: "nowhere" is not declared in [[zones]]`},
		{"[[zones]]\nid = \"outside\"\n", "reserved"},
		{"[[zones]]\nid = \"z\"\nexit_all_at = \"25:00\"\n", "exit_all_at"},
		{"[[zones]]\nid = \"z\"\ncapacity = -1\n", "capacity"},
		{"[[supervisor_cards]]\nname = \"kim\"\nsha256 = \"abc\"\n", "64 hex digits"},
		{"[[tokens]]\nname = \"sup\"\nrole = \"supervisor\"\nsecret = \"" + supervisorSecret + "\"\nlanes = [\"nope\"]\n", `tokens[0].lanes[0]: "nope" is not among the configured lanes`},
	} {
		cfg, err := ParseConfig(strings.NewReader("data_dir = \"/tmp/x\"\n[[lanes]]\nid = \"a\"\n[[lanes]]\nid = \"b\"\n[[lanes]]\nid = \"c\"\n" + c.extra))
		if err != nil {
			t.Fatalf("%q: %v", c.extra, err)
		}
		err = cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v\nwant %q", c.extra, err, c.want)
		}
	}
}

// TestReloadChangesZones: SIGHUP's reload takes a new capacity and new
// cards at once; the occupancy stays.
func TestReloadChangesZones(t *testing.T) {
	c := zonesConfig(t, 1)
	d, base := startDaemon(t, c)
	api := apiClient{t: t, base: base}
	api.must(200, "POST", "/v1/imports?provider=box-office&create_provider=true&event=MATCH-2026-12-05&price_type=ADU", adminSecret, "R1\nR2\n")
	api.must(200, "POST", "/v1/scan", scannerSecret, scanBody("R1", "stand-1"))
	if d := decision(t, api.must(200, "POST", "/v1/scan", scannerSecret, scanBody("R2", "stand-1"))); d.Reason != gate.ReasonZoneFull {
		t.Fatalf("%+v", d)
	}
	c2 := zonesConfig(t, 5)
	c2.DataDir = c.DataDir
	c2.HTTP.Listen = c.HTTP.Listen
	if err := d.Reload(context.Background(), c2); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if d := decision(t, api.must(200, "POST", "/v1/scan", scannerSecret, scanBody("R2", "stand-1"))); d.Reason == gate.ReasonOK {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("after the reload: %+v", d)
		}
	}
	var zones httpapi.ZonesResponse
	api.must(200, "GET", "/v1/zones", viewerSecret, nil).decode(t, &zones)
	if zones.Zones[0].Capacity != 5 || zones.Zones[0].Occupancy != 2 {
		t.Fatalf("%+v", zones)
	}
}
