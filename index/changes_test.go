package index

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// allChanges reads the whole record of changes, a few at a time.
func allChanges(t testing.TB, ix *Index) []gate.Change {
	t.Helper()
	var all []gate.Change
	for {
		cs, err := ix.Changes(context.Background(), uint64(len(all)), 3)
		if err != nil {
			t.Fatal(err)
		}
		if len(cs) == 0 {
			return all
		}
		for i, c := range cs {
			if want := uint64(len(all) + i + 1); c.Seq != want {
				t.Fatalf("change %d of the page has seq %d, want %d", i, c.Seq, want)
			}
		}
		all = append(all, cs...)
	}
}

// Every admin method that succeeds records one change, with who asked and
// when, in the order they were made; refused ones record nothing; the
// record survives a reopen.
func TestChangesRecordAdminChanges(t *testing.T) {
	fs := vfs.NewMem()
	ix := openFS(t, fs)
	ctx := gate.WithBy(context.Background(), "anna")
	begin := time.Now().UTC()
	step := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	_, err := ix.PutProvider(ctx, gate.Provider{ID: "p1", Name: "Box office"})
	step("put provider", err)
	_, err = ix.PutEvent(ctx, derby)
	step("put event", err)
	_, err = ix.PutEvent(ctx, cup)
	step("put event", err)
	res := load(t, ix, tk("A1", "derby"), tk("A2", "derby"), tk("A3", "derby"), tk("A4", "derby"))
	_, err = ix.Cancel(ctx, "A1", "ben")
	step("cancel", err)
	_, err = ix.Cancel(ctx, "A1", "ben") // changes nothing: recorded all the same
	step("cancel again", err)
	_, err = ix.Invalidate(ctx, "A2", "ben")
	step("invalidate", err)
	_, err = ix.Block(ctx, "A3", "cleo")
	step("block", err)
	_, err = ix.Unblock(ctx, "A3", "cleo")
	step("unblock", err)
	_, err = ix.Reissue(ctx, "A3", "A3-R", "dora")
	step("reissue", err)
	_, err = ix.UpdateEvents(ctx, "A4", []string{"cup"}, nil, "eve")
	step("update events", err)
	_, err = ix.Withdraw(ctx, res.ID, "fred")
	step("withdraw", err)
	// Refused: nothing recorded.
	if _, err := ix.Cancel(ctx, "nope", "ben"); gate.ErrorCode(err) != gate.ENOTFOUND {
		t.Fatalf("cancel of an unknown barcode: %v", err)
	}
	if _, err := ix.Block(ctx, "A1", "ben"); gate.ErrorCode(err) != gate.ECONFLICT {
		t.Fatalf("block of a cancelled ticket: %v", err)
	}
	if _, err := ix.Load(ctx, gate.ImportRequest{Provider: "p1"}, gate.Lines(tk("B1", "nope"))); gate.ErrorCode(err) != gate.EREJECTED {
		t.Fatalf("rejected import: %v", err)
	}

	want := []struct {
		kind gate.ChangeKind
		by   string
	}{
		{gate.ChangePutProvider, "anna"}, {gate.ChangePutEvent, "anna"}, {gate.ChangePutEvent, "anna"},
		{gate.ChangeImport, ""}, {gate.ChangeCancel, "ben"}, {gate.ChangeCancel, "ben"},
		{gate.ChangeInvalidate, "ben"}, {gate.ChangeBlock, "cleo"}, {gate.ChangeUnblock, "cleo"},
		{gate.ChangeReissue, "dora"}, {gate.ChangeUpdateEvents, "eve"}, {gate.ChangeWithdraw, "fred"},
	}
	check := func(cs []gate.Change) {
		t.Helper()
		if len(cs) != len(want) {
			t.Fatalf("%d changes recorded, want %d: %+v", len(cs), len(want), cs)
		}
		ids := map[string]bool{}
		for i, c := range cs {
			if c.Kind != want[i].kind || c.By != want[i].by {
				t.Errorf("change %d: %s by %q, want %s by %q", i+1, c.Kind, c.By, want[i].kind, want[i].by)
			}
			if c.At.Before(begin.Add(-time.Second)) || c.At.After(time.Now().Add(time.Second)) {
				t.Errorf("change %d at %s, not now", i+1, c.At)
			}
			if len(c.ID) != 32 || ids[c.ID] {
				t.Errorf("change %d: id %q not new", i+1, c.ID)
			}
			ids[c.ID] = true
			if c.Position != 0 || c.Appliance != "" {
				t.Errorf("change %d on a single appliance has position %d, appliance %q", i+1, c.Position, c.Appliance)
			}
		}
		if p := cs[0].Provider; p == nil || p.Name != "Box office" {
			t.Errorf("put provider records %+v", p)
		}
		if e := cs[1].Event; e == nil || *e != derby {
			t.Errorf("put event records %+v", e)
		}
		if imp := cs[3]; imp.ImportID != res.ID || imp.Import == nil || imp.Import.Added != 4 || imp.Import.Source != "test" {
			t.Errorf("import records %+v (%+v)", imp, imp.Import)
		}
		if c := cs[4]; c.Barcode != "A1" {
			t.Errorf("cancel records barcode %q", c.Barcode)
		}
		if c := cs[9]; c.Barcode != "A3" || c.NewBarcode != "A3-R" {
			t.Errorf("reissue records %q -> %q", c.Barcode, c.NewBarcode)
		}
		if c := cs[10]; !slices.Equal(c.Add, []string{"cup"}) {
			t.Errorf("update events records add %v", c.Add)
		}
		if c := cs[11]; c.ImportID != res.ID {
			t.Errorf("withdraw records import %d", c.ImportID)
		}
	}
	check(allChanges(t, ix))
	if cs, err := ix.Changes(context.Background(), 5, 2); err != nil || len(cs) != 2 || cs[0].Seq != 6 {
		t.Fatalf("Changes(5, 2) = %+v, %v", cs, err)
	}
	if cs, err := ix.Changes(context.Background(), 99, 0); err != nil || len(cs) != 0 {
		t.Fatalf("Changes past the end = %+v, %v", cs, err)
	}
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	ix = openFS(t, fs)
	check(allChanges(t, ix))
	if _, err := ix.Unblock(ctx, "A2", "gus"); gate.ErrorCode(err) != gate.ECONFLICT {
		t.Fatalf("unblock of an invalidated ticket: %v", err)
	}
	if _, err := ix.PutProvider(context.Background(), gate.Provider{ID: "p2"}); err != nil {
		t.Fatal(err)
	}
	if cs := allChanges(t, ix); len(cs) != len(want)+1 || cs[len(want)].Seq != uint64(len(want)+1) {
		t.Fatalf("after reopen the next change is not numbered on: %+v", cs[len(cs)-1])
	}
}

