package codes_test

import (
	"fmt"
	"time"

	"github.com/admitgate/admit/codes"
	"github.com/admitgate/admit/gate"
)

// A pretix_sig1 provider: the code is checked by itself, then the ticket it
// describes is created on first sight and redeemed like any other.
func ExampleSig1_Check() {
	priv := testKey(1) // pretix keeps the private key; admit gets the public one
	v, err := codes.NewSig1("pretix-main", codes.Sig1Config{
		Keys: []string{pubText(priv)},
		Items: []codes.Sig1Item{
			{Item: 12, Product: gate.Code{Code: "DERBY"}, PriceType: gate.Code{Code: "ADU", Name: "Adult"}, Events: []string{"MATCH-2026-12-05"}},
		},
	}, nil)
	if err != nil {
		panic(err)
	}
	t := codes.Sig1Ticket{Seed: "a1B2c3D4e", Item: 12}
	codes.Sig1Bounds(&t, time.Time{}, time.Date(2026, 12, 5, 23, 0, 0, 0, time.UTC))
	code, _ := codes.SignSig1(priv, t)

	got := v.Check(code, time.Date(2026, 12, 5, 18, 0, 0, 0, time.UTC), gate.In)
	fmt.Println(got.Reason == 0, got.Decoded.Seed, got.Ticket.Events, got.Ticket.PriceType.Code, got.Ticket.Barcode == code)

	late := v.Check(code, time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC), gate.In)
	fmt.Println(late.Reason, late.Detail)

	v.Lists().Revoked.Add(code)
	fmt.Println(v.Check(code, time.Date(2026, 12, 5, 18, 0, 0, 0, time.UTC), gate.In).Reason)
	// Output:
	// true a1B2c3D4e [MATCH-2026-12-05] ADU true
	// expired the ticket was valid until 2026-12-05T23:00:00Z
	// revoked
}

// A rotating provider: the clock and the event's code are checked before the
// token is looked up; the holder's code with the key imported with the
// ticket.
func ExampleRotating() {
	eventKey, _ := codes.ParseKey("b3519364e0c7914c1f9d59d35652a04067d2f647")
	customerKey, _ := codes.ParseKey("b98432ed23b8f2bda82348216229f4d27ce9d063")
	r, _ := codes.NewRotating(codes.RotatingConfig{EventKey: eventKey})

	drawn := time.Unix(1707074879, 0)
	text, _ := codes.Rotate("TGRLYCqAf2CS", eventKey, customerKey, drawn, 0)
	fmt.Println(text)

	c, _ := codes.ParseRotating(text)
	fmt.Println(r.CheckClock(c, drawn.Add(10*time.Second)).Reason == 0, r.CheckCustomer(c, customerKey).Reason == 0)
	fmt.Println(r.CheckClock(c, drawn.Add(time.Minute)).Reason)
	// Output:
	// TGRLYCqAf2CS::492436::240860::1707074879
	// true true
	// stale_code
}
