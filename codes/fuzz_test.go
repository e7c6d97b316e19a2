package codes_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/admitgate/admit/codes"
	"github.com/admitgate/admit/gate"
)

// The seeds are in testdata/fuzz/<Fuzz name>/: real and golden codes, each
// layout problem, payloads of every wire type. go test runs them; a fuzz run
// (go test -fuzz FuzzParseSig1 ./codes) grows the corpus.

// sig1Reasons are the reasons Sig1.Check may give.
var sig1Reasons = map[gate.Reason]bool{0: true, gate.ReasonUnknown: true, gate.ReasonRevoked: true, gate.ReasonBlocked: true,
	gate.ReasonNotYetValid: true, gate.ReasonExpired: true, gate.ReasonWrongEvent: true}

// Every text is a code or refused with a reason; a code has exactly one
// text, decodes as the protobuf runtime decodes its payload, and is refused
// unless one of the keys signed it.
func FuzzParseSig1(f *testing.F) {
	v := provider(f, nil)
	if _, err := v.Lists().Revoked.Add(sign(f, testKey(2), pretixTicket("revokedXX", 12, 0, 0, time.Time{}, time.Time{}))); err != nil {
		f.Fatal(err)
	}
	f.Add(sign(f, testKey(1), pretixTicket("a1B2c3D4e", 12, 0, 0, time.Time{}, time.Time{})))
	f.Fuzz(func(t *testing.T, text string) {
		c, err := codes.ParseSig1(text)
		verdict := v.Check(text, t0, gate.In)
		if !sig1Reasons[verdict.Reason] || verdict.Reason == 0 && verdict.Ticket.Barcode != text || verdict.Reason != 0 && verdict.Ticket.Barcode != "" {
			t.Fatalf("Check = %+v", verdict)
		}
		if verdict.Parsed != (err == nil) {
			t.Fatalf("Check parsed %v, ParseSig1 %v", verdict.Parsed, err)
		}
		if err != nil {
			var pe *codes.ParseError
			if !errors.As(err, &pe) || pe.Problem == "" || pe.Detail == "" || verdict.Reason != gate.ReasonUnknown || verdict.Detail == "" {
				t.Fatalf("refusal %v, verdict %+v", err, verdict)
			}
			return
		}
		if len(text) > codes.MaxCodeLen {
			t.Fatalf("a %d-byte code parsed", len(text))
		}
		if back := codes.EncodeSig1(c.Payload, c.Signature); back != text {
			t.Fatalf("%q parsed, but its bytes are written %q", text, back)
		}
		dyn, err := dynDecode(c.Payload)
		if err != nil || dyn != c.Ticket {
			t.Fatalf("decoded %+v, the protobuf runtime %+v, %v", c.Ticket, dyn, err)
		}
		if verdict.Signed && verdict.Decoded != c.Ticket {
			t.Fatalf("verdict decoded %+v, parse %+v", verdict.Decoded, c.Ticket)
		}
	})
}

// The payload decoder agrees with the protobuf runtime on every input: the
// same fields and presence, or both refuse (admit refuses more: a seed that
// cannot be a ticket id).
func FuzzSig1Payload(f *testing.F) {
	f.Add([]byte{0x0a, 0x03, 'a', 'b', 'c', 0x10, 0x0c, 0x28, 0x00, 0x30, 0x00})
	f.Fuzz(func(t *testing.T, payload []byte) {
		var got codes.Sig1Ticket
		err := codes.DecodeTicket(payload, &got)
		dyn, dynErr := dynDecode(payload)
		if dynErr != nil {
			if err == nil {
				t.Fatalf("decoded %+v; the protobuf runtime refuses: %v", got, dynErr)
			}
			return
		}
		if err != nil {
			var pe *codes.ParseError
			if !errors.As(err, &pe) || pe.Problem != "seed" {
				t.Fatalf("refused %v; the protobuf runtime reads %+v", err, dyn)
			}
			if dyn.Seed != "" && len(dyn.Seed) <= codes.MaxSeedLen && gate.CheckBarcode(dyn.Seed) == nil {
				t.Fatalf("refused the seed %q", dyn.Seed)
			}
			return
		}
		if got != dyn {
			t.Fatalf("decoded %+v, the protobuf runtime %+v", got, dyn)
		}
		var again codes.Sig1Ticket
		if err := codes.DecodeTicket(codes.AppendTicket(nil, &got), &again); err != nil || again != got {
			t.Fatalf("re-encoded %+v decodes as %+v, %v", got, again, err)
		}
	})
}

// Every text is a rotating code or refused with a reason; a code is its
// fields joined again, and checks to ok or stale_code.
func FuzzParseRotating(f *testing.F) {
	ek, ck := tmKeys(f)
	r, err := codes.NewRotating(codes.RotatingConfig{EventKey: ek})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(tmCode)
	f.Fuzz(func(t *testing.T, text string) {
		c, err := codes.ParseRotating(text)
		if err != nil {
			var pe *codes.ParseError
			if !errors.As(err, &pe) || pe.Problem == "" || pe.Detail == "" || pe.Scheme != "rotating" {
				t.Fatalf("refusal %v", err)
			}
			return
		}
		if back := strings.Join([]string{c.Token, c.OTP1, c.OTP2, itoa(c.At)}, "::"); back != text || len(text) > codes.MaxCodeLen {
			t.Fatalf("%q parsed as %+v", text, c)
		}
		got := r.Check(c, ck, time.Unix(c.At, 0))
		if got.Reason != 0 && got.Reason != gate.ReasonStaleCode {
			t.Fatalf("Check = %+v", got)
		}
		want, err := codes.Rotate(c.Token, ek, ck, time.Unix(c.At, 0), 0)
		if err != nil {
			t.Fatal(err)
		}
		if (got.Reason == 0) != (want == text) {
			t.Fatalf("%q: %s, but the right code is %q", text, got.Reason, want)
		}
	})
}

func itoa(n int64) string {
	b := []byte{}
	for {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
		if n == 0 {
			return string(b)
		}
	}
}
