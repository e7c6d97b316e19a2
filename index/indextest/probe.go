package indextest

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// NewHistogram returns a histogram of latencies in nanoseconds, from 100ns
// to 10s, at 3 significant digits.
func NewHistogram() *hdrhistogram.Histogram { return hdrhistogram.New(100, 10_000_000_000, 3) }

// FsyncProbe measures the disk under dir as a durable commit sees it: n
// overwrites of the same 4 KiB block of a file followed by fdatasync. It
// returns the latencies in nanoseconds. The file is removed afterwards.
func FsyncProbe(dir string, n int) (*hdrhistogram.Histogram, error) {
	f, err := os.CreateTemp(dir, "fsync-probe-*")
	if err != nil {
		return nil, fmt.Errorf("indextest: fsync probe: %w", err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	buf := make([]byte, 4096)
	if _, err := f.WriteAt(buf, 0); err != nil {
		return nil, fmt.Errorf("indextest: fsync probe: %w", err)
	}
	if err := f.Sync(); err != nil {
		return nil, fmt.Errorf("indextest: fsync probe: %w", err)
	}
	h := NewHistogram()
	for i := range n {
		buf[0] = byte(i)
		start := time.Now()
		if _, err := f.WriteAt(buf, 0); err != nil {
			return nil, fmt.Errorf("indextest: fsync probe: %w", err)
		}
		if err := syscall.Fdatasync(int(f.Fd())); err != nil {
			return nil, fmt.Errorf("indextest: fsync probe: %w", err)
		}
		_ = h.RecordValue(time.Since(start).Nanoseconds())
	}
	return h, nil
}

// Metrics reports a latency histogram's p50, p99 and p99.9 in microseconds
// on anything with ReportMetric (a *testing.B), with names prefixed by
// prefix ("" for none).
func Metrics(b interface{ ReportMetric(float64, string) }, h *hdrhistogram.Histogram, prefix string) {
	if h.TotalCount() == 0 {
		return
	}
	b.ReportMetric(float64(h.ValueAtQuantile(50))/1e3, prefix+"p50-µs")
	b.ReportMetric(float64(h.ValueAtQuantile(99))/1e3, prefix+"p99-µs")
	b.ReportMetric(float64(h.ValueAtQuantile(99.9))/1e3, prefix+"p99.9-µs")
}

// CopyDir copies the regular files of src (recursively) into dst.
func CopyDir(dst, src string) error {
	return filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if fi.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !fi.Mode().IsRegular() {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
}
