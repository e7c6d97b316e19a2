package importfile_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/importfile"
	"github.com/admitgate/admit/index"
	"github.com/admitgate/admit/internal/testkit"
)

// benchFile returns a SecuTix reseller file of n lines, written once per
// machine under the temporary directory: unique barcodes, two products,
// three tariffs, every state, orders of three tickets.
func benchFile(b *testing.B, n int) string {
	b.Helper()
	dir := filepath.Join(os.TempDir(), "admit-bench")
	path := filepath.Join(dir, fmt.Sprintf("secutix-%d-v1.csv", n))
	if _, err := os.Stat(path); err == nil {
		return path
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	tmp, err := os.CreateTemp(dir, ".secutix-*")
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(tmp, 1<<20)
	w.WriteString("BAR_CODE;TICKET_STATE;FILE_NUMBER;PRODUCT_CODE;PRODUCT_NAME;VALIDITY_DATE;TARIFF_CODE;TARIFF_NAME;PRICE;ORDER_DATE;CONTACT_NUMBER\n")
	products := []string{"MATCH-2026-12-05;FC Example – Derby;05/12/2026 20:00", "MATCH-2026-12-19;FC Example – Cup;19/12/2026 18:30"}
	tariffs := []string{"ADU;Adult;45.00", "CHI;Child;20.00", "SEN;Senior;30.00"}
	states := []string{"PRINTED", "PRINTED", "PRINTED", "NOT_PRINTED", "CANCELLED", "CONTROLLED"}
	var line []byte
	for i := range n {
		order := i / 3
		line = strconv.AppendInt(line[:0], 1000000000000000+int64(i)*7919, 10)
		line = append(line, ';')
		line = append(line, states[i%len(states)]...)
		line = append(line, ';')
		line = strconv.AppendInt(line, int64(880000+order), 10)
		line = append(line, ';')
		line = append(line, products[order%2]...)
		line = append(line, ';')
		line = append(line, tariffs[i%3]...)
		line = fmt.Appendf(line, ";2026-%02d-%02d %02d:%02d;%d\n", 9+order%3, 1+order%28, order%24, order%60, 1000+order)
		w.Write(line)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := tmp.Close(); err != nil {
		b.Fatal(err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		b.Fatal(err)
	}
	return path
}

// peakRSS returns the process's peak resident set size in bytes (VmHWM).
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// resetPeakRSS starts a new VmHWM measurement (Linux 4.0+).
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// BenchmarkImportSecutix imports a SecuTix file end to end: parse, validate,
// sort, ingest, bloom, through importfile.Service into a fresh index.Open on
// disk. The same run reads the file through the parser alone, so the
// parser's share is visible. 10 M lines run when ADMIT_BENCH_10M is set:
//
//	go test -run '^$' -bench ImportSecutix -benchtime 1x ./importfile
func BenchmarkImportSecutix(b *testing.B) {
	sizes := []int{100_000, 1_000_000}
	if os.Getenv("ADMIT_BENCH_10M") != "" {
		sizes = append(sizes, 10_000_000)
	}
	for _, n := range sizes {
		path := benchFile(b, n)
		req := gate.ImportRequest{Provider: "secutix-main", Source: filepath.Base(path), By: "bench"}
		b.Run(fmt.Sprintf("lines=%s/parse", count(n)), func(b *testing.B) {
			for b.Loop() {
				f, err := os.Open(path)
				if err != nil {
					b.Fatal(err)
				}
				src := importfile.NewSource(f, req, nil)
				lines := 0
				for {
					if _, err := src.Next(); err != nil {
						if err != io.EOF {
							b.Fatal(err)
						}
						break
					}
					lines++
				}
				f.Close()
				if lines != n {
					b.Fatalf("%d lines", lines)
				}
			}
			report(b, n)
		})
		b.Run(fmt.Sprintf("lines=%s/import", count(n)), func(b *testing.B) {
			var peak int64
			for b.Loop() {
				b.StopTimer()
				dir := b.TempDir()
				ix, err := index.Open(dir, &index.Options{Appliance: "bench"})
				if err != nil {
					b.Fatal(err)
				}
				for _, id := range []string{"MATCH-2026-12-05", "MATCH-2026-12-19"} {
					if _, err := ix.PutEvent(context.Background(), gate.Event{ID: id}); err != nil {
						b.Fatal(err)
					}
				}
				svc := &importfile.Service{Loader: ix}
				f, err := os.Open(path)
				if err != nil {
					b.Fatal(err)
				}
				resetPeakRSS()
				b.StartTimer()
				res, err := svc.Import(context.Background(), req, bufio.NewReaderSize(f, 1<<20))
				b.StopTimer()
				peak = max(peak, peakRSS())
				f.Close()
				if err != nil || res.Added != n {
					b.Fatalf("import: %d added, %v", res.Added, err)
				}
				if err := ix.Close(); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			report(b, n)
			b.ReportMetric(float64(peak)/(1<<20), "peak-RSS-MiB")
		})
	}
}

func report(b *testing.B, n int) {
	perOp := b.Elapsed() / time.Duration(b.N)
	b.ReportMetric(perOp.Seconds(), "s/file")
	b.ReportMetric(float64(perOp.Nanoseconds())/float64(n), "ns/line")
	b.ReportMetric(float64(n)/perOp.Seconds(), "lines/s")
}

func count(n int) string { return testkit.CountLabel(n) }
