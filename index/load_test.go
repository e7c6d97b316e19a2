package index

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/admitgate/admit/gate"
)

func counts(r gate.ImportResult) string {
	return fmt.Sprintf("lines=%d added=%d updated=%d unchanged=%d rejected=%d", r.Lines, r.Added, r.Updated, r.Unchanged, r.Rejected)
}

// badLine is a line the parser already refused.
func badLine(line int, reason gate.RejectReason) gate.ImportLine {
	return gate.ImportLine{Line: line, Reject: &gate.LineError{Line: line, Reason: reason, Detail: "parser"}}
}

type lineSource struct {
	lines []gate.ImportLine
	i     int
}

func (s *lineSource) Next() (gate.ImportLine, error) {
	if s.i >= len(s.lines) {
		return gate.ImportLine{}, errEOF
	}
	s.i++
	return s.lines[s.i-1], nil
}
func (s *lineSource) Format() gate.Format { return gate.FormatSecutix }
func (s *lineSource) Digest() string      { return "digest" }

func lines(ts ...any) *lineSource {
	src := &lineSource{}
	for i, x := range ts {
		switch v := x.(type) {
		case gate.Ticket:
			src.lines = append(src.lines, gate.ImportLine{Line: i + 1, Ticket: v})
		case gate.RejectReason:
			src.lines = append(src.lines, badLine(i+1, v))
		}
	}
	return src
}

// TestLoadRejections covers every reason the store itself gives a line, and
// that parser rejections are counted, under reject, skip and dry run.
func TestLoadRejections(t *testing.T) {
	ctx := context.Background()
	cancelled := tk("S3", "derby")
	cancelled.State = gate.StateCancelled
	dupOther := tk("D1", "derby")
	dupOther.Holder = "someone else"
	input := func() *lineSource {
		return lines(
			tk("S1", "derby"),        // added
			tk("S2", "derby", "cup"), // added (a pass)
			cancelled,                // added, cancelled
			tk("", "derby"),          // empty
			tk("bad\x00", "derby"),   // control character
			tk("U1", "nosuch"),       // unknown event
			tk("U2", "bad id"),       // bad event id
			tk("U3"),                 // missing event
			tk("O1", "derby"),        // owned by p2
			tk("D1", "derby"),        // added
			dupOther,                 // conflicting duplicate
			tk("D1", "derby"),        // identical duplicate: unchanged
			gate.RejectBadDate,       // from the parser
			gate.Ticket{Barcode: "X1", Provider: "p2", Events: []string{"derby"}}, // names another provider
		)
	}
	wantReasons := []gate.RejectReason{gate.RejectEmpty, gate.RejectControlChar, gate.RejectUnknownEvent, gate.RejectBadEventID,
		gate.RejectMissingEvent, gate.RejectOtherProvider, gate.RejectConflictingDup, gate.RejectBadDate, gate.RejectOtherProvider}
	const want = "lines=14 added=4 updated=0 unchanged=1 rejected=9"
	for _, path := range []string{"batch", "ingest"} {
		t.Run(path, func(t *testing.T) {
			opts := testOptions(memFS())
			if path == "ingest" {
				opts.ImportBatchLines = 1
				opts.ImportSpillBytes = 300 // duplicates land in different sorted runs
			}
			ix, err := Open("data", opts)
			if err != nil {
				t.Fatal(err)
			}
			defer ix.Close()
			for _, e := range []gate.Event{derby, cup} {
				if _, err := ix.PutEvent(ctx, e); err != nil {
					t.Fatal(err)
				}
			}
			loadRejections(t, ix, input, wantReasons, want)
		})
	}
}

