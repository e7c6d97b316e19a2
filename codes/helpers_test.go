package codes_test

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"os"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/admitgate/admit/codes"
	"github.com/admitgate/admit/gate"
)

// testKey returns a fixed Ed25519 key for n, so signed codes are the same
// on every run (Ed25519 signatures are deterministic) and golden files hold.
func testKey(n byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{n}, ed25519.SeedSize))
}

func pubText(priv ed25519.PrivateKey) string {
	return codes.PublicKeyText(priv.Public().(ed25519.PublicKey))
}

func sign(t testing.TB, priv ed25519.PrivateKey, tk codes.Sig1Ticket) string {
	t.Helper()
	code, err := codes.SignSig1(priv, tk)
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// pretixTicket is a Ticket as current pretix fills it: both bounds present,
// 0 for none.
func pretixTicket(seed string, item, variation, subevent int64, from, until time.Time) codes.Sig1Ticket {
	t := codes.Sig1Ticket{Seed: seed, Item: item, Variation: variation, Subevent: subevent}
	codes.Sig1Bounds(&t, from, until)
	return t
}

// readVector reads "name: value" lines of a testdata file.
func readVector(t testing.TB, name string) map[string]string {
	t.Helper()
	f, err := os.Open("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		k, v, ok := strings.Cut(line, ": ")
		if !ok {
			t.Fatalf("%s: %q", name, line)
		}
		out[k] = v
	}
	return out
}

// ticketDescriptor is pretix_sig1.proto, built as protoc would describe it
// (proto3, the optional fields in synthetic oneofs), so dynamicpb decodes
// and encodes payloads exactly as a generated Ticket does.
var ticketDescriptor = func() protoreflect.MessageDescriptor {
	i64 := descriptorpb.FieldDescriptorProto_TYPE_INT64.Enum()
	opt := descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum()
	field := func(name string, num int32, typ *descriptorpb.FieldDescriptorProto_Type) *descriptorpb.FieldDescriptorProto {
		return &descriptorpb.FieldDescriptorProto{Name: proto.String(name), JsonName: proto.String(name), Number: proto.Int32(num), Label: opt, Type: typ}
	}
	optional := func(name string, num, oneof int32) *descriptorpb.FieldDescriptorProto {
		f := field(name, num, i64)
		f.OneofIndex, f.Proto3Optional = proto.Int32(oneof), proto.Bool(true)
		return f
	}
	fd := &descriptorpb.FileDescriptorProto{
		Name:   proto.String("pretix_sig1.proto"),
		Syntax: proto.String("proto3"),
		MessageType: []*descriptorpb.DescriptorProto{{
			Name: proto.String("Ticket"),
			Field: []*descriptorpb.FieldDescriptorProto{
				field("seed", 1, descriptorpb.FieldDescriptorProto_TYPE_STRING.Enum()),
				field("item", 2, i64),
				field("variation", 3, i64),
				field("subevent", 4, i64),
				optional("validFromUnixTime", 5, 0),
				optional("validUntilUnixTime", 6, 1),
			},
			OneofDecl: []*descriptorpb.OneofDescriptorProto{{Name: proto.String("_validFromUnixTime")}, {Name: proto.String("_validUntilUnixTime")}},
		}},
	}
	f, err := protodesc.NewFile(fd, nil)
	if err != nil {
		panic(err)
	}
	return f.Messages().ByName("Ticket")
}()

// dynDecode decodes a payload with the protobuf runtime itself.
func dynDecode(b []byte) (codes.Sig1Ticket, error) {
	m := dynamicpb.NewMessage(ticketDescriptor)
	if err := proto.Unmarshal(b, m); err != nil {
		return codes.Sig1Ticket{}, err
	}
	fs := ticketDescriptor.Fields()
	t := codes.Sig1Ticket{
		Seed:      m.Get(fs.ByNumber(1)).String(),
		Item:      m.Get(fs.ByNumber(2)).Int(),
		Variation: m.Get(fs.ByNumber(3)).Int(),
		Subevent:  m.Get(fs.ByNumber(4)).Int(),
	}
	if m.Has(fs.ByNumber(5)) {
		t.HasValidFrom, t.ValidFromUnix = true, m.Get(fs.ByNumber(5)).Int()
	}
	if m.Has(fs.ByNumber(6)) {
		t.HasValidUntil, t.ValidUntilUnix = true, m.Get(fs.ByNumber(6)).Int()
	}
	return t, nil
}

// dynEncode encodes t with the protobuf runtime: the bytes a generated
// Ticket serializes to, as pretix's library writes them.
func dynEncode(t codes.Sig1Ticket) []byte {
	m := dynamicpb.NewMessage(ticketDescriptor)
	fs := ticketDescriptor.Fields()
	m.Set(fs.ByNumber(1), protoreflect.ValueOfString(t.Seed))
	m.Set(fs.ByNumber(2), protoreflect.ValueOfInt64(t.Item))
	m.Set(fs.ByNumber(3), protoreflect.ValueOfInt64(t.Variation))
	m.Set(fs.ByNumber(4), protoreflect.ValueOfInt64(t.Subevent))
	if t.HasValidFrom {
		m.Set(fs.ByNumber(5), protoreflect.ValueOfInt64(t.ValidFromUnix))
	}
	if t.HasValidUntil {
		m.Set(fs.ByNumber(6), protoreflect.ValueOfInt64(t.ValidUntilUnix))
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		panic(err)
	}
	return b
}

// provider is a signed provider's verifier for the tests: key 1 and 2
// valid, items 12 (variations 7 and 8 mapped on their own) and 20, no
// subevents.
func provider(t testing.TB, cfg *codes.Sig1Config) *codes.Sig1 {
	t.Helper()
	if cfg == nil {
		cfg = &codes.Sig1Config{
			Keys: []string{pubText(testKey(1)), pubText(testKey(2))},
			Items: []codes.Sig1Item{
				{Item: 12, Product: gate.Code{Code: "DERBY", Name: "Derby"}, PriceType: gate.Code{Code: "ADU", Name: "Adult"}, Events: []string{"MATCH-1"}},
				{Item: 12, Variation: 7, PriceType: gate.Code{Code: "CHI", Name: "Child"}},
				{Item: 12, Variation: 8, Events: []string{"MATCH-1", "MATCH-2"}},
				{Item: 20, PriceType: gate.Code{Code: "VIP"}, Events: []string{"MATCH-2", "MATCH-1", "MATCH-2"}},
			},
		}
	}
	v, err := codes.NewSig1("pretix-main", *cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
