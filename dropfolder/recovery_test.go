package dropfolder_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/admitgate/admit/dropfolder"
	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/gate/gatetest"
)

const claim = "20261205T165959.000000000Z"

// records is an ImportLister over a fixed list, or an error.
func records(recs []gate.ImportRecord, err error) dropfolder.ImportLister {
	return &gatetest.Index{ImportsFunc: func(context.Context) ([]gate.ImportRecord, error) { return recs, err }}
}

// TestStopDuringImport: the import is cut short by shutdown; the file stays
// claimed in processing/ and the next start imports it, under the same
// claim, exactly once.
func TestStopDuringImport(t *testing.T) {
	clk, im := newClock(), newImporter()
	ctx, cancel := context.WithCancel(context.Background())
	im.answer = func(gate.ImportRequest, string) (gate.ImportResult, error) {
		cancel()
		return gate.ImportResult{}, context.Canceled
	}
	w, dir := newWatcher(t, im, clk, nil, dropfolder.Folder{})
	write(t, filepath.Join(dir, "x.csv"), "A\n")
	w.Sweep(ctx)
	clk.Add(settle)
	w.Sweep(ctx)
	got := tree(t, dir)
	if len(got) != 1 || !strings.HasPrefix(got[0], "processing/20261205T170010") || !strings.HasSuffix(got[0], "_x.csv") {
		t.Fatalf("after the stop: %v, want the file claimed in processing/", got)
	}

	im2 := newImporter()
	w2, _ := newWatcher(t, im2, clk, &dropfolder.Options{Settle: settle, NoNotify: true, Imports: records(nil, nil)}, dropfolder.Folder{Dir: dir})
	w2.Sweep(context.Background())
	w2.Sweep(context.Background())
	calls := im2.Calls()
	if len(calls) != 1 || calls[0].req.Source != im.Calls()[0].req.Source || calls[0].data != "A\n" {
		t.Fatalf("after the restart: %+v, want one import under the first claim %q", calls, im.Calls()[0].req.Source)
	}
	if got, want := tree(t, dir), []string{"done/x.csv", "done/x.csv.report.json"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("files %v, want %v", got, want)
	}
}

// TestRestartAfterAppliedImport: the import was applied but admit stopped
// before filing the file: the store's record says so, and the file is filed
// without a second import.
func TestRestartAfterAppliedImport(t *testing.T) {
	clk, im := newClock(), newImporter()
	dir := filepath.Join(t.TempDir(), "drop")
	recs := []gate.ImportRecord{
		{ID: 3, Provider: "p1", Source: "x.csv (drop 20261205T100000.000000000Z)", Added: 9}, // an earlier delivery
		{ID: 4, Provider: "p2", Source: "x.csv (drop " + claim + ")"},                        // another folder's
		{ID: 5, Provider: "p1", Source: "x.csv (drop " + claim + ")", Format: gate.FormatCSV, Lines: 2, Added: 1, Unchanged: 1, Digest: "abc"},
	}
	w, _ := newWatcher(t, im, clk, &dropfolder.Options{Settle: settle, NoNotify: true, Imports: records(recs, nil)}, dropfolder.Folder{Dir: dir})
	write(t, filepath.Join(dir, "processing", claim+"_x.csv"), "A\nB\n")
	w.Sweep(context.Background())
	if n := len(im.Calls()); n != 0 {
		t.Fatalf("imported %d times an import the store had applied", n)
	}
	if got, want := tree(t, dir), []string{"done/x.csv", "done/x.csv.report.json"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("files %v, want %v", got, want)
	}
	rep := readReport(t, filepath.Join(dir, "done/x.csv.report.json"))
	want := gate.ImportResult{ID: 5, Applied: true, Format: gate.FormatCSV, Lines: 2, Added: 1, Unchanged: 1, Digest: "abc"}
	if !rep.Recovered || rep.Outcome != "done" || rep.Result == nil || !reflect.DeepEqual(*rep.Result, want) ||
		rep.ClaimedAt.IsZero() || rep.File != "x.csv" {
		t.Errorf("report %+v", rep)
	}
}