// venueChange is a change as a venue's stream carries it at pos.
func venueChange(pos uint64, kind gate.ChangeKind) gate.Change {
	return gate.Change{ID: fmt.Sprintf("change-%d", pos), Kind: kind, By: "admin-anna", At: t0.Add(time.Duration(pos) * time.Second),
		Appliance: "north", Position: pos}
}

// ApplyChange commits the position with the effect; a change refused for a
// reason of its own commits its position alone; a position applied before
// is refused (exactly once); the position survives a reopen; an import at
// a position gets it as its id.
func TestApplyChangeAtPosition(t *testing.T) {
	fs := vfs.NewMem()
	ix := openFS(t, fs)
	ctx := context.Background()
	apply := func(c gate.Change) (gate.ChangeResult, error) {
		t.Helper()
		return ix.ApplyChange(ctx, c)
	}
	c := venueChange(1, gate.ChangePutEvent)
	c.Event = &derby
	if res, err := apply(c); err != nil || !res.Created || res.Change.Seq != 1 {
		t.Fatalf("put event: %+v, %v", res, err)
	}
	if pos, at := ix.ChangePosition(); pos != 1 || !at.Equal(c.At) {
		t.Fatalf("position %d at %s, want 1 at %s", pos, at, c.At)
	}
	// Applied again: refused, nothing written.
	if _, err := apply(c); !errors.Is(err, gate.ErrChangeApplied) {
		t.Fatalf("the same position twice: %v", err)
	}
	// An import from the stream: id = position.
	imp := venueChange(5, gate.ChangeImport)
	imp.Import = &gate.ImportChange{Provider: "p1", Event: "derby", Source: "hub", File: "ab12", Size: 99}
	req := imp.Request()
	res, err := ix.Load(ctx, req, gate.Lines(tk("V1"), tk("V2")))
	if err != nil || res.ID != 5 || res.Added != 2 {
		t.Fatalf("venue import: %+v, %v", res, err)
	}
	if pos, _ := ix.ChangePosition(); pos != 5 {
		t.Fatalf("position after the import %d", pos)
	}
	if _, err := ix.Load(ctx, req, gate.Lines(tk("V3"))); !errors.Is(err, gate.ErrChangeApplied) {
		t.Fatalf("the import applied twice: %v", err)
	}
	// A local import after it takes an id beyond it.
	if r := load(t, ix, tk("L1", "derby")); r.ID != 6 {
		t.Fatalf("a local import after venue import 5 got id %d", r.ID)
	}
	// Refusals commit the position alone.
	cancel := venueChange(7, gate.ChangeCancel)
	cancel.Barcode = "nope"
	if _, err := apply(cancel); gate.ErrorCode(err) != gate.ENOTFOUND {
		t.Fatalf("cancel of an unknown barcode: %v", err)
	}
	rejected := venueChange(8, gate.ChangeImport)
	rejected.Import = &gate.ImportChange{Provider: "p1", Event: "nope", File: "cd34"}
	if _, err := ix.Load(ctx, rejected.Request(), gate.Lines(tk("R1"))); gate.ErrorCode(err) != gate.EINVALID {
		t.Fatalf("an import for an unknown event: %v", err)
	}
	if pos, _ := ix.ChangePosition(); pos != 8 {
		t.Fatalf("position after two refusals %d, want 8", pos)
	}
	// A change that does not validate is a refusal too.
	bad := venueChange(9, gate.ChangeReissue)
	bad.Barcode = "V1"
	if _, err := apply(bad); gate.ErrorCode(err) != gate.EINVALID {
		t.Fatalf("a reissue without a new barcode: %v", err)
	}
	// The rest of the kinds.
	for i, mk := range []func(c *gate.Change){
		func(c *gate.Change) { c.Kind, c.Barcode = gate.ChangeBlock, "V1" },
		func(c *gate.Change) { c.Kind, c.Barcode, c.NewBarcode = gate.ChangeReissue, "V2", "V2-R" },
	} {
		c := venueChange(uint64(10+i), "")
		mk(&c)
		if _, err := apply(c); err != nil {
			t.Fatalf("%s: %v", c.Kind, err)
		}
	}
	// An out-of-order lower position is refused.
	late := venueChange(10, gate.ChangeUnblock)
	late.Barcode = "V1"
	if _, err := apply(late); !errors.Is(err, gate.ErrChangeApplied) {
		t.Fatalf("position 10 after 11: %v", err)
	}
	w := venueChange(12, gate.ChangeWithdraw)
	w.ImportID = 5
	if res, err := apply(w); err != nil || res.Withdrawn.Cancelled != 2 {
		t.Fatalf("withdraw: %+v, %v", res, err)
	}
	skip := venueChange(13, gate.ChangeSkip)
	skip.Detail = "the file is lost"
	if _, err := apply(skip); err != nil {
		t.Fatal(err)
	}

	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	ix = openFS(t, fs)
	if pos, at := ix.ChangePosition(); pos != 13 || !at.Equal(skip.At) {
		t.Fatalf("position after reopen %d at %s", pos, at)
	}
	var kinds []string
	for _, c := range allChanges(t, ix) {
		kinds = append(kinds, fmt.Sprintf("%s@%d", c.Kind, c.Position))
	}
	want := []string{"put_event@1", "import@5", "import@0", "block@10", "reissue@11", "withdraw@12", "skip@13"}
	if !slices.Equal(kinds, want) {
		t.Fatalf("recorded %v, want %v", kinds, want)
	}
	v, err := ix.Ticket(ctx, "V1")
	if err != nil || v.State != gate.StateCancelled {
		t.Fatalf("V1 (blocked, then withdrawn with import 5) %+v %v", v.Ticket, err)
	}
	if v, _ := ix.Ticket(ctx, "V2-R"); v.State != gate.StateCancelled || v.ImportID != 5 {
		t.Fatalf("V2-R (withdrawn with import 5) %+v", v.Ticket)
	}
}

