package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/admitgate/admit/gate"
)

var scanBodies = []string{
	`{"barcode":"OK-12345678","lane":"north-1"}`,
	`{"lane":"bench-1","barcode":"9800002654435761"}`,
	` { "barcode" : "A/B?C%D E" , "lane":"n", "direction":"out", "nonce":"r-1" } ` + "\n",
	`{"barcode":"Zürich ☃","lane":"north-1","direction":"in"}`,
	`{}`,
	`{"barcode":"","lane":""}`,
	`{"barcode":"x","barcode":"y","lane":"l"}`,
	`{"Barcode":"x","lane":"l"}`,
	`{"barcode":"a\"b","lane":"l"}`,
	`{"barcode":"a\u00e9","lane":"l"}`,
	`{"barcode":null,"lane":"l"}`,
	`{"barcode":12,"lane":"l"}`,
	`{"barcode":"x","lane":"l","extra":1}`,
	`{"barcode":"x","lane":"l"}{}`,
	`{"barcode":"x","lane":"l"} x`,
	`{"barcode":"x","lane":"l",}`,
	`{"barcode":"x" "lane":"l"}`,
	`{"barcode":"x","lane":"l"`,
	`["barcode"]`,
	`"barcode"`,
	"{\"barcode\":\"a\tb\",\"lane\":\"l\"}",
	"{\"barcode\":\"a\x00b\",\"lane\":\"l\"}",
	"",
	"   ",
	"\u00a0{}",
	`{"barcode":"\ud800abc","lane":"l"}`,
	`{"barcode":"\udc00abc","lane":"l"}`,
	`{"barcode":"\ud83d\ude00","lane":"l"}`,
	`{"barcode":"\ud83d\u0041","lane":"l"}`,
	`{"barcode":"A\u001dB","lane":"l"}`,
	`{"barc\u006fde":"x","lane":"l"}`,
	`{"barcode":"x","lane":"l","LANE":"m"}`,
	`{"barcode":"x\q","lane":"l"}`,
	`{"barcode":"\u12","lane":"l"}`,
	`{"barcode":"x","lane":"l","nonce":null,"nonce":"n"}`,
}

