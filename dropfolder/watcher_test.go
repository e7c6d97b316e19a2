package dropfolder_test

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/admitgate/admit/dropfolder"
	"github.com/admitgate/admit/gate"
)

func TestImportsASettledFile(t *testing.T) {
	clk, im := newClock(), newImporter()
	folder := dropfolder.Folder{Provider: "secutix-main", Event: "E1", PriceType: "ADU", Format: gate.FormatSecutix, OnError: gate.OnErrorSkip}
	w, dir := newWatcher(t, im, clk, nil, folder)
	write(t, filepath.Join(dir, "export.csv"), "A1\n")

	w.Sweep(context.Background())
	clk.Add(settle - time.Nanosecond)
	w.Sweep(context.Background())
	if n := len(im.Calls()); n != 0 {
		t.Fatalf("imported %d times before the file settled", n)
	}
	clk.Add(time.Nanosecond)
	w.Sweep(context.Background())
	w.Sweep(context.Background())

	calls := im.Calls()
	if len(calls) != 1 {
		t.Fatalf("%d imports, want 1", len(calls))
	}
	req := calls[0].req
	wantReq := gate.ImportRequest{Provider: "secutix-main", Event: "E1", PriceType: "ADU", Format: gate.FormatSecutix,
		OnError: gate.OnErrorSkip, By: "drop:secutix-main", Source: "export.csv (drop 20261205T170010.000000000Z)"}
	if req != wantReq || calls[0].data != "A1\n" {
		t.Errorf("import of %q with %+v, want %+v", calls[0].data, req, wantReq)
	}
	if got, want := tree(t, dir), []string{"done/export.csv", "done/export.csv.report.json"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("files %v, want %v", got, want)
	}
	rep := readReport(t, filepath.Join(dir, "done/export.csv.report.json"))
	if rep.Outcome != "done" || rep.File != "export.csv" || rep.Provider != "secutix-main" || rep.Source != wantReq.Source ||
		rep.MovedTo != "done/export.csv" || rep.Error != nil || rep.Result == nil || rep.Result.ID != 7 || rep.Recovered {
		t.Errorf("report %+v", rep)
	}
}

