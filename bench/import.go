package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/importfile"
	"github.com/admitgate/admit/index"
	"github.com/admitgate/admit/index/indextest"
)

// SecutixFile returns the path of a SecuTix reseller file holding the
// synthetic tickets from to from+n-1 (indextest.WriteSecutix), written
// once under cacheDir and reused. The name carries indextest's fixture
// version, so a change of the synthetic tickets writes a new file.
func SecutixFile(cacheDir string, from, n int) (string, error) {
	dir := filepath.Join(cacheDir, "files")
	path := filepath.Join(dir, fmt.Sprintf("secutix-%s-%d-%d.csv", indextest.FixtureVersion, from, n))
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("bench: import file: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".secutix-*")
	if err != nil {
		return "", fmt.Errorf("bench: import file: %w", err)
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	removeStale(dir, "secutix-", "secutix-"+indextest.FixtureVersion+"-")
	if err := indextest.WriteSecutix(tmp, from, n); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("bench: import file: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return "", fmt.Errorf("bench: import file: %w", err)
	}
	return path, nil
}

// importRequest is how the workload imports a SecuTix file of synthetic
// tickets: their provider, their event, the file's name as its source.
func importRequest(path string) gate.ImportRequest {
	return gate.ImportRequest{Provider: indextest.Provider, Event: indextest.EventID, Format: gate.FormatSecutix,
		Source: filepath.Base(path), By: "bench"}
}

// importFile imports path through the importer (the parser in front of
// ix) and checks that it added want tickets.
func importFile(ctx context.Context, ix *index.Index, path string, want int, log zerolog.Logger) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("bench: import: %w", err)
	}
	defer f.Close()
	svc := importfile.NewService(ix, log, &importfile.Options{Location: time.UTC})
	res, err := svc.Import(ctx, importRequest(path), bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		return fmt.Errorf("bench: import %s: %w", filepath.Base(path), err)
	}
	if res.Added != want || res.Rejected != 0 {
		return fmt.Errorf("bench: import %s: %d added, %d rejected, want %d added", filepath.Base(path), res.Added, res.Rejected, want)
	}
	return nil
}

// ImportFunc runs one import of an empty store as RunImport does, perhaps
// in another process.
type ImportFunc func(ctx context.Context, dir, cacheDir string, lines int, opts *index.Options) (Observation, error)

var _ ImportFunc = RunImport

// RunImport imports a SecuTix file of lines lines into an empty store made
// in dir, end to end (parse, validate, sort, SSTables, ingest, bloom), and
// reports its wall time, lines/s and the process's peak RSS while it ran:
// "import/secutix/lines=N".
//
// opts are the new store's options (nil: the defaults).
func RunImport(ctx context.Context, dir, cacheDir string, lines int, opts *index.Options) (Observation, error) {
	if opts == nil {
		opts = &index.Options{}
	}
	log := opts.Logger
	name := "import/secutix/lines=" + count(lines)
	path, err := SecutixFile(cacheDir, 0, lines)
	if err != nil {
		return Observation{}, err
	}
	store, err := os.MkdirTemp(dir, "import-")
	if err != nil {
		return Observation{}, fmt.Errorf("bench: import: %w", err)
	}
	defer os.RemoveAll(store)
	ix, err := index.Open(store, opts)
	if err != nil {
		return Observation{}, err
	}
	defer ix.Close()
	if _, err := ix.PutEvent(ctx, indextest.Event()); err != nil {
		return Observation{}, err
	}
	runtime.GC()
	debug.FreeOSMemory()
	rssOK := resetPeakRSS() == nil
	base := peakRSS() // the reset high-water mark: the resident set now
	start := time.Now()
	err = importFile(ctx, ix, path, lines, log)
	took := time.Since(start)
	peak := peakRSS()
	if err != nil {
		return Observation{}, err
	}
	if err := ix.Close(); err != nil {
		return Observation{}, err
	}
	s := Sample{StatSeconds: took.Seconds(), StatRate: float64(lines) / took.Seconds(), StatOps: float64(lines), StatErrs: 0}
	if rssOK && peak > 0 {
		s[StatRSS] = float64(peak) / (1 << 20)
		s[StatRSSStart] = float64(base) / (1 << 20)
	}
	return Observation{Name: name, Unit: "line", Sample: s}, nil
}

// RunImportWhileScanning imports a SecuTix file of lines new tickets into
// ix (which holds the fixture's fresh tickets) while one lane admits fresh
// tickets: "import/while-scanning/lines=N" is the import,
// "import/first-use-while-importing/lanes=1" the admits it overlapped.
func RunImportWhileScanning(ctx context.Context, ix *index.Index, fresh *Tickets, cacheDir string, from, lines int, log zerolog.Logger) ([]Observation, error) {
	path, err := SecutixFile(cacheDir, from, lines)
	if err != nil {
		return nil, err
	}
	first, barcodes := fresh.Take(100_000)
	if len(barcodes) == 0 {
		return nil, errors.New("bench: no fresh tickets left to scan while importing")
	}
	sctx, stopScans := context.WithCancel(ctx)
	defer stopScans()
	type done struct {
		took time.Duration
		err  error
	}
	imported := make(chan done, 1)
	start := time.Now()
	go func() {
		err := importFile(ctx, ix, path, lines, log)
		imported <- done{time.Since(start), err}
		stopScans()
	}()
	scans := laneScans(1)
	r := runLanes(sctx, 1, Limit{Duration: 24 * time.Hour}, int64(len(barcodes)), nil, func(l int, i int64) string {
		s := scans[l]
		s.Barcode = barcodes[i]
		d := ix.Scan(ctx, s)
		return expect(&d, gate.ReasonOK)
	})
	fresh.Used(first, int(r.last+1))
	res := <-imported
	if res.err != nil {
		return nil, res.err
	}
	if r.ops == int64(len(barcodes)) {
		return nil, fmt.Errorf("bench: the scans ran out of fresh tickets before the import of %d lines ended", lines)
	}
	imp := Observation{Name: "import/while-scanning/lines=" + count(lines), Unit: "line", Sample: Sample{
		StatSeconds: res.took.Seconds(), StatRate: float64(lines) / res.took.Seconds(), StatOps: float64(lines), StatErrs: 0}}
	sc, err := observe("import/first-use-while-importing/lanes=1", "admit", &r, false, true)
	if err != nil {
		return nil, err
	}
	delete(sc.Sample, StatCPU) // the import's, mostly: not a scan's cost
	return []Observation{imp, sc}, nil
}

// resetPeakRSS starts a new peak resident set measurement (Linux 4.0+).
func resetPeakRSS() error { return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// peakRSS returns the process's peak resident set since the last reset
// (VmHWM), in bytes; 0 when unknown.
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}
