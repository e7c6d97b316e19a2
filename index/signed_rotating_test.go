package index

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/admitgate/admit/codes"
	"github.com/admitgate/admit/gate"
)

// keyedLines is a LineSource of import lines with customer keys.
type keyedLines struct {
	lines []gate.ImportLine
	next  int
}

func (s *keyedLines) Next() (gate.ImportLine, error) {
	if s.next >= len(s.lines) {
		return gate.ImportLine{}, io.EOF
	}
	s.next++
	l := s.lines[s.next-1]
	l.Line = s.next
	return l, nil
}
func (s *keyedLines) Format() gate.Format { return gate.FormatAuto }
func (s *keyedLines) Digest() string      { return "" }

var (
	rotEventKey = bytes.Repeat([]byte{0xe1}, 20)
	rotKeyA     = bytes.Repeat([]byte{0xa1}, 20)
	rotKeyB     = bytes.Repeat([]byte{0xb2}, 20)
)

// openRotating opens a store with the rotating provider "tm" (a 15 s step,
// the default skew of one step) and its tickets TOKEN-A and TOKEN-B for
// derby, each with its holder's customer key, and TOKEN-C without one.
func openRotating(t *testing.T) *Index {
	t.Helper()
	ctx := context.Background()
	ix, _ := openMem(t)
	putSpec(t, ix, ProviderSpec{Provider: gate.Provider{ID: "tm", Name: "Ticketmaster"}, Kind: ProviderRotating,
		Rotating: RotatingSpec{EventKey: rotEventKey}})
	ticket := func(token string) gate.Ticket {
		tk := tk(token, "derby")
		tk.Provider = "tm"
		return tk
	}
	src := &keyedLines{lines: []gate.ImportLine{
		{Ticket: ticket("TOKEN-A"), CustomerKey: rotKeyA},
		{Ticket: ticket("TOKEN-B"), CustomerKey: rotKeyB},
		{Ticket: ticket("TOKEN-C")},
	}}
	if res, err := ix.Load(ctx, gate.ImportRequest{Provider: "tm", Source: "test"}, src); err != nil || res.Added != 3 {
		t.Fatalf("import: %+v %v", res, err)
	}
	return ix
}

