package index

import (
	"context"
	"testing"

	"github.com/admitgate/admit/gate"
)

// TestTicketChangeCodes checks the error codes the API maps to statuses.
func TestTicketChangeCodes(t *testing.T) {
	ctx := context.Background()
	ix, _ := openMem(t)
	load(t, ix, tk("A", "derby"), tk("B", "derby", "fest"), tk("C", "derby"), tk("D", "derby"))
	if _, err := ix.Reissue(ctx, "D", "D2", "admin"); err != nil {
		t.Fatal(err)
	}
	if _, err := ix.Cancel(ctx, "C", "admin"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		do   func() (gate.Ticket, error)
		code string
		want gate.State
	}{
		{"cancel unknown", func() (gate.Ticket, error) { return ix.Cancel(ctx, "nope", "a") }, gate.ENOTFOUND, 0},
		{"cancel twice is a no-op", func() (gate.Ticket, error) { return ix.Cancel(ctx, "C", "a") }, "", gate.StateCancelled},
		{"block cancelled", func() (gate.Ticket, error) { return ix.Block(ctx, "C", "a") }, gate.ECONFLICT, 0},
		{"unblock cancelled", func() (gate.Ticket, error) { return ix.Unblock(ctx, "C", "a") }, gate.ECONFLICT, 0},
		{"unblock valid is a no-op", func() (gate.Ticket, error) { return ix.Unblock(ctx, "A", "a") }, "", gate.StateValid},
		{"block revoked", func() (gate.Ticket, error) { return ix.Block(ctx, "D", "a") }, gate.ECONFLICT, 0},
		{"invalidate revoked", func() (gate.Ticket, error) { return ix.Invalidate(ctx, "D", "a") }, gate.ECONFLICT, 0},
		{"reissue revoked", func() (gate.Ticket, error) { return ix.Reissue(ctx, "D", "D3", "a") }, gate.ECONFLICT, 0},
		{"reissue onto existing", func() (gate.Ticket, error) { return ix.Reissue(ctx, "A", "B", "a") }, gate.ECONFLICT, 0},
		{"reissue to a malformed barcode", func() (gate.Ticket, error) { return ix.Reissue(ctx, "A", "bad\x00", "a") }, gate.EINVALID, 0},
		{"reissue unknown", func() (gate.Ticket, error) { return ix.Reissue(ctx, "nope", "X", "a") }, gate.ENOTFOUND, 0},
		{"invalidate cancelled", func() (gate.Ticket, error) { return ix.Invalidate(ctx, "C", "a") }, "", gate.StateInvalidated},
		{"add an unknown event", func() (gate.Ticket, error) { return ix.UpdateEvents(ctx, "B", []string{"nosuch"}, nil, "a") }, gate.EINVALID, 0},
		{"remove every event", func() (gate.Ticket, error) {
			return ix.UpdateEvents(ctx, "B", nil, []string{"derby", "fest"}, "a")
		}, gate.EINVALID, 0},
		{"add and remove", func() (gate.Ticket, error) {
			return ix.UpdateEvents(ctx, "B", []string{"double"}, []string{"fest"}, "a")
		}, "", gate.StateValid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.do()
			if gate.ErrorCode(err) != tt.code {
				t.Fatalf("err = %v (%s), want code %q", err, gate.ErrorCode(err), tt.code)
			}
			if tt.code == "" && got.State != tt.want {
				t.Fatalf("state = %s, want %s", got.State, tt.want)
			}
		})
	}
	v, err := ix.Ticket(ctx, "B")
	if err != nil || len(v.Events) != 2 || v.Events[0] != "derby" || v.Events[1] != "double" {
		t.Fatalf("events of B: %+v %v", v.Events, err)
	}
	if _, err := ix.Ticket(ctx, "nope"); gate.ErrorCode(err) != gate.ENOTFOUND {
		t.Fatalf("unknown ticket: %v", err)
	}
	nu, _ := ix.Ticket(ctx, "D2")
	old, _ := ix.Ticket(ctx, "D")
	if nu.Replaces != "D" || old.ReplacedBy != "D2" || old.State != gate.StateRevoked || nu.State != gate.StateValid {
		t.Fatalf("reissue links: new %+v old %+v", nu.Ticket, old.Ticket)
	}
	checkCounters(t, ix)
	checkBrute(t, ix, derby, fest, double)
}
