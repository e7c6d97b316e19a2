package outbound

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/importfile"
	"github.com/admitgate/admit/index"
	"github.com/admitgate/admit/index/indextest"
	"github.com/admitgate/admit/internal/testkit"
)

// testTickets is how many synthetic tickets the test stores hold.
const testTickets = 2000

// testLogger logs nothing unless ADMIT_TEST_LOG is set.
func testLogger() zerolog.Logger { return testkit.Logger(nil) }

func indexOptions() *index.Options {
	return &index.Options{Appliance: "north", Logger: testLogger(), DisableWALWarmup: true, DisableCacheWarmup: true,
		MemTableSize: 4 << 20, CacheSize: 32 << 20, BloomMinCapacity: 10_000, JournalBacklog: 4096}
}

// openIndex opens the real store in dir (on disk), closed when t ends
// unless the test closes it first.
func openIndex(t testing.TB, dir string) *index.Index {
	t.Helper()
	ix, err := index.Open(dir, indexOptions())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ix.Close() })
	return ix
}

// seededIndex is a store in a new temp dir holding testTickets synthetic
// tickets for indextest.Event() (always open).
func seededIndex(t testing.TB) (*index.Index, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	ix := openIndex(t, dir)
	seed(t, ix)
	return ix, dir
}

func seed(t testing.TB, ix *index.Index) {
	t.Helper()
	ctx := context.Background()
	if _, err := ix.PutEvent(ctx, indextest.Event()); err != nil {
		t.Fatal(err)
	}
	if _, err := ix.Load(ctx, gate.ImportRequest{Provider: indextest.Provider, Source: "test", By: "test"}, indextest.Tickets(testTickets)); err != nil {
		t.Fatal(err)
	}
}

// scan presents ticket i (an unknown barcode when i < 0) at lane l, and
// waits until the journal can be read up to its decision (a refusal is
// written in the background).
func scan(ix *index.Index, i int, lane string) gate.Decision {
	d := scanAsync(ix, i, lane)
	deadline := time.Now().Add(60 * time.Second)
	for ix.Stats().WrittenSeq < d.Seq && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	return d
}

// scanAsync presents ticket i without waiting for the journal.
func scanAsync(ix gate.Validator, i int, lane string) gate.Decision {
	bc := indextest.Unknown(-i)
	if i >= 0 {
		bc = indextest.Barcode(i)
	}
	return ix.Scan(context.Background(), gate.Scan{Barcode: bc, Lane: lane, Direction: gate.In, At: time.Now()})
}

// newTestService is a Service over ix with its state in stateDir.
func newTestService(t testing.TB, ix *index.Index, stateDir string, exports []Export, hooks []Webhook, mod func(*Options)) *Service {
	t.Helper()
	opts := Options{Journal: ix, Tickets: ix, Appliance: "north", StateDir: stateDir, Location: time.UTC,
		Head: func() uint64 { return ix.Stats().WrittenSeq }, Logger: testLogger()}
	if mod != nil {
		mod(&opts)
	}
	s, err := New(opts, exports, hooks)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(stateDir, 0o755); err != nil {
		t.Fatal(err)
	}
	return s
}

// journal reads the whole journal.
func journal(t testing.TB, j gate.Journal) []gate.JournalEntry {
	t.Helper()
	var out []gate.JournalEntry
	var after uint64
	for {
		es, err := j.Entries(context.Background(), after, 10000)
		if err != nil {
			t.Fatal(err)
		}
		if len(es) == 0 {
			return out
		}
		out = append(out, es...)
		after = es[len(es)-1].Seq
	}
}

// uses are the seqs of the journal's uses (admissions with reason ok) that
// no annulment took back, and the barcode of each.
func uses(es []gate.JournalEntry) map[uint64]string {
	out := map[uint64]string{}
	for _, e := range es {
		if e.Kind == gate.KindDecision && e.Decision.Admit && e.Decision.Reason == gate.ReasonOK && e.Annulled == 0 {
			out[e.Seq] = e.Decision.Barcode
		}
	}
	return out
}

// exportFile is one file of an export folder, its name read back.
type exportFile struct {
	name             string
	number, from, to uint64
}

// exportFiles lists the export files in dir in number order, and fails on
// a temporary file left behind or a gap in the numbers or ranges.
func exportFiles(t testing.TB, dir, prefix, ext string) []exportFile {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []exportFile
	for _, de := range ents {
		n, from, to, ok := parseFileName(prefix, ext, de.Name())
		if !ok {
			t.Fatalf("unexpected file in the export folder: %s", de.Name())
		}
		out = append(out, exportFile{de.Name(), n, from, to})
	}
	slices.SortFunc(out, func(a, b exportFile) int { return int(a.number) - int(b.number) })
	for i, f := range out {
		if f.number != uint64(i+1) {
			t.Fatalf("file %d is %s: numbers have a gap", i+1, f.name)
		}
		if i > 0 && f.from != out[i-1].to+1 {
			t.Fatalf("%s follows %s: the ranges have a gap or overlap", f.name, out[i-1].name)
		}
		if i == 0 && f.from != 1 {
			t.Fatalf("the first file %s does not start at 1", f.name)
		}
	}
	return out
}

// parseSecutix reads a file with admit's own SecuTix import parser and
// returns its tickets; any rejected line fails the test.
func parseSecutix(t testing.TB, path string) []gate.Ticket {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	src := importfile.NewSource(f, gate.ImportRequest{Provider: indextest.Provider, Format: gate.FormatSecutix},
		&importfile.Options{Location: time.UTC})
	var out []gate.Ticket
	for {
		l, err := src.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("%s: %v", filepath.Base(path), err)
		}
		if l.Reject != nil {
			t.Fatalf("%s line %d rejected: %s %s", filepath.Base(path), l.Line, l.Reject.Reason, l.Reject.Detail)
		}
		out = append(out, l.Ticket)
	}
}

// waitFor polls cond until it holds, failing the test after a generous
// deadline.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	testkit.WaitFor(t, 60*time.Second, what, cond)
}
