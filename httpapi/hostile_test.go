package httpapi_test

import (
	"strings"
	"testing"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/httpapi"
)

// TestBodiesAreReadStrictly is issue 21, item 9: POST /v1/scan with
// "\ud800abc" was decided (and journaled) as "\ufffdabc", which admitted a
// ticket imported as those bytes; "Barcode" filled barcode and a key given
// twice took its last value. Each is now 400 with words, on every JSON
// route, and no scan reaches the index.
func TestBodiesAreReadStrictly(t *testing.T) {
	got := make(chan gate.Scan, 64)
	idx := fuzzIndex()
	scans := echoIndex(got)
	idx.ScanFunc, idx.CheckFunc = scans.ScanFunc, scans.CheckFunc
	_, base := testServer(t, httpapi.Config{Index: idx})
	tests := []struct {
		method, path, body, want string
	}{
		{"POST", "/v1/scan", `{"barcode":"\ud800abc","lane":"north-1"}`, `\ud800 is the first half of a UTF-16 surrogate pair`},
		{"POST", "/v1/scan", `{"barcode":"OK-\ud800abc","lane":"north-1"}`, `\ud800 is the first half`},
		{"POST", "/v1/check", `{"barcode":"OK-\udc00","lane":"north-1"}`, `\udc00 is the second half`},
		{"POST", "/v1/scan", `{"barcode":"OK-1","lane":"north-1\ud800"}`, `surrogate`},
		{"POST", "/v1/scan", `{"Barcode":"OK-1","lane":"north-1"}`, `unknown field "Barcode": field names are lower case, as in "barcode"`},
		{"POST", "/v1/check", `{"barcode":"OK-1","LANE":"north-1"}`, `as in "lane"`},
		{"POST", "/v1/scan", `{"barcode":"x","lane":"north-1","barcode":"OK-1"}`, `field "barcode" is given twice`},
		{"POST", "/v1/check", `{"barcode":"OK-1","lane":"south-1","lane":"north-1"}`, `field "lane" is given twice`},
		{"POST", "/v1/scan", `{"barcode":"OK-1\x","lane":"north-1"}`, `\x is not an escape JSON knows`},
		{"PUT", "/v1/events/derby", `{"name":"Derby \ud800"}`, `surrogate`},
		{"PUT", "/v1/events/derby", `{"Name":"Derby"}`, `unknown field "Name": field names are lower case, as in "name"`},
		{"PUT", "/v1/events/derby", `{"name":"Derby","entries":1,"entries":5}`, `field "entries" is given twice`},
		{"PUT", "/v1/providers/p", `{"name":"P","name":"Q"}`, `given twice`},
		{"POST", "/v1/tickets/B/reissue", `{"barcode":"C\udfff"}`, `surrogate`},
		{"POST", "/v1/tickets/B/reissue", `{"BARCODE":"C"}`, `as in "barcode"`},
		{"POST", "/v1/tickets/B/events", `{"add":["E","F\ud801"]}`, `surrogate`},
		{"POST", "/v1/tickets/B/events", `{"add":["E"],"add":["F"]}`, `given twice`},
		{"POST", "/v1/emergency/release", `{"reason":"fire","Reason":"drill"}`, `as in "reason"`},
	}
	for _, tt := range tests {
		r := do(t, tt.method, base+tt.path, adminSecret, tt.body)
		if r.Status != 400 || r.errorCode(t) != gate.EINVALID || !strings.Contains(string(r.Body), jsonQuote(tt.want)) {
			t.Errorf("%s %s %s: %d %s, want 400 with %q", tt.method, tt.path, tt.body, r.Status, r.Body, tt.want)
		}
	}
	select {
	case s := <-got:
		t.Errorf("the index was asked to decide %+v", s)
	default:
	}
	// What is strict and right still decodes, escapes included: GS1's
	// group separator and a character outside the BMP as its pair.
	r := do(t, "POST", base+"/v1/check", scannerSecret, `{"barcode":"OK-\u001d\ud83d\ude00","lane":"north-1"}`)
	if r.Status != 200 {
		t.Fatalf("a valid escaped scan: %d %s", r.Status, r.Body)
	}
	if s := <-got; s.Barcode != "OK-\x1d😀" {
		t.Errorf("decided %q", s.Barcode)
	}
}

// jsonQuote is s as it appears inside a JSON string of an error body.
func jsonQuote(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s)
}
