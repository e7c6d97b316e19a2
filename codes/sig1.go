package codes

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/binary"
	"strconv"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/admitgate/admit/gate"
)

// MaxCodeLen is the longest code either parser reads, in bytes: a barcode's
// limit, so a code's decoding is bounded before it starts.
const MaxCodeLen = gate.MaxBarcodeLen

// MaxSeedLen is the longest seed a signed code may carry, in bytes. pretix
// draws nine characters; the seed is the ticket's venue-wide id.
const MaxSeedLen = 64

const (
	sig1Version   = 0x01
	sig1HeaderLen = 5
	// maxSig1Bytes is what MaxCodeLen characters of base64 decode to.
	maxSig1Bytes = MaxCodeLen / 4 * 3
)

// The fields of pretix's Ticket message (pretix_sig1.proto).
const (
	fieldSeed       protowire.Number = 1
	fieldItem       protowire.Number = 2
	fieldVariation  protowire.Number = 3
	fieldSubevent   protowire.Number = 4
	fieldValidFrom  protowire.Number = 5
	fieldValidUntil protowire.Number = 6
)

// strictBase64 is the standard alphabet with padding, refusing non-zero
// padding bits, so one byte string has one text.
var strictBase64 = base64.StdEncoding.Strict()

// Sig1Ticket is the payload of a signed code: pretix's Ticket message.
type Sig1Ticket struct {
	Seed      string // random per secret; the ticket's venue-wide id
	Item      int64  // pretix item (product) id
	Variation int64  // pretix variation id; 0 for none
	Subevent  int64  // pretix subevent (date) id; 0 for none

	// The optional validity bounds as they are on the wire: whether the
	// field is present, and its value in Unix seconds. pretix writes 0 for
	// no bound; use ValidFrom and ValidUntil for what the bounds mean.
	HasValidFrom   bool
	ValidFromUnix  int64
	HasValidUntil  bool
	ValidUntilUnix int64
}

// ValidFrom returns the lower validity bound, or the zero time for none: a
// bound counts when it is present and positive.
func (t *Sig1Ticket) ValidFrom() time.Time {
	if t.HasValidFrom && t.ValidFromUnix > 0 {
		return time.Unix(t.ValidFromUnix, 0).UTC()
	}
	return time.Time{}
}

// ValidUntil returns the upper validity bound (inclusive), or the zero time
// for none.
func (t *Sig1Ticket) ValidUntil() time.Time {
	if t.HasValidUntil && t.ValidUntilUnix > 0 {
		return time.Unix(t.ValidUntilUnix, 0).UTC()
	}
	return time.Time{}
}

// Sig1Code is a parsed pretix_sig1 code whose signature is not checked yet.
type Sig1Code struct {
	Text      string     // the code as scanned: pretix's secret, the ticket's barcode
	Payload   []byte     // the signed bytes
	Signature []byte     // ed25519.SignatureSize bytes
	Ticket    Sig1Ticket // the payload, decoded
}

// ParseError says why a text is not a code of the scheme. Problem is a
// stable word for tests and logs.
type ParseError struct {
	Scheme  string // "pretix_sig1" or "rotating"
	Problem string // "too_long", "alphabet", "base64", "version", "length", "signature_length", "payload", "seed", "shape", "token", "otp", "time"
	Detail  string
}

func (e *ParseError) Error() string {
	return "codes: not a " + e.Scheme + " code: " + e.Detail
}

func sig1Error(problem, detail string) *ParseError {
	return &ParseError{Scheme: "pretix_sig1", Problem: problem, Detail: detail}
}

// ParseSig1 reads a pretix_sig1 code: the text reversed and base64-decoded,
// the 5-byte header, the payload and the signature. It checks no
// signature. It refuses, with a *ParseError, anything pretix does not write:
// a text longer than MaxCodeLen, characters outside the base64 alphabet,
// missing padding or non-zero padding bits, another version, lengths that do
// not add up to the bytes (trailing bytes included), a signature that is
// not 64 bytes, a payload that is not a Ticket message, and a seed that is
// empty, longer than MaxSeedLen or not printable UTF-8.
func ParseSig1(text string) (*Sig1Code, error) {
	raw, err := decodeSig1Text(text, make([]byte, maxSig1Bytes))
	if err != nil {
		return nil, err
	}
	c := &Sig1Code{Text: text}
	if err := splitSig1(raw, c); err != nil {
		return nil, err
	}
	return c, nil
}

// decodeSig1Text reverses and decodes text into buf (maxSig1Bytes long).
func decodeSig1Text(text string, buf []byte) ([]byte, error) {
	if len(text) > MaxCodeLen {
		return nil, sig1Error("too_long", "longer than "+strconv.Itoa(MaxCodeLen)+" bytes")
	}
	if len(text) == 0 || len(text)%4 != 0 {
		return nil, sig1Error("base64", "base64 text must come in groups of 4 characters")
	}
	var rev [MaxCodeLen]byte
	n := len(text)
	for i := 0; i < n; i++ {
		c := text[i]
		// The decoder would skip CR and LF: refuse them and every other
		// character outside the alphabet before it sees them.
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '=') {
			return nil, sig1Error("alphabet", "byte "+strconv.Itoa(i)+" is outside the base64 alphabet")
		}
		rev[n-1-i] = c
	}
	m, err := strictBase64.Decode(buf, rev[:n])
	if err != nil {
		return nil, sig1Error("base64", "the reversed text is not padded standard base64")
	}
	return buf[:m], nil
}

