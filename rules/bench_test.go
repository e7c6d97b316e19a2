package rules

import (
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

func typicalFacts() *Facts {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		panic(err)
	}
	day := time.Date(2026, 6, 6, 0, 0, 0, 0, loc)
	return &Facts{
		Product: "DAY", PriceType: "ADU", Provider: "secutix-main",
		At: day.Add(19 * time.Hour), Lane: "north-1", Location: loc,
		DateFrom: day.Add(18 * time.Hour), DateAdmission: day.Add(17 * time.Hour), DateTo: day.Add(23 * time.Hour),
		Entries: []time.Time{day.Add(-48 * time.Hour), day.Add(-24*time.Hour + 3*time.Hour)},
	}
}

// BenchmarkEval is the typical rule admitting: a few hundred nanoseconds,
// no allocation.
func BenchmarkEval(b *testing.B) {
	r := MustCompile(typicalRule)
	f := typicalFacts()
	b.ReportAllocs()
	for b.Loop() {
		if ok, _ := r.Eval(f); !ok {
			b.Fatal("refused")
		}
	}
}
