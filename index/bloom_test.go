package index

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// TestBloomSnapshot: a clean close leaves a snapshot that the next open
// loads; a corrupt, truncated, missing or stale snapshot is detected and the
// filter rebuilt; the answers are identical every time.
func TestBloomSnapshot(t *testing.T) {
	ctx := context.Background()
	fs := vfs.NewMem()
	ix := openFS(t, fs)
	if _, err := ix.PutEvent(ctx, derby); err != nil {
		t.Fatal(err)
	}
	var ts []gate.Ticket
	for i := range 3000 { // over BloomMinCapacity (1000): the filter grows
		ts = append(ts, tk(fmt.Sprintf("B%05d", i), "derby"))
	}
	load(t, ix, ts...)
	if c := ix.Stats().BloomCapacity; c < 3000 {
		t.Fatalf("filter capacity %d for 3000 tickets", c)
	}
	probe := func(ix *Index) string {
		var s []byte
		for i := range 4000 { // 1000 unknown barcodes among them
			d := ix.Check(ctx, gate.Scan{Barcode: fmt.Sprintf("B%05d", i), Lane: "l", Direction: gate.In, At: during})
			s = append(s, byte('0'+d.Reason))
		}
		return string(s)
	}
	want := probe(ix)
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	path := fs.PathJoin("data", bloomFile)
	snapshot := readFile(t, fs, path)

	tests := []struct {
		name    string
		mangle  func()
		rebuilt bool
	}{
		{"clean", func() {}, false},
		{"corrupt", func() {
			b := append([]byte(nil), snapshot...)
			b[len(b)/2] ^= 0xFF
			writeFile(t, fs, path, b)
		}, true},
		{"truncated", func() { writeFile(t, fs, path, snapshot[:len(snapshot)/3]) }, true},
		{"missing", func() { _ = fs.Remove(path) }, true},
		{"bad header", func() { writeFile(t, fs, path, []byte("not a bloom filter")) }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.mangle()
			ix := openFS(t, fs)
			if got := probe(ix); got != want {
				t.Fatalf("answers differ after %s snapshot", tt.name)
			}
			if err := ix.Close(); err != nil {
				t.Fatal(err)
			}
			// Close always leaves a good snapshot.
			if got := readFile(t, fs, path); string(got) != string(snapshot) {
				t.Fatalf("snapshot after reopening differs: %d bytes, want %d; header %x want %x", len(got), len(snapshot), got[:24], snapshot[:24])
			}
		})
	}

	// Stale: barcodes added after the snapshot was written (a crash before
	// Close saved it) make the generation differ.
	ix = openFS(t, fs)
	if _, err := ix.Reissue(ctx, "B00001", "B-new", "a"); err != nil {
		t.Fatal(err)
	}
	gen := ix.bloomGen
	ix.filter.Load().f.ClearAll() // what the stale snapshot would hold
	ix.closed.Store(true)         // no Close: the snapshot on disk is the old one
	ix.quiesce(nil, time.Time{})  // (the cache warm-up may still be reading)
	_ = ix.db.Close()
	ix2 := openFS(t, fs)
	if ix2.bloomGen != gen {
		t.Fatalf("generation %d, want %d", ix2.bloomGen, gen)
	}
	if d := ix2.Check(ctx, gate.Scan{Barcode: "B-new", Lane: "l", Direction: gate.In, At: during}); d.Reason != gate.ReasonOK {
		t.Fatalf("reissued barcode after a stale snapshot: %s", d.Reason)
	}
}

func readFile(t *testing.T, fs vfs.FS, path string) []byte {
	t.Helper()
	f, err := fs.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, st.Size())
	if _, err := f.ReadAt(b, 0); err != nil {
		t.Fatal(err)
	}
	return b
}

