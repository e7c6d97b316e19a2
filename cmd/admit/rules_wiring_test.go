package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/index"
)

// Entry rules through the index, as the daemon wires them: package rules
// compiles, the index fills the facts and decides, lanes come from
// [[lanes]] tables. One table per variable of pretix's check-in rules and
// admit's own, with times around day boundaries in the event's time zone.

// ruleLanes are the lanes of the rule tests, as a configuration has them.
var ruleLanes = map[string]LaneConfig{
	"in":     {ID: "north-1", To: "north-stand"},
	"out":    {ID: "exit-1", Direction: "out", From: "north-stand", To: gate.Outside},
	"vip":    {ID: "vip-1", To: "vip-lounge"},
	"kids":   {ID: "kids-1", To: "north-stand", Rule: `{"==": [{"var": "price_type"}, "CHILD"]}`},
	"nozone": {ID: "door-1"},
}

type ruleStep struct {
	barcode string
	lane    string // a key of ruleLanes; "" is "in"
	at      string // RFC 3339
	want    gate.Reason
}

type ruleCase struct {
	variable string
	rule     string
	event    gate.Event // ID, Rule and Name are filled in
	steps    []ruleStep
}

// ruleTickets are every case's tickets: barcode -> price type, product,
// provider.
var ruleTickets = map[string][3]string{
	"ADU": {"ADU", "DAY", "secutix-main"}, "ADU2": {"ADU", "DAY", "secutix-main"}, "CHILD": {"CHILD", "DAY", "secutix-main"},
	"VIP": {"VIP", "DAY", "secutix-main"}, "WEEK": {"ADU", "WEEK", "secutix-main"}, "RESALE": {"ADU", "DAY", "resale"},
}

