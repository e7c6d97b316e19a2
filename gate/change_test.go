package gate_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/admitgate/admit/gate"
)

func TestChangeValidate(t *testing.T) {
	at := time.Date(2026, 12, 5, 18, 0, 0, 0, time.UTC)
	ok := func(c gate.Change) gate.Change {
		c.ID, c.At, c.By = "c-1", at, "anna"
		return c
	}
	for _, tc := range []struct {
		c    gate.Change
		want string // "" valid
	}{
		{ok(gate.Change{Kind: gate.ChangeCancel, Barcode: "B"}), ""},
		{ok(gate.Change{Kind: gate.ChangeCancel}), "needs a barcode"},
		{ok(gate.Change{Kind: "drop"}), "unknown change kind"},
		{gate.Change{Kind: gate.ChangeCancel, Barcode: "B", At: at}, "change id"},
		{gate.Change{ID: "x", Kind: gate.ChangeCancel, Barcode: "B"}, "no time"},
		{ok(gate.Change{Kind: gate.ChangePutProvider}), "needs a provider"},
		{ok(gate.Change{Kind: gate.ChangePutEvent, Event: &gate.Event{ID: "e"}}), ""},
		{ok(gate.Change{Kind: gate.ChangeImport, Import: &gate.ImportChange{}}), "needs a provider"},
		{ok(gate.Change{Kind: gate.ChangeWithdraw}), "import id"},
		{ok(gate.Change{Kind: gate.ChangeReissue, Barcode: "A"}), "new barcode"},
		{ok(gate.Change{Kind: gate.ChangeUpdateEvents, Barcode: "A"}), "events to add or remove"},
		{ok(gate.Change{Kind: gate.ChangeSkip}), "position it skips"},
		{ok(gate.Change{Kind: gate.ChangeSkip, Position: 3}), ""},
	} {
		err := tc.c.Validate()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%+v: %v", tc.c, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || gate.ErrorCode(err) != gate.EINVALID):
			t.Errorf("%+v: %v, want %q", tc.c, err, tc.want)
		}
	}
}

func TestLagPolicy(t *testing.T) {
	for _, tc := range []struct {
		p    gate.LagPolicy
		age  time.Duration
		want gate.LagVerdict
	}{
		{gate.LagPolicy{}, time.Hour, gate.LagOK},
		{gate.LagPolicy{MaxLag: 5 * time.Second}, 5 * time.Second, gate.LagOK},
		{gate.LagPolicy{MaxLag: 5 * time.Second}, 6 * time.Second, gate.LagWarn},
		{gate.LagPolicy{MaxLag: 5 * time.Second, Refuse: true}, 6 * time.Second, gate.LagRefuse},
	} {
		if got := tc.p.Check(tc.age); got != tc.want {
			t.Errorf("%+v at %s: %d, want %d", tc.p, tc.age, got, tc.want)
		}
	}
	if d := gate.StaleDetail(12340*time.Millisecond, 5*time.Second); !strings.Contains(d, "12.3s old") || !strings.Contains(d, "allows 5s") {
		t.Errorf("detail %q", d)
	}
}

func TestWithBy(t *testing.T) {
	if by := gate.ByFrom(context.Background()); by != "" {
		t.Fatalf("by %q", by)
	}
	if by := gate.ByFrom(gate.WithBy(context.Background(), "anna")); by != "anna" {
		t.Fatalf("by %q", by)
	}
}
