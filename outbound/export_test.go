package outbound

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/index/indextest"
)

func mustExport(t *testing.T, e *Exporter) []string {
	t.Helper()
	names, err := e.Export(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// Files exported across several intervals and a restart list every use
// once, numbered and ranged without gaps, and parse as admit's own SecuTix
// import: each ticket CONTROLLED, with the fields of the stored ticket.
func TestExportSecutixRoundTrip(t *testing.T) {
	ix, data := seededIndex(t)
	out := filepath.Join(t.TempDir(), "out")
	cfg := []Export{{Name: "secutix", Dir: out}}
	s := newTestService(t, ix, filepath.Join(data, "outbound"), cfg, nil, nil)
	e := s.Exporters()[0]

	for i := range 40 {
		scan(ix, i, "north-1")
	}
	scan(ix, 3, "north-1")  // already used
	scan(ix, -1, "north-1") // unknown
	if names := mustExport(t, e); len(names) != 1 {
		t.Fatalf("first export wrote %v", names)
	}
	if names := mustExport(t, e); len(names) != 0 {
		t.Fatalf("an export with nothing new wrote %v", names)
	}
	scan(ix, -2, "north-1") // only a refusal: still no file
	if names := mustExport(t, e); len(names) != 0 {
		t.Fatalf("an export with only a refusal wrote %v", names)
	}
	for i := 40; i < 70; i++ {
		scan(ix, i, "south-1")
	}
	mustExport(t, e)

	// A restart: a new Service over the same state resumes.
	s2 := newTestService(t, ix, filepath.Join(data, "outbound"), cfg, nil, nil)
	for i := 70; i < 75; i++ {
		scan(ix, i, "north-1")
	}
	if names := mustExport(t, s2.Exporters()[0]); len(names) != 1 || !strings.HasPrefix(names[0], "secutix-000003-") {
		t.Fatalf("after a restart the export wrote %v, want file 3", names)
	}

	all := journal(t, ix)
	want := uses(all)
	if len(want) != 75 {
		t.Fatalf("%d uses in the journal, want 75", len(want))
	}
	files := exportFiles(t, out, "secutix", ".csv")
	if last := all[len(all)-1].Seq; files[len(files)-1].to != last {
		t.Fatalf("files end at %d, the journal at %d", files[len(files)-1].to, last)
	}
	seen := map[string]bool{}
	for _, f := range files {
		for _, tk := range parseSecutix(t, filepath.Join(out, f.name)) {
			if seen[tk.Barcode] {
				t.Fatalf("%s repeats %s", f.name, tk.Barcode)
			}
			seen[tk.Barcode] = true
			if !tk.UsedUpstream || tk.State != gate.StateValid {
				t.Errorf("%s: %s parsed as %s, used upstream %v; want CONTROLLED", f.name, tk.Barcode, tk.State, tk.UsedUpstream)
			}
			v, err := ix.Ticket(context.Background(), tk.Barcode)
			if err != nil {
				t.Fatal(err)
			}
			st := v.Ticket
			if tk.Order != st.Order || tk.Contact != st.Contact || tk.Price != st.Price || tk.PriceType != st.PriceType ||
				tk.Product != st.Product || !tk.ValidityAt.Equal(st.ValidityAt) || !tk.OrderedAt.Equal(st.OrderedAt) ||
				!slices.Equal(tk.Events, []string{st.Product.Code}) {
				t.Errorf("%s: %s round-tripped as %+v, stored as %+v", f.name, tk.Barcode, tk, st)
			}
		}
	}
	for seq, bc := range want {
		if !seen[bc] {
			t.Errorf("use %d (%s) is in no file", seq, bc)
		}
	}
	if len(seen) != len(want) {
		t.Errorf("files list %d tickets, the journal %d uses", len(seen), len(want))
	}
	st := s2.Status()[0]
	if st.Kind != "export" || st.Position != files[len(files)-1].to || st.LastFile != files[len(files)-1].name || st.Delivered != 5 {
		t.Errorf("status %+v", st)
	}
}

// readRecords reads a csv or jsonl export file back.
func readRecords(t *testing.T, path string) []Record {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []Record
	if strings.HasSuffix(path, ".jsonl") {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var r Record
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			out = append(out, r)
		}
		return out
	}
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rows[0], csvHeader) {
		t.Fatalf("header %v", rows[0])
	}
	for _, row := range rows[1:] {
		at, err := time.Parse(time.RFC3339, row[7])
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, Record{ID: row[0], Kind: row[2], Annuls: row[3], Barcode: row[4], Event: row[5], Lane: row[6], At: at,
			Provider: row[8], PriceType: row[9], PriceTypeName: row[10], Product: row[11], ProductName: row[12]})
	}
	return out
}

