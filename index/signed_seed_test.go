package index

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/admitgate/admit/codes"
	"github.com/admitgate/admit/gate"
)

// TestSignedSeed: a ticket a signed code made has the code's seed as its
// venue-wide id, also through a barcode reissued for it; an imported
// ticket has none.
func TestSignedSeed(t *testing.T) {
	ctx := context.Background()
	ix, _ := openMem(t)
	putSpec(t, ix, testSig1())
	code := signed(t, sig1Key(1), "CTJqJOl1H", 12, 0, time.Time{}, time.Time{})
	if d := scanAt(ix, code, during); d.Reason != gate.ReasonOK {
		t.Fatal(d)
	}
	if _, err := ix.Reissue(ctx, code, "PRINTED-0001", "ops"); err != nil {
		t.Fatal(err)
	}
	load(t, ix, tk("IMPORTED-1", "derby"))
	for barcode, want := range map[string]string{code: "CTJqJOl1H", "PRINTED-0001": "CTJqJOl1H", "IMPORTED-1": ""} {
		rec, ok, err := ix.getTicket(nil, barcode)
		if err != nil || !ok {
			t.Fatalf("%s: %v %v", barcode, ok, err)
		}
		seed, signed, err := ix.signedSeed(&rec)
		if err != nil || seed != want || signed != (want != "") {
			t.Errorf("%s: seed %q %v %v, want %q", barcode, seed, signed, err, want)
		}
	}
	// The reissued barcode is an ordinary barcode: scanned, it is the ticket's.
	if d := scanAt(ix, "PRINTED-0001", during); d.Reason != gate.ReasonAlreadyUsed {
		t.Fatalf("the reissued barcode: %+v", d)
	}
	if d := scanAt(ix, code, during); d.Reason != gate.ReasonRevoked {
		t.Fatalf("the replaced code: %+v", d)
	}
}

// TestMaybeSig1: the cheap pre-check lets every signed code through (the
// shortest possible one included) and turns away ordinary barcodes; with
// code providers configured, a scan of an ordinary barcode allocates no
// more than without.
func TestMaybeSig1(t *testing.T) {
	shortest, err := codes.SignSig1(sig1Key(1), codes.Sig1Ticket{Seed: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if len(shortest) != minSig1Text || !maybeSig1(shortest) {
		t.Fatalf("the shortest code (%d characters) is turned away: %q", len(shortest), shortest)
	}
	for n := 1; n <= codes.MaxSeedLen; n++ {
		tk := codes.Sig1Ticket{Seed: strings.Repeat("s", n), Item: 1 << 40, Variation: 7, Subevent: 9}
		codes.Sig1Bounds(&tk, t0, t0.Add(time.Hour))
		code, err := codes.SignSig1(sig1Key(1), tk)
		if err != nil {
			t.Fatal(err)
		}
		if !maybeSig1(code) {
			t.Fatalf("a code with a seed of %d is turned away", n)
		}
	}
	for _, bc := range []string{"9836900602677354", "4006381333931", strings.Repeat("A", 95), strings.Repeat("A", 97), strings.Repeat("A", 95) + "-"} {
		if maybeSig1(bc) {
			t.Errorf("%q passes", bc)
		}
	}

	ix, _ := openMem(t)
	load(t, ix, tk("9836900602677354", "derby"))
	if d := scanAt(ix, "9836900602677354", during); d.Reason != gate.ReasonOK {
		t.Fatal(d)
	}
	allocs := func() float64 {
		return testing.AllocsPerRun(200, func() {
			ix.Check(context.Background(), gate.Scan{Barcode: "9836900602677354", Lane: "north-1", Direction: gate.In, At: during})
			ix.Check(context.Background(), gate.Scan{Barcode: "9836900602677355", Lane: "north-1", Direction: gate.In, At: during})
		})
	}
	before := allocs()
	putSpec(t, ix, testSig1())
	putSpec(t, ix, ProviderSpec{Provider: gate.Provider{ID: "tm"}, Kind: ProviderRotating, Rotating: RotatingSpec{EventKey: rotEventKey}})
	if after := allocs(); after > before {
		t.Fatalf("%v allocations with code providers, %v without", after, before)
	}
}