func loadRejections(t *testing.T, ix *Index, input func() *lineSource, wantReasons []gate.RejectReason, want string) {
	ctx := context.Background()
	if _, err := ix.Load(ctx, gate.ImportRequest{Provider: "p2"}, gate.Lines(gate.Ticket{Barcode: "O1", Events: []string{"derby"}})); err != nil {
		t.Fatal(err)
	}
	// Reject (the default): nothing changes.
	res, err := ix.Load(ctx, gate.ImportRequest{Provider: "p1"}, input())
	if gate.ErrorCode(err) != gate.EREJECTED || res.Applied || counts(res) != want {
		t.Fatalf("reject: %v %s applied=%v", err, counts(res), res.Applied)
	}
	got := map[gate.RejectReason]int{}
	for _, e := range res.Errors {
		got[e.Reason]++
		if e.Line == 0 {
			t.Errorf("rejection without a line number: %+v", e)
		}
	}
	for _, r := range wantReasons {
		if got[r] == 0 {
			t.Errorf("no %s rejection in %+v", r, res.Errors)
		}
	}
	if d := scanAt(ix, "S1", during); d.Reason != gate.ReasonUnknown {
		t.Fatalf("a rejected import changed the store: %s", d.Reason)
	}
	// Dry run with skip: the counts, no change.
	res, err = ix.Load(ctx, gate.ImportRequest{Provider: "p1", DryRun: true, OnError: gate.OnErrorSkip}, input())
	if err != nil || res.Applied || !res.DryRun || counts(res) != want {
		t.Fatalf("dry run: %v %s", err, counts(res))
	}
	if imps, _ := ix.Imports(ctx); len(imps) != 1 {
		t.Fatalf("dry run recorded an import: %+v", imps)
	}
	if d := scanAt(ix, "S1", during); d.Reason != gate.ReasonUnknown {
		t.Fatalf("a dry run changed the store: %s", d.Reason)
	}
	// Skip: the good lines load.
	res, err = ix.Load(ctx, gate.ImportRequest{Provider: "p1", OnError: gate.OnErrorSkip, Source: "f.csv", By: "alice"}, input())
	if err != nil || !res.Applied || res.ID == 0 || counts(res) != want {
		t.Fatalf("skip: %v %s", err, counts(res))
	}
	for bc, want := range map[string]gate.Reason{"S1": gate.ReasonOK, "S3": gate.ReasonCancelled, "O1": gate.ReasonOK, "U1": gate.ReasonUnknown} {
		if d := scanAt(ix, bc, during); d.Reason != want {
			t.Errorf("%s: %s, want %s", bc, d.Reason, want)
		}
	}
	if v, _ := ix.Ticket(ctx, "O1"); v.Provider != "p2" {
		t.Errorf("O1 changed provider: %+v", v.Ticket)
	}
	imps, err := ix.Imports(ctx)
	if err != nil || len(imps) != 2 || imps[0].ID != res.ID || imps[0].By != "alice" || imps[0].Added != 4 || imps[0].Digest != "digest" ||
		imps[0].Format != gate.FormatSecutix {
		t.Fatalf("imports: %+v %v", imps, err)
	}
}

// TestLoadIdempotent loads the same file twice, scans, then loads it with
// changed states: states apply, redemptions and admin actions stay.
func TestLoadIdempotent(t *testing.T) {
	for _, path := range []string{"batch", "ingest"} {
		t.Run(path, func(t *testing.T) {
			ctx := context.Background()
			fs := memFS()
			opts := testOptions(fs)
			if path == "ingest" {
				opts.ImportBatchLines = 1
				opts.ImportSpillBytes = 512 // several spilled runs
			}
			ix, err := Open("data", opts)
			if err != nil {
				t.Fatal(err)
			}
			defer ix.Close()
			for _, e := range []gate.Event{derby, fest} {
				if _, err := ix.PutEvent(ctx, e); err != nil {
					t.Fatal(err)
				}
			}
			file := func(states map[string]gate.State) []gate.Ticket {
				var ts []gate.Ticket
				for i := range 40 {
					x := tk(fmt.Sprintf("I%03d", i), "derby")
					if s, ok := states[x.Barcode]; ok {
						x.State = s
					}
					ts = append(ts, x)
				}
				return ts
			}
			req := gate.ImportRequest{Provider: "p1"}
			first, err := ix.Load(ctx, req, gate.Lines(file(nil)...))
			if err != nil || counts(first) != "lines=40 added=40 updated=0 unchanged=0 rejected=0" {
				t.Fatalf("first: %v %s", err, counts(first))
			}
			second, err := ix.Load(ctx, req, gate.Lines(file(nil)...))
			if err != nil || counts(second) != "lines=40 added=0 updated=0 unchanged=40 rejected=0" {
				t.Fatalf("again: %v %s", err, counts(second))
			}
			for _, bc := range []string{"I000", "I001", "I002"} {
				if d := scanAt(ix, bc, during); d.Reason != gate.ReasonOK {
					t.Fatalf("%s: %s", bc, d.Reason)
				}
			}
			if _, err := ix.Block(ctx, "I010", "admin"); err != nil {
				t.Fatal(err)
			}
			if _, err := ix.Cancel(ctx, "I011", "admin"); err != nil {
				t.Fatal(err)
			}
			if _, err := ix.Reissue(ctx, "I012", "I012-new", "admin"); err != nil {
				t.Fatal(err)
			}
			// Unchanged lines leave admin actions and redemptions alone.
			third, err := ix.Load(ctx, req, gate.Lines(file(nil)...))
			if err != nil || counts(third) != "lines=40 added=0 updated=0 unchanged=40 rejected=0" {
				t.Fatalf("after scans: %v %s", err, counts(third))
			}
			changed := map[string]gate.State{"I000": gate.StateCancelled, "I003": gate.StateInvalidated, "I012": gate.StateCancelled,
				"I011": gate.StateValid}
			fourth, err := ix.Load(ctx, req, gate.Lines(file(changed)...))
			if err != nil || counts(fourth) != "lines=40 added=0 updated=2 unchanged=38 rejected=0" {
				t.Fatalf("changed states: %v %s", err, counts(fourth))
			}
			for bc, want := range map[string]gate.Reason{
				"I000": gate.ReasonCancelled,   // upstream cancel applies
				"I001": gate.ReasonAlreadyUsed, // redemption kept
				"I003": gate.ReasonInvalidated,
				"I010": gate.ReasonBlocked,   // admin block stays
				"I011": gate.ReasonCancelled, // admin cancel stays: the line did not change
				"I012": gate.ReasonRevoked,   // revoked stays revoked
				"I004": gate.ReasonOK,
			} {
				if d := scanAt(ix, bc, during); d.Reason != want {
					t.Errorf("%s: %s, want %s", bc, d.Reason, want)
				}
			}
			if v, _ := ix.Ticket(ctx, "I000"); len(v.Redemptions) != 1 || v.Redemptions[0].Admissions != 1 {
				t.Errorf("I000 lost its redemption: %+v", v.Redemptions)
			}
			waitWritten(t, ix)
			checkCounters(t, ix)
			// Used upstream is set and cleared by imports.
			ts := file(nil)
			ts[20].UsedUpstream = true
			if res, err := ix.Load(ctx, req, gate.Lines(ts...)); err != nil || res.Updated != 3 { // I000 and I003 back to valid, I020 controlled
				t.Fatalf("controlled: %v %s", err, counts(res))
			}
			if d := scanAt(ix, "I020", during); d.Reason != gate.ReasonAlreadyUsed {
				t.Errorf("controlled ticket: %s", d.Reason)
			}
			checkCounters(t, ix)
			checkBrute(t, ix, derby)
		})
	}
}