func rotate(t testing.TB, token string, customerKey []byte, at time.Time) string {
	t.Helper()
	code, err := codes.Rotate(token, rotEventKey, customerKey, at, 0)
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// TestRotatingCodes: a rotating code is admitted within its step and the
// skew and refused stale_code beyond; its ticket is the token's, named in
// the decision; a replay at another lane is already_used; a wrong holder's
// code, a token without its customer key, an unknown token and the bare
// token are refused; the clock skew of the codes is shown.
func TestRotatingCodes(t *testing.T) {
	ctx := context.Background()
	ix := openRotating(t)
	now := during
	scan := func(code, lane string, at time.Time) gate.Decision {
		return ix.Scan(ctx, gate.Scan{Barcode: code, Lane: lane, Direction: gate.In, At: at})
	}

	// Drawn 16 s ago: beyond the one step allowed. Drawn 15 s ago: still good.
	if d := scan(rotate(t, "TOKEN-A", rotKeyA, now.Add(-16*time.Second)), "north-1", now); d.Reason != gate.ReasonStaleCode || d.Admit {
		t.Fatalf("16 s old: %+v", d)
	}
	if d := scan(rotate(t, "TOKEN-A", rotKeyA, now.Add(16*time.Second)), "north-1", now); d.Reason != gate.ReasonStaleCode {
		t.Fatalf("16 s ahead: %+v", d)
	}
	code := rotate(t, "TOKEN-A", rotKeyA, now.Add(-15*time.Second))
	d := scan(code, "north-1", now)
	if d.Reason != gate.ReasonOK || d.Barcode != "TOKEN-A" || d.Ticket == nil || d.Ticket.Provider != "tm" {
		t.Fatalf("15 s old: %+v", d)
	}
	if again := scan(code, "south-2", now); again.Reason != gate.ReasonAlreadyUsed || again.FirstUsed == nil ||
		again.FirstUsed.Lane != "north-1" || again.Barcode != "TOKEN-A" {
		t.Fatalf("the same code at another lane: %+v", again)
	}
	if fresh := scan(rotate(t, "TOKEN-A", rotKeyA, now), "south-2", now.Add(2*time.Second)); fresh.Reason != gate.ReasonAlreadyUsed {
		t.Fatalf("a new code of the used ticket: %+v", fresh)
	}
	// Another holder's key, a ticket without a key, no such token, the
	// bare token, a code the event key did not draw.
	if d := scan(rotate(t, "TOKEN-B", rotKeyA, now), "north-1", now); d.Reason != gate.ReasonStaleCode || d.Barcode != "TOKEN-B" {
		t.Fatalf("B with A's key: %+v", d)
	}
	if d := scan(rotate(t, "TOKEN-C", rotKeyA, now), "north-1", now); d.Reason != gate.ReasonStaleCode || !strings.Contains(d.Detail, "customer key") {
		t.Fatalf("C, imported without a key: %+v", d)
	}
	if d := scan(rotate(t, "TOKEN-X", rotKeyA, now), "north-1", now); d.Reason != gate.ReasonUnknown {
		t.Fatalf("no such token: %+v", d)
	}
	if d := scan("TOKEN-B", "north-1", now); d.Reason != gate.ReasonUnknown || d.Admit {
		t.Fatalf("the bare token: %+v", d)
	}
	other, err := codes.Rotate("TOKEN-B", rotKeyA, rotKeyB, now, 0) // not the event's key
	if err != nil {
		t.Fatal(err)
	}
	if d := scan(other, "north-1", now); d.Reason != gate.ReasonStaleCode {
		t.Fatalf("not drawn by the event key: %+v", d)
	}
	if d := scan(rotate(t, "TOKEN-B", rotKeyB, now.Add(-3*time.Second)), "north-1", now); d.Reason != gate.ReasonOK {
		t.Fatalf("B: %+v", d)
	}
	st, err := ix.ProviderStatus(ctx, "tm")
	if err != nil || st.Rotating == nil || st.Rotating.Codes == 0 {
		t.Fatalf("status: %+v %v", st, err)
	}
	skews := ix.RotatingSkews()
	if len(skews) != 1 || skews[0].Provider != "tm" || skews[0].Codes != st.Rotating.Codes {
		t.Fatalf("skews: %+v", skews)
	}
	waitWritten(t, ix)
	v, err := ix.Ticket(ctx, "TOKEN-A")
	if err != nil || len(v.History) != 3 { // the admission, the replay, the new code
		t.Fatalf("TOKEN-A: %+v %v", v, err)
	}
	rep, _ := ix.Report(ctx, "derby", now)
	if len(rep.Rows) != 1 || rep.Rows[0].Sold != 3 || rep.Rows[0].Used != 2 || rep.Rows[0].Inside != 2 {
		t.Fatalf("report: %+v", rep.Rows)
	}
	if _, err := ix.Annul(ctx, d.Seq, "ops"); err != nil {
		t.Fatalf("annul: %v", err)
	}
	checkCounters(t, ix)
}

// TestRotatingSkewShown: a wrong appliance clock shows in the skew even
// while it refuses every code.
func TestRotatingSkewShown(t *testing.T) {
	ix := openRotating(t)
	phone := during
	appliance := phone.Add(-2 * time.Minute) // two minutes slow
	for range 5 {
		if d := ix.Scan(context.Background(), gate.Scan{Barcode: rotate(t, "TOKEN-A", rotKeyA, phone), Lane: "north-1", At: appliance}); d.Reason != gate.ReasonStaleCode {
			t.Fatalf("%+v", d)
		}
	}
	skews := ix.RotatingSkews()
	if len(skews) != 1 || skews[0].ClockSkew != -2*time.Minute || skews[0].Codes != 5 {
		t.Fatalf("skews: %+v", skews)
	}
}

// TestRotatingCustomerKeyKept: a re-sent import keeps or replaces the
// customer key as its line says, and the key never reaches the ticket the
// API shows.
func TestRotatingCustomerKeyKept(t *testing.T) {
	ctx := context.Background()
	ix := openRotating(t)
	tkA := tk("TOKEN-A", "derby")
	tkA.Provider = "tm"
	res, err := ix.Load(ctx, gate.ImportRequest{Provider: "tm", Source: "again"}, &keyedLines{lines: []gate.ImportLine{{Ticket: tkA, CustomerKey: rotKeyB}}})
	if err != nil || res.Updated != 1 {
		t.Fatalf("re-import with a new key: %+v %v", res, err)
	}
	if d := ix.Scan(ctx, gate.Scan{Barcode: rotate(t, "TOKEN-A", rotKeyA, during), Lane: "n", At: during}); d.Reason != gate.ReasonStaleCode {
		t.Fatalf("the old key: %+v", d)
	}
	if d := ix.Scan(ctx, gate.Scan{Barcode: rotate(t, "TOKEN-A", rotKeyB, during), Lane: "n", At: during}); d.Reason != gate.ReasonOK {
		t.Fatalf("the new key: %+v", d)
	}
	rec, _, _ := ix.getTicket(nil, "TOKEN-A")
	if !bytes.Equal(rec.CustomerKey, rotKeyB) {
		t.Fatalf("stored key %x", rec.CustomerKey)
	}
}