func writeFile(t *testing.T, fs vfs.FS, path string, b []byte) {
	t.Helper()
	f, err := fs.Create(path, vfs.WriteCategoryUnspecified)
	if err != nil {
		t.Fatal(err)
	}
	// MemFS may keep the slice it is given: hand it a copy.
	if _, err := f.Write(append([]byte(nil), b...)); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestReopenKeepsEverything: counters, events, providers, journal and
// tickets come back after a clean close, and after a crash (no Close) the
// counters are rebuilt to the same figures.
func TestReopenKeepsEverything(t *testing.T) {
	ctx := context.Background()
	fs := vfs.NewMem()
	ix := openFS(t, fs)
	for _, e := range []gate.Event{derby, fest} {
		if _, err := ix.PutEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ix.PutProvider(ctx, gate.Provider{ID: "p1", Name: "Provider one"}); err != nil {
		t.Fatal(err)
	}
	load(t, ix, tk("A", "derby"), tk("B", "derby", "fest"), tk("C", "fest"))
	scanAt(ix, "A", during)
	scanAt(ix, "B", during)
	exitAt(ix, "B", during)
	scanAt(ix, "nope", during)
	waitWritten(t, ix)
	want, _ := ix.Report(ctx, "derby", during)
	wantSeq := ix.Stats().LastSeq
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	ix = openFS(t, fs)
	got, _ := ix.Report(ctx, "derby", during)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("report after reopen:\n%+v\nwant\n%+v", got, want)
	}
	if ps, _ := ix.Providers(ctx); len(ps) != 1 || ps[0].Name != "Provider one" {
		t.Fatalf("providers: %+v", ps)
	}
	if es, _ := ix.Events(ctx); len(es) != 2 {
		t.Fatalf("events: %+v", es)
	}
	if ix.Stats().LastSeq != wantSeq || ix.Stats().Tickets != 3 {
		t.Fatalf("stats: %+v", ix.Stats())
	}
	v, err := ix.Ticket(ctx, "B")
	if err != nil || len(v.History) != 2 || v.History[0].Decision.Reason != gate.ReasonExit {
		t.Fatalf("history: %+v %v", v.History, err)
	}
	// A crash: the saved counters were deleted at open, so they are rebuilt.
	scanAt(ix, "C", during)
	waitWritten(t, ix)
	want, _ = ix.Report(ctx, "fest", during)
	ix.closed.Store(true)
	ix.quiesce(nil, time.Time{})
	_ = ix.db.Close()
	ix = openFS(t, fs)
	got, _ = ix.Report(ctx, "fest", during)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("report after a crash:\n%+v\nwant\n%+v", got, want)
	}
}

// TestBloomSnapshotOfAnotherStore (issue 21.7): a bloom snapshot belongs to
// one store at one moment. One copied from another store, or from a copy of
// this store that took other imports since, is refused and the filter
// rebuilt, so the store's own tickets are never refused as unknown. (Two
// stores a few imports old shared the small counter that was the
// generation, and a copied snapshot was taken: every valid ticket unknown.)
func TestBloomSnapshotOfAnotherStore(t *testing.T) {
	ctx := context.Background()
	makeStore := func(t *testing.T, fs vfs.FS, prefix string) {
		t.Helper()
		ix := openFS(t, fs)
		if _, err := ix.PutEvent(ctx, derby); err != nil {
			t.Fatal(err)
		}
		var ts []gate.Ticket
		for i := range 200 {
			ts = append(ts, tk(fmt.Sprintf("%s%04d", prefix, i), "derby"))
		}
		load(t, ix, ts...)
		if err := ix.Close(); err != nil {
			t.Fatal(err)
		}
	}
	answers := func(t *testing.T, fs vfs.FS, prefix string) {
		t.Helper()
		ix := openFS(t, fs)
		for i := range 200 {
			bc := fmt.Sprintf("%s%04d", prefix, i)
			if d := ix.Check(ctx, gate.Scan{Barcode: bc, Lane: "l", Direction: gate.In, At: during}); d.Reason != gate.ReasonOK {
				t.Fatalf("%s after the copied snapshot: %s", bc, d.Reason)
			}
		}
		if err := ix.Close(); err != nil {
			t.Fatal(err)
		}
	}
	copySnapshot := func(t *testing.T, from, to vfs.FS) {
		t.Helper()
		writeFile(t, to, to.PathJoin("data", bloomFile), readFile(t, from, from.PathJoin("data", bloomFile)))
	}

	t.Run("another store", func(t *testing.T) {
		a, b := vfs.NewMem(), vfs.NewMem()
		makeStore(t, a, "A")
		makeStore(t, b, "B")
		copySnapshot(t, a, b)
		answers(t, b, "B")
	})
	t.Run("a copy of this store that took other imports", func(t *testing.T) {
		a := vfs.NewMem()
		makeStore(t, a, "A")
		c := vfs.NewMem()
		copyTree(t, a, c, "data")
		// Both take an import of their own: the same store id, the same
		// number of changes since the copy.
		for _, s := range []struct {
			fs     vfs.FS
			prefix string
		}{{a, "X"}, {c, "Y"}} {
			ix := openFS(t, s.fs)
			var ts []gate.Ticket
			for i := range 200 {
				ts = append(ts, tk(fmt.Sprintf("%s%04d", s.prefix, i), "derby"))
			}
			load(t, ix, ts...)
			if err := ix.Close(); err != nil {
				t.Fatal(err)
			}
		}
		copySnapshot(t, a, c)
		answers(t, c, "Y")
		answers(t, c, "A")
	})
}

// copyTree copies the directory dir of from to the same place in to.
func copyTree(t *testing.T, from, to vfs.FS, dir string) {
	t.Helper()
	if err := to.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	names, err := from.List(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		p := from.PathJoin(dir, n)
		st, err := from.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st.IsDir() {
			copyTree(t, from, to, p)
			continue
		}
		var data []byte
		if st.Size() > 0 {
			data = readFile(t, from, p)
		}
		writeFile(t, to, p, data)
	}
}
