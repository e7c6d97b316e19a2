package rules

import (
	"strings"
	"testing"
	"time"
)

// typicalRule is the typical rule: product in a list, no entry today,
// within the admission window (10 minutes early allowed).
const typicalRule = `{"and": [
  {"inList": [{"var": "product"}, {"objectList": [
    {"lookup": ["product", "DAY", "Day pass"]},
    {"lookup": ["product", "WEEKEND", "Weekend pass"]},
    {"lookup": ["product", "SEASON", "Season ticket"]}]}]},
  {"<": [{"var": "entries_today"}, 1]},
  {"isAfter": [{"var": "now"}, {"buildTime": ["date_admission"]}, 10]},
  {"isBefore": [{"var": "now"}, {"buildTime": ["date_to"]}]}
]}`

// typicalFacts are facts the typical rule admits: a day pass scanned an hour
// into the admission window of an event in Berlin, last used two days ago.
func typicalFacts() *Facts {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		panic(err)
	}
	return typicalFactsAt(time.Date(2026, 6, 6, 19, 0, 0, 0, loc))
}

// typicalFactsAt is typicalFacts for a scan at at; benchmarks scan now, where
// Go's time zone cache serves the lookups as it does at a gate.
func typicalFactsAt(at time.Time) *Facts {
	return &Facts{
		Product: "DAY", PriceType: "ADU", Provider: "secutix-main",
		At: at, Lane: "north-1", Location: at.Location(),
		DateFrom: at.Add(-time.Hour), DateAdmission: at.Add(-2 * time.Hour), DateTo: at.Add(4 * time.Hour),
		Entries: []time.Time{at.Add(-72 * time.Hour), at.Add(-48 * time.Hour)},
	}
}

func benchFacts(b *testing.B) *Facts {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		b.Fatal(err)
	}
	return typicalFactsAt(time.Now().In(loc))
}

// BenchmarkEval measures rules evaluated as a gate does, compiled once.
// rule=typical/admit is the budget: a few hundred nanoseconds and no
// allocation.
func BenchmarkEval(b *testing.B) {
	bench := func(name, rule string, change func(f *Facts), wantOK bool) {
		b.Run(name, func(b *testing.B) {
			r := MustCompile(rule)
			f := benchFacts(b)
			if change != nil {
				change(f)
			}
			b.ReportAllocs()
			for b.Loop() {
				if ok, _ := r.Eval(f); ok != wantOK {
					b.Fatalf("Eval = %v", ok)
				}
			}
		})
	}
	bench("rule=typical/admit", typicalRule, nil, true)
	// A refusal works out its detail: slower, and it allocates.
	bench("rule=typical/refuse", typicalRule, func(f *Facts) { f.Entries = append(f.Entries, f.At.Add(-time.Hour)) }, false)
	// A season ticket's long history: the counts are binary searches.
	bench("rule=typical/entries=1000", typicalRule, func(f *Facts) {
		f.Entries = nil
		for i := 1000; i > 0; i-- {
			f.Entries = append(f.Entries, f.At.Add(-time.Duration(i)*25*time.Hour))
		}
	}, true)
	bench("rule=reentry/admit", reentryAfter30, func(f *Facts) { f.Entries = append(f.Entries, f.At.Add(-time.Hour)) }, true)
	bench("rule=children/admit", childrenBefore18, nil, true)
	bench("rule=entries_days/admit", `{"<": [{"var": "entries_days"}, 3]}`, nil, true)
	products := make([]string, 200)
	for i := range products {
		products[i] = `"P` + strings.Repeat("X", i%7) + string(rune('A'+i%26)) + `"`
	}
	bench("rule=products=200/admit", `{"in": [{"var": "product"}, [`+strings.Join(products, ",")+`, "DAY"]]}`, nil, true)
}

// BenchmarkCompile measures compiling the typical rule, done once when a rule
// is set.
func BenchmarkCompile(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compile([]byte(typicalRule)); err != nil {
			b.Fatal(err)
		}
	}
}
