package dropfolder_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/admitgate/admit/dropfolder"
	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/importfile"
)

// holdOpen creates path and returns it open for writing, as a slow writer
// (SFTP, a mail gateway) holds the file it delivers.
func holdOpen(t *testing.T, path, data string) *os.File {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	if _, err := f.WriteString(data); err != nil {
		t.Fatal(err)
	}
	return f
}

// TestWriterPausedLongerThanSettle (issue 21, item 13): a writer pauses for
// longer than the settle time, so the file is claimed, then goes on while it
// is imported. The import fails (nothing applied), the file goes back to the
// folder, and once its writer is done and it has settled it is imported
// whole and filed as done.
func TestWriterPausedLongerThanSettle(t *testing.T) {
	clk, im := newClock(), newImporter()
	w, dir := newWatcher(t, im, clk, nil, dropfolder.Folder{})
	writer := holdOpen(t, filepath.Join(dir, "slow.csv"), "A1\nA2\n")
	inner := im.ImportFunc
	first := true
	im.ImportFunc = func(ctx context.Context, req gate.ImportRequest, file io.Reader) (gate.ImportResult, error) {
		if first {
			first = false
			if _, err := writer.WriteString("A3\n"); err != nil { // the writer goes on
				t.Error(err)
			}
		}
		return inner(ctx, req, file)
	}
	settleAndSweep(w, clk)
	if got, want := tree(t, dir), []string{"slow.csv"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("after the first import: %v, want the file back in the folder", got)
	}
	if calls := im.Calls(); len(calls) != 0 {
		t.Fatalf("an import read to its end and answered: %+v", calls)
	}
	if _, err := writer.WriteString("A4\n"); err != nil {
		t.Fatal(err)
	}
	writer.Close()
	settleAndSweep(w, clk)
	calls := im.Calls()
	if len(calls) != 1 || calls[0].data != "A1\nA2\nA3\nA4\n" {
		t.Fatalf("imports %+v, want the whole file once", calls)
	}
	if got, want := tree(t, dir), []string{"done/slow.csv", "done/slow.csv.report.json"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("files %v, want %v", got, want)
	}
	if rep := readReport(t, filepath.Join(dir, "done/slow.csv.report.json")); rep.Outcome != "done" || rep.Error != nil {
		t.Errorf("report %+v", rep)
	}
}

// TestFileChangedAfterItsImport: the file grows after the import read it
// all and was applied. The import cannot be taken back here: the file is
// filed as failed, with the import's result and a report that says what
// happened and what to do.
func TestFileChangedAfterItsImport(t *testing.T) {
	clk, im := newClock(), newImporter()
	w, dir := newWatcher(t, im, clk, nil, dropfolder.Folder{})
	writer := holdOpen(t, filepath.Join(dir, "slow.csv"), "A1\nA")
	im.answer = func(gate.ImportRequest, string) (gate.ImportResult, error) {
		if _, err := writer.WriteString("2\n"); err != nil {
			t.Error(err)
		}
		return gate.ImportResult{ID: 12, Applied: true, Format: gate.FormatLines, Lines: 2, Added: 2}, nil
	}
	settleAndSweep(w, clk)
	if got, want := tree(t, dir), []string{"failed/slow.csv", "failed/slow.csv.report.json"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("files %v, want %v", got, want)
	}
	rep := readReport(t, filepath.Join(dir, "failed/slow.csv.report.json"))
	if rep.Outcome != "failed" || rep.Error == nil || rep.Error.Code != gate.ECONFLICT ||
		!strings.Contains(rep.Error.Message, "changed after import 12 had read it") || !strings.Contains(rep.Error.Message, "temporary name") ||
		rep.Result == nil || rep.Result.ID != 12 || !rep.Result.Applied {
		t.Errorf("report %+v %+v", rep, rep.Error)
	}
}

// TestFileThatKeepsChanging: a file that changes under every import goes
// back to settle a few times, then is filed as failed with a report,
// nothing imported.
func TestFileThatKeepsChanging(t *testing.T) {
	clk, im := newClock(), newImporter()
	w, dir := newWatcher(t, im, clk, nil, dropfolder.Folder{})
	writer := holdOpen(t, filepath.Join(dir, "log.csv"), "A1\n")
	inner := im.ImportFunc
	im.ImportFunc = func(ctx context.Context, req gate.ImportRequest, file io.Reader) (gate.ImportResult, error) {
		if _, err := writer.WriteString("A\n"); err != nil {
			t.Error(err)
		}
		return inner(ctx, req, file)
	}
	for range 4 {
		settleAndSweep(w, clk)
	}
	if got, want := tree(t, dir), []string{"failed/log.csv", "failed/log.csv.report.json"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("files %v, want %v", got, want)
	}
	rep := readReport(t, filepath.Join(dir, "failed/log.csv.report.json"))
	if rep.Error == nil || rep.Error.Code != gate.ECONFLICT || !strings.Contains(rep.Error.Message, "nothing was imported") || rep.Result != nil {
		t.Errorf("report %+v %+v", rep, rep.Error)
	}
	if n := len(im.Calls()); n != 0 {
		t.Errorf("%d imports read to their end and answered, want none", n)
	}
}