// TestParseScanRequest decodes the bodies scanners send and refuses, with
// words that say why, every body encoding/json would have read leniently:
// a lone surrogate escape (issue 21, item 9: "\ud800abc" was decided as
// "\ufffdabc"), a key in another case, a key given twice.
func TestParseScanRequest(t *testing.T) {
	tests := []struct {
		body string
		want ScanRequest
		err  string // a part of the error's message; "" when it decodes
	}{
		{`{"barcode":"OK-12345678","lane":"north-1"}`, ScanRequest{Barcode: "OK-12345678", Lane: "north-1"}, ""},
		{` { "barcode" : "A/B?C%D E" , "lane":"n", "direction":"out", "nonce":"r-1" } ` + "\n",
			ScanRequest{Barcode: "A/B?C%D E", Lane: "n", Direction: "out", Nonce: "r-1"}, ""},
		{`{"barcode":"a\"b\\c\/d\b\f\n\r\t","lane":"l"}`, ScanRequest{Barcode: "a\"b\\c/d\b\f\n\r\t", Lane: "l"}, ""},
		{`{"barcode":"a\u00e9\u00E9","lane":"l"}`, ScanRequest{Barcode: "aéé", Lane: "l"}, ""},
		{`{"barcode":"\ud83d\ude00!","lane":"l"}`, ScanRequest{Barcode: "😀!", Lane: "l"}, ""},
		{`{"barcode":"01095011010209171719050810ABCD\u001d211234","lane":"l"}`, ScanRequest{Barcode: "01095011010209171719050810ABCD\x1d211234", Lane: "l"}, ""},
		{`{"barc\u006fde":"x","lane":"l"}`, ScanRequest{Barcode: "x", Lane: "l"}, ""},
		{`{"barcode":null,"lane":"l","nonce":null}`, ScanRequest{Lane: "l"}, ""},
		{`{}`, ScanRequest{}, ""},

		{`{"barcode":"\ud800abc","lane":"l"}`, ScanRequest{}, `\ud800 is the first half of a UTF-16 surrogate pair`},
		{`{"barcode":"abc\ud800","lane":"l"}`, ScanRequest{}, `\ud800 is the first half`},
		{`{"barcode":"\ud800\u0041","lane":"l"}`, ScanRequest{}, `\ud800 is the first half`},
		{`{"barcode":"\ud800\ud800","lane":"l"}`, ScanRequest{}, `\ud800 is the first half`},
		{`{"barcode":"\udc00abc","lane":"l"}`, ScanRequest{}, `\udc00 is the second half`},
		{`{"barcode":"x","lane":"\udfff"}`, ScanRequest{}, `\udfff is the second half`},
		{`{"barcode\ud800":"x","lane":"l"}`, ScanRequest{}, `surrogate`},
		{`{"barcode":"x\q","lane":"l"}`, ScanRequest{}, `\q is not an escape JSON knows`},
		{`{"barcode":"\u12","lane":"l"}`, ScanRequest{}, `four hexadecimal digits`},
		{`{"barcode":"\u12G4","lane":"l"}`, ScanRequest{}, `four hexadecimal digits`},
		{"{\"barcode\":\"a\tb\",\"lane\":\"l\"}", ScanRequest{}, `control character 0x09`},
		{`{"Barcode":"x","lane":"l"}`, ScanRequest{}, `unknown field "Barcode": field names are lower case, as in "barcode"`},
		{`{"barcode":"x","LANE":"l"}`, ScanRequest{}, `as in "lane"`},
		{`{"barcode":"x","lane":"l","extra":1}`, ScanRequest{}, `unknown field "extra"`},
		{`{"barcode":"x","barcode":"y","lane":"l"}`, ScanRequest{}, `field "barcode" is given twice`},
		{`{"barcode":"x","lane":"l","nonce":null,"nonce":"n"}`, ScanRequest{}, `field "nonce" is given twice`},
		{`{"barcode":12,"lane":"l"}`, ScanRequest{}, `field "barcode" must be a string, not a number`},
		{`{"barcode":"x","lane":["l"]}`, ScanRequest{}, `field "lane" must be a string, not an array`},
		{`{"barcode":"x","lane":"l"}{}`, ScanRequest{}, `more follows`},
		{`{"barcode":"x","lane":"l"} x`, ScanRequest{}, `more follows`},
		{`{"barcode":"x","lane":"l",}`, ScanRequest{}, `expected a field name`},
		{`{"barcode":"x" "lane":"l"}`, ScanRequest{}, `expected , or }`},
		{`{"barcode":"x","lane":"l"`, ScanRequest{}, `not closed`},
		{`{"barcode":"x`, ScanRequest{}, `not closed`},
		{`{"barcode":`, ScanRequest{}, `ends where a value should be`},
		{`["barcode"]`, ScanRequest{}, `must be a JSON object, not an array`},
		{"", ScanRequest{}, `empty`},
		{"\xff{}", ScanRequest{}, `not valid UTF-8`},
	}
	for _, tt := range tests {
		var got ScanRequest
		err := parseScanRequest([]byte(tt.body), &got, nil)
		switch {
		case tt.err == "" && err != nil:
			t.Errorf("%s: %v", tt.body, err)
		case tt.err == "" && got != tt.want:
			t.Errorf("%s: %+v, want %+v", tt.body, got, tt.want)
		case tt.err != "" && err == nil:
			t.Errorf("%s: decoded as %+v, want an error with %q", tt.body, got, tt.err)
		case tt.err != "" && (gate.ErrorCode(err) != gate.EINVALID || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("%s: %v (%s), want an invalid error with %q", tt.body, err, gate.ErrorCode(err), tt.err)
		}
	}
}

// TestParseScanRequestAllocatesOnlyItsStrings holds the hot path to its
// allocations: the barcode and the nonce, also when they were escaped.
func TestParseScanRequestAllocatesOnlyItsStrings(t *testing.T) {
	m, err := NewMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	lanes := newLaneBoard(m)
	if err := lanes.set([]LaneInfo{{Lane: gate.Lane{ID: "north-1", Direction: gate.In}}}); err != nil {
		t.Fatal(err)
	}
	for body, want := range map[string]float64{
		`{"barcode":"9800002654435761","lane":"north-1"}`:                                    1,
		`{"barcode":"9800002654435761","lane":"north-1","direction":"in","nonce":"r-1"}`:     2,
		`{"barcode":"0109501101020917\u001d21ABC\u00e9","lane":"north-1","direction":"out"}`: 1,
	} {
		b := []byte(body)
		var req ScanRequest
		got := testing.AllocsPerRun(100, func() {
			if err := parseScanRequest(b, &req, lanes); err != nil {
				t.Fatal(err)
			}
		})
		if got != want {
			t.Errorf("%s: %v allocations, want %v", body, got, want)
		}
	}
}

// decodeLenient is encoding/json's decoding of a request, with the API's
// DisallowUnknownFields and nothing stricter.
func decodeLenient(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("more after the value")
	}
	return nil
}

