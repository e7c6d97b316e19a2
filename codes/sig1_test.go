package codes_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/admitgate/admit/codes"
	"github.com/admitgate/admit/gate"
)

var update = flag.Bool("update", false, "rewrite testdata/sig1.golden")

// A code pretix signed, with the key pretix handed its scanner, from
// pretix's own tests: decoded field by field, verified, and the key written
// back exactly as pretix wrote it.
func TestRealPretixCode(t *testing.T) {
	vec := readVector(t, "pretixscan-ios.txt")
	pub, err := codes.ParsePublicKey(vec["key"])
	if err != nil {
		t.Fatal(err)
	}
	if got := codes.PublicKeyText(pub); got != vec["key"] {
		t.Errorf("PublicKeyText = %s\nwant pretix's %s", got, vec["key"])
	}
	c, err := codes.ParseSig1(vec["code"])
	if err != nil {
		t.Fatal(err)
	}
	want := codes.Sig1Ticket{Seed: "CTJqJOl1H", Item: 1, Subevent: 14}
	if c.Ticket != want {
		t.Errorf("decoded %+v, want %+v", c.Ticket, want)
	}
	if len(c.Payload) != 15 || len(c.Signature) != 64 {
		t.Errorf("payload %d bytes, signature %d", len(c.Payload), len(c.Signature))
	}
	v, err := codes.NewSig1("pretix-demo", codes.Sig1Config{
		Keys:  []string{vec["key"]},
		Items: []codes.Sig1Item{{Item: 1, PriceType: gate.Code{Code: "ADU"}, Events: []string{"DEMO"}}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The event has no subevents: the code's subevent 14 is ignored.
	got := v.Check(vec["code"], time.Now(), gate.In)
	if got.Reason != 0 || got.Decoded != want || got.Ticket.Barcode != vec["code"] || got.Ticket.Events[0] != "DEMO" {
		t.Errorf("Check = %+v", got)
	}
}

// goldenCases are codes in pretix's exact layout, signed with fixed keys.
var goldenCases = []struct {
	name string
	key  byte
	t    codes.Sig1Ticket
}{
	{"pretix, no bounds", 1, pretixTicket("a1B2c3D4e", 12, 0, 0, time.Time{}, time.Time{})},
	{"pretix, variation and subevent", 1, pretixTicket("Zz9Yy8Xx7", 12, 7, 301, time.Time{}, time.Time{})},
	{"pretix, both bounds", 2, pretixTicket("kLmNoPqRs", 20, 0, 0, time.Unix(1780000000, 0), time.Unix(1780086399, 0))},
	{"pretix, until only", 2, pretixTicket("tUvWxYz01", 20, 0, 0, time.Time{}, time.Unix(1780086399, 0))},
	{"before pretix wrote bounds", 1, codes.Sig1Ticket{Seed: "CTJqJOl1H", Item: 1, Subevent: 14}},
	{"large ids", 1, pretixTicket("abcdefghi", 1<<40, 1<<33, 1<<50, time.Time{}, time.Time{})},
	{"box office seed", 2, pretixTicket("BOX-2026-000001", 12, 8, 0, time.Unix(1780000000, 0), time.Time{})},
}

// Golden vectors: each case's code is fixed in testdata/sig1.golden, its
// payload is byte for byte what the protobuf runtime writes for the message,
// its layout is pretix's, and it decodes back field by field.
func TestSig1Golden(t *testing.T) {
	var out bytes.Buffer
	out.WriteString("# pretix_sig1 codes signed with the tests' fixed keys (go test -run TestSig1Golden -update).\n")
	out.WriteString("# The first code and key 1 were checked against pretix's _sign_payload and key export run in\n")
	out.WriteString("# Python (cryptography 48) with the same private key and payload: identical.\n")
	for _, k := range []byte{1, 2} {
		fmt.Fprintf(&out, "key %d: %s\n", k, pubText(testKey(k)))
	}
	for _, tc := range goldenCases {
		code := sign(t, testKey(tc.key), tc.t)
		fmt.Fprintf(&out, "%s: %s\n", tc.name, code)

		raw, err := base64.StdEncoding.DecodeString(reverse(code))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		payload := dynEncode(tc.t)
		if raw[0] != 1 || int(raw[1])<<8|int(raw[2]) != len(payload) || int(raw[3])<<8|int(raw[4]) != 64 || len(raw) != 5+len(payload)+64 {
			t.Errorf("%s: header % x for a %d-byte payload", tc.name, raw[:5], len(payload))
		}
		if !bytes.Equal(raw[5:5+len(payload)], payload) {
			t.Errorf("%s: payload\n% x\nthe protobuf runtime writes\n% x", tc.name, raw[5:5+len(payload)], payload)
		}
		c, err := codes.ParseSig1(code)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if c.Ticket != tc.t {
			t.Errorf("%s: decoded %+v, want %+v", tc.name, c.Ticket, tc.t)
		}
	}
	if *update {
		if err := os.WriteFile("testdata/sig1.golden", out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile("testdata/sig1.golden")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), want) {
		t.Errorf("codes differ from testdata/sig1.golden (go test -run TestSig1Golden -update rewrites it):\n%s", out.Bytes())
	}
}

// The bytes of current pretix's payload, spelled out: both bounds are on the
// wire with 0, which is why 0 must mean "no bound".
func TestSig1PretixPayloadBytes(t *testing.T) {
	got := codes.AppendTicket(nil, ptr(pretixTicket("a1B2c3D4e", 12, 0, 0, time.Time{}, time.Time{})))
	want, _ := hex.DecodeString("0a09" + hex.EncodeToString([]byte("a1B2c3D4e")) + "100c" + "2800" + "3000")
	if !bytes.Equal(got, want) {
		t.Errorf("payload % x, want % x", got, want)
	}
}

func ptr[T any](v T) *T { return &v }

func reverse(s string) string {
	b := []byte(s)
	for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
		b[i], b[j] = b[j], b[i]
	}
	return string(b)
}

// Every single-byte change to a code is refused as unknown: each position
// replaced by each other byte value, each byte deleted, the code cut short
// and extended.
func TestSig1EveryByteChangeRefused(t *testing.T) {
	v := provider(t, nil)
	code := sign(t, testKey(1), pretixTicket("a1B2c3D4e", 12, 0, 0, time.Time{}, time.Time{}))
	now := time.Unix(1780000000, 0)
	if got := v.Check(code, now, gate.In); got.Reason != 0 {
		t.Fatalf("the code itself: %+v", got)
	}
	check := func(what, text string) {
		t.Helper()
		got := v.Check(text, now, gate.In)
		if got.Reason != gate.ReasonUnknown || got.Signed || got.Ticket.Barcode != "" {
			t.Fatalf("%s: %+v", what, got)
		}
	}
	changed := 0
	for i := 0; i < len(code); i++ {
		for b := 0; b < 256; b++ {
			if byte(b) == code[i] {
				continue
			}
			check(fmt.Sprintf("byte %d = %#x", i, b), code[:i]+string([]byte{byte(b)})+code[i+1:])
			changed++
		}
		check(fmt.Sprintf("byte %d deleted", i), code[:i]+code[i+1:])
		check(fmt.Sprintf("cut at %d", i), code[:i])
	}
	check("extended", code+"A")
	check("extended by a group", code+"AAAA")
	check("base64 group added in front", "AAAA"+code)
	if changed != len(code)*255 {
		t.Errorf("%d changes tried", changed)
	}
}

// The layout's problems, each refused before any signature is checked.
func TestParseSig1Refuses(t *testing.T) {
	good := sign(t, testKey(1), pretixTicket("a1B2c3D4e", 12, 0, 0, time.Time{}, time.Time{}))
	raw, _ := base64.StdEncoding.DecodeString(reverse(good))
	build := func(mod func(b []byte) []byte) string {
		b := mod(bytes.Clone(raw))
		return reverse(base64.StdEncoding.EncodeToString(b))
	}
	withPayload := func(p []byte) string {
		return codes.EncodeSig1(p, raw[len(raw)-64:])
	}
	tests := []struct {
		name, text, problem string
	}{
		{"empty", "", "base64"},
		{"too long", strings.Repeat("A", codes.MaxCodeLen+4), "too_long"},
		{"newline", good[:8] + "\n" + good[9:], "alphabet"},
		{"space", " " + good[1:], "alphabet"},
		{"url alphabet", strings.NewReplacer("+", "-", "/", "_").Replace(good) + strings.Repeat("-", 4), "alphabet"},
		{"not a multiple of 4", good[1:], "base64"},
		{"padding not reversed", reverse(good), "base64"},
		{"unpadded", strings.TrimLeft(good, "="), "base64"},
		{"plain barcode", "9836900602677354", "version"},
		{"random pretix secret", "abcdefghjkmnpqrstuvwxyz234567892", "version"},
		{"version 2", build(func(b []byte) []byte { b[0] = 2; return b }), "version"},
		{"header only", reverse(base64.StdEncoding.EncodeToString([]byte{1, 0, 0, 0})), "length"},
		{"signature length 63", build(func(b []byte) []byte { b[4] = 63; return b[:len(b)-1] }), "signature_length"},
		{"payload length too long", build(func(b []byte) []byte { b[2]++; return b }), "length"},
		{"payload length too short", build(func(b []byte) []byte { b[2]--; return b }), "length"},
		{"trailing bytes", build(func(b []byte) []byte { return append(b, 0, 0, 0) }), "length"},
		{"no seed", withPayload([]byte{0x10, 0x0c}), "seed"},
		{"seed not UTF-8", withPayload([]byte{0x0a, 0x02, 0xff, 0xfe}), "payload"},
		{"seed with a control character", withPayload([]byte{0x0a, 0x02, 'a', 0x01}), "seed"},
		{"seed too long", withPayload(append([]byte{0x0a, 65}, bytes.Repeat([]byte{'a'}, 65)...)), "seed"},
		{"truncated varint", withPayload([]byte{0x0a, 0x01, 'a', 0x10, 0x80}), "payload"},
		{"truncated seed", withPayload([]byte{0x0a, 0x05, 'a'}), "payload"},
		{"field number 0", withPayload([]byte{0x0a, 0x01, 'a', 0x00, 0x00}), "payload"},
		{"end group", withPayload([]byte{0x0a, 0x01, 'a', 0x0c}), "payload"},
		{"wire type 6", withPayload([]byte{0x0a, 0x01, 'a', 0x0e}), "payload"},
	}
	for _, tt := range tests {
		_, err := codes.ParseSig1(tt.text)
		var pe *codes.ParseError
		if !errors.As(err, &pe) || pe.Problem != tt.problem || pe.Scheme != "pretix_sig1" || !strings.HasPrefix(err.Error(), "codes: not a pretix_sig1 code: ") {
			t.Errorf("%s: %v (%+v), want problem %s", tt.name, err, pe, tt.problem)
		}
	}
}

// proto3 as the runtime reads it: unknown fields and fields of the wrong
// wire type skipped, the last occurrence wins, presence of 5 and 6 told by
// the wire.
func TestDecodeTicketFollowsProto3(t *testing.T) {
	seed := []byte{0x0a, 0x03, 'a', 'b', 'c'}
	tests := []struct {
		name    string
		payload []byte
		want    codes.Sig1Ticket
	}{
		{"seed only", seed, codes.Sig1Ticket{Seed: "abc"}},
		{"fields out of order", cat([]byte{0x20, 0x05, 0x10, 0x0c}, seed), codes.Sig1Ticket{Seed: "abc", Item: 12, Subevent: 5}},
		{"last wins", cat(seed, []byte{0x10, 0x01, 0x10, 0x02, 0x0a, 0x01, 'z'}), codes.Sig1Ticket{Seed: "z", Item: 2}},
		{"unknown varint", cat(seed, []byte{0x38, 0x07}), codes.Sig1Ticket{Seed: "abc"}},
		{"unknown bytes", cat(seed, []byte{0x7a, 0x02, 0xff, 0xff}), codes.Sig1Ticket{Seed: "abc"}},
		{"unknown fixed64", cat(seed, []byte{0x41, 1, 2, 3, 4, 5, 6, 7, 8}), codes.Sig1Ticket{Seed: "abc"}},
		{"unknown fixed32", cat(seed, []byte{0x45, 1, 2, 3, 4}), codes.Sig1Ticket{Seed: "abc"}},
		{"unknown group", cat(seed, []byte{0x43, 0x08, 0x01, 0x44}), codes.Sig1Ticket{Seed: "abc"}},
		{"item as bytes is unknown", cat(seed, []byte{0x12, 0x01, 0x05}), codes.Sig1Ticket{Seed: "abc"}},
		{"bound present as 0", cat(seed, []byte{0x28, 0x00}), codes.Sig1Ticket{Seed: "abc", HasValidFrom: true}},
		{"negative bound", cat(seed, []byte{0x30, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}), codes.Sig1Ticket{Seed: "abc", HasValidUntil: true, ValidUntilUnix: -1}},
		{"non-minimal varint", cat(seed, []byte{0x10, 0x8c, 0x00}), codes.Sig1Ticket{Seed: "abc", Item: 12}},
	}
	for _, tt := range tests {
		var got codes.Sig1Ticket
		if err := codes.DecodeTicket(tt.payload, &got); err != nil || got != tt.want {
			t.Errorf("%s: %+v, %v; want %+v", tt.name, got, err, tt.want)
		}
		dyn, err := dynDecode(tt.payload)
		if err != nil || dyn != tt.want {
			t.Errorf("%s: the protobuf runtime reads %+v, %v", tt.name, dyn, err)
		}
	}
}

func cat(bs ...[]byte) []byte { return bytes.Join(bs, nil) }
