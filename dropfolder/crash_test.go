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
	"time"

	"github.com/admitgate/admit/dropfolder"
	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/importfile"
	"github.com/admitgate/admit/index"
	"github.com/admitgate/admit/internal/testkit"
)

// The crash test runs a drop folder over a real index in a child process (this
// test binary, re-executed), kills it with SIGKILL at a chosen moment, then
// starts again in the parent and checks that the file was imported exactly
// once and filed.

const (
	crashEnv    = "ADMIT_DROPFOLDER_CRASH_CHILD" // the child's mode
	crashDirEnv = "ADMIT_DROPFOLDER_CRASH_DIR"
	crashLines  = 20000
	crashEvent  = "MATCH-2026-12-05"
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(crashEnv); mode != "" {
		os.Exit(crashChild(mode, os.Getenv(crashDirEnv)))
	}
	os.Exit(m.Run())
}

func openCrashStore(dir string) (*index.Index, error) {
	ix, err := index.Open(filepath.Join(dir, "store"), &index.Options{BloomMinCapacity: 1000, DisableWALWarmup: true,
		Appliance: "crash", ImportBatchLines: 1000})
	if err != nil {
		return nil, err
	}
	if _, err := ix.PutEvent(context.Background(), gate.Event{ID: crashEvent}); err != nil {
		ix.Close()
		return nil, err
	}
	return ix, nil
}

var crashFolder = dropfolder.Folder{Provider: "reseller", Event: crashEvent}

// reporting is an importer that tells the parent when an import starts and
// ends, and in mode "pause" waits after the import to be killed.
type reporting struct {
	gate.Importer
	out  io.Writer
	mode string
}

func (r *reporting) Import(ctx context.Context, req gate.ImportRequest, file io.Reader) (gate.ImportResult, error) {
	fmt.Fprintln(r.out, "IMPORTING")
	res, err := r.Importer.Import(ctx, req, file)
	fmt.Fprintf(r.out, "IMPORTED %d %v\n", res.ID, err)
	if r.mode == "pause" {
		time.Sleep(time.Minute)
	}
	return res, err
}

func crashChild(mode, dir string) int {
	ix, err := openCrashStore(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		return 2
	}
	out := os.Stdout
	im := &reporting{Importer: &importfile.Service{Loader: ix}, out: out, mode: mode}
	f := crashFolder
	f.Dir = filepath.Join(dir, "drop")
	w, err := dropfolder.New(im, []dropfolder.Folder{f}, testLogger(nil),
		&dropfolder.Options{Settle: time.Millisecond, Poll: 5 * time.Millisecond, NoNotify: true, Imports: ix})
	if err != nil {
		fmt.Fprintln(os.Stderr, "watch:", err)
		return 2
	}
	fmt.Fprintln(out, "READY")
	_ = w.Run(context.Background())
	return 2
}

func TestKillDuringImport(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary")
	}
	// When to kill: as the import starts (the store has not committed), a
	// little later (while it loads), and after it was applied but before
	// the file was filed.
	for _, tc := range []struct {
		name, mode, killAt string
		delay              time.Duration
	}{
		{"at start", "run", "IMPORTING", 0},
		{"while loading", "run", "IMPORTING", 30 * time.Millisecond},
		{"applied, not filed", "pause", "IMPORTED", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			drop := filepath.Join(dir, "drop")
			if err := os.MkdirAll(drop, 0o755); err != nil {
				t.Fatal(err)
			}
			var file strings.Builder
			for i := range crashLines {
				fmt.Fprintf(&file, "K%08d\n", i)
			}
			write(t, filepath.Join(drop, "list.txt"), file.String())

			child := testkit.StartChild(t, crashEnv+"="+tc.mode, crashDirEnv+"="+dir)
			seen := testkit.Expect(t, child.Lines(), tc.killAt, 1)
			time.Sleep(tc.delay)
			child.Kill()
			if tc.killAt == "IMPORTED" && !strings.HasSuffix(seen, "<nil>") {
				t.Fatalf("the child's import failed: %s", seen)
			}

			// Start again, as admit would.
			ix, err := openCrashStore(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer ix.Close()
			im := &importfile.Service{Loader: ix}
			f := crashFolder
			f.Dir = drop
			w, err := dropfolder.New(im, []dropfolder.Folder{f}, testLogger(t),
				&dropfolder.Options{Settle: time.Millisecond, NoNotify: true, Imports: ix})
			if err != nil {
				t.Fatal(err)
			}
			w.Sweep(context.Background())

			if got, want := tree(t, drop), []string{"done/list.txt", "done/list.txt.report.json"}; !reflect.DeepEqual(got, want) {
				t.Fatalf("files %v, want %v", got, want)
			}
			recs, err := ix.Imports(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			var mine []gate.ImportRecord
			for _, r := range recs {
				if strings.HasPrefix(r.Source, "list.txt (drop ") {
					mine = append(mine, r)
				}
			}
			if len(mine) != 1 || mine[0].Added != crashLines {
				t.Fatalf("import records %+v, want one that added %d tickets", mine, crashLines)
			}
			rep := readReport(t, filepath.Join(drop, "done/list.txt.report.json"))
			if rep.Result == nil || rep.Result.ID != mine[0].ID || rep.Result.Added != crashLines {
				t.Errorf("report %+v", rep)
			}
			if tc.killAt == "IMPORTED" && !rep.Recovered {
				t.Errorf("the applied import was imported again: report %+v", rep)
			}
			t.Logf("killed after %q; recovered from the record: %v", seen, rep.Recovered)
		})
	}
}
