package rules_test

import (
	"fmt"
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/rules"
)

// A day pass lets its holder in once per day, from ten minutes before
// admission opens. The rule is compiled once, when it is set, and evaluated
// for each scan with the facts the index knows.
func ExampleCompile() {
	rule, err := rules.Compile([]byte(`{"and": [
	  {"inList": [{"var": "product"}, {"objectList": [{"lookup": ["product", "DAY", "Day pass"]}]}]},
	  {"<": [{"var": "entries_today"}, 1]},
	  {"isAfter": [{"var": "now"}, {"buildTime": ["date_admission"]}, 10]}
	]}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	berlin, _ := time.LoadLocation("Europe/Berlin")
	ticket := gate.Ticket{Barcode: "9836900602677354", Provider: "secutix-main", Product: gate.Code{Code: "DAY"}}
	scan := gate.Scan{Barcode: ticket.Barcode, Lane: "north-1", Direction: gate.In,
		At: time.Date(2026, 6, 7, 17, 55, 0, 0, berlin)}

	facts := rules.NewFacts(&ticket, &scan)
	facts.Location = berlin
	facts.DateAdmission = time.Date(2026, 6, 7, 18, 0, 0, 0, berlin)
	show(rule.Eval(&facts))

	// The same ticket again, ten minutes later.
	facts.Entries = []time.Time{scan.At}
	facts.At = scan.At.Add(10 * time.Minute)
	show(rule.Eval(&facts))

	// A rule with a typo is refused when it is set, with where and why.
	_, err = rules.Compile([]byte(`{"<": [{"var": "entries_todya"}, 1]}`))
	fmt.Println(err)
	// Output:
	// admit
	// refuse: entries_today < 1 was false (entries_today = 1)
	// unknown variable "entries_todya" (did you mean "entries_today"?); the variables are product, variation, gate, now, now_isoweekday, entries_number, entries_today, entries_days, minutes_since_last_entry, minutes_since_first_entry, price_type, provider, zone, direction (at byte 15, $['<'][0]['var'])
}

func show(ok bool, detail string) {
	if ok {
		fmt.Println("admit")
		return
	}
	fmt.Println("refuse:", detail)
}
