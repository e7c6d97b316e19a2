package venue_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/venue"
)

func ExampleRedemptionKey() {
	fmt.Println(venue.RedemptionKey("MATCH-2026-12-05", "4011234567890"))
	// Output: r.9ebb51c7782f9fecb5fdd3a91bcabb18
}

// An appliance claims a ticket's first admission at the hub, and learns
// what the others did.
func ExampleLink_Claim() {
	ctx := context.Background()
	link, err := venue.Open(ctx, venue.LinkConfig{
		Appliance:    "north",
		URLs:         []string{"nats://hub1:4222", "nats://hub2:4222", "nats://hub3:4222"},
		PasswordFile: "/etc/admit/hub.password",
	}, zerolog.Nop())
	if err != nil {
		fmt.Println(err) // wrong buckets, or another live "north"
		return
	}
	defer link.Close()

	at := time.Now()
	move := gate.Movement{At: at, Lane: "north-1", Seq: 41, Appliance: "north"}
	rec := &venue.Record{V: venue.RecordVersion, Event: "MATCH", Ticket: "4011234567890",
		Redemption: gate.Redemption{Event: "MATCH", Admissions: 1, Inside: true, First: move, Last: move},
		Claim:      venue.ClaimRef{Appliance: "north", Seq: 41, At: at}}
	cctx, cancel := context.WithTimeout(ctx, 250*time.Millisecond)
	defer cancel()
	rev, err := link.Claim(cctx, rec.Key(), rec, 0)
	var lost *venue.LostError
	switch {
	case err == nil:
		fmt.Println("admit; hub revision", rev)
	case errors.As(err, &lost):
		fmt.Println("already used at", lost.Current.Claim.Appliance)
	case errors.Is(err, venue.ErrOffline):
		fmt.Println("the lane's offline policy decides")
	default:
		fmt.Println("fail closed:", err)
	}

	// Learning: every redemption after the last one applied.
	_ = link.Watch(ctx, 0, func(e venue.Entry) error {
		if e.Err != nil {
			return e.Err // stop: an operator looks at it
		}
		fmt.Println(e.Key, e.Rev, e.Record.Claim.Appliance)
		return nil
	})
}