// A venue import whose id a local import holds is a fault, not a refusal:
// the position is not committed and the applier stops on it.
func TestVenueImportIDTaken(t *testing.T) {
	ix, _ := openMem(t)
	ctx := context.Background()
	load(t, ix, tk("L1", "derby"))
	imp := venueChange(1, gate.ChangeImport)
	imp.Import = &gate.ImportChange{Provider: "p1", Event: "derby", File: "ab"}
	_, err := ix.Load(ctx, imp.Request(), gate.Lines(tk("V1")))
	if err == nil || gate.IsChangeRefusal(err) {
		t.Fatalf("import id 1 taken: %v", err)
	}
	if pos, _ := ix.ChangePosition(); pos != 0 {
		t.Fatalf("position %d committed", pos)
	}
}

// FuzzDecodeChange: a change record or position that decodes survives a
// round trip; none panics.
func FuzzDecodeChange(f *testing.F) {
	for _, c := range []gate.Change{fmtCancelChange, fmtEventChange, fmtPassChange, fmtProviderChange, fmtImportChange} {
		f.Add(encodeChange(&c))
	}
	f.Add(encodePosition(812, t0))
	f.Fuzz(func(t *testing.T, b []byte) {
		if c, err := decodeChange(3, b); err == nil {
			again, err := decodeChange(3, encodeChange(&c))
			if err != nil || !reflect.DeepEqual(again, c) {
				t.Fatalf("change round trip: %+v\n%+v %v", c, again, err)
			}
		}
		if pos, at, err := decodePosition(b); err == nil {
			p2, a2, err := decodePosition(encodePosition(pos, at))
			if err != nil || p2 != pos || !a2.Equal(at) {
				t.Fatalf("position round trip: %d %s, %d %s %v", pos, at, p2, a2, err)
			}
		}
	})
}
