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
// CPU per scan. The two functions below read and write the common shapes of
// its JSON by hand and give up, returning false, on anything else, so that
// encoding/json decides every unusual input and keeps its exact errors, and
// every answer is byte for byte what json.Encoder writes (FuzzScanJSON and
// FuzzDecisionJSON compare the two).

// parseScanRequest decodes body into req when it is a plain ScanRequest: one
// JSON object whose keys are exactly "barcode", "lane", "direction" or
// "nonce", each at most once, with string values free of escapes and
// control characters, and nothing after it but white space. body must be
// valid UTF-8. It reports false, leaving req unspecified, for anything
// else; encoding/json then decodes it (the last of repeated keys, keys in
// another case, escapes, null, errors). A lane that lanes (when not nil)
// holds takes its configured id string rather than a copy.
func parseScanRequest(body []byte, req *ScanRequest, lanes *laneBoard) bool {
	i := skipSpace(body, 0)
	if i >= len(body) || body[i] != '{' {
		return false
	}
	i = skipSpace(body, i+1)
	var seen uint8
	if i < len(body) && body[i] == '}' {
		i++
	} else {
		for {
			key, j, ok := plainString(body, i)
			if !ok {
				return false
			}
			j = skipSpace(body, j)
			if j >= len(body) || body[j] != ':' {
				return false
			}
			val, k, ok := plainString(body, skipSpace(body, j+1))
			if !ok {
				return false
			}
			var bit uint8
			switch string(key) {
			case "barcode":
				bit = 1
				req.Barcode = string(val)
			case "lane":
				bit = 2
				req.Lane = lanes.id(val)
			case "direction":
				bit = 4
				switch string(val) {
				case "in":
					req.Direction = "in"
				case "out":
					req.Direction = "out"
				default:
					req.Direction = string(val)
				}
			case "nonce":
				bit = 8
				req.Nonce = string(val)
			default:
				return false
			}
			if seen&bit != 0 {
				return false
			}
			seen |= bit
			i = skipSpace(body, k)
			if i >= len(body) {
				return false
			}
			if body[i] == '}' {
				i++
				break
			}
			if body[i] != ',' {
				return false
			}
			i = skipSpace(body, i+1)
		}
	}
	return skipSpace(body, i) == len(body)
}

// skipSpace returns the index of the first byte at or after i that is not
// JSON white space.
func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
		i++
	}
	return i
}

// plainString reads the JSON string at b[i:] when it has no escape and no
// control character, returning its contents and the index after it.
func plainString(b []byte, i int) ([]byte, int, bool) {
	if i >= len(b) || b[i] != '"' {
		return nil, 0, false
	}
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return b[i+1 : j], j + 1, true
		case c == '\\' || c < 0x20:
			return nil, 0, false
		}
	}
	return nil, 0, false
}

// appendDecision appends d as json.Encoder writes it (HTML-safe escaping,
// a final newline). It reports false, with buf's contents unspecified, when
// d holds a value it leaves to encoding/json: a reason, direction or state
// that does not marshal, or a time that is not plain RFC 3339.
func appendDecision(buf []byte, d *gate.Decision) ([]byte, bool) {
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
