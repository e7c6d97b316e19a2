package turnstile_test

import (
	"context"
	"testing"
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/gate/gatetest"
	"github.com/admitgate/admit/turnstile"
	"github.com/admitgate/admit/turnstile/turnstiletest"
)

// TestLaneOverrideOpensTheRelay: a supervisor's override unlocks the lane
// as an admission does, only while the lane can take one, and a validator
// that cannot override says so.
func TestLaneOverrideOpensTheRelay(t *testing.T) {
	r := newRig(t, turnstile.Config{UnlockTime: 5 * time.Second})
	req := gate.OverrideRequest{By: "kim", Why: "checked by hand"}
	if _, err := r.lane.Override(r.ctx, req); gate.ErrorCode(err) != gate.EUNAVAILABLE {
		t.Fatalf("a validator without overrides: %v", err)
	}

	var got []gate.OverrideRequest
	ov := &gatetest.Overrider{Validator: r.index, OverrideFunc: func(_ context.Context, req gate.OverrideRequest) (gate.Decision, error) {
		got = append(got, req)
		return gate.Decision{Admit: true, Reason: gate.ReasonOverride, Seq: 90 + uint64(len(got)), Lane: req.Lane, Barcode: "X",
			Direction: gate.In, At: req.At, Override: &gate.Override{By: req.By, Why: req.Why, Refused: gate.ReasonAlreadyUsed}}, nil
	}}
	lock := turnstiletest.NewOutput("relay", r.clock)
	cfg := turnstile.Config{Clock: r.clock, UnlockTime: 5 * time.Second}
	lane, err := turnstile.NewLane(gate.Lane{ID: "ov-1", Direction: gate.In}, ov, turnstile.Parts{Lock: lock}, &cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	d, err := lane.Override(r.ctx, req)
	if err != nil || !d.Admit || d.Reason != gate.ReasonOverride {
		t.Fatalf("%+v %v", d, err)
	}
	if !lock.Level() || lane.Status().State != turnstile.StateUnlocked || lane.Status().Last.Seq != d.Seq {
		t.Fatalf("relay %v, status %+v", lock.Level(), lane.Status())
	}
	if len(got) != 1 || got[0].Lane != "ov-1" || !got[0].At.Equal(t0) {
		t.Fatalf("the validator was asked %+v", got)
	}
	// While it is open for someone, a second override waits.
	if _, err := lane.Override(r.ctx, req); gate.ErrorCode(err) != gate.ECONFLICT || len(got) != 1 {
		t.Fatalf("an override of a busy lane: %v", err)
	}
	r.clock.Advance(5 * time.Second)
	if lock.Level() || lane.Status().State != turnstile.StateIdle {
		t.Fatalf("the override's unlock time ended: relay %v, %s", lock.Level(), lane.Status().State)
	}
	if _, err := lane.Override(r.ctx, gate.OverrideRequest{Lane: "other", By: "kim", Why: "x"}); gate.ErrorCode(err) != gate.EINVALID {
		t.Fatalf("another lane's override: %v", err)
	}
	if err := lane.Halt(); err != nil {
		t.Fatal(err)
	}
	if _, err := lane.Override(r.ctx, req); gate.ErrorCode(err) != gate.ECONFLICT {
		t.Fatalf("a halted lane: %v", err)
	}
}
