package httpapi

import (
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/admitgate/admit/gate"
)

// The scan route is the API's hot path: every turnstile and handheld sends
// POST /v1/scan, and encoding/json's reflection was a tenth of the daemon's
// CPU per scan. parseScanRequest reads its body by hand, strictly (see
// strictjson.go), and appendDecision writes the answer byte for byte as
// json.Encoder does (FuzzScanJSON and FuzzDecisionJSON compare them with
// encoding/json).

// scanFields are ScanRequest's keys, in the order of their bits in
// parseScanRequest.
var scanFields = []string{"barcode", "lane", "direction", "nonce"}

// parseScanRequest decodes body, a ScanRequest, into req: one JSON object
// whose keys are "barcode", "lane", "direction" and "nonce", each at most
// once and exactly so written, with string (or null) values read as
// jsonString reads them, and nothing after it but white space. Anything
// else is an EINVALID error that says what to fix. It allocates the barcode
// and nonce strings and nothing else: a lane that lanes (when not nil) holds
// takes its configured id string rather than a copy.
func parseScanRequest(body []byte, req *ScanRequest, lanes *laneBoard) error {
	if !utf8.Valid(body) {
		return errBodyNotUTF8
	}
	i := skipSpace(body, 0)
	if i == len(body) {
		return errBodyEmpty
	}
	if body[i] != '{' {
		return gate.Errorf(gate.EINVALID, "the request body must be a JSON object, not %s", jsonKindAt(body[i]))
	}
	var keyBuf, valBuf [64]byte // escaped strings decode here, on the stack
	var seen uint8
	i = skipSpace(body, i+1)
	if i < len(body) && body[i] == '}' {
		i++
	} else {
		for {
			if i >= len(body) || body[i] != '"' {
				return (&jsonSyntax{i, "expected a field name in double quotes"}).err()
			}
			key, j, e := jsonString(body, i, keyBuf[:0])
			if e != nil {
				return e.err()
			}
			var bit uint8
			switch string(key) {
			case "barcode":
				bit = 1
			case "lane":
				bit = 2
			case "direction":
				bit = 4
			case "nonce":
				bit = 8
			default:
				return unknownField(key, scanFields)
			}
			if seen&bit != 0 {
				return duplicateField(key)
			}
			seen |= bit
			j = skipSpace(body, j)
			if j >= len(body) || body[j] != ':' {
				return (&jsonSyntax{j, "expected : after a field name"}).err()
			}
			k := skipSpace(body, j+1)
			switch {
			case k < len(body) && body[k] == '"':
				val, next, e := jsonString(body, k, valBuf[:0])
				if e != nil {
					return e.err()
				}
				setScanField(req, bit, val, lanes)
				k = next
			case hasPrefix(body[k:], "null"): // as encoding/json: the field stays empty
				k += len("null")
			case k >= len(body):
				return (&jsonSyntax{k, "the body ends where a value should be"}).err()
			default:
				return gate.Errorf(gate.EINVALID, "field %q must be a string, not %s", string(key), jsonKindAt(body[k]))
			}
			i = skipSpace(body, k)
			if i >= len(body) {
				return (&jsonSyntax{i, "the object is not closed"}).err()
			}
			if body[i] == '}' {
				i++
				break
			}
			if body[i] != ',' {
				return (&jsonSyntax{i, "expected , or } in the object"}).err()
			}
			i = skipSpace(body, i+1)
		}
	}
	if i = skipSpace(body, i); i != len(body) {
		return (&jsonSyntax{i, "more follows the request's JSON object; send one object"}).err()
	}
	return nil
}

// setScanField sets the field of req that bit stands for.
func setScanField(req *ScanRequest, bit uint8, val []byte, lanes *laneBoard) {
	switch bit {
	case 1:
		req.Barcode = string(val)
	case 2:
		req.Lane = lanes.id(val)
	case 4:
		switch string(val) {
		case "in":
			req.Direction = "in"
		case "out":
			req.Direction = "out"
		default:
			req.Direction = string(val)
		}
	case 8:
		req.Nonce = string(val)
	}
}

// skipSpace returns the index of the first byte at or after i that is not
// JSON white space.
func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
		i++
	}
	return i
}