func TestGrowingFileWaits(t *testing.T) {
	clk, im := newClock(), newImporter()
	w, dir := newWatcher(t, im, clk, nil, dropfolder.Folder{})
	path := filepath.Join(dir, "slow.csv")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for i := range 5 {
		if _, err := f.WriteString("line\n"); err != nil {
			t.Fatal(err)
		}
		w.Sweep(context.Background())
		clk.Add(settle / 2)
		if n := len(im.Calls()); n != 0 {
			t.Fatalf("imported after write %d, while the file was growing", i)
		}
	}
	// A rewrite that keeps the size still changes the mtime.
	if err := os.Chtimes(path, time.Now(), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	w.Sweep(context.Background())
	clk.Add(settle / 2)
	w.Sweep(context.Background())
	if n := len(im.Calls()); n != 0 {
		t.Fatal("imported a file whose mtime just changed")
	}
	clk.Add(settle / 2)
	w.Sweep(context.Background())
	if calls := im.Calls(); len(calls) != 1 || calls[0].data != strings.Repeat("line\n", 5) {
		t.Fatalf("imports %+v, want the whole file once", calls)
	}
}

func TestIgnoredNames(t *testing.T) {
	clk, im := newClock(), newImporter()
	w, dir := newWatcher(t, im, clk, nil, dropfolder.Folder{})
	names := []string{".hidden.csv", "a.part", "b.TMP", "c.csv.filepart", "d.partial", "e.report.json"}
	for _, n := range names {
		write(t, filepath.Join(dir, n), "x\n")
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/hostname", filepath.Join(dir, "link.csv")); err != nil {
		t.Fatal(err)
	}
	settleAndSweep(w, clk)
	clk.Add(settle)
	w.Sweep(context.Background())
	if n := len(im.Calls()); n != 0 {
		t.Fatalf("imported %d ignored files", n)
	}
	for _, n := range append(names, "link.csv") {
		if _, err := os.Lstat(filepath.Join(dir, n)); err != nil {
			t.Errorf("%s: %v", n, err)
		}
	}
	// A transfer that ends with a rename is picked up once settled.
	if err := os.Rename(filepath.Join(dir, "c.csv.filepart"), filepath.Join(dir, "c.csv")); err != nil {
		t.Fatal(err)
	}
	settleAndSweep(w, clk)
	if calls := im.Calls(); len(calls) != 1 || !strings.HasPrefix(calls[0].req.Source, "c.csv ") {
		t.Fatalf("imports %+v, want c.csv", calls)
	}
}

func TestFailedImport(t *testing.T) {
	clk, im := newClock(), newImporter()
	im.answer = func(req gate.ImportRequest, data string) (gate.ImportResult, error) {
		return gate.ImportResult{Lines: 2, Added: 1, Rejected: 1, Errors: []gate.LineError{{Line: 2, Reason: gate.RejectEmpty}}},
			gate.Errorf(gate.EREJECTED, "index: 1 line rejected")
	}
	w, dir := newWatcher(t, im, clk, nil, dropfolder.Folder{})
	write(t, filepath.Join(dir, "bad.csv"), "A\n\n")
	settleAndSweep(w, clk)
	if got, want := tree(t, dir), []string{"failed/bad.csv", "failed/bad.csv.report.json"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("files %v, want %v", got, want)
	}
	rep := readReport(t, filepath.Join(dir, "failed/bad.csv.report.json"))
	if rep.Outcome != "failed" || rep.Error == nil || rep.Error.Code != gate.EREJECTED || rep.Error.Message != "index: 1 line rejected" ||
		rep.Result == nil || len(rep.Result.Errors) != 1 || rep.MovedTo != "failed/bad.csv" {
		t.Errorf("report %+v", rep)
	}

	// An internal fault shows as such, without its details.
	im.answer = func(gate.ImportRequest, string) (gate.ImportResult, error) {
		return gate.ImportResult{}, os.ErrDeadlineExceeded
	}
	write(t, filepath.Join(dir, "x.csv"), "A\n")
	settleAndSweep(w, clk)
	rep = readReport(t, filepath.Join(dir, "failed/x.csv.report.json"))
	if rep.Error == nil || rep.Error.Code != gate.EINTERNAL || rep.Error.Message != "internal error" || rep.Result != nil {
		t.Errorf("report %+v", rep)
	}
}

// TestNameCollisions: the SecuTix file keeps its name every 15 minutes; each
// delivery is imported and kept, none overwritten.
func TestNameCollisions(t *testing.T) {
	clk, im := newClock(), newImporter()
	w, dir := newWatcher(t, im, clk, nil, dropfolder.Folder{})
	for i := range 3 {
		write(t, filepath.Join(dir, "reseller.csv"), strings.Repeat("A\n", i+1))
		settleAndSweep(w, clk)
	}
	write(t, filepath.Join(dir, "noext"), "B\n")
	settleAndSweep(w, clk)
	write(t, filepath.Join(dir, "noext"), "B\n")
	settleAndSweep(w, clk)
	want := []string{
		"done/noext", "done/noext.report.json",
		"done/noext_20261205-170050", "done/noext_20261205-170050.report.json",
		"done/reseller.csv", "done/reseller.csv.report.json",
		"done/reseller_20261205-170020.csv", "done/reseller_20261205-170020.csv.report.json",
		"done/reseller_20261205-170030.csv", "done/reseller_20261205-170030.csv.report.json",
	}
	if got := tree(t, dir); !reflect.DeepEqual(got, want) {
		t.Fatalf("files\n %v\nwant\n %v", got, want)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "done/reseller_20261205-170030.csv")); string(b) != "A\nA\nA\n" {
		t.Errorf("the third delivery holds %q", b)
	}
	if n := len(im.Calls()); n != 5 {
		t.Errorf("%d imports, want 5", n)
	}
	if rep := readReport(t, filepath.Join(dir, "done/reseller_20261205-170020.csv.report.json")); rep.MovedTo != "done/reseller_20261205-170020.csv" {
		t.Errorf("report says %s", rep.MovedTo)
	}
}

// TestSameSecondCollision: when the timestamped name is taken too (two
// deliveries filed within one second), a counter follows the timestamp.
func TestSameSecondCollision(t *testing.T) {
	clk, im := newClock(), newImporter()
	w, dir := newWatcher(t, im, clk, nil, dropfolder.Folder{})
	for _, n := range []string{"a.txt", "a_20261205-170010.txt.report.json"} {
		write(t, filepath.Join(dir, "done", n), "old\n")
	}
	write(t, filepath.Join(dir, "a.txt"), "new\n")
	settleAndSweep(w, clk)
	want := []string{"done/a.txt", "done/a_20261205-170010-2.txt", "done/a_20261205-170010-2.txt.report.json",
		"done/a_20261205-170010.txt.report.json"}
	if got := tree(t, dir); !reflect.DeepEqual(got, want) {
		t.Fatalf("files %v, want %v", got, want)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "done/a.txt")); string(b) != "old\n" {
		t.Errorf("the older file was overwritten: %q", b)
	}
}

