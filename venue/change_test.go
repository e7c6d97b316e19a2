package venue_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/venue"
)

var wireChange = gate.Change{ID: "0f1e2d3c4b5a69788796a5b4c3d2e1f0", Kind: gate.ChangeReissue, By: "admin-anna",
	At: time.Date(2026, 12, 5, 18, 30, 0, 0, time.UTC), Appliance: "north", Barcode: "OLD-1", NewBarcode: "NEW-1"}

func TestChangeRoundTrip(t *testing.T) {
	imp := gate.Change{ID: "imp", Kind: gate.ChangeImport, By: "drop:box", At: wireChange.At, Appliance: "south",
		Import: &gate.ImportChange{Provider: "box", Event: "derby", Format: gate.FormatSecutix, OnError: gate.OnErrorSkip,
			Source: "export.csv", File: strings.Repeat("ab", 32), Size: 1234}}
	ev := gate.Event{ID: "derby", Name: "Derby", OpensAt: wireChange.At, Entries: 2}
	for _, c := range []gate.Change{wireChange, imp,
		{ID: "e", Kind: gate.ChangePutEvent, By: "x", At: wireChange.At, Appliance: "door", Event: &ev},
		{ID: "p", Kind: gate.ChangeUpdateEvents, By: "x", At: wireChange.At, Appliance: "door", Barcode: "B", Add: []string{"a"}},
		{ID: "w", Kind: gate.ChangeWithdraw, By: "x", At: wireChange.At, Appliance: "door", ImportID: 7},
	} {
		data, err := venue.MarshalChange(c)
		if err != nil {
			t.Fatalf("%s: %v", c.Kind, err)
		}
		got, err := venue.DecodeChange(venue.ChangeSubject(c.Appliance), 42, data)
		if err != nil {
			t.Fatalf("%s: %v\n%s", c.Kind, err, data)
		}
		c.Position = 42
		if !reflect.DeepEqual(got, c) {
			t.Fatalf("%s: decoded\n%+v\nwant\n%+v", c.Kind, got, c)
		}
	}
}

// A message that is not a change of the stream is a *ChangeDecodeError
// naming its position, never a change.
func TestDecodeChangeRefuses(t *testing.T) {
	good, err := venue.MarshalChange(wireChange)
	if err != nil {
		t.Fatal(err)
	}
	subject := venue.ChangeSubject("north")
	edit := func(old, nu string) string { return strings.Replace(string(good), old, nu, 1) }
	for _, tc := range []struct {
		name, data, subject, want string
	}{
		{"not json", "garbage", "", "not a JSON object"},
		{"null", "null", "", "null"},
		{"another version", edit(`"v":1`, `"v":2`), "", "version 2"},
		{"an unknown field", edit(`"v":1`, `"v":1,"priority":9`), "", "unknown field"},
		{"no id", edit(`"id":"0f1e2d3c4b5a69788796a5b4c3d2e1f0",`, ""), "", `missing field "id"`},
		{"no appliance", edit(`"appliance":"north",`, ""), "", `missing field "appliance"`},
		{"an unknown kind", edit(`"kind":"reissue"`, `"kind":"delete_everything"`), "", "unknown change kind"},
		{"a kind without its fields", edit(`"new_barcode":"NEW-1"`, `"add":["x"]`), "", "the old and the new barcode"},
		{"a position on the wire", edit(`"v":1`, `"v":1,"position":3`), "", "position 3 on the wire"},
		{"another appliance's subject", string(good), venue.ChangeSubject("south"), "published on admit.changes.south"},
		{"an id of spaces", edit(`"id":"0f1e2d3c4b5a69788796a5b4c3d2e1f0"`, `"id":"a b"`), "", "may hold only"},
		{"trailing data", string(good) + "{}", "", "after top-level value"},
		{"a skip", edit(`"kind":"reissue"`, `"kind":"skip"`), "", "position it skips"},
		{"an import without a file", `{"v":1,"id":"i","kind":"import","by":"x","at":"2026-12-05T18:00:00Z","appliance":"north","import":{"provider":"box","file":""}}`, "", "not a hex SHA-256"},
		{"an import for a bad provider", `{"v":1,"id":"i","kind":"import","by":"x","at":"2026-12-05T18:00:00Z","appliance":"north","import":{"provider":"a b","file":"` + strings.Repeat("ab", 32) + `"}}`, "", "provider id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := subject
			if tc.subject != "" {
				s = tc.subject
			}
			_, err := venue.DecodeChange(s, 9, []byte(tc.data))
			var de *venue.ChangeDecodeError
			if !errors.As(err, &de) || de.Position != 9 || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want a decode error at 9 saying %q", err, tc.want)
			}
		})
	}
}

// FuzzDecodeChange: no message panics the decoder; one that decodes is a
// valid change that encodes and decodes to itself.
func FuzzDecodeChange(f *testing.F) {
	good, _ := venue.MarshalChange(wireChange)
	f.Add(good)
	f.Add([]byte(`{"v":1,"id":"i","kind":"import","by":"x","at":"2026-12-05T18:00:00Z","appliance":"north","import":{"provider":"box","file":"` + strings.Repeat("ab", 32) + `"}}`))
	f.Add([]byte(`{"v":1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := venue.DecodeChange(venue.ChangeSubject("north"), 1, data)
		if err != nil {
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("decoded an invalid change: %v", err)
		}
		again, err := venue.MarshalChange(c)
		if err != nil {
			t.Fatalf("a decoded change does not encode: %v", err)
		}
		c2, err := venue.DecodeChange(venue.ChangeSubject("north"), 1, again)
		if err != nil || !reflect.DeepEqual(c2, c) {
			t.Fatalf("round trip: %+v\n%+v %v", c, c2, err)
		}
	})
}
