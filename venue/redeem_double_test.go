package venue_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/venue"
)

func sampleDouble() venue.DoubleEntry {
	at := time.Date(2026, 12, 5, 19, 0, 0, 0, time.UTC)
	return venue.DoubleEntry{V: venue.DoubleEntryVersion, Event: "match", Ticket: "T-1",
		Hub:     gate.Movement{At: at, Lane: "north-1", Seq: 4, Appliance: "north"},
		Offline: gate.Movement{At: at.Add(time.Minute), Lane: "south-2", Seq: 9, Appliance: "south"},
		Reason:  gate.ReasonOK, RecordedAt: at.Add(time.Hour)}
}

// TestDecodeDoubleEntry: a double entry decodes strictly, under the key of
// its offline scan only.
func TestDecodeDoubleEntry(t *testing.T) {
	d := sampleDouble()
	data, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	key := venue.DoubleEntryKey("match", "T-1", "south", 9)
	if !strings.HasPrefix(key, venue.RedemptionKey("match", "T-1")+".") {
		t.Fatalf("key %s is not keyed like the redemption", key)
	}
	got, err := venue.DecodeDoubleEntry(key, 1, data)
	if err != nil || !got.Offline.At.Equal(d.Offline.At) || got.Hub != d.Hub || got.Reason != gate.ReasonOK {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	edit := func(f func(m map[string]any)) []byte {
		var m map[string]any
		_ = json.Unmarshal(data, &m)
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
		{"unknown field", edit(func(m map[string]any) { m["extra"] = 1 }), key, "unknown field"},
		{"missing field", edit(func(m map[string]any) { delete(m, "hub") }), key, `missing field "hub"`},
		{"newer version", edit(func(m map[string]any) { m["v"] = 2 }), key, "version 2"},
		{"another scan's key", data, venue.DoubleEntryKey("match", "T-1", "south", 10), "belongs under key"},
		{"not JSON", []byte("nope"), key, "not a JSON object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := venue.DecodeDoubleEntry(tc.key, 3, tc.data)
			var de *venue.DecodeError
			if !errors.As(err, &de) || de.Key != tc.key || de.Bucket != venue.BucketDoubleEntries || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want a decode error naming %s with %q", err, tc.key, tc.want)
			}
		})
	}
}

func FuzzDecodeDoubleEntry(f *testing.F) {
	data, _ := json.Marshal(sampleDouble())
	f.Add(data)
	f.Add([]byte(`{"v":1}`))
	key := venue.DoubleEntryKey("match", "T-1", "south", 9)
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := venue.DecodeDoubleEntry(key, 1, b)
		if err != nil {
			return
		}
		again, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := venue.DecodeDoubleEntry(key, 1, again); err != nil {
			t.Fatalf("round trip of %s: %v", again, err)
		}
	})
}
