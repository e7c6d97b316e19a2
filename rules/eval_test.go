package rules

import (
	"strings"
	"testing"
	"time"

	"github.com/admitgate/admit/gate"
)

// The venue rules of the issue, mixing pretix's variables with admit's own.
const (
	dayPassOncePerDay = `{"or": [
  {"!=": [{"var": "product"}, "DAY"]},
  {"<": [{"var": "entries_today"}, 1]}
]}`
	reentryAfter30 = `{"or": [
  {"==": [{"var": "minutes_since_last_entry"}, -1]},
  {">=": [{"var": "minutes_since_last_entry"}, 30]}
]}`
	childrenBefore18 = `{"or": [
  {"!=": [{"var": "price_type"}, "CHILD"]},
  {"isBefore": [{"var": "now"}, {"buildTime": ["customtime", "18:00"]}]}
]}`
	vipThroughVIPLane = `{"if": [
  {"==": [{"var": "price_type"}, "VIP"]}, {"in": [{"var": "gate"}, ["vip-1", "vip-2"]]},
  true
]}`
	// A festival ticket valid on any three days.
	anyThreeDays = `{"or": [{"<": [{"var": "entries_days"}, 3]}, {">": [{"var": "entries_today"}, 0]}]}`
	// Goldstar tickets only into the family zone, and only on the way in.
	goldstarFamily = `{"or": [
  {"!=": [{"var": "provider"}, "goldstar"]},
  {"and": [{"==": [{"var": "zone"}, "family"]}, {"==": [{"var": "direction"}, "in"]}]}
]}`
)

