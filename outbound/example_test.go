package outbound_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/gate/gatetest"
	"github.com/admitgate/admit/outbound"
)

// An export writes the uses of the journal as a SecuTix file with
// TICKET_STATE CONTROLLED: the admission, not the refusal. (cmd/admit
// passes the index as Journal and Tickets, and calls Run, which exports
// every interval.)
func Example() {
	root, _ := os.MkdirTemp("", "outbound")
	defer os.RemoveAll(root)
	at := time.Date(2026, 12, 5, 19, 42, 0, 0, time.UTC)
	journal := []gate.JournalEntry{
		{Seq: 1, Kind: gate.KindDecision, Decision: gate.Decision{Seq: 1, Admit: true, Reason: gate.ReasonOK,
			Barcode: "9836900602677354", Lane: "north-1", At: at, Event: "MATCH-2026-12-05",
			Ticket: &gate.TicketInfo{Provider: "secutix-main", PriceType: "ADU", Product: "MATCH-2026-12-05"}}},
		{Seq: 2, Kind: gate.KindDecision, Decision: gate.Decision{Seq: 2, Reason: gate.ReasonUnknown, Barcode: "123", Lane: "north-1", At: at}},
	}
	store := &gatetest.Index{
		EntriesFunc: func(_ context.Context, after uint64, limit int) ([]gate.JournalEntry, error) {
			if after >= uint64(len(journal)) {
				return nil, nil
			}
			return journal[after:min(uint64(len(journal)), after+uint64(limit))], nil
		},
		TicketFunc: func(_ context.Context, barcode string) (gate.TicketView, error) {
			return gate.TicketView{Ticket: gate.Ticket{Barcode: barcode, Order: "880000", Contact: "1000", Price: "45.00",
				PriceType: gate.Code{Code: "ADU", Name: "Adult"}, Product: gate.Code{Code: "MATCH-2026-12-05", Name: "Derby"},
				ValidityAt: time.Date(2026, 12, 5, 20, 0, 0, 0, time.UTC)}}, nil
		},
	}
	s, err := outbound.New(outbound.Options{Journal: store, Tickets: store, Appliance: "north",
		StateDir: filepath.Join(root, "state"), Location: time.UTC},
		[]outbound.Export{{Name: "secutix", Dir: filepath.Join(root, "out")}}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	names, err := s.Exporters()[0].Export(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, n := range names {
		b, _ := os.ReadFile(filepath.Join(root, "out", n))
		fmt.Printf("%s:\n%s", n, b)
	}
	st := s.Status()[0]
	fmt.Println("position", st.Position, "delivered", st.Delivered)
	// Output:
	// secutix-000001-1-2.csv:
	// BAR_CODE;TICKET_STATE;FILE_NUMBER;PRODUCT_CODE;PRODUCT_NAME;VALIDITY_DATE;TARIFF_CODE;TARIFF_NAME;PRICE;ORDER_DATE;CONTACT_NUMBER
	// 9836900602677354;CONTROLLED;880000;MATCH-2026-12-05;Derby;05/12/2026 20:00;ADU;Adult;45.00;;1000
	// position 2 delivered 1
}
