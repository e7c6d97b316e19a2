package dropfolder_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/admitgate/admit/dropfolder"
	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/gate/gatetest"
	"github.com/admitgate/admit/internal/testkit"
)

// waitFor polls cond for up to ten seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testkit.WaitFor(t, 10*time.Second, what, cond)
}

// TestRun drops files into watched folders while Run runs on the real
// clock: with fsnotify (and a poll interval too long to matter) and with
// polling only. Run returns when its context ends.
func TestRun(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts dropfolder.Options
	}{
		{"notify", dropfolder.Options{Settle: 50 * time.Millisecond, Poll: time.Hour}},
		{"poll", dropfolder.Options{Settle: 50 * time.Millisecond, Poll: 20 * time.Millisecond, NoNotify: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			im := newImporter()
			root := t.TempDir()
			folders := []dropfolder.Folder{{Dir: filepath.Join(root, "a"), Provider: "pa"}, {Dir: filepath.Join(root, "b"), Provider: "pb"}}
			w, err := dropfolder.New(im, folders, testLogger(t), &tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- w.Run(ctx) }()

			// An upload under a temporary name, renamed when complete.
			part := filepath.Join(root, "b", "sales.csv.filepart")
			write(t, part, "B1\n")
			time.Sleep(100 * time.Millisecond)
			if len(im.Calls()) != 0 {
				t.Fatal("imported a .filepart")
			}
			if err := os.Rename(part, filepath.Join(root, "b", "sales.csv")); err != nil {
				t.Fatal(err)
			}
			write(t, filepath.Join(root, "a", "list.txt"), "A1\n")
			waitFor(t, "two imports", func() bool { return len(im.Calls()) == 2 })
			waitFor(t, "the files filed", func() bool {
				_, e1 := os.Stat(filepath.Join(root, "a", "done", "list.txt.report.json"))
				_, e2 := os.Stat(filepath.Join(root, "b", "done", "sales.csv.report.json"))
				return e1 == nil && e2 == nil
			})
			providers := map[string]string{}
			for _, c := range im.Calls() {
				providers[c.req.Provider] = c.data
			}
			if providers["pa"] != "A1\n" || providers["pb"] != "B1\n" {
				t.Errorf("imports %+v", im.Calls())
			}
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run returned %v", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Run did not return after its context ended")
			}
		})
	}
}

// TestRunDoesNotSpin: a settled file that cannot be imported yet (here the
// store cannot be asked about interrupted imports) does not make Run sweep
// in a loop; it waits for the poll interval.
func TestRunDoesNotSpin(t *testing.T) {
	var asked atomic.Int32
	lister := &gatetest.Index{ImportsFunc: func(context.Context) ([]gate.ImportRecord, error) {
		asked.Add(1)
		return nil, errors.New("store closed")
	}}
	dir := filepath.Join(t.TempDir(), "drop")
	w, err := dropfolder.New(newImporter(), []dropfolder.Folder{{Dir: dir, Provider: "p1"}}, testLogger(t),
		&dropfolder.Options{Settle: 20 * time.Millisecond, Poll: time.Hour, Imports: lister})
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "processing", "20261205T170000.000000000Z_a.csv"), "A\n")
	write(t, filepath.Join(dir, "b.csv"), "B\n")
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	_ = w.Run(ctx)
	if n := asked.Load(); n < 1 || n > 4 {
		t.Errorf("the store was asked %d times in half a second, want a few", n)
	}
}
