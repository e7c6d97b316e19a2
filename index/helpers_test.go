package index

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/internal/testkit"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/rs/zerolog"
)

var (
	t0     = time.Date(2026, 12, 5, 18, 0, 0, 0, time.UTC)
	derby  = gate.Event{ID: "derby", Name: "Derby", OpensAt: t0, ClosesAt: t0.Add(6 * time.Hour)}
	cup    = gate.Event{ID: "cup", Name: "Cup", OpensAt: t0.Add(14 * 24 * time.Hour), ClosesAt: t0.Add(14*24*time.Hour + 6*time.Hour)}
	fest   = gate.Event{ID: "fest", Name: "Fest", OpensAt: t0, ClosesAt: t0.Add(6 * time.Hour), Reentry: true}
	double = gate.Event{ID: "double", Name: "Double", OpensAt: t0, ClosesAt: t0.Add(6 * time.Hour), Entries: 2}
	past   = gate.Event{ID: "past", Name: "Past", OpensAt: t0.Add(-48 * time.Hour), ClosesAt: t0.Add(-40 * time.Hour)}
	during = t0.Add(time.Hour)
)

// testLogger logs to stderr when ADMIT_TEST_LOG is set, else nothing.
func testLogger() zerolog.Logger { return testkit.Logger(nil) }

func testOptions(fs vfs.FS) *Options {
	// A commit is never that slow here but on a disk a test stalls on
	// purpose (those tests set their own CommitTimeout).
	return &Options{FS: fs, Appliance: "test", Logger: testLogger(), DisableWALWarmup: true,
		MemTableSize: 4 << 20, BloomMinCapacity: 1000, RecoveryInterval: 20 * time.Millisecond,
		CommitTimeout: time.Minute}
}

// openMem opens an index on a fresh in-memory file system with the test
// events.
func openMem(t testing.TB) (*Index, vfs.FS) {
	t.Helper()
	fs := vfs.NewMem()
	ix := openFS(t, fs)
	for _, e := range []gate.Event{derby, cup, fest, double, past} {
		if _, err := ix.PutEvent(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
	return ix, fs
}

func openFS(t testing.TB, fs vfs.FS) *Index {
	t.Helper()
	ix, err := Open("data", testOptions(fs))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ix.Close() })
	return ix
}

// openDerby opens a store in "data" with o, closed after t, holding the
// derby event.
func openDerby(t testing.TB, o *Options) *Index {
	t.Helper()
	ix, err := Open("data", o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ix.Close() })
	if _, err := ix.PutEvent(context.Background(), derby); err != nil {
		t.Fatal(err)
	}
	return ix
}

func tk(barcode string, events ...string) gate.Ticket {
	return gate.Ticket{Barcode: barcode, Provider: "p1", Events: events, State: gate.StateValid,
		PriceType: gate.Code{Code: "ADU", Name: "Adult"}}
}

func load(t testing.TB, ix *Index, tickets ...gate.Ticket) gate.ImportResult {
	t.Helper()
	res, err := ix.Load(context.Background(), gate.ImportRequest{Provider: "p1", Source: "test"}, gate.Lines(tickets...))
	if err != nil {
		t.Fatalf("load: %v (%+v)", err, res.Errors)
	}
	return res
}

func scanAt(ix *Index, barcode string, at time.Time) gate.Decision {
	return ix.Scan(context.Background(), gate.Scan{Barcode: barcode, Lane: "north-1", Direction: gate.In, At: at})
}

func exitAt(ix *Index, barcode string, at time.Time) gate.Decision {
	return ix.Scan(context.Background(), gate.Scan{Barcode: barcode, Lane: "exit-1", Direction: gate.Out, At: at})
}

// waitWritten waits until the journal watermark reaches the last sequence.
func waitWritten(t testing.TB, ix *Index) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for ix.wm.get() < ix.seq.Load() {
		if time.Now().After(deadline) {
			t.Fatalf("journal stuck at %d of %d", ix.wm.get(), ix.seq.Load())
		}
		time.Sleep(time.Millisecond)
	}
}

// allEntries waits for the journal to be written and reads all of it.
func allEntries(t testing.TB, ix *Index) []gate.JournalEntry {
	t.Helper()
	waitWritten(t, ix)
	var all []gate.JournalEntry
	for {
		es, err := ix.Entries(context.Background(), uint64(len(all)), 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(es) == 0 {
			return all
		}
		all = append(all, es...)
	}
}

var errEOF = io.EOF

func memFS() vfs.FS { return vfs.NewMem() }