// lenient reports whether encoding/json may read body more leniently than
// checkJSON: a key twice in one object, a top-level key not exactly among
// fields (when fields is not nil), a string that decodes to U+FFFD (which
// may be encoding/json's stand-in for an escape it could not decode) or
// nesting deeper than maxJSONDepth. It walks the body with encoding/json's
// own tokenizer.
func lenient(body []byte, fields []string) bool {
	type level struct {
		keys    map[string]bool // nil in an array
		wantKey bool
	}
	var stack []*level
	dec := json.NewDecoder(bytes.NewReader(body))
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		var top *level
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		switch v := tok.(type) {
		case json.Delim:
			if v == '}' || v == ']' {
				stack = stack[:len(stack)-1]
				break
			}
			if top != nil && top.keys != nil {
				top.wantKey = true
			}
			l := &level{wantKey: true}
			if v == '{' {
				l.keys = map[string]bool{}
			}
			if stack = append(stack, l); len(stack) > maxJSONDepth {
				return true
			}
		case string:
			if strings.ContainsRune(v, utf8.RuneError) {
				return true
			}
			if top != nil && top.keys != nil && top.wantKey {
				if top.keys[v] || len(stack) == 1 && fields != nil && !slices.Contains(fields, v) {
					return true
				}
				top.keys[v], top.wantKey = true, false
				continue
			}
			if top != nil && top.keys != nil {
				top.wantKey = true
			}
		default:
			if top != nil && top.keys != nil {
				top.wantKey = true
			}
		}
		if len(stack) == 0 {
			return false
		}
	}
}

// TestLenient keeps the fuzz tests' oracle honest.
func TestLenient(t *testing.T) {
	for body, want := range map[string]bool{
		`{"a":1,"a":2}`: true, `{"a":{"a":1},"b":[{"a":1},{"a":1}]}`: false, `[{"a":1},{"a":1}]`: false,
		`{"a":{"b":1,"b":2}}`: true, `{"a":"\ud800"}`: true, `["\udc00"]`: true, `{"x":[1,{"y":true}],"z":null}`: false,
		`{"barcode":"1","Barcode":"2"}`: true, `{"lane":"l","nonce":{"Barcode":1}}`: false,
		strings.Repeat("[", maxJSONDepth) + strings.Repeat("]", maxJSONDepth):     false,
		strings.Repeat("[", maxJSONDepth+1) + strings.Repeat("]", maxJSONDepth+1): true,
	} {
		var fields []string
		if strings.Contains(body, "barcode") || strings.Contains(body, "lane") {
			fields = scanFields
		}
		if got := lenient([]byte(body), fields); got != want {
			t.Errorf("lenient(%s) = %v, want %v", body, got, want)
		}
	}
}

// FuzzScanJSON holds parseScanRequest to encoding/json: a body it decodes,
// encoding/json decodes to the same request, and a body encoding/json
// decodes that it refuses is one encoding/json reads leniently (lenient).
func FuzzScanJSON(f *testing.F) {
	for _, b := range scanBodies {
		f.Add([]byte(b))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var fast, slow ScanRequest
		err := parseScanRequest(body, &fast, nil)
		stdErr := decodeLenient(body, &slow)
		switch {
		case err == nil && stdErr != nil:
			t.Fatalf("parseScanRequest decoded %q, encoding/json did not: %v", body, stdErr)
		case err == nil && fast != slow:
			t.Fatalf("%q: parseScanRequest %+v, encoding/json %+v", body, fast, slow)
		case err == nil && lenient(body, scanFields):
			t.Fatalf("parseScanRequest decoded %q, which is not strict JSON", body)
		case err != nil && stdErr == nil && utf8.Valid(body) && !lenient(body, scanFields) &&
			string(bytes.Trim(body, " \t\r\n")) != "null": // encoding/json takes null for an empty request
			t.Fatalf("parseScanRequest refused %q (%v), which encoding/json decodes as %+v", body, err, slow)
		case err != nil && gate.ErrorCode(err) != gate.EINVALID:
			t.Fatalf("%q: %v is not invalid", body, err)
		}
	})
}

