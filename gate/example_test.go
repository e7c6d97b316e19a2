package gate_test

import (
	"fmt"
	"time"

	"github.com/admitgate/admit/gate"
)

// Decide is what the index runs, under the ticket's lock, between reading a
// ticket and writing its redemption.
func ExampleDecide() {
	opens := time.Date(2026, 12, 5, 18, 0, 0, 0, time.UTC)
	events := gate.NewEventSet(gate.Event{ID: "derby", OpensAt: opens, ClosesAt: opens.Add(6 * time.Hour)})
	ticket := gate.Ticket{Barcode: "9836900602677354", Provider: "secutix-main", Events: []string{"derby"},
		State: gate.StateValid, PriceType: gate.Code{Code: "ADU", Name: "Adult"}}
	lane := gate.Lane{ID: "north-1", Direction: gate.In}

	scan := lane.Scan(ticket.Barcode, opens.Add(time.Hour))
	first := gate.Decide(gate.Input{Scan: &scan, Ticket: &ticket, Events: events, Seq: 1})
	fmt.Println(first.Decision.Admit, first.Decision.Reason, first.Decision.Event)

	again := lane.Scan(ticket.Barcode, opens.Add(time.Hour+time.Minute))
	second := gate.Decide(gate.Input{Scan: &again, Ticket: &ticket, Events: events, Seq: 2,
		Redemptions: []gate.Redemption{first.Redemption}})
	fmt.Println(second.Decision.Admit, second.Decision.Reason, second.Decision.FirstUsed.Lane)
	// Output:
	// true ok derby
	// false already_used north-1
}
