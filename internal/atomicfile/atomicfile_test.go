package atomicfile_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/admitgate/admit/internal/atomicfile"
)

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	for _, tc := range []struct {
		data string
		perm os.FileMode
	}{
		{"first\n", 0o600},
		{"second, longer than the first\n", 0o600}, // replaces, never appends
		{"", 0o644},
	} {
		if err := atomicfile.Write(path, []byte(tc.data), tc.perm); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != tc.data {
			t.Errorf("content %q, want %q", got, tc.data)
		}
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != tc.perm {
			t.Errorf("mode %v, want %v", fi.Mode().Perm(), tc.perm)
		}
	}
	assertOnly(t, dir, "state.json")
}

// A write that cannot finish leaves what was at the path and no temporary
// file.
func TestWriteFailsCleanly(t *testing.T) {
	dir := t.TempDir()
	if err := atomicfile.Write(filepath.Join(dir, "missing", "state.json"), []byte("x"), 0o600); err == nil {
		t.Error("a write into a missing folder succeeded")
	}
	// A folder at the path: the rename over it fails.
	if err := os.Mkdir(filepath.Join(dir, "taken"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "taken", "inside"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := atomicfile.Write(filepath.Join(dir, "taken"), []byte("x"), 0o600); err == nil {
		t.Error("a write over a folder succeeded")
	}
	if fi, err := os.Stat(filepath.Join(dir, "taken")); err != nil || !fi.IsDir() {
		t.Errorf("the folder at the path changed: %v, %v", fi, err)
	}
	assertOnly(t, dir, "taken")
}

func TestSyncDir(t *testing.T) {
	if err := atomicfile.SyncDir(t.TempDir()); err != nil {
		t.Error(err)
	}
	if err := atomicfile.SyncDir(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("syncing a missing folder succeeded")
	}
}

func assertOnly(t *testing.T, dir string, names ...string) {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range es {
		got = append(got, e.Name())
	}
	if len(got) != len(names) {
		t.Fatalf("%s holds %q, want %q", dir, got, names)
	}
	for i := range got {
		if got[i] != names[i] {
			t.Fatalf("%s holds %q, want %q", dir, got, names)
		}
	}
}