// An annulment within a file's range takes its use out of that file; an
// annulment of a use in an earlier file is a row of the next file (csv and
// jsonl) or left out (SecuTix).
func TestExportAnnulments(t *testing.T) {
	for _, format := range []Format{FormatCSV, FormatJSONL, FormatSecutix} {
		t.Run(string(format), func(t *testing.T) {
			ix, data := seededIndex(t)
			out := filepath.Join(t.TempDir(), "out")
			s := newTestService(t, ix, filepath.Join(data, "outbound"), []Export{{Name: "x", Dir: out, Format: format}}, nil, nil)
			e := s.Exporters()[0]
			ctx := context.Background()
			a, b := scan(ix, 1, "north-1"), scan(ix, 2, "north-1")
			if _, err := ix.Annul(ctx, a.Seq, "ops"); err != nil {
				t.Fatal(err)
			}
			mustExport(t, e)
			c := scan(ix, 3, "north-1")
			if _, err := ix.Annul(ctx, b.Seq, "ops"); err != nil {
				t.Fatal(err)
			}
			mustExport(t, e)

			files := exportFiles(t, out, "x", format.ext())
			if len(files) != 2 {
				t.Fatalf("files %v", files)
			}
			type row struct{ kind, barcode, annuls string }
			var got [2][]row
			for i, f := range files {
				path := filepath.Join(out, f.name)
				if format == FormatSecutix {
					for _, tk := range parseSecutix(t, path) {
						got[i] = append(got[i], row{"use", tk.Barcode, ""})
					}
					continue
				}
				for _, r := range readRecords(t, path) {
					got[i] = append(got[i], row{r.Kind, r.Barcode, r.Annuls})
					if r.Event != indextest.EventID || r.Lane != "north-1" || r.Provider != indextest.Provider || r.At.IsZero() {
						t.Errorf("record %+v", r)
					}
				}
			}
			want := [2][]row{{{"use", b.Barcode, ""}}, {{"use", c.Barcode, ""}, {"annulment", b.Barcode, "north:" + strconv.FormatUint(b.Seq, 10)}}}
			if format == FormatSecutix {
				want[1] = want[1][:1]
			}
			if !slices.Equal(got[0], want[0]) || !slices.Equal(got[1], want[1]) {
				t.Errorf("files hold %v, want %v", got, want)
			}
		})
	}
}

// WriteEmpty writes a header-only file for an interval without a use, named
// with an empty range that the next file continues.
func TestExportWriteEmpty(t *testing.T) {
	ix, data := seededIndex(t)
	out := filepath.Join(t.TempDir(), "out")
	s := newTestService(t, ix, filepath.Join(data, "outbound"), []Export{{Name: "e", Dir: out, WriteEmpty: true}}, nil, nil)
	e := s.Exporters()[0]
	if names := mustExport(t, e); len(names) != 1 || names[0] != "e-000001-1-0.csv" {
		t.Fatalf("wrote %v", names)
	}
	scan(ix, 1, "l")
	if names := mustExport(t, e); len(names) != 1 || names[0] != "e-000002-1-1.csv" {
		t.Fatalf("wrote %v", names)
	}
	scan(ix, -1, "l")
	if names := mustExport(t, e); len(names) != 1 || names[0] != "e-000003-2-2.csv" {
		t.Fatalf("wrote %v", names)
	}
	files := exportFiles(t, out, "e", ".csv")
	for _, f := range files {
		if n := len(parseSecutix(t, filepath.Join(out, f.name))); n != map[uint64]int{1: 0, 2: 1, 3: 0}[f.number] {
			t.Errorf("%s holds %d tickets", f.name, n)
		}
	}
}

