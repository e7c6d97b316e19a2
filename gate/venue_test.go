package gate_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/admitgate/admit/gate"
)

func TestOfflinePolicy(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want gate.OfflinePolicy
		err  bool
	}{
		{"", gate.OfflineDeny, false},
		{"deny", gate.OfflineDeny, false},
		{"admit", gate.OfflineAdmit, false},
		{"Admit", 0, true},
		{"open", 0, true},
	} {
		got, err := gate.ParseOfflinePolicy(tc.in)
		if (err != nil) != tc.err || (!tc.err && got != tc.want) {
			t.Errorf("gate.ParseOfflinePolicy(%q) = %v, %v", tc.in, got, err)
		}
		if err != nil && gate.ErrorCode(err) != gate.EINVALID {
			t.Errorf("gate.ParseOfflinePolicy(%q): code %s", tc.in, gate.ErrorCode(err))
		}
	}
	var lane struct {
		Offline gate.OfflinePolicy `json:"offline"`
	}
	if err := json.Unmarshal([]byte(`{"offline":"admit"}`), &lane); err != nil || lane.Offline != gate.OfflineAdmit {
		t.Fatalf("unmarshal: %v %v", lane.Offline, err)
	}
	b, err := json.Marshal(lane)
	if err != nil || string(b) != `{"offline":"admit"}` {
		t.Fatalf("marshal: %s %v", b, err)
	}
	if _, err := gate.OfflinePolicy(9).MarshalText(); err == nil {
		t.Fatal("an unknown policy marshalled")
	}
	// A lane that says nothing denies, and its scans carry its policy.
	l := gate.Lane{ID: "north-1"}
	if s := l.Scan("X", time.Time{}); s.Offline != gate.OfflineDeny {
		t.Fatalf("default policy %v", s.Offline)
	}
	l.Offline = gate.OfflineAdmit
	if s := l.Scan("X", time.Time{}); s.Offline != gate.OfflineAdmit {
		t.Fatalf("scan policy %v", s.Offline)
	}
}

func TestClaimRefSame(t *testing.T) {
	at := time.Date(2026, 12, 5, 19, 0, 0, 123456789, time.UTC)
	local := at.In(time.FixedZone("CET", 3600))
	a := gate.ClaimRef{Appliance: "north", Seq: 4, At: at}
	if !a.Same(gate.ClaimRef{Appliance: "north", Seq: 4, At: local}) {
		t.Fatal("the same instant in another zone is not the same write")
	}
	for _, b := range []gate.ClaimRef{{"south", 4, at}, {"north", 5, at}, {"north", 4, at.Add(time.Nanosecond)}} {
		if a.Same(b) {
			t.Fatalf("%+v is the same as %+v", b, a)
		}
	}
}