var ruleCases = []ruleCase{
	{variable: "product", rule: `{"inList": [{"var": "product"}, {"objectList": [{"lookup": ["product", "DAY", "Day pass"]}]}]}`,
		steps: []ruleStep{{"ADU", "", "2026-12-05T18:00:00Z", gate.ReasonOK}, {"WEEK", "", "2026-12-05T18:00:00Z", gate.ReasonRule}}},
	{variable: "variation", rule: `{"==": [{"var": "variation"}, "large"]}`, // admit's tickets have none: ""
		steps: []ruleStep{{"ADU", "", "2026-12-05T18:00:00Z", gate.ReasonRule}}},
	{variable: "gate", rule: `{"if": [{"==": [{"var": "price_type"}, "VIP"]}, {"in": [{"var": "gate"}, ["vip-1"]]}, true]}`,
		steps: []ruleStep{{"VIP", "", "2026-12-05T18:00:00Z", gate.ReasonRule}, {"VIP", "vip", "2026-12-05T18:01:00Z", gate.ReasonOK},
			{"ADU", "", "2026-12-05T18:02:00Z", gate.ReasonOK}}},
	{variable: "now", rule: `{"isBefore": [{"var": "now"}, {"buildTime": ["custom", "2026-12-05T20:00:00+01:00"]}]}`,
		steps: []ruleStep{{"ADU", "", "2026-12-05T18:59:59Z", gate.ReasonOK}, {"ADU2", "", "2026-12-05T19:00:00Z", gate.ReasonRule}}},
	{variable: "now_isoweekday (Saturday in Zurich)", rule: `{"==": [{"var": "now_isoweekday"}, 6]}`,
		event: gate.Event{TimeZone: "Europe/Zurich", Entries: 5},
		steps: []ruleStep{{"ADU", "", "2026-12-04T22:59:59Z", gate.ReasonRule}, {"ADU", "", "2026-12-04T23:00:00Z", gate.ReasonOK},
			{"ADU", "", "2026-12-05T22:59:59Z", gate.ReasonOK}, {"ADU", "", "2026-12-05T23:00:00Z", gate.ReasonRule}}},
	{variable: "entries_number", rule: `{"<": [{"var": "entries_number"}, 2]}`, event: gate.Event{Entries: 5},
		steps: []ruleStep{{"ADU", "", "2026-12-05T18:00:00Z", gate.ReasonOK}, {"ADU", "", "2026-12-05T18:01:00Z", gate.ReasonOK},
			{"ADU", "", "2026-12-05T18:02:00Z", gate.ReasonRule}}},
	{variable: "entries_today (New York's midnight)", rule: `{"<": [{"var": "entries_today"}, 1]}`,
		event: gate.Event{TimeZone: "America/New_York", Entries: 10},
		steps: []ruleStep{{"ADU", "", "2026-12-06T04:30:00Z", gate.ReasonOK}, {"ADU", "", "2026-12-06T04:59:59Z", gate.ReasonRule},
			{"ADU", "", "2026-12-06T05:00:00Z", gate.ReasonOK}, {"ADU", "", "2026-12-06T06:00:00Z", gate.ReasonRule}}},
	{variable: "entries_today (the same scans, UTC's midnight)", rule: `{"<": [{"var": "entries_today"}, 1]}`,
		event: gate.Event{TimeZone: "UTC", Entries: 10},
		steps: []ruleStep{{"ADU", "", "2026-12-06T04:30:00Z", gate.ReasonOK}, {"ADU", "", "2026-12-06T05:00:00Z", gate.ReasonRule},
			{"ADU", "", "2026-12-07T00:00:00Z", gate.ReasonOK}}},
	{variable: "entries_today (Zurich, the day the clocks go back)", rule: `{"<": [{"var": "entries_today"}, 1]}`,
		event: gate.Event{TimeZone: "Europe/Zurich", Entries: 10},
		steps: []ruleStep{{"ADU", "", "2026-10-24T22:30:00Z", gate.ReasonOK}, // 00:30 on the 25th
			{"ADU", "", "2026-10-25T22:59:59Z", gate.ReasonRule}, // 23:59:59 the same (25-hour) day
			{"ADU", "", "2026-10-25T23:00:00Z", gate.ReasonOK}}}, // the 26th
	{variable: "entries_days", rule: `{"or": [{"<": [{"var": "entries_days"}, 2]}, {">": [{"var": "entries_today"}, 0]}]}`,
		event: gate.Event{TimeZone: "Europe/Zurich", Entries: 10},
		steps: []ruleStep{{"ADU", "", "2026-12-05T10:00:00Z", gate.ReasonOK}, {"ADU", "", "2026-12-05T12:00:00Z", gate.ReasonOK},
			{"ADU", "", "2026-12-06T10:00:00Z", gate.ReasonOK}, {"ADU", "", "2026-12-07T10:00:00Z", gate.ReasonRule}}},
	{variable: "entries_since", rule: `{"<": [{"entries_since": [{"buildTime": ["customtime", "06:00"]}]}, 1]}`,
		event: gate.Event{TimeZone: "Europe/Zurich", Entries: 10},
		steps: []ruleStep{{"ADU", "", "2026-12-05T04:30:00Z", gate.ReasonOK}, // 05:30 in Zurich: before today's 06:00
			{"ADU", "", "2026-12-05T05:30:00Z", gate.ReasonOK}, {"ADU", "", "2026-12-05T06:00:00Z", gate.ReasonRule}}},
	{variable: "entries_before", rule: `{"<": [{"entries_before": [{"buildTime": ["custom", "2026-12-05T12:00:00Z"]}]}, 2]}`,
		event: gate.Event{Entries: 10},
		steps: []ruleStep{{"ADU", "", "2026-12-05T10:00:00Z", gate.ReasonOK}, {"ADU", "", "2026-12-05T11:00:00Z", gate.ReasonOK},
			{"ADU", "", "2026-12-05T13:00:00Z", gate.ReasonRule}}},
	{variable: "entries_days_since", rule: `{"<": [{"entries_days_since": [{"buildTime": ["date_from"]}]}, 2]}`,
		event: gate.Event{TimeZone: "Europe/Zurich", Entries: 10, StartsAt: time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)},
		steps: []ruleStep{{"ADU", "", "2026-12-05T10:00:00Z", gate.ReasonOK}, {"ADU", "", "2026-12-06T10:00:00Z", gate.ReasonOK},
			{"ADU", "", "2026-12-07T10:00:00Z", gate.ReasonRule}}},
	{variable: "minutes_since_last_entry", rule: `{"or": [{"==": [{"var": "minutes_since_last_entry"}, -1]}, {">=": [{"var": "minutes_since_last_entry"}, 30]}]}`,
		event: gate.Event{Reentry: true},
		steps: []ruleStep{{"ADU", "", "2026-12-05T18:00:00Z", gate.ReasonOK}, {"ADU", "out", "2026-12-05T18:05:00Z", gate.ReasonExit},
			{"ADU", "", "2026-12-05T18:29:59Z", gate.ReasonRule}, {"ADU", "", "2026-12-05T18:30:00Z", gate.ReasonReentry}}},
	{variable: "minutes_since_first_entry", rule: `{"or": [{"==": [{"var": "minutes_since_first_entry"}, -1]}, {"<": [{"var": "minutes_since_first_entry"}, 120]}]}`,
		event: gate.Event{Entries: 10},
		steps: []ruleStep{{"ADU", "", "2026-12-05T18:00:00Z", gate.ReasonOK}, {"ADU", "", "2026-12-05T19:59:59Z", gate.ReasonOK},
			{"ADU", "", "2026-12-05T20:00:00Z", gate.ReasonRule}}},
	{variable: "buildTime date_admission with a tolerance", rule: `{"isAfter": [{"var": "now"}, {"buildTime": ["date_admission"]}, 10]}`,
		event: gate.Event{StartsAt: time.Date(2026, 12, 5, 19, 0, 0, 0, time.UTC)}, // no opens_at: date_admission is the start
		steps: []ruleStep{{"ADU", "", "2026-12-05T18:50:00Z", gate.ReasonRule}, {"ADU", "", "2026-12-05T18:50:01Z", gate.ReasonOK}}},
	{variable: "price_type (children before 18:00 in Zurich)",
		rule:  `{"or": [{"!=": [{"var": "price_type"}, "CHILD"]}, {"isBefore": [{"var": "now"}, {"buildTime": ["customtime", "18:00"]}]}]}`,
		event: gate.Event{TimeZone: "Europe/Zurich"},
		steps: []ruleStep{{"CHILD", "", "2026-12-05T17:00:00Z", gate.ReasonRule}, {"ADU", "", "2026-12-05T17:00:00Z", gate.ReasonOK},
			{"VIP", "", "2026-12-05T16:59:59Z", gate.ReasonOK}}},
	{variable: "provider", rule: `{"!=": [{"var": "provider"}, "resale"]}`,
		steps: []ruleStep{{"RESALE", "", "2026-12-05T18:00:00Z", gate.ReasonRule}, {"ADU", "", "2026-12-05T18:00:00Z", gate.ReasonOK}}},
	{variable: "zone", rule: `{"if": [{"==": [{"var": "zone"}, "vip-lounge"]}, {"==": [{"var": "price_type"}, "VIP"]}, {"!=": [{"var": "zone"}, ""]}]}`,
		steps: []ruleStep{{"ADU", "vip", "2026-12-05T18:00:00Z", gate.ReasonRule}, {"ADU", "nozone", "2026-12-05T18:00:00Z", gate.ReasonRule},
			{"ADU", "", "2026-12-05T18:01:00Z", gate.ReasonOK}, {"VIP", "vip", "2026-12-05T18:00:00Z", gate.ReasonOK}}},
	{variable: "direction (exits are never refused)", rule: `{"==": [{"var": "direction"}, "in"]}`, event: gate.Event{Reentry: true},
		steps: []ruleStep{{"ADU", "", "2026-12-05T18:00:00Z", gate.ReasonOK}, {"ADU", "out", "2026-12-05T18:10:00Z", gate.ReasonExit},
			{"ADU", "", "2026-12-05T18:20:00Z", gate.ReasonReentry}}},
	{variable: "a lane's rule (kids-1: children only) with the event's", rule: `{"!=": [{"var": "provider"}, "resale"]}`,
		steps: []ruleStep{{"ADU", "kids", "2026-12-05T18:00:00Z", gate.ReasonRule}, {"CHILD", "kids", "2026-12-05T18:00:00Z", gate.ReasonOK},
			{"ADU", "", "2026-12-05T18:01:00Z", gate.ReasonOK}}},
}

