package index

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/admitgate/admit/codes"
	"github.com/admitgate/admit/gate"
)

// go test -run '^$' -bench ScanCodes ./index
//
// BenchmarkScanCodes measures, on one store on the disk and in the same
// run: an imported ticket's first use beside a signed code's first use
// (the ticket created with the admission), a forged signed code (refused
// before the store), one bare Ed25519 verify (its yardstick), and a
// rotating code of a used ticket. The bench package's validate workload
// measures the same on the large fixture (bench/codes.go).
func BenchmarkScanCodes(b *testing.B) {
	ctx := context.Background()
	o := testOptions(vfs.Default)
	o.Logger = testLogger()
	ix, err := Open(b.TempDir(), o)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = ix.Close() })
	if _, err := ix.PutEvent(ctx, gate.Event{ID: "derby", Name: "Derby"}); err != nil { // always open
		b.Fatal(err)
	}
	if _, err := ix.PutEvent(ctx, fest); err != nil {
		b.Fatal(err)
	}
	putSpec(b, ix, testSig1())
	putSpec(b, ix, ProviderSpec{Provider: gate.Provider{ID: "tm"}, Kind: ProviderRotating,
		Rotating: RotatingSpec{EventKey: rotEventKey, Skew: 10 * time.Minute}})
	const n = 200_000
	tickets := make([]gate.Ticket, n)
	for i := range tickets {
		tickets[i] = tk(fmt.Sprintf("IMP%08d", i), "derby")
	}
	load(b, ix, tickets...)
	tm := tk("TOKEN-A", "derby")
	tm.Provider = "tm"
	if _, err := ix.Load(ctx, gate.ImportRequest{Provider: "tm", Source: "bench"}, &keyedLines{lines: []gate.ImportLine{{Ticket: tm, CustomerKey: rotKeyA}}}); err != nil {
		b.Fatal(err)
	}
	scan := func(code string) gate.Decision {
		return ix.Scan(ctx, gate.Scan{Barcode: code, Lane: "north-1", Direction: gate.In, At: time.Now()})
	}

	next := 0
	b.Run("first-use/imported", func(b *testing.B) {
		for b.Loop() {
			if next >= n {
				b.Skip("out of imported tickets; lower -benchtime")
			}
			if d := scan(tickets[next].Barcode); d.Reason != gate.ReasonOK {
				b.Fatal(d)
			}
			next++
		}
	})
	seed := 0
	b.Run("first-use/signed", func(b *testing.B) {
		// Signed before the timed loop: a signature costs about a verify.
		batch := make([]string, 0, b.N)
		for range b.N {
			batch = append(batch, signed(b, sig1Key(1), fmt.Sprintf("S%08d", seed), 12, 0, time.Time{}, time.Time{}))
			seed++
		}
		b.ResetTimer()
		for i := range b.N {
			if d := scan(batch[i]); d.Reason != gate.ReasonOK {
				b.Fatal(d)
			}
		}
	})
	forged := signed(b, sig1Key(9), "forged001", 12, 0, time.Time{}, time.Time{})
	b.Run("forged", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if d := scan(forged); d.Reason != gate.ReasonUnknown {
				b.Fatal(d)
			}
		}
	})
	c, _ := codes.ParseSig1(signed(b, sig1Key(1), "verify001", 12, 0, time.Time{}, time.Time{}))
	pub := sig1Key(1).Public().(ed25519.PublicKey)
	b.Run("ed25519-verify", func(b *testing.B) {
		for b.Loop() {
			if !ed25519.Verify(pub, c.Payload, c.Signature) {
				b.Fatal("refused")
			}
		}
	})
	code := rotate(b, "TOKEN-A", rotKeyA, time.Now())
	if d := scan(code); d.Reason != gate.ReasonOK {
		b.Fatal(d)
	}
	b.Run("rotating/used", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if d := scan(code); d.Reason != gate.ReasonAlreadyUsed {
				b.Fatal(d)
			}
		}
	})
}
