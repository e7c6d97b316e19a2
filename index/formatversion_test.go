package index

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// storedFormat reads the format a closed store in fs records, with Pebble
// alone.
func storedFormat(t *testing.T, fs vfs.FS, dir string) uint64 {
	t.Helper()
	db, err := pebble.Open(fs.PathJoin(dir, "db"), &pebble.Options{FS: fs, Logger: pebbleLogger{testLogger()}})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	f, err := readFormat(db)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// setStoredFormat writes format into a closed store, as another admit would.
func setStoredFormat(t *testing.T, fs vfs.FS, dir string, format uint64) {
	t.Helper()
	db, err := pebble.Open(fs.PathJoin(dir, "db"), &pebble.Options{FS: fs, Logger: pebbleLogger{testLogger()}})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Set(metaFormat, u64(format), pebble.Sync); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestStoreFormatOfANewStore(t *testing.T) {
	fs := vfs.NewMem()
	ix, err := Open("data", testOptions(fs))
	if err != nil {
		t.Fatal(err)
	}
	if ix.Format() != StoreFormat {
		t.Errorf("a new store's format: %d, want %d", ix.Format(), StoreFormat)
	}
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	if f := storedFormat(t, fs, "data"); f != StoreFormat {
		t.Errorf("a new store records format %d, want %d", f, StoreFormat)
	}
}

// unrecordedFormat are the store fixtures written before stores recorded
// their format.
var unrecordedFormat = map[string]bool{"2026-12": true, "2026-12-store-id": true, "2026-12-entries": true}

// TestStoreFormatOfEveryFixture: every store an earlier admit wrote
// (testdata/stores) opens and then records StoreFormat; those written
// before formats were recorded record none until then.
func TestStoreFormatOfEveryFixture(t *testing.T) {
	dir := filepath.Join("testdata", "stores")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		n++
		t.Run(e.Name(), func(t *testing.T) {
			fs := vfs.NewMem()
			copyIn(t, filepath.Join(dir, e.Name()), fs, "data")
			before := storedFormat(t, fs, "data")
			if before > StoreFormat {
				t.Fatalf("the fixture records format %d, newer than this admit's %d", before, StoreFormat)
			}
			if before == 0 && !unrecordedFormat[e.Name()] {
				t.Errorf("a fixture written since formats are recorded records none")
			}
			ix, err := Open("data", testOptions(fs))
			if err != nil {
				t.Fatal(err)
			}
			if ix.Format() != StoreFormat {
				t.Errorf("format after Open: %d, want %d", ix.Format(), StoreFormat)
			}
			if err := ix.Close(); err != nil {
				t.Fatal(err)
			}
			if f := storedFormat(t, fs, "data"); f != StoreFormat {
				t.Errorf("the store records format %d after Open (%d before), want %d", f, before, StoreFormat)
			}
		})
	}
	if n == 0 {
		t.Fatal("no store fixture in testdata/stores")
	}
}

// TestStoreFormatNewerRefused: a store a newer admit wrote is refused with
// words that say what to do, and is left as it was.
func TestStoreFormatNewerRefused(t *testing.T) {
	ix, fs := openMem(t)
	load(t, ix, tk("F-1", "derby"))
	seq := ix.Stats().LastSeq
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	setStoredFormat(t, fs, "data", StoreFormat+1)

	_, err := Open("data", testOptions(fs))
	var fe *FormatError
	if !errors.As(err, &fe) || fe.Found != StoreFormat+1 || fe.Supported != StoreFormat {
		t.Fatalf("Open of a newer store: %v, want a FormatError", err)
	}
	for _, want := range []string{"written by admit format 4", "reads up to 3", "upgrade admit or restore a backup"} {
		if StoreFormat == 3 && !strings.Contains(err.Error(), want) {
			t.Errorf("the refusal %q does not say %q", err, want)
		}
	}
	if f := storedFormat(t, fs, "data"); f != StoreFormat+1 {
		t.Errorf("the refused store now records format %d", f)
	}
	// Refused, not damaged: lowered again (as restoring the older admit's
	// backup would), it opens with what it held.
	setStoredFormat(t, fs, "data", StoreFormat)
	ix = openFS(t, fs)
	if got := ix.Stats(); got.Tickets != 1 || got.LastSeq != seq {
		t.Errorf("the store after the refusal: %d tickets, seq %d", got.Tickets, got.LastSeq)
	}
}