// openRuleIndex opens a store in memory as the daemon opens one: package
// rules compiles, the venue is in Zurich, zones as configured.
func openRuleIndex(t *testing.T) *index.Index {
	t.Helper()
	c := &Config{Timezone: "Europe/Zurich"}
	o := c.indexOptions(testLogger())
	o.FS, o.DisableWALWarmup, o.DisableCacheWarmup, o.Appliance = vfs.NewMem(), true, true, "test"
	o.MemTableSize, o.CacheSize = 4<<20, 32<<20
	ix, err := index.Open("data", o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ix.Close() })
	if err := ix.SetZones([]gate.Zone{{ID: "north-stand"}, {ID: "vip-lounge"}}); err != nil {
		t.Fatal(err)
	}
	return ix
}

func TestPretixVariablesThroughTheIndex(t *testing.T) {
	ctx := context.Background()
	for _, rc := range ruleCases {
		t.Run(rc.variable, func(t *testing.T) {
			ix := openRuleIndex(t)
			e := rc.event
			e.ID, e.Name, e.Rule = "fest", "Fest", gate.RuleSource(rc.rule)
			if _, err := ix.PutEvent(ctx, e); err != nil {
				t.Fatalf("put the event: %v", err)
			}
			for bc, f := range ruleTickets {
				tk := gate.Ticket{Barcode: bc, Provider: f[2], Events: []string{"fest"}, State: gate.StateValid,
					PriceType: gate.Code{Code: f[0]}, Product: gate.Code{Code: f[1]}}
				if _, err := ix.Load(ctx, gate.ImportRequest{Provider: f[2]}, gate.Lines(tk)); err != nil {
					t.Fatal(err)
				}
			}
			for i, st := range rc.steps {
				key := st.lane
				if key == "" {
					key = "in"
				}
				lc := ruleLanes[key]
				at, err := time.Parse(time.RFC3339, st.at)
				if err != nil {
					t.Fatal(err)
				}
				p := lc.policy()
				d := ix.Scan(ctx, p.Scan(st.barcode, at))
				if d.Reason != st.want {
					t.Fatalf("step %d: %s at %s through %s: %s (%s), want %s", i+1, st.barcode, st.at, lc.ID, d.Reason, d.Detail, st.want)
				}
				if d.Reason == gate.ReasonRule && !strings.Contains(d.Detail, "rule: ") {
					t.Fatalf("step %d: a rule's refusal without its detail: %+v", i+1, d)
				}
			}
		})
	}
}