// FuzzCheckJSON holds checkJSON to encoding/json in the same way, on any
// JSON and on an object with EventRequest's fields.
func FuzzCheckJSON(f *testing.F) {
	for _, b := range scanBodies {
		f.Add([]byte(b), false)
	}
	for _, b := range []string{
		`{"name":"Derby","opens_at":"2026-12-05T18:00:00Z","entries":2,"reentry":true}`,
		`{"name":"x","Name":"y"}`, `{"add":["a","b"],"remove":[]}`, `[1,-2.5e+3,true,false,null,{"a":{"b":[]}}]`,
		`{"a":1,"a":2}`, `[{"a":1},{"a":1}]`, `0`, `-0.0E-0`, `01`, `1.`, `"\ud800"`, `[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]`,
	} {
		f.Add([]byte(b), false)
		f.Add([]byte(b), true)
	}
	f.Fuzz(func(t *testing.T, body []byte, event bool) {
		var fields []string
		var lenientErr error
		if event {
			fields = jsonFields(&EventRequest{})
			lenientErr = decodeLenient(body, new(map[string]any))
			if lenientErr == nil {
				lenientErr = decodeLenient(body, new(struct{}))
				if lenientErr != nil && bytes.HasPrefix(bytes.TrimLeft(body, " \t\r\n"), []byte("{")) {
					lenientErr = nil // an object: unknown keys are checkJSON's to find
				}
			}
		} else {
			lenientErr = decodeLenient(body, new(any))
		}
		err := checkJSON(body, fields)
		switch {
		case err == nil && !json.Valid(body):
			t.Fatalf("checkJSON accepted %q, which is not JSON", body)
		case err == nil && lenient(body, fields):
			t.Fatalf("checkJSON accepted %q, which is not strict JSON", body)
		case err != nil && lenientErr == nil && utf8.Valid(body) && !lenient(body, fields):
			t.Fatalf("checkJSON refused %q: %v", body, err)
		case err != nil && gate.ErrorCode(err) != gate.EINVALID:
			t.Fatalf("%q: %v is not invalid", body, err)
		}
	})
}

func decisionSamples() []gate.Decision {
	at := time.Date(2026, 12, 5, 19, 3, 4, 567_000_000, time.FixedZone("", 3600))
	return []gate.Decision{
		{},
		{Admit: true, Reason: gate.ReasonOK, Seq: 42, Barcode: "9800002654435761", Lane: "bench-1", Direction: gate.In, At: at,
			Event: "MATCH", Ticket: &gate.TicketInfo{Provider: "secutix", PriceType: "ADU", PriceTypeName: "Adult", Product: "P1", State: gate.StateValid}},
		{Reason: gate.ReasonUnknown, Seq: 7, Barcode: "UNKNOWN-3-17", Lane: "north-1", Direction: gate.Out, At: at.UTC()},
		{Reason: gate.ReasonAlreadyUsed, Seq: 8, Barcode: "<b>&\"x\"\\ é\u2028", Lane: "north-1", Direction: gate.In, At: at, Event: "E",
			Ticket:    &gate.TicketInfo{Provider: "p", PriceType: "CHI", PriceTypeName: "Kind & Co", Product: "", ProductName: "Saison", State: gate.StateBlocked},
			FirstUsed: &gate.Movement{At: at.Add(-time.Hour), Lane: "south-2", Seq: 3, Appliance: "north-gate"}, Detail: "line\n2", Replayed: true},
		{Reason: gate.ReasonAlreadyUsed, FirstUsed: &gate.Movement{Lane: gate.UpstreamLane}, At: time.Unix(0, 1).In(time.FixedZone("", -9000))},
		{Reason: gate.ReasonMalformed, Barcode: "\xff\xfe", Detail: "bad \x01 bytes"},
		{At: time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("", 3600+30))},
		{Reason: gate.ReasonOK, Barcode: "Zürich ☃ 𝄞", Lane: "a\u2028b", Event: "c\u2029d", Detail: "é\xe2\x80"},
	}
}

func encodeStd(t testing.TB, d *gate.Decision) ([]byte, error) {
	t.Helper()
	var buf bytes.Buffer
	err := json.NewEncoder(&buf).Encode(d)
	return buf.Bytes(), err
}

