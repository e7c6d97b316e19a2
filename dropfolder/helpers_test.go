package dropfolder_test

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/admitgate/admit/dropfolder"
	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/gate/gatetest"
	"github.com/admitgate/admit/internal/testkit"
)

// testLogger logs to the test only when ADMIT_TEST_LOG is set.
func testLogger(t testing.TB) zerolog.Logger { return testkit.Logger(t) }

// clock is a settable clock.
type clock = testkit.Clock

func newClock() *clock { return testkit.NewClock(time.Date(2026, 12, 5, 17, 0, 0, 0, time.UTC)) }

// call is one Import the fake importer received.
type call struct {
	req  gate.ImportRequest
	data string
}

// importer is a gatetest.Importer that reads each file whole and records it;
// answer, when set, decides the result.
type importer struct {
	gatetest.Importer
	mu     sync.Mutex
	calls  []call
	answer func(req gate.ImportRequest, data string) (gate.ImportResult, error)
}

func newImporter() *importer {
	im := &importer{}
	im.ImportFunc = func(ctx context.Context, req gate.ImportRequest, file io.Reader) (gate.ImportResult, error) {
		b, err := io.ReadAll(file)
		if err != nil {
			return gate.ImportResult{}, err
		}
		im.mu.Lock()
		im.calls = append(im.calls, call{req, string(b)})
		answer := im.answer
		im.mu.Unlock()
		if answer != nil {
			return answer(req, string(b))
		}
		return gate.ImportResult{ID: 7, Applied: true, Format: gate.FormatLines, Lines: 1, Added: 1}, nil
	}
	return im
}

func (im *importer) Calls() []call {
	im.mu.Lock()
	defer im.mu.Unlock()
	return append([]call(nil), im.calls...)
}

const settle = 10 * time.Second

// newWatcher watches one folder for provider p1 in a temporary directory.
func newWatcher(t *testing.T, im gate.Importer, clk *clock, opts *dropfolder.Options, folder dropfolder.Folder) (*dropfolder.Watcher, string) {
	t.Helper()
	if folder.Dir == "" {
		folder.Dir = filepath.Join(t.TempDir(), "drop")
	}
	if folder.Provider == "" {
		folder.Provider = "p1"
	}
	o := dropfolder.Options{Settle: settle, Now: clk.Now, NoNotify: true}
	if opts != nil {
		o = *opts
		if o.Now == nil {
			o.Now = clk.Now
		}
	}
	w, err := dropfolder.New(im, []dropfolder.Folder{folder}, testLogger(t), &o)
	if err != nil {
		t.Fatal(err)
	}
	return w, folder.Dir
}

// settleAndSweep sweeps, lets the settle time pass, and sweeps again: a
// file present from the start is imported by the second sweep.
func settleAndSweep(w *dropfolder.Watcher, clk *clock) {
	w.Sweep(context.Background())
	clk.Add(settle)
	w.Sweep(context.Background())
}

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// tree lists the files under dir (relative paths), sorted.
func tree(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(dir, path)
			out = append(out, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

func readReport(t *testing.T, path string) dropfolder.Report {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r dropfolder.Report
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return r
}