func TestVenueRules(t *testing.T) {
	berlin := zone(t, "Europe/Berlin")
	day := time.Date(2026, 6, 7, 0, 0, 0, 0, berlin)
	base := Facts{Product: "DAY", PriceType: "ADU", Provider: "secutix-main", At: day.Add(15 * time.Hour),
		Lane: "north-1", Direction: gate.In, Zone: "north-stand", Location: berlin,
		DateFrom: day.Add(18 * time.Hour), DateAdmission: day.Add(17 * time.Hour), DateTo: day.Add(23 * time.Hour)}
	type change func(f *Facts)
	tests := []struct {
		name   string
		rule   string
		change change
		ok     bool
		detail string
	}{
		{"day pass, first entry today", dayPassOncePerDay, func(f *Facts) {
			f.Entries = []time.Time{day.Add(-24 * time.Hour)}
		}, true, ""},
		{"day pass, second entry today", dayPassOncePerDay, func(f *Facts) {
			f.Entries = []time.Time{day.Add(-24 * time.Hour), day.Add(9 * time.Hour)}
		}, false, `none held: product != "DAY" was false (product = "DAY"); entries_today < 1 was false (entries_today = 1)`},
		{"day pass, after midnight again", dayPassOncePerDay, func(f *Facts) {
			f.Entries = []time.Time{day.Add(-30 * time.Minute)}
			f.At = day.Add(30 * time.Minute)
		}, true, ""},
		{"another product enters twice", dayPassOncePerDay, func(f *Facts) {
			f.Product = "SEASON"
			f.Entries = []time.Time{day.Add(9 * time.Hour), day.Add(10 * time.Hour)}
		}, true, ""},

		{"re-entry, never entered", reentryAfter30, nil, true, ""},
		{"re-entry after 29 minutes", reentryAfter30, func(f *Facts) {
			f.Entries = []time.Time{f.At.Add(-29*time.Minute - 59*time.Second)}
		}, false, "none held: minutes_since_last_entry == -1 was false (minutes_since_last_entry = 29); " +
			"minutes_since_last_entry >= 30 was false (minutes_since_last_entry = 29)"},
		{"re-entry after 30 minutes", reentryAfter30, func(f *Facts) {
			f.Entries = []time.Time{f.At.Add(-30 * time.Minute)}
		}, true, ""},

		{"child at 17:59", childrenBefore18, func(f *Facts) {
			f.PriceType, f.At = "CHILD", day.Add(17*time.Hour+59*time.Minute)
		}, true, ""},
		{"child at 18:00", childrenBefore18, func(f *Facts) {
			f.PriceType, f.At = "CHILD", day.Add(18*time.Hour)
		}, false, `none held: price_type != "CHILD" was false (price_type = "CHILD"); ` +
			`now is before today 18:00 was false (now = 2026-06-07T18:00:00+02:00, today 18:00 = 2026-06-07T18:00:00+02:00)`},
		{"adult at 18:00", childrenBefore18, func(f *Facts) {
			f.At = day.Add(18 * time.Hour)
		}, true, ""},

		{"VIP through the VIP lane", vipThroughVIPLane, func(f *Facts) {
			f.PriceType, f.Lane = "VIP", "vip-2"
		}, true, ""},
		{"VIP through another lane", vipThroughVIPLane, func(f *Facts) {
			f.PriceType = "VIP"
		}, false, `gate in ["vip-1", "vip-2"] was false (gate = "north-1")`},
		{"adult through any lane", vipThroughVIPLane, nil, true, ""},

		{"goldstar into the family zone", goldstarFamily, func(f *Facts) {
			f.Provider, f.Zone = "goldstar", "family"
		}, true, ""},
		{"goldstar into the north stand", goldstarFamily, func(f *Facts) {
			f.Provider = "goldstar"
		}, false, `none held: provider != "goldstar" was false (provider = "goldstar"); zone == "family" was false (zone = "north-stand")`},
		{"goldstar out of the family zone", goldstarFamily, func(f *Facts) {
			f.Provider, f.Zone, f.Direction = "goldstar", "family", gate.Out
		}, false, `none held: provider != "goldstar" was false (provider = "goldstar"); direction == "in" was false (direction = "out")`},

		{"festival, third day", anyThreeDays, func(f *Facts) {
			f.Entries = []time.Time{day.Add(-48*time.Hour + 10*time.Hour), day.Add(-24*time.Hour + 10*time.Hour)}
		}, true, ""},
		{"festival, back in on the third day", anyThreeDays, func(f *Facts) {
			f.Entries = []time.Time{day.Add(-48*time.Hour + 10*time.Hour), day.Add(-24*time.Hour + 10*time.Hour), day.Add(10 * time.Hour)}
		}, true, ""},
		{"festival, a fourth day", anyThreeDays, func(f *Facts) {
			f.Entries = []time.Time{day.Add(-72*time.Hour + 10*time.Hour), day.Add(-48*time.Hour + 10*time.Hour), day.Add(-24*time.Hour + 10*time.Hour)}
		}, false, "none held: entries_days < 3 was false (entries_days = 3); entries_today > 0 was false (entries_today = 0)"},
		{"typical: in the window", typicalRule, func(f *Facts) {
			f.At = day.Add(16*time.Hour + 51*time.Minute)
		}, true, ""},
		{"typical: too early", typicalRule, func(f *Facts) {
			f.At = day.Add(16*time.Hour + 50*time.Minute)
		}, false, "now is after date_admission - 10 min was false (now = 2026-06-07T16:50:00+02:00, date_admission = 2026-06-07T17:00:00+02:00)"},
		{"typical: wrong product", typicalRule, func(f *Facts) {
			f.Product = "CONCERT"
		}, false, `product in ["DAY", "WEEKEND", "SEASON"] was false (product = "CONCERT")`},
		{"typical: closed", typicalRule, func(f *Facts) {
			f.At = day.Add(23 * time.Hour)
		}, false, "now is before date_to was false (now = 2026-06-07T23:00:00+02:00, date_to = 2026-06-07T23:00:00+02:00)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := base
			if tt.change != nil {
				tt.change(&f)
			}
			ok, detail := MustCompile(tt.rule).Eval(&f)
			if ok != tt.ok || detail != tt.detail {
				t.Errorf("Eval = %v, %q\nwant   %v, %q", ok, detail, tt.ok, tt.detail)
			}
		})
	}
}

