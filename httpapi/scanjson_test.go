package httpapi

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
	"unicode/utf8"

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
}

// FuzzScanJSON holds parseScanRequest to encoding/json: whatever body it
// accepts, decodeJSON accepts too, with the same request.
func FuzzScanJSON(f *testing.F) {
	for _, b := range scanBodies {
		f.Add([]byte(b))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var fast ScanRequest
		if !utf8.Valid(body) || !parseScanRequest(body, &fast, nil) {
			return
		}
		var slow ScanRequest
		if err := decodeJSON(body, &slow); err != nil {
			t.Fatalf("parseScanRequest accepted %q, encoding/json did not: %v", body, err)
		}
		if fast != slow {
			t.Fatalf("%q: parseScanRequest %+v, encoding/json %+v", body, fast, slow)
		}
	})
}

// TestParseScanRequestTakesThePlainRequests checks that the requests
// scanners send are the ones parsed by hand, and the others are left to
// encoding/json.
func TestParseScanRequestTakesThePlainRequests(t *testing.T) {
	for i, b := range scanBodies {
		var req ScanRequest
		got := parseScanRequest([]byte(b), &req, nil)
		if want := i < 6; got != want {
			t.Errorf("parseScanRequest(%q) = %v, want %v", b, got, want)
		}
	}
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