// The position survives the loss of either record: files taken from the
// folder by their consumer (the state file has it), or the state file lost
// (the newest file's name has it).
func TestExportResumes(t *testing.T) {
	ix, data := seededIndex(t)
	out := filepath.Join(t.TempDir(), "out")
	state := filepath.Join(data, "outbound")
	cfg := []Export{{Name: "r", Dir: out, Format: FormatCSV}}
	e := newTestService(t, ix, state, cfg, nil, nil).Exporters()[0]
	scan(ix, 1, "l")
	mustExport(t, e)
	scan(ix, 2, "l")
	mustExport(t, e)

	// The consumer takes the files away.
	taken := t.TempDir()
	for _, f := range exportFiles(t, out, "r", ".csv") {
		if err := os.Rename(filepath.Join(out, f.name), filepath.Join(taken, f.name)); err != nil {
			t.Fatal(err)
		}
	}
	scan(ix, 3, "l")
	names := mustExport(t, newTestService(t, ix, state, cfg, nil, nil).Exporters()[0])
	if len(names) != 1 || names[0] != "r-000003-3-3.csv" {
		t.Fatalf("after the files were taken: %v", names)
	}

	// The state file is lost.
	if err := os.Remove(filepath.Join(state, "export-r.json")); err != nil {
		t.Fatal(err)
	}
	scan(ix, 4, "l")
	names = mustExport(t, newTestService(t, ix, state, cfg, nil, nil).Exporters()[0])
	if len(names) != 1 || names[0] != "r-000004-4-4.csv" {
		t.Fatalf("after the state file was lost: %v", names)
	}
}

// What a crash leaves between the steps of publishing is finished at the
// next start: a pending file still under its temporary name is published,
// one already renamed is not written again, and a temporary file without a
// pending record is deleted and its uses written again.
func TestExportRecoversACrash(t *testing.T) {
	for _, stage := range []string{"export:temp-synced", "export:intent-saved", "export:renamed"} {
		t.Run(stage, func(t *testing.T) {
			ix, data := seededIndex(t)
			out := filepath.Join(t.TempDir(), "out")
			state := filepath.Join(data, "outbound")
			cfg := []Export{{Name: "c", Dir: out}}
			crash := newTestService(t, ix, state, cfg, nil, func(o *Options) {
				o.hook = func(s string) {
					if s == stage {
						panic(errCrash)
					}
				}
			})
			for i := range 10 {
				scan(ix, i, "l")
			}
			func() {
				defer func() {
					if r := recover(); r != errCrash {
						t.Fatalf("recovered %v", r)
					}
				}()
				_, _ = crash.Exporters()[0].Export(context.Background())
			}()
			for i := 10; i < 15; i++ {
				scan(ix, i, "l")
			}
			e := newTestService(t, ix, state, cfg, nil, nil).Exporters()[0]
			mustExport(t, e)
			files := exportFiles(t, out, "c", ".csv")
			var got []string
			for _, f := range files {
				for _, tk := range parseSecutix(t, filepath.Join(out, f.name)) {
					got = append(got, tk.Barcode)
				}
			}
			var want []string
			for i := range 15 {
				want = append(want, indextest.Barcode(i))
			}
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("after a crash at %s the files hold %d tickets, want the 15 used once: %v", stage, len(got), got)
			}
			wantFiles := 2
			if stage == "export:temp-synced" {
				wantFiles = 1 // the interrupted file was written again, with the later uses
			}
			if len(files) != wantFiles {
				t.Errorf("%d files, want %d", len(files), wantFiles)
			}
		})
	}
}

var errCrash = &crashError{}

type crashError struct{}

func (*crashError) Error() string { return "crash" }

