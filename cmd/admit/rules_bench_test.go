package main

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/index"
)

// benchTypicalRule is issue 18's typical rule: a product in a list, no
// entry yet today, within the event's admission window (10 minutes early
// allowed) and before its end.
const benchTypicalRule = `{"and": [
  {"inList": [{"var": "product"}, {"objectList": [
    {"lookup": ["product", "DAY", "Day pass"]},
    {"lookup": ["product", "WEEKEND", "Weekend pass"]},
    {"lookup": ["product", "SEASON", "Season ticket"]}]}]},
  {"<": [{"var": "entries_today"}, 1]},
  {"isAfter": [{"var": "now"}, {"buildTime": ["date_admission"]}, 10]},
  {"isBefore": [{"var": "now"}, {"buildTime": ["date_to"]}]}
]}`

const benchRuleTickets = 100_000 // per event

// BenchmarkRuleFirstUse measures, in one run on one store on disk, the
// first use of a ticket (a durable admission) and a check (the decision
// alone, no disk write) for an event without a rule, with the typical rule,
// and with the typical rule at a lane into a zone with a capacity: what a
// rule and a zone add to a scan, held against the same run's scans without
// them. Figures go to bench/RESULTS.md, never into a test.
func BenchmarkRuleFirstUse(b *testing.B) {
	ctx := context.Background()
	c := &Config{Timezone: "Europe/Berlin"}
	o := c.indexOptions(testLogger())
	o.Appliance = "bench"
	ix, err := index.Open(b.TempDir(), o)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = ix.Close() })
	now := time.Now()
	events := []gate.Event{
		{ID: "plain", Name: "Without a rule", OpensAt: now.Add(-time.Hour), ClosesAt: now.Add(6 * time.Hour)},
		{ID: "ruled", Name: "With the typical rule", OpensAt: now.Add(-time.Hour), ClosesAt: now.Add(6 * time.Hour),
			TimeZone: "Europe/Berlin", Rule: benchTypicalRule},
		{ID: "zoned", Name: "With the rule, into a zone", OpensAt: now.Add(-time.Hour), ClosesAt: now.Add(6 * time.Hour),
			TimeZone: "Europe/Berlin", Rule: benchTypicalRule},
	}
	for _, e := range events {
		if _, err := ix.PutEvent(ctx, e); err != nil {
			b.Fatal(err)
		}
		ts := make([]gate.Ticket, benchRuleTickets)
		for i := range ts {
			ts[i] = gate.Ticket{Barcode: fmt.Sprintf("%s-%07d", e.ID, i), Provider: "secutix-main", Events: []string{e.ID},
				State: gate.StateValid, PriceType: gate.Code{Code: "ADU"}, Product: gate.Code{Code: "DAY"}}
		}
		sort.Slice(ts, func(i, j int) bool { return ts[i].Barcode < ts[j].Barcode })
		if _, err := ix.Load(ctx, gate.ImportRequest{Provider: "secutix-main"}, gate.Lines(ts...)); err != nil {
			b.Fatal(err)
		}
	}
	if err := ix.SetZones([]gate.Zone{{ID: "north-stand", Capacity: 10 * benchRuleTickets}}); err != nil {
		b.Fatal(err)
	}
	lanes := map[string]gate.Lane{
		"plain": {ID: "l-plain", Direction: gate.In, Events: []string{"plain"}},
		"ruled": {ID: "l-ruled", Direction: gate.In, Events: []string{"ruled"}},
		"zoned": {ID: "l-zoned", Direction: gate.In, Events: []string{"zoned"}, From: gate.Outside, To: "north-stand"},
	}
	names := map[string]string{"plain": "rule=none", "ruled": "rule=typical", "zoned": "rule=typical/zone=capacity"}
	next := map[string]int{}
	for _, ev := range []string{"plain", "ruled", "zoned"} {
		lane := lanes[ev]
		b.Run(names[ev]+"/check", func(b *testing.B) {
			s := lane.Scan(ev+"-0000000", time.Now())
			b.ReportAllocs()
			for b.Loop() {
				if d := ix.Check(ctx, s); d.Reason != gate.ReasonOK {
					b.Fatalf("%+v", d)
				}
			}
		})
	}
	for _, ev := range []string{"plain", "ruled", "zoned"} {
		lane := lanes[ev]
		b.Run(names[ev]+"/first-use", func(b *testing.B) {
			if next[ev]+b.N > benchRuleTickets {
				b.Skipf("the %d tickets of %s are used up", benchRuleTickets, ev)
			}
			barcodes := make([]string, b.N)
			for i := range barcodes {
				barcodes[i] = fmt.Sprintf("%s-%07d", ev, next[ev]+i)
			}
			next[ev] += b.N
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if d := ix.Scan(ctx, lane.Scan(barcodes[i], time.Now())); d.Reason != gate.ReasonOK {
					b.Fatalf("%+v", d)
				}
			}
		})
	}
}