// TestAppendDecisionIsEncodingJSON checks appendDecision against
// json.Encoder on decisions of every shape, and that it writes them all.
func TestAppendDecisionIsEncodingJSON(t *testing.T) {
	for i, d := range decisionSamples() {
		got, ok := appendDecision(nil, &d)
		if !ok {
			t.Errorf("decision %d: appendDecision gave up", i)
			continue
		}
		want, err := encodeStd(t, &d)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("decision %d:\n got %s\nwant %s", i, got, want)
		}
	}
	for _, d := range []gate.Decision{
		{Reason: 200},
		{Direction: 9},
		{Ticket: &gate.TicketInfo{State: 99}},
		{At: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
		{FirstUsed: &gate.Movement{At: time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)}},
	} {
		if _, ok := appendDecision(nil, &d); ok {
			t.Errorf("appendDecision wrote %+v, which encoding/json refuses", d)
		}
	}
}

// FuzzDecisionJSON holds appendDecision to json.Encoder: whatever it writes
// is what encoding/json writes.
func FuzzDecisionJSON(f *testing.F) {
	for _, d := range decisionSamples() {
		var ts, fts int64
		var off int
		if !d.At.IsZero() {
			ts = d.At.UnixNano()
			_, off = d.At.Zone()
		}
		var tk gate.TicketInfo
		var fu gate.Movement
		if d.Ticket != nil {
			tk = *d.Ticket
		}
		if d.FirstUsed != nil {
			fu = *d.FirstUsed
			if !fu.At.IsZero() {
				fts = fu.At.UnixNano()
			}
		}
		f.Add(d.Admit, uint8(d.Reason), d.Seq, d.Barcode, d.Lane, uint8(d.Direction), ts, off, d.Event,
			d.Ticket != nil, tk.Provider, tk.ProductName, uint8(tk.State), d.FirstUsed != nil, fts, fu.Seq, fu.Appliance, d.Detail, d.Replayed)
	}
	f.Fuzz(func(t *testing.T, admit bool, reason uint8, seq uint64, barcode, lane string, dir uint8, ts int64, off int,
		event string, hasTicket bool, provider, product string, state uint8, hasFirst bool, fts int64, fseq uint64, appliance, detail string, replayed bool) {
		zone := time.FixedZone("", off%(30*3600))
		d := gate.Decision{Admit: admit, Reason: gate.Reason(reason), Seq: seq, Barcode: barcode, Lane: lane, Direction: gate.Direction(dir),
			Event: event, Detail: detail, Replayed: replayed}
		if ts != 0 {
			d.At = time.Unix(0, ts).In(zone)
		}
		if hasTicket {
			d.Ticket = &gate.TicketInfo{Provider: provider, PriceType: barcode, PriceTypeName: event, Product: lane, ProductName: product, State: gate.State(state)}
		}
		if hasFirst {
			d.FirstUsed = &gate.Movement{Lane: appliance, Seq: fseq, Appliance: appliance}
			if fts != 0 {
				d.FirstUsed.At = time.Unix(fts, 0).In(zone)
			}
		}
		got, ok := appendDecision(nil, &d)
		want, err := encodeStd(t, &d)
		if !ok {
			return // encoding/json writes it
		}
		if err != nil {
			t.Fatalf("appendDecision wrote %s, encoding/json refused: %v", got, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("\n got %s\nwant %s", got, want)
		}
	})
}

// BenchmarkAppendDecision is a first use's answer as the bench fixture's
// tickets give it (a product name with an en dash), hand-written and
// through json.Encoder.
func BenchmarkAppendDecision(b *testing.B) {
	d := decisionSamples()[1]
	d.Ticket.ProductName = "FC Example – Derby"
	b.Run("append", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for b.Loop() {
			buf, _ = appendDecision(buf[:0], &d)
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		var buf bytes.Buffer
		for b.Loop() {
			buf.Reset()
			_ = json.NewEncoder(&buf).Encode(&d)
		}
	})
}

// BenchmarkParseScanRequest is a scanner's plain request and one with
// escapes, as the hot path decodes them.
func BenchmarkParseScanRequest(b *testing.B) {
	m, err := NewMetrics(prometheus.NewRegistry())
	if err != nil {
		b.Fatal(err)
	}
	lanes := newLaneBoard(m)
	if err := lanes.set([]LaneInfo{{Lane: gate.Lane{ID: "north-1", Direction: gate.In}}}); err != nil {
		b.Fatal(err)
	}
	for name, body := range map[string]string{
		"plain":   `{"barcode":"9800002654435761","lane":"north-1"}`,
		"escaped": `{"barcode":"0109501101020917\u001d21ABC\u00e9","lane":"north-1","direction":"out","nonce":"r-1"}`,
	} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			body := []byte(body)
			var req ScanRequest
			for b.Loop() {
				if err := parseScanRequest(body, &req, lanes); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