func TestWithdraw(t *testing.T) {
	ctx := context.Background()
	ix, _ := openMem(t)
	load(t, ix, tk("W0", "derby"))
	res := load(t, ix, tk("W0", "derby", "fest"), tk("W1", "derby"), tk("W2", "derby"), tk("W3", "derby"), tk("W4", "derby"))
	if d := scanAt(ix, "W1", during); d.Reason != gate.ReasonOK {
		t.Fatal(d.Reason)
	}
	if _, err := ix.Reissue(ctx, "W2", "W2b", "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := ix.Invalidate(ctx, "W3", "a"); err != nil {
		t.Fatal(err)
	}
	rec, err := ix.Withdraw(ctx, res.ID, "bob")
	if err != nil {
		t.Fatal(err)
	}
	// W2b (the reprint of an unused ticket) and W4 are cancelled; W0 came
	// from another import, W1 was used, W3 was already invalidated.
	if rec.Cancelled != 2 || rec.WithdrawnBy != "bob" || rec.WithdrawnAt.IsZero() {
		t.Fatalf("withdrawn: %+v", rec)
	}
	for bc, want := range map[string]gate.State{"W0": gate.StateValid, "W1": gate.StateValid, "W2": gate.StateRevoked,
		"W2b": gate.StateCancelled, "W3": gate.StateInvalidated, "W4": gate.StateCancelled} {
		if v, err := ix.Ticket(ctx, bc); err != nil || v.State != want {
			t.Errorf("%s: %v %v, want %s", bc, v.State, err, want)
		}
	}
	if v, _ := ix.Ticket(ctx, "W1"); len(v.Redemptions) != 1 {
		t.Errorf("W1 lost its redemption")
	}
	if _, err := ix.Withdraw(ctx, res.ID, "bob"); gate.ErrorCode(err) != gate.ECONFLICT {
		t.Errorf("second withdraw: %v", err)
	}
	if _, err := ix.Withdraw(ctx, 999, "bob"); gate.ErrorCode(err) != gate.ENOTFOUND {
		t.Errorf("unknown import: %v", err)
	}
	imps, _ := ix.Imports(ctx)
	if imps[0].Cancelled != 2 || imps[0].WithdrawnBy != "bob" {
		t.Errorf("import record: %+v", imps[0])
	}
	checkCounters(t, ix)
	checkBrute(t, ix, derby, fest)
}