func TestDetails(t *testing.T) {
	f := &Facts{Product: "DAY", At: time.Date(2026, 6, 7, 18, 0, 0, 0, time.UTC),
		Entries: []time.Time{time.Date(2026, 6, 7, 9, 0, 0, 0, time.UTC)}}
	tests := []struct{ rule, detail string }{
		{`{"<": [{"var": "entries_today"}, 1]}`, "entries_today < 1 was false (entries_today = 1)"},
		{`false`, "the rule is false"},
		{`{"==": [1, 2]}`, "the rule is false"},
		{`{"and": [{"var": "product"}, {"==": [1, 2]}]}`, `{"==":[1,2]} is always false`},
		{`{"and": [{"var": "product"}, 0]}`, `0 is always 0`},
		{`{"and": []}`, `an "and" without conditions is false`},
		{`{"or": []}`, `an "or" without conditions is false`},
		{`{"==": [{"reduce": [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [{"var": "accumulator"}, {"var": "current"}], 0]}, 1]}`,
			`reduce([1, 2, 3, 4, 5, 6, 7, 8, … 2 more], [var("accumulator"), var("current")], 0) == 1 was false`},
		{`{"!": {"==": [{"var": "product"}, "DAY"]}}`, `!(product == "DAY") was false (product = "DAY")`},
		{`{"var": "variation"}`, `variation was ""`},
		{`{"if": [{"var": "variation"}, true]}`, `no condition of the "if" held`},
		{`{"?:": [{"==": [{"var": "product"}, "DAY"]}, {"<": [{"var": "entries_number"}, 1]}, true]}`,
			"entries_number < 1 was false (entries_number = 1)"},
		{`{"and": [true, {"or": [{"<": [{"var": "entries_today"}, 1]}]}]}`, "entries_today < 1 was false (entries_today = 1)"},
		{`{"<": [{"entries_since": [{"buildTime": ["custom", "2026-06-07T00:00:00Z"]}]}, 1]}`,
			"entries_since(2026-06-07T00:00:00Z) < 1 was false (entries_since(2026-06-07T00:00:00Z) = 1)"},
		{`{"<=": [1, {"var": "entries_number"}, 0]}`, "1 <= entries_number <= 0 was false (entries_number = 1)"},
		{`{"==": [{"cat": [{"var": "product"}, "-", {"var": "gate"}]}, "x"]}`, `cat(product, "-", gate) == "x" was false (product = "DAY", gate = "")`},
		// Faults refuse and say so.
		{`{"isAfter": [{"var": "now"}, {"buildTime": ["date_from"]}]}`,
			"the rule asks for the event's date_from, and the event has no start (date_from)"},
		{`{"<": [{"var": "now"}, 5]}`, `"<" compares a time with a number; use isBefore or isAfter`},
		{`{"isAfter": [{"var": "now"}, {"var": "product"}]}`, `"isAfter" compares two times, and was given a string`},
		{`{">": [{"entries_since": [{"var": "product"}]}, 0]}`,
			`"entries_since" needs a time, such as {"buildTime": ["date_from"]}, and was given a string`},
		{`{"isAfter": [{"var": "now"}, {"var": "now"}, {"var": "product"}]}`, `the tolerance of "isAfter" is a number of minutes, not a string`},
		{`{"+": [{"var": "now"}, 1]}`, `"+" cannot use a time`},
	}
	for _, tt := range tests {
		ok, detail := MustCompile(tt.rule).Eval(f)
		if ok || detail != tt.detail {
			t.Errorf("%s: Eval = %v, %q\nwant false, %q", tt.rule, ok, detail, tt.detail)
		}
	}
}

func TestDetailIsBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"or": [`)
	for i := 0; i < 200; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`{"==": [{"var": "product"}, "NOT-THIS-ONE"]}`)
	}
	b.WriteString(`]}`)
	ok, detail := MustCompile(b.String()).Eval(&Facts{Product: "DAY"})
	if ok || len(detail) > MaxDetail || !strings.HasSuffix(detail, "…") {
		t.Errorf("Eval = %v, %d bytes: %q", ok, len(detail), detail)
	}
}

func TestNilRuleAndFacts(t *testing.T) {
	var r *Rule
	if ok, detail := r.Eval(&Facts{}); !ok || detail != "" {
		t.Errorf("a nil rule: %v %q", ok, detail)
	}
	if ok, detail := MustCompile(`true`).Eval(nil); ok || detail == "" {
		t.Errorf("nil facts: %v %q", ok, detail)
	}
}

// TestWorkIsBounded holds rules that would grow without limit (arrays or
// text doubling in a reduce, nested loops over long lists) to MaxWork: they
// refuse, having done a bounded amount of work.
func TestWorkIsBounded(t *testing.T) {
	long := "[" + strings.Repeat("1,", 999) + "1]"
	for _, rule := range []string{
		`{"reduce": [` + long + `, {"merge": [{"var": "accumulator"}, {"var": "accumulator"}]}, [1]]}`,
		`{"reduce": [` + long + `, {"cat": [{"var": "accumulator"}, {"var": "accumulator"}]}, "x"]}`,
		`{"some": [` + long + `, {"some": [` + long + `, {"some": [` + long + `, {"==": [{"var": ""}, 2]}]}]}]}`,
		`{"map": [` + long + `, {"map": [` + long + `, {"map": [` + long + `, {"var": ""}]}]}]}`,
		// Arrays that share their elements: cheap to build, costly to write out.
		`{"cat": {"map": [` + long + `, {"map": [` + long + `, {"map": [` + long + `, 1]}]}]}}`,
		`{"==": [{"reduce": [` + long + `, [{"var": "accumulator"}, {"var": "accumulator"}], 0]}, "x"]}`,
		`{"<": [{"reduce": [` + long + `, [{"var": "accumulator"}, {"var": "accumulator"}], 0]}, 1]}`,
		`{"in": ["x", {"missing": {"reduce": [` + long + `, [{"var": "accumulator"}, {"var": "accumulator"}], 0]}}]}`,
		`{"filter": [` + long + `, {"<": [{"var": ""}, {"reduce": [` + long + `, {"+": [{"var": "current"}, {"var": "accumulator"}]}, 0]}]}]}`,
	} {
		start := time.Now()
		r, err := Compile([]byte(rule))
		if err != nil { // a constant rule is worked out, and refused, when compiled
			if !strings.Contains(err.Error(), "more work than one evaluation may do") {
				t.Errorf("%.60s...: Compile: %v", rule, err)
			}
			t.Logf("%.40s... refused by Compile after %s", rule, time.Since(start))
			continue
		}
		ok, detail := r.Eval(&Facts{})
		if ok || !strings.Contains(detail, "more work than one evaluation may do") {
			t.Errorf("%.60s...: Eval = %v, %q", rule, ok, clip(detail, 100))
		}
		t.Logf("%.40s... refused by Eval after %s", rule, time.Since(start))
	}
	// Within the limit, array operations work.
	ok, detail := MustCompile(`{"==": [{"reduce": [` + long + `, {"+": [{"var": "current"}, {"var": "accumulator"}]}, 0]}, 1000]}`).Eval(&Facts{})
	if !ok {
		t.Errorf("a sum of 1000 ones: %s", detail)
	}
}

// TestArrayOperationsInRules uses map, filter, all, none, some, merge and
// missing over the facts, where var inside reads the element.
func TestArrayOperationsInRules(t *testing.T) {
	f := &Facts{Product: "DAY", Lane: "north-1", PriceType: "ADU"}
	for _, rule := range []string{
		`{"some": [["north-1", "north-2"], {"==": [{"var": ""}, "north-1"]}]}`,
		`{"none": [["VIP", "CHILD"], {"==": [{"var": ""}, "ADU"]}]}`,
		`{"all": [{"merge": [["a"], "b"]}, {"!=": [{"var": ""}, ""]}]}`,
		`{"==": [{"cat": {"missing": ["product", "variation", "zone"]}}, "variation,zone"]}`,
		`{"in": ["variation", {"missing": ["product", "variation", "zone"]}]}`,
		`{"!": {"missing": ["product", "gate"]}}`,
		`{"!": {"missing_some": [1, ["variation", "product"]]}}`,
		`{"in": [{"var": "product"}, {"map": [["DUE", "WEEK"], {"cat": [{"substr": [{"var": ""}, 0, 1]}, "AY"]}]}]}`,
		`{"==": [{"var": {"cat": ["price", "_", "type"]}}, "ADU"]}`,
		`{"==": [{"var": [{"cat": ["no", {"var": "zone"}, "such"]}, "fallback"]}, "fallback"]}`,
		`{"inList": [{"var": "product"}, {"merge": [["WEEK"], "DAY"]}]}`,
		`{"inList": ["3", {"objectList": [{"lookup": ["product", 3, "Three"]}]}]}`,
		`{"inList": [3, ["1", "3"]]}`,
		`{"!": {"in": [3, ["1", "3"]]}}`, // in is strict, as in JavaScript
		`{"in": [true, [1, true]]}`,
		`{"!": {"in": [false, [1, true]]}}`,
		`{"in": [{"var": [{"cat": ["no", {"var": "zone"}, "such"]}]}, ["a", null]]}`,
		`{"!": {"in": [1, [true]]}}`,
	} {
		if ok, detail := MustCompile(rule).Eval(f); !ok {
			t.Errorf("%s: %s", rule, detail)
		}
	}
}

// TestAdmitAllocatesNothing: the typical rule admitting allocates nothing,
// so evaluating it adds no garbage to each scan.
func TestAdmitAllocatesNothing(t *testing.T) {
	r := MustCompile(typicalRule)
	f := typicalFacts()
	if allocs := testing.AllocsPerRun(100, func() {
		if ok, detail := r.Eval(f); !ok {
			t.Fatal(detail)
		}
	}); allocs != 0 {
		t.Errorf("an admitting Eval allocates %v times", allocs)
	}
}

func TestEvalConcurrently(t *testing.T) {
	r := MustCompile(typicalRule)
	done := make(chan string)
	for g := 0; g < 4; g++ {
		go func() {
			f := typicalFacts()
			for i := 0; i < 200; i++ {
				if ok, detail := r.Eval(f); !ok {
					done <- detail
					return
				}
			}
			done <- ""
		}()
	}
	for g := 0; g < 4; g++ {
		if d := <-done; d != "" {
			t.Error(d)
		}
	}
}