// TestReplacedAfterSettling: the recommended writer renames a complete file
// over the one that settled, just before the claim. What settled is not
// what is read: the newer file goes back to settle and is imported then.
func TestReplacedAfterSettling(t *testing.T) {
	clk, im := newClock(), newImporter()
	w, dir := newWatcher(t, im, clk, nil, dropfolder.Folder{})
	path := filepath.Join(dir, "x.csv")
	write(t, path, "OLD\n")
	w.Sweep(context.Background())
	clk.Add(settle)
	write(t, filepath.Join(dir, ".x.csv.tmp"), "NEW\n")
	st, _ := os.Stat(path)
	if err := os.Chtimes(filepath.Join(dir, ".x.csv.tmp"), st.ModTime(), st.ModTime()); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, ".x.csv.tmp"), path); err != nil {
		t.Fatal(err)
	}
	w.Sweep(context.Background()) // sees the same size and mtime: another inode
	settleAndSweep(w, clk)
	if calls := im.Calls(); len(calls) != 1 || calls[0].data != "NEW\n" {
		t.Fatalf("imports %+v, want the new file once", calls)
	}
}

// TestRenamedInProcessing (issue 21, item 13): someone renames the claimed
// file inside processing/ while it is imported. The file that was imported
// is filed, and the report names where it went and says what happened;
// nothing is left in processing/ to be imported a second time.
func TestRenamedInProcessing(t *testing.T) {
	for _, tc := range []struct {
		name string
		do   func(path string) error
		want []string
		note string
	}{
		{"renamed", func(p string) error { return os.Rename(p, filepath.Join(filepath.Dir(p), "mine.csv")) },
			[]string{"done/x.csv", "done/x.csv.report.json"}, "renamed in processing/ to mine.csv"},
		{"taken out", func(p string) error { return os.Rename(p, filepath.Join(filepath.Dir(p), "..", "..", "elsewhere.csv")) },
			[]string{"done/x.csv.report.json"}, "taken out of processing/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk, im := newClock(), newImporter()
			w, dir := newWatcher(t, im, clk, nil, dropfolder.Folder{})
			write(t, filepath.Join(dir, "x.csv"), "A1\n")
			im.answer = func(gate.ImportRequest, string) (gate.ImportResult, error) {
				claimed, _ := filepath.Glob(filepath.Join(dir, "processing", "*_x.csv"))
				if len(claimed) != 1 {
					t.Fatalf("claimed files %v", claimed)
				}
				if err := tc.do(claimed[0]); err != nil {
					t.Fatal(err)
				}
				return gate.ImportResult{ID: 7, Applied: true, Format: gate.FormatLines, Lines: 1, Added: 1}, nil
			}
			settleAndSweep(w, clk)
			w.Sweep(context.Background())
			if got := tree(t, dir); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("files %v, want %v", got, tc.want)
			}
			rep := readReport(t, filepath.Join(dir, "done/x.csv.report.json"))
			if _, err := os.Stat(filepath.Join(dir, rep.MovedTo)); rep.MovedTo != "" && err != nil {
				t.Errorf("the report names %s: %v", rep.MovedTo, err)
			}
			if rep.Outcome != "done" || !strings.Contains(rep.Note, tc.note) || len(im.Calls()) != 1 {
				t.Errorf("report %+v after %d imports", rep, len(im.Calls()))
			}
		})
	}
}

// growingImporter appends to the file its writer holds as the first import
// begins, then hands the import to the real Service.
type growingImporter struct {
	gate.Importer
	writer *os.File
	grown  bool
}

func (g *growingImporter) Import(ctx context.Context, req gate.ImportRequest, file io.Reader) (gate.ImportResult, error) {
	if !g.grown {
		g.grown = true
		if _, err := g.writer.WriteString("K-late-1\nK-late-2\n"); err != nil {
			return gate.ImportResult{}, err
		}
	}
	return g.Importer.Import(ctx, req, file)
}

// TestWriterPausedWithTheStore: the same through the real import service
// into a real store: the import that met the growing file applied nothing
// (no import record), and the one after it has every line.
func TestWriterPausedWithTheStore(t *testing.T) {
	dir := t.TempDir()
	ix, err := openCrashStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	clk := newClock()
	f := crashFolder
	f.Dir = filepath.Join(dir, "drop")
	if err := os.MkdirAll(f.Dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var first strings.Builder
	for i := range 1000 {
		fmt.Fprintf(&first, "K%08d\n", i)
	}
	writer := holdOpen(t, filepath.Join(f.Dir, "list.txt"), first.String())
	im := &growingImporter{Importer: importfile.NewService(ix, testLogger(t), nil), writer: writer}
	w, err := dropfolder.New(im, []dropfolder.Folder{f}, testLogger(t), &dropfolder.Options{Settle: settle, Now: clk.Now, NoNotify: true, Imports: ix})
	if err != nil {
		t.Fatal(err)
	}
	settleAndSweep(w, clk)
	if recs, err := ix.Imports(context.Background()); err != nil || len(recs) != 0 {
		t.Fatalf("after the file grew under its import: records %+v, %v; want none", recs, err)
	}
	writer.Close()
	settleAndSweep(w, clk)
	recs, err := ix.Imports(context.Background())
	if err != nil || len(recs) != 1 || recs[0].Added != 1002 {
		t.Fatalf("records %+v, %v; want one import of 1002 tickets", recs, err)
	}
	if got, want := tree(t, f.Dir), []string{"done/list.txt", "done/list.txt.report.json"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("files %v, want %v", got, want)
	}
}