// TestRestartAfterReport: the report was written, so the import is over;
// the moves are finished whichever of them had happened.
func TestRestartAfterReport(t *testing.T) {
	for _, moved := range []bool{false, true} {
		clk, im := newClock(), newImporter()
		dir := filepath.Join(t.TempDir(), "drop")
		w, _ := newWatcher(t, im, clk, &dropfolder.Options{Settle: settle, NoNotify: true, Imports: records(nil, nil)}, dropfolder.Folder{Dir: dir})
		claimed := filepath.Join(dir, "processing", claim+"_x.csv")
		write(t, claimed+".report.json", `{"file":"x.csv","outcome":"failed","moved_to":"failed/x_20261205-170000.csv"}`)
		if moved {
			write(t, filepath.Join(dir, "failed", "x_20261205-170000.csv"), "A\n")
		} else {
			write(t, claimed, "A\n")
		}
		write(t, filepath.Join(dir, "processing", ".x.report.json.123.tmp"), "{")
		w.Sweep(context.Background())
		if n := len(im.Calls()); n != 0 {
			t.Fatalf("moved %v: imported a finished file", moved)
		}
		want := []string{"failed/x_20261205-170000.csv", "failed/x_20261205-170000.csv.report.json"}
		if got := tree(t, dir); !reflect.DeepEqual(got, want) {
			t.Fatalf("moved %v: files %v, want %v", moved, got, want)
		}
	}
}

// TestDamagedReportBlocksNothing: a report that cannot be read leaves its
// file where it is (it must not be imported twice), and the folder goes on.
func TestDamagedReportBlocksNothing(t *testing.T) {
	clk, im := newClock(), newImporter()
	dir := filepath.Join(t.TempDir(), "drop")
	w, _ := newWatcher(t, im, clk, nil, dropfolder.Folder{Dir: dir})
	claimed := filepath.Join(dir, "processing", claim+"_x.csv")
	write(t, claimed, "A\n")
	write(t, claimed+".report.json", "{not json")
	write(t, filepath.Join(dir, "processing", "stray.csv"), "S\n")
	write(t, filepath.Join(dir, "new.csv"), "N\n")
	settleAndSweep(w, clk)
	if calls := im.Calls(); len(calls) != 1 || calls[0].data != "N\n" {
		t.Fatalf("imports %+v, want only new.csv", calls)
	}
	want := []string{"done/new.csv", "done/new.csv.report.json", "processing/" + claim + "_x.csv",
		"processing/" + claim + "_x.csv.report.json", "processing/stray.csv"}
	if got := tree(t, dir); !reflect.DeepEqual(got, want) {
		t.Fatalf("files %v, want %v", got, want)
	}
}

// TestRecoveryWaitsForTheStore: while the import records cannot be read,
// nothing is imported from that folder (order matters: an older file must
// not be applied after a newer one); once they can, it goes on.
func TestRecoveryWaitsForTheStore(t *testing.T) {
	clk, im := newClock(), newImporter()
	dir := filepath.Join(t.TempDir(), "drop")
	lister := &gatetest.Index{}
	fail := true
	lister.ImportsFunc = func(context.Context) ([]gate.ImportRecord, error) {
		if fail {
			return nil, errors.New("store closed")
		}
		return nil, nil
	}
	w, _ := newWatcher(t, im, clk, &dropfolder.Options{Settle: settle, NoNotify: true, Imports: lister}, dropfolder.Folder{Dir: dir})
	write(t, filepath.Join(dir, "processing", claim+"_old.csv"), "OLD\n")
	write(t, filepath.Join(dir, "new.csv"), "NEW\n")
	settleAndSweep(w, clk)
	if n := len(im.Calls()); n != 0 {
		t.Fatalf("%d imports while the store could not be asked", n)
	}
	fail = false
	w.Sweep(context.Background())
	var order []string
	for _, c := range im.Calls() {
		order = append(order, c.data)
	}
	if !reflect.DeepEqual(order, []string{"OLD\n", "NEW\n"}) {
		t.Fatalf("imported %q, want the interrupted file first", order)
	}
	if _, err := os.Stat(filepath.Join(dir, "done", "old.csv")); err != nil {
		t.Error(err)
	}
}