// appendDecision appends d as json.Encoder writes it (HTML-safe escaping,
// a final newline). It reports false, with buf's contents unspecified, when
// d holds a value it leaves to encoding/json: a reason, direction or state
// that does not marshal, a time that is not plain RFC 3339, or the rarer
// fields (offline, a supervisor's override).
func appendDecision(buf []byte, d *gate.Decision) ([]byte, bool) {
	if d.Offline || d.Override != nil {
		return buf, false
	}
	var ok bool
	buf = append(buf, `{"admit":`...)
	buf = strconv.AppendBool(buf, d.Admit)
	buf = append(buf, `,"reason":`...)
	if d.Reason != 0 && !d.Reason.Valid() {
		return buf, false
	}
	buf = appendEnum(buf, d.Reason != 0, d.Reason.String)
	buf = append(buf, `,"seq":`...)
	buf = strconv.AppendUint(buf, d.Seq, 10)
	buf = append(buf, `,"barcode":`...)
	buf = appendString(buf, d.Barcode)
	buf = append(buf, `,"lane":`...)
	buf = appendString(buf, d.Lane)
	buf = append(buf, `,"direction":`...)
	if d.Direction != 0 && d.Direction != gate.In && d.Direction != gate.Out {
		return buf, false
	}
	buf = appendEnum(buf, d.Direction != 0, d.Direction.String)
	buf = append(buf, `,"at":`...)
	if buf, ok = appendTime(buf, d.At); !ok {
		return buf, false
	}
	if d.Event != "" {
		buf = append(buf, `,"event":`...)
		buf = appendString(buf, d.Event)
	}
	if t := d.Ticket; t != nil {
		buf = append(buf, `,"ticket":{"provider":`...)
		buf = appendString(buf, t.Provider)
		buf = append(buf, `,"price_type":`...)
		buf = appendString(buf, t.PriceType)
		buf = append(buf, `,"price_type_name":`...)
		buf = appendString(buf, t.PriceTypeName)
		buf = append(buf, `,"product":`...)
		buf = appendString(buf, t.Product)
		if t.ProductName != "" {
			buf = append(buf, `,"product_name":`...)
			buf = appendString(buf, t.ProductName)
		}
		buf = append(buf, `,"state":`...)
		if t.State != 0 && !t.State.Valid() {
			return buf, false
		}
		buf = appendEnum(buf, t.State != 0, t.State.String)
		buf = append(buf, '}')
	}
	if m := d.FirstUsed; m != nil {
		buf = append(buf, `,"first_used":{`...)
		if !m.At.IsZero() {
			buf = append(buf, `"at":`...)
			if buf, ok = appendTime(buf, m.At); !ok {
				return buf, false
			}
			buf = append(buf, ',')
		}
		buf = append(buf, `"lane":`...)
		buf = appendString(buf, m.Lane)
		if m.Seq != 0 {
			buf = append(buf, `,"seq":`...)
			buf = strconv.AppendUint(buf, m.Seq, 10)
		}
		if m.Appliance != "" {
			buf = append(buf, `,"appliance":`...)
			buf = appendString(buf, m.Appliance)
		}
		buf = append(buf, '}')
	}
	if d.Detail != "" {
		buf = append(buf, `,"detail":`...)
		buf = appendString(buf, d.Detail)
	}
	if d.Replayed {
		buf = append(buf, `,"replayed":true`...)
	}
	return append(buf, "}\n"...), true
}

// appendEnum appends a gate enum's wire name, or "" for its zero value,
// as its MarshalText does. The names are plain lower-case ASCII.
func appendEnum(buf []byte, set bool, name func() string) []byte {
	buf = append(buf, '"')
	if set {
		buf = append(buf, name()...)
	}
	return append(buf, '"')
}

// appendString appends s as a JSON string, escaped as json.Marshal escapes
// it: strings that need no escape (UTF-8 without control characters, '"',
// '\\', the HTML-unsafe '<', '>', '&', U+2028 or U+2029) directly, any other
// through encoding/json.
func appendString(buf []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 || r == '\u2028' || r == '\u2029' {
				return appendMarshaled(buf, s)
			}
			i += size - 1
			continue
		}
		if c < 0x20 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return appendMarshaled(buf, s)
		}
	}
	buf = append(buf, '"')
	buf = append(buf, s...)
	return append(buf, '"')
}

func appendMarshaled(buf []byte, s string) []byte {
	b, _ := json.Marshal(s) // a string always marshals
	return append(buf, b...)
}

// appendTime appends t as time.Time's MarshalJSON does, or reports false
// for the times it refuses (a year outside 0-9999, an odd zone offset).
func appendTime(buf []byte, t time.Time) ([]byte, bool) {
	buf = append(buf, '"')
	n0 := len(buf)
	buf = t.AppendFormat(buf, time.RFC3339Nano)
	if len(buf) < n0+len("2006-01-02T15:04:05Z") || buf[n0+4] != '-' {
		return buf, false
	}
	if buf[len(buf)-1] != 'Z' {
		c := buf[len(buf)-len("Z07:00")]
		h := buf[len(buf)-len("07:00"):]
		if ('0' <= c && c <= '9') || 10*(h[0]-'0')+(h[1]-'0') >= 24 {
			return buf, false
		}
	}
	return append(buf, '"'), true
}
