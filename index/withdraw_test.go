package index

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/admitgate/admit/gate"
)

// cutAfter is a context whose Err reports cancellation from its n+1st call
// on: Withdraw checks it once before each chunk, so it stops a withdrawal
// after n chunks, as an abandoned request or a crash would.
type cutAfter struct {
	context.Context
	n int
}

func (c *cutAfter) Err() error {
	if c.n == 0 {
		return context.Canceled
	}
	c.n--
	return nil
}

// TestWithdrawResumes: a withdrawal cut short leaves its import marked
// pending with the count of what it cancelled, and is finished by asking
// again or by the next Open, cancelling exactly what one uninterrupted
// withdrawal would have.
func TestWithdrawResumes(t *testing.T) {
	const tickets = 3*withdrawChunk + 100
	for _, tc := range []struct {
		name   string
		finish func(t *testing.T, ix *Index, id uint64) *Index
	}{
		{"asked again", func(t *testing.T, ix *Index, id uint64) *Index {
			rec, err := ix.Withdraw(context.Background(), id, "carol")
			if err != nil {
				t.Fatal(err)
			}
			if rec.WithdrawnBy != "bob" {
				t.Errorf("withdrawn by %q, want bob who asked first", rec.WithdrawnBy)
			}
			return ix
		}},
		{"reopened", func(t *testing.T, ix *Index, id uint64) *Index {
			if err := ix.Close(); err != nil {
				t.Fatal(err)
			}
			return openFS(t, ix.fs)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			ix, _ := openMem(t)
			var ts []gate.Ticket
			for i := range tickets {
				ts = append(ts, tk(fmt.Sprintf("R%05d", i), "derby"))
			}
			res := load(t, ix, ts...)
			if d := scanAt(ix, "R00007", during); d.Reason != gate.ReasonOK {
				t.Fatal(d.Reason)
			}

			_, err := ix.Withdraw(&cutAfter{Context: ctx, n: 2}, res.ID, "bob")
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("cut-short withdrawal: %v", err)
			}
			imps, err := ix.Imports(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if r := imps[0]; !r.WithdrawPending || !r.WithdrawnAt.IsZero() || r.WithdrawnBy != "bob" || r.Cancelled != 2*withdrawChunk-1 {
				// (the used R00007 is in the first chunk, and left alone)
				t.Fatalf("after two chunks: %+v", r)
			}
			checkCounters(t, ix)

			ix = tc.finish(t, ix, res.ID)
			imps, err = ix.Imports(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if r := imps[0]; r.WithdrawPending || r.WithdrawnAt.IsZero() || r.WithdrawnBy != "bob" || r.Cancelled != tickets-1 {
				t.Fatalf("finished: %+v, want %d cancelled", r, tickets-1)
			}
			for i := range tickets {
				bc := fmt.Sprintf("R%05d", i)
				want := gate.StateCancelled
				if bc == "R00007" {
					want = gate.StateValid
				}
				if v, err := ix.Ticket(ctx, bc); err != nil || v.State != want {
					t.Fatalf("%s: %s %v, want %s", bc, v.State, err, want)
				}
			}
			if d := scanAt(ix, "R00008", during); d.Reason != gate.ReasonCancelled {
				t.Errorf("a withdrawn ticket scans %s", d.Reason)
			}
			if _, err := ix.Withdraw(ctx, res.ID, "bob"); gate.ErrorCode(err) != gate.ECONFLICT {
				t.Errorf("withdrawing again: %v", err)
			}
			checkCounters(t, ix)
			checkBrute(t, ix, derby)
		})
	}
}
