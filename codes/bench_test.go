package codes_test

import (
	"crypto/ed25519"
	"testing"
	"time"

	"github.com/admitgate/admit/codes"
	"github.com/admitgate/admit/gate"
)

// go test -run '^$' -bench . ./codes
//
// ed25519-verify is one bare Ed25519 verify, the yardstick of the issue's
// budgets: sig1/valid should cost about one of it, sig1/forged (well formed,
// signed by no configured key) at most about one per key, sig1/garbage far
// less. rotating is the two HMAC-SHA-1 of a rotating code's check.
func BenchmarkCodes(b *testing.B) {
	cfg := &codes.Sig1Config{
		Keys:  []string{pubText(testKey(1))},
		Items: []codes.Sig1Item{{Item: 12, PriceType: gate.Code{Code: "ADU"}, Events: []string{"MATCH-1"}}},
	}
	v := provider(b, cfg)
	tk := pretixTicket("a1B2c3D4e", 12, 0, 0, t0.Add(-time.Hour), t0.Add(time.Hour))
	valid := sign(b, testKey(1), tk)
	forged := sign(b, testKey(3), tk)
	c, _ := codes.ParseSig1(valid)
	pub := testKey(1).Public().(ed25519.PublicKey)

	b.Run("ed25519-verify", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if !ed25519.Verify(pub, c.Payload, c.Signature) {
				b.Fatal("refused")
			}
		}
	})
	for _, bc := range []struct {
		name, code string
		want       gate.Reason
	}{
		{"sig1/valid", valid, 0},
		{"sig1/forged", forged, gate.ReasonUnknown},
		{"sig1/garbage", "9836900602677354", gate.ReasonUnknown},
		{"sig1/garbage-base64", "AAAA" + valid[4:], gate.ReasonUnknown},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if got := v.Check(bc.code, t0, gate.In); got.Reason != bc.want {
					b.Fatal(got.Reason)
				}
			}
		})
	}

	ek, ck := tmKeys(b)
	r, _ := codes.NewRotating(codes.RotatingConfig{EventKey: ek})
	at := time.Unix(1780000007, 0)
	code, _ := codes.Rotate("TGRLYCqAf2CS/BlH/8yu8YvHhWNyMo1QoBa29Q5jVCxWlApNMnw3JRdyOTpUUYAC", ek, ck, at, 0)
	b.Run("rotating", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			rc, err := codes.ParseRotating(code)
			if err != nil {
				b.Fatal(err)
			}
			if got := r.Check(rc, ck, at); got.Reason != 0 {
				b.Fatal(got.Reason)
			}
		}
	})
	b.Run("rotating/stale", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			rc, _ := codes.ParseRotating(code)
			if got := r.CheckClock(rc, at.Add(time.Hour)); got.Reason != gate.ReasonStaleCode {
				b.Fatal(got.Reason)
			}
		}
	})
}