// splitSig1 reads the header of raw and fills c's payload, signature and
// ticket. The slices alias raw.
func splitSig1(raw []byte, c *Sig1Code) error {
	if len(raw) < sig1HeaderLen {
		return sig1Error("length", "shorter than its 5-byte header")
	}
	if raw[0] != sig1Version {
		return sig1Error("version", "version "+strconv.Itoa(int(raw[0]))+", not 1")
	}
	n := int(binary.BigEndian.Uint16(raw[1:3]))
	m := int(binary.BigEndian.Uint16(raw[3:5]))
	if m != ed25519.SignatureSize {
		return sig1Error("signature_length", "a signature of "+strconv.Itoa(m)+" bytes, not 64")
	}
	if sig1HeaderLen+n+m != len(raw) {
		return sig1Error("length", "the header's lengths make "+strconv.Itoa(sig1HeaderLen+n+m)+" bytes, the code holds "+strconv.Itoa(len(raw)))
	}
	c.Payload = raw[sig1HeaderLen : sig1HeaderLen+n]
	c.Signature = raw[sig1HeaderLen+n:]
	return decodeTicket(c.Payload, &c.Ticket)
}

// decodeTicket decodes pretix's Ticket message as proto3 does: fields in any
// order, the last occurrence of a field wins, unknown fields and known
// fields of the wrong wire type are skipped, a malformed field or a seed
// that is not UTF-8 is an error. Presence is told for the optional fields
// 5 and 6 only; the others are 0 when absent.
func decodeTicket(b []byte, t *Sig1Ticket) error {
	*t = Sig1Ticket{}
	var seed []byte
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return sig1Error("payload", "the payload is not a Ticket message: "+protowire.ParseError(n).Error())
		}
		if num > protowire.MaxValidNumber {
			return sig1Error("payload", "the payload is not a Ticket message: field number "+strconv.Itoa(int(num))+" is out of range")
		}
		b = b[n:]
		switch {
		case num == fieldSeed && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return sig1Error("payload", "the payload is not a Ticket message: seed: "+protowire.ParseError(n).Error())
			}
			seed, b = v, b[n:]
		case num >= fieldItem && num <= fieldValidUntil && typ == protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return sig1Error("payload", "the payload is not a Ticket message: field "+strconv.Itoa(int(num))+": "+protowire.ParseError(n).Error())
			}
			b = b[n:]
			switch num {
			case fieldItem:
				t.Item = int64(v)
			case fieldVariation:
				t.Variation = int64(v)
			case fieldSubevent:
				t.Subevent = int64(v)
			case fieldValidFrom:
				t.HasValidFrom, t.ValidFromUnix = true, int64(v)
			case fieldValidUntil:
				t.HasValidUntil, t.ValidUntilUnix = true, int64(v)
			}
		default:
			n := protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return sig1Error("payload", "the payload is not a Ticket message: field "+strconv.Itoa(int(num))+": "+protowire.ParseError(n).Error())
			}
			b = b[n:]
		}
	}
	if !utf8.Valid(seed) {
		return sig1Error("payload", "the payload is not a Ticket message: the seed is not UTF-8")
	}
	if err := checkSeed(string(seed)); err != nil {
		return err
	}
	t.Seed = string(seed)
	return nil
}

// checkSeed refuses a seed that cannot be a venue-wide ticket id.
func checkSeed(seed string) error {
	switch {
	case seed == "":
		return sig1Error("seed", "the ticket has no seed")
	case len(seed) > MaxSeedLen:
		return sig1Error("seed", "the seed is longer than "+strconv.Itoa(MaxSeedLen)+" bytes")
	case gate.CheckBarcode(seed) != nil:
		return sig1Error("seed", "the seed holds a control character")
	}
	return nil
}

// appendTicket encodes t as pretix's protobuf library does: fields in
// number order, the plain fields only when not zero, the optional ones when
// present.
func appendTicket(b []byte, t *Sig1Ticket) []byte {
	if t.Seed != "" {
		b = protowire.AppendTag(b, fieldSeed, protowire.BytesType)
		b = protowire.AppendString(b, t.Seed)
	}
	for _, f := range [...]struct {
		num     protowire.Number
		present bool
		v       int64
	}{
		{fieldItem, t.Item != 0, t.Item},
		{fieldVariation, t.Variation != 0, t.Variation},
		{fieldSubevent, t.Subevent != 0, t.Subevent},
		{fieldValidFrom, t.HasValidFrom, t.ValidFromUnix},
		{fieldValidUntil, t.HasValidUntil, t.ValidUntilUnix},
	} {
		if f.present {
			b = protowire.AppendTag(b, f.num, protowire.VarintType)
			b = protowire.AppendVarint(b, uint64(f.v))
		}
	}
	return b
}

// encodeSig1 lays out payload and signature and returns the code's text.
func encodeSig1(payload, sig []byte) string {
	raw := make([]byte, 0, sig1HeaderLen+len(payload)+len(sig))
	raw = append(raw, sig1Version)
	raw = binary.BigEndian.AppendUint16(raw, uint16(len(payload)))
	raw = binary.BigEndian.AppendUint16(raw, uint16(len(sig)))
	raw = append(raw, payload...)
	raw = append(raw, sig...)
	enc := []byte(strictBase64.EncodeToString(raw))
	for i, j := 0, len(enc)-1; i < j; i, j = i+1, j-1 {
		enc[i], enc[j] = enc[j], enc[i]
	}
	return string(enc)
}
