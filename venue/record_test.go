package venue_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/admitgate/admit/venue"
)

func TestRedemptionKey(t *testing.T) {
	// printf 'MATCH\0T-1' | sha256sum, first 32 hex digits: fixed, so every
	// appliance and every version computes the same key.
	if got, want := venue.RedemptionKey("MATCH", "T-1"), "r.0c6fdc69de9ec7e2f2d1df13efaebe09"; got != want {
		t.Fatalf("key %s, want %s", got, want)
	}
	if venue.RedemptionKey("MA", "TCH\x00T-1") == venue.RedemptionKey("MATCH", "T-1") ||
		venue.RedemptionKey("A", "BC") == venue.RedemptionKey("AB", "C") {
		t.Fatal("the separator does not separate")
	}
}

// TestDecodeRecord: decoding is strict and every refusal names the key.
func TestDecodeRecord(t *testing.T) {
	good := admission("MATCH", "T-1", "north", 7, nil)
	data, err := venue.MarshalRecord(good)
	if err != nil {
		t.Fatal(err)
	}
	key := good.Key()
	rec, err := venue.DecodeRecord(key, 3, data)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Claim != good.Claim || !reflect.DeepEqual(rec.Redemption, good.Redemption) || rec.Prev != nil {
		t.Fatalf("round trip: %+v", rec)
	}
	second := admission("MATCH", "T-1", "south", 9, &good.Redemption)
	data2, _ := venue.MarshalRecord(second)
	if rec, err := venue.DecodeRecord(key, 4, data2); err != nil || !reflect.DeepEqual(*rec.Prev, good.Redemption) {
		t.Fatalf("round trip with prev: %v", err)
	}

	edit := func(f func(m map[string]any)) []byte {
		var m map[string]any
		json.Unmarshal(data, &m)
		f(m)
		b, _ := json.Marshal(m)
		return b
	}
	for _, tc := range []struct {
		name string
		data []byte
		key  string
		want string
	}{
		{"unknown field", edit(func(m map[string]any) { m["surprise"] = 1 }), key, `unknown field "surprise"`},
		{"unknown nested field", edit(func(m map[string]any) { m["claim"].(map[string]any)["x"] = 1 }), key, `unknown field "x"`},
		{"missing prev", edit(func(m map[string]any) { delete(m, "prev") }), key, `missing field "prev"`},
		{"missing claim seq", edit(func(m map[string]any) { delete(m["claim"].(map[string]any), "seq") }), key, `claim: missing field "seq"`},
		{"missing admissions", edit(func(m map[string]any) { delete(m["redemption"].(map[string]any), "admissions") }), key,
			`redemption: missing field "admissions"`},
		{"missing lane", edit(func(m map[string]any) {
			delete(m["redemption"].(map[string]any)["first"].(map[string]any), "lane")
		}), key, `redemption.first: missing field "lane"`},
		{"newer version", edit(func(m map[string]any) { m["v"] = 2; m["new"] = true }), key, "version 2, wanted 1"},
		{"no version", edit(func(m map[string]any) { delete(m, "v") }), key, `missing field "v"`},
		{"wrong key", data, venue.RedemptionKey("MATCH", "T-2"), `belongs under key ` + key},
		{"event differs", edit(func(m map[string]any) { m["redemption"].(map[string]any)["event"] = "OTHER" }), key,
			`redemption: event "OTHER"`},
		{"trailing data", append(append([]byte{}, data...), []byte(` {}`)...), key, "after top-level value"},
		{"not json", []byte("admit"), key, "not a JSON object"},
		{"null", []byte("null"), key, "null, wanted an object"},
		{"bad appliance", edit(func(m map[string]any) { m["claim"].(map[string]any)["appliance"] = "a.b" }), key, "claim: appliance id"},
		{"negative", edit(func(m map[string]any) { m["redemption"].(map[string]any)["exits"] = -1 }), key, "negative count"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := venue.DecodeRecord(tc.key, 12, tc.data)
			var de *venue.DecodeError
			if !errors.As(err, &de) || de.Key != tc.key || de.Rev != 12 || !strings.Contains(err.Error(), tc.want) ||
				!strings.Contains(err.Error(), "admit_redemptions key "+tc.key+" (revision 12)") {
				t.Fatalf("DecodeRecord: %v, want %q", err, tc.want)
			}
		})
	}
	bad := *good
	bad.V = 2
	if _, err := venue.MarshalRecord(&bad); err == nil {
		t.Fatal("a record of another version was encoded")
	}
}

// FuzzDecodeRecord: no input panics; what decodes encodes to a value that
// decodes to the same record.
func FuzzDecodeRecord(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/record-*.json")
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	key := venue.RedemptionKey("MATCH", "T-1")
	f.Fuzz(func(t *testing.T, data []byte) {
		rec, err := venue.DecodeRecord(key, 1, data)
		if err != nil {
			return
		}
		again, err := venue.MarshalRecord(rec)
		if err != nil {
			t.Fatalf("a decoded record does not encode: %v", err)
		}
		rec2, err := venue.DecodeRecord(key, 1, again)
		if err != nil {
			t.Fatalf("a re-encoded record does not decode: %v", err)
		}
		b1, _ := json.Marshal(rec)
		b2, _ := json.Marshal(rec2)
		if string(b1) != string(b2) {
			t.Fatalf("round trip changed the record:\n%s\n%s", b1, b2)
		}
	})
}