func TestLoadRequest(t *testing.T) {
	ctx := context.Background()
	ix, _ := openMem(t)
	if _, err := ix.Load(ctx, gate.ImportRequest{}, gate.Lines()); gate.ErrorCode(err) != gate.EINVALID {
		t.Errorf("no provider: %v", err)
	}
	if _, err := ix.Load(ctx, gate.ImportRequest{Provider: "p1", Event: "nosuch"}, gate.Lines()); gate.ErrorCode(err) != gate.EINVALID {
		t.Errorf("unknown event in request: %v", err)
	}
	// The request's event and price type apply to every line.
	res, err := ix.Load(ctx, gate.ImportRequest{Provider: "p1", Event: "fest", PriceType: "VIP"},
		gate.Lines(gate.Ticket{Barcode: "Q1"}, gate.Ticket{Barcode: "Q2", Events: []string{"derby"}}))
	if err != nil || res.Added != 2 {
		t.Fatalf("%v %s", err, counts(res))
	}
	v, _ := ix.Ticket(ctx, "Q2")
	if len(v.Events) != 1 || v.Events[0] != "fest" || v.PriceType.Code != "VIP" || v.ImportID != res.ID {
		t.Errorf("mapped ticket: %+v", v.Ticket)
	}
	if ps, _ := ix.Providers(ctx); len(ps) != 1 || ps[0].ID != "p1" {
		t.Errorf("providers: %+v", ps)
	}
}

// TestLoadCancelled: a cancelled import changes nothing and leaves no
// temporary files.
func TestLoadCancelled(t *testing.T) {
	ix, fs := openMem(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var ts []gate.Ticket
	for i := range 5000 {
		ts = append(ts, tk(fmt.Sprintf("Z%05d", i), "derby"))
	}
	if _, err := ix.Load(ctx, gate.ImportRequest{Provider: "p1"}, gate.Lines(ts...)); err == nil {
		t.Fatal("a cancelled import succeeded")
	}
	if d := scanAt(ix, "Z00001", during); d.Reason != gate.ReasonUnknown {
		t.Fatalf("after a cancelled import: %s", d.Reason)
	}
	if imps, _ := ix.Imports(context.Background()); len(imps) != 0 {
		t.Fatalf("imports: %+v", imps)
	}
	left, err := fs.List(ix.opts.TempDir)
	if err != nil || len(left) != 0 {
		t.Fatalf("temporary files left: %v %v", left, err)
	}
}

// failingSource yields n good lines, then fails; it records whether Next
// ever ran beside another call or after Load returned.
type failingSource struct {
	n, i     int
	busy     atomic.Bool
	overlap  atomic.Bool
	finished atomic.Bool
	late     atomic.Bool
}

var errDisk = errors.New("disk on fire")

func (s *failingSource) Next() (gate.ImportLine, error) {
	if !s.busy.CompareAndSwap(false, true) {
		s.overlap.Store(true)
	}
	defer s.busy.Store(false)
	if s.finished.Load() {
		s.late.Store(true)
	}
	if s.i >= s.n {
		return gate.ImportLine{}, errDisk
	}
	s.i++
	return gate.ImportLine{Line: s.i, Ticket: tk(fmt.Sprintf("F%06d", s.i), "derby")}, nil
}
func (s *failingSource) Format() gate.Format { return gate.FormatLines }
func (s *failingSource) Digest() string      { return "" }

// A source that fails part way (the lines are read a batch ahead, in
// another goroutine) fails the import with the line it failed at, changes
// nothing, and is not called again once Load returned.
func TestLoadSourceFailsMidway(t *testing.T) {
	ix, _ := openMem(t)
	for _, n := range []int{0, 1, readBatch - 1, readBatch, 3*readBatch + 5} {
		src := &failingSource{n: n}
		_, err := ix.Load(context.Background(), gate.ImportRequest{Provider: "p1"}, src)
		src.finished.Store(true)
		if !errors.Is(err, errDisk) || !strings.Contains(err.Error(), fmt.Sprintf("read line %d:", n+1)) {
			t.Fatalf("n=%d: %v", n, err)
		}
		if src.overlap.Load() {
			t.Fatalf("n=%d: Next called concurrently", n)
		}
		if n > 0 {
			if _, err := ix.Ticket(context.Background(), "F000001"); gate.ErrorCode(err) != gate.ENOTFOUND {
				t.Fatalf("n=%d: a failed import left a ticket: %v", n, err)
			}
		}
	}
	// A cancelled import stops reading too.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	src := &failingSource{n: 1 << 20}
	if _, err := ix.Load(ctx, gate.ImportRequest{Provider: "p1"}, src); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
	src.finished.Store(true)
	time.Sleep(20 * time.Millisecond)
	if src.late.Load() {
		t.Fatal("the source was read after Load returned")
	}
}