// FuzzRuleThroughTheAPI feeds rules to PUT /v1/events/{id} of a running
// appliance, and checks a ticket against each rule that is taken: every
// answer is 200/201, 400 (with words) or 413 (over the body limit), in
// bounded time, never a 500 or a hang, whatever the nesting or size.
func FuzzRuleThroughTheAPI(f *testing.F) {
	for _, s := range []string{
		`{"<": [{"var": "entries_today"}, 1]}`,
		`{"and": [{"inList": [{"var": "product"}, {"objectList": [{"lookup": ["product", "DAY", "Day"]}]}]}, {"isAfter": [{"var": "now"}, {"buildTime": ["date_admission"]}, 10]}]}`,
		`{"<": [{"var": "entries_todya"}, 1]}`,
		`{"reduce": [{"var": "x"}, {"merge": [{"var": "accumulator"}, {"var": "accumulator"}]}, [1]]}`,
		`{"reduce": [[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30], {"merge": [{"var": "accumulator"}, {"var": "accumulator"}]}, [1]]}`,
		strings.Repeat(`{"!": [`, 40) + "true" + strings.Repeat("]}", 40),
		strings.Repeat(`{"!": [`, 70) + "true" + strings.Repeat("]}", 70),
		`{"buildTime": ["custom", "2026-12-05T18:00:00"]}`,
		`{"isBefore": [{"var": "now"}, 5]}`,
		`null`, `true`, `"x"`, `[]`, `{}`, `{"var": ""}`, `{"log": [1]}`, `{`, ``,
	} {
		f.Add(s)
	}
	c := testConfig(f, "[[events]]\nid = \"FZ\"\nname = \"Fuzz\"\n")
	_, base := startDaemon(f, c)
	setup := apiClient{t: f, base: base}
	setup.must(200, "POST", "/v1/imports?provider=box-office&create_provider=true&event=FZ&price_type=ADU", adminSecret, "FZ-1\n")
	f.Fuzz(func(t *testing.T, rule string) {
		api := apiClient{t: t, base: base}
		start := time.Now()
		a := api.do("PUT", "/v1/events/FZ", adminSecret, `{"name":"Fuzz","rule":`+rule+`}`)
		took := time.Since(start)
		switch a.status {
		case 200, 201:
			start = time.Now()
			chk := api.do("POST", "/v1/check", adminSecret, scanBody("FZ-1", "south-1"))
			if chk.status != 200 {
				t.Fatalf("check with rule %q: %d %s", rule, chk.status, chk.body)
			}
			took = max(took, time.Since(start))
		case 400:
			if !strings.Contains(string(a.body), `"invalid"`) {
				t.Fatalf("rule %q: 400 without its words: %s", rule, a.body)
			}
		case 413:
		default:
			t.Fatalf("rule %q: %d %s", rule, a.status, a.body)
		}
		if took > 5*time.Second {
			t.Fatalf("rule %q took %v", rule, took)
		}
	})
}