// An export far behind writes several files in one go, each within the
// per-file bound, together covering everything.
func TestExportCatchesUpInSeveralFiles(t *testing.T) {
	ix, data := seededIndex(t)
	out := filepath.Join(t.TempDir(), "out")
	s := newTestService(t, ix, filepath.Join(data, "outbound"), []Export{{Name: "big", Dir: out, Format: FormatJSONL}}, nil, nil)
	e := s.Exporters()[0]
	e.maxEntries = 7
	for i := range 30 {
		scan(ix, i, "l")
		scan(ix, -i-1, "l")
	}
	names := mustExport(t, e)
	if len(names) != 9 { // 60 entries, 7 a file
		t.Fatalf("wrote %d files: %v", len(names), names)
	}
	n := 0
	for _, f := range exportFiles(t, out, "big", ".jsonl") {
		if f.to-f.from+1 > 7 {
			t.Errorf("%s covers more than 7 entries", f.name)
		}
		n += len(readRecords(t, filepath.Join(out, f.name)))
	}
	if n != 30 {
		t.Errorf("%d records, want 30", n)
	}
}

// Filters keep one provider's or one event's uses.
func TestExportFilters(t *testing.T) {
	ix, data := seededIndex(t)
	out := t.TempDir()
	s := newTestService(t, ix, filepath.Join(data, "outbound"), []Export{
		{Name: "mine", Dir: out, Format: FormatCSV, Provider: indextest.Provider},
		{Name: "other", Dir: out, Format: FormatCSV, Provider: "someone-else"},
		{Name: "ev", Dir: out, Format: FormatCSV, Event: indextest.EventID},
	}, nil, nil)
	scan(ix, 1, "l")
	for i, want := range []int{1, 0, 1} {
		e := s.Exporters()[i]
		names := mustExport(t, e)
		if len(names) != want {
			t.Errorf("%s wrote %v, want %d file", e.Config().Name, names, want)
		}
		if st := e.Status(); st.Position != 1 {
			t.Errorf("%s is at %d, want 1", e.Config().Name, st.Position)
		}
	}
}

// Run exports on its own every interval, and its status shows it.
func TestExportRun(t *testing.T) {
	ix, data := seededIndex(t)
	out := t.TempDir()
	s := newTestService(t, ix, filepath.Join(data, "outbound"), []Export{{Name: "run", Dir: out, Interval: 20 * time.Millisecond}}, nil, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	var last gate.Decision
	for i := range 5 {
		last = scan(ix, i, "l")
	}
	waitFor(t, "the export to pass the last use", func() bool { return s.Status()[0].Position >= last.Seq })
	st := s.Status()[0]
	if st.LastFile == "" || st.LastDelivery.IsZero() || st.Delivered != 5 || st.LastError != "" || !st.Active {
		t.Errorf("status %+v", st)
	}
}

func TestParseFileName(t *testing.T) {
	for _, c := range []struct {
		name          string
		ok            bool
		num, from, to uint64
	}{
		{"north-000042-1001-1250.csv", true, 42, 1001, 1250},
		{"north-000043-1251-1250.csv", true, 43, 1251, 1250},
		{"north-1234567-1-2.csv", true, 1234567, 1, 2},
		{"north-00042-1-2.csv", false, 0, 0, 0},
		{"north-000042-1-2.jsonl", false, 0, 0, 0},
		{"north-x-000042-1-2.csv", false, 0, 0, 0},
		{".north-000042-1-2.csv.tmp", false, 0, 0, 0},
		{"north-000042-5-2.csv", false, 0, 0, 0},
		{"north-000000-1-2.csv", false, 0, 0, 0},
		{"north-000042-+1-2.csv", false, 0, 0, 0},
		{"north-000042-1-99999999999999999999999.csv", false, 0, 0, 0},
	} {
		n, f, to, ok := parseFileName("north", ".csv", c.name)
		if ok != c.ok || n != c.num || f != c.from || to != c.to {
			t.Errorf("%s: %d %d %d %v", c.name, n, f, to, ok)
		}
		if ok && fileName("north", n, f, to, ".csv") != c.name && c.name != "north-1234567-1-2.csv" {
			t.Errorf("%s does not round-trip", c.name)
		}
	}
}