func TestOldestFirst(t *testing.T) {
	clk, im := newClock(), newImporter()
	w, dir := newWatcher(t, im, clk, nil, dropfolder.Folder{})
	base := time.Date(2026, 12, 5, 16, 0, 0, 0, time.UTC)
	for i, name := range []string{"c.csv", "a.csv", "b.csv"} {
		p := filepath.Join(dir, name)
		write(t, p, name)
		mtime := base.Add(time.Duration(3-i) * time.Minute) // c newest, b oldest
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	settleAndSweep(w, clk)
	var order []string
	for _, c := range im.Calls() {
		order = append(order, c.data)
	}
	if want := []string{"b.csv", "a.csv", "c.csv"}; !reflect.DeepEqual(order, want) {
		t.Errorf("imported %v, want oldest first %v", order, want)
	}
}

func TestVanishedFile(t *testing.T) {
	clk, im := newClock(), newImporter()
	w, dir := newWatcher(t, im, clk, nil, dropfolder.Folder{})
	p := filepath.Join(dir, "gone.csv")
	write(t, p, "A\n")
	w.Sweep(context.Background())
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	clk.Add(settle)
	w.Sweep(context.Background())
	if n := len(im.Calls()); n != 0 || len(tree(t, dir)) != 0 {
		t.Fatalf("%d imports, files %v", n, tree(t, dir))
	}
}

func TestUnreadableFileStays(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads any file")
	}
	clk, im := newClock(), newImporter()
	w, dir := newWatcher(t, im, clk, nil, dropfolder.Folder{})
	p := filepath.Join(dir, "locked.csv")
	write(t, p, "A\n")
	if err := os.Chmod(p, 0); err != nil {
		t.Fatal(err)
	}
	settleAndSweep(w, clk)
	w.Sweep(context.Background())
	if n := len(im.Calls()); n != 0 {
		t.Fatalf("%d imports of an unreadable file", n)
	}
	if got := tree(t, dir); !reflect.DeepEqual(got, []string{"locked.csv"}) {
		t.Fatalf("files %v", got)
	}
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	w.Sweep(context.Background())
	if n := len(im.Calls()); n != 1 {
		t.Fatalf("%d imports once readable, want 1", n)
	}
}

func TestNewChecksFolders(t *testing.T) {
	im := newImporter()
	dir := t.TempDir()
	for _, folders := range [][]dropfolder.Folder{
		{{Provider: "p1"}},
		{{Dir: dir}},
		{{Dir: dir, Provider: "p 1"}},
		{{Dir: dir, Provider: "p1", Event: "a/b"}},
		{{Dir: dir, Provider: "p1", Format: "xml"}},
		{{Dir: dir, Provider: "p1", OnError: "ignore"}},
		{{Dir: dir, Provider: "p1"}, {Dir: dir + "/", Provider: "p2"}},
	} {
		if _, err := dropfolder.New(im, folders, testLogger(t), nil); gate.ErrorCode(err) != gate.EINVALID {
			t.Errorf("%+v: %v, want EINVALID", folders, err)
		}
	}
	if _, err := dropfolder.New(nil, nil, testLogger(t), nil); err == nil {
		t.Error("a watcher without an importer")
	}
	w, err := dropfolder.New(im, []dropfolder.Folder{{Dir: filepath.Join(dir, "new", "drop"), Provider: "p1"}}, testLogger(t), nil)
	if err != nil || w == nil {
		t.Fatal(err)
	}
	for _, sub := range []string{"processing", "done", "failed"} {
		if fi, err := os.Stat(filepath.Join(dir, "new", "drop", sub)); err != nil || !fi.IsDir() {
			t.Errorf("%s: %v", sub, err)
		}
	}
}

// TestNameTooLongToClaim: a file that cannot be moved into processing/
// (its name with the claim is too long for the file system) stays, and the
// folder goes on.
func TestNameTooLongToClaim(t *testing.T) {
	clk, im := newClock(), newImporter()
	w, dir := newWatcher(t, im, clk, nil, dropfolder.Folder{})
	long := strings.Repeat("n", 250) + ".csv"
	write(t, filepath.Join(dir, long), "L\n")
	write(t, filepath.Join(dir, "ok.csv"), "K\n")
	settleAndSweep(w, clk)
	w.Sweep(context.Background())
	if calls := im.Calls(); len(calls) != 1 || calls[0].data != "K\n" {
		t.Fatalf("imports %+v, want ok.csv only", calls)
	}
	if _, err := os.Stat(filepath.Join(dir, long)); err != nil {
		t.Errorf("the long-named file: %v", err)
	}
}
