package indextest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/cockroachdb/pebble/v2"
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
		// Synced, so that the kernel's writeback of the copy does not run
		// into the fsyncs a benchmark then measures.
		f, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
		if err != nil {
			return err
		}
		if _, err := f.Write(data); err != nil {
			_ = f.Close()
			return err
		}
		if err := f.Sync(); err != nil {
			_ = f.Close()
			return err
		}
		return f.Close()
	})
}

// PebbleProbe measures what Pebble itself does on the disk under dir: a
// fresh database in a temporary folder inside dir (removed afterwards), with
// the index's memtable size and, like the index's Open, a recycled WAL; then
// g goroutines commit n batches in all, each two keys (60 and 120 bytes of
// value, about an admission's redemption and journal entry) with
// pebble.Sync, and nothing else. It returns the commit latencies, the
// commits per second (the ceiling group commit sets for the index's durable
// admissions at that moment) and the CPU time the commits took.
func PebbleProbe(dir string, g, n int) (ProbeResult, error) {
	var res ProbeResult
	tmp, err := os.MkdirTemp(dir, "pebble-probe-*")
	if err != nil {
		return res, fmt.Errorf("indextest: pebble probe: %w", err)
	}
	defer os.RemoveAll(tmp)
	const memtable = 16 << 20 // index.Options' default
	db, err := pebble.Open(tmp, &pebble.Options{Logger: quietLogger{}, MemTableSize: memtable})
	if err != nil {
		return res, fmt.Errorf("indextest: pebble probe: %w", err)
	}
	defer db.Close()
	if err := warmWAL(db, memtable); err != nil {
		return res, fmt.Errorf("indextest: pebble probe: %w", err)
	}
	hs := make([]*hdrhistogram.Histogram, g)
	errs := make([]error, g)
	var next atomic.Int64
	var wg sync.WaitGroup
	start, cpu := time.Now(), CPUTime()
	for w := range g {
		hs[w] = NewHistogram()
		wg.Add(1)
		go func() {
			defer wg.Done()
			var k [17]byte
			v := make([]byte, 120)
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				binary.BigEndian.PutUint64(k[1:9], uint64(w))
				binary.BigEndian.PutUint64(k[9:], uint64(i))
				t := time.Now()
				b := db.NewBatch()
				k[0] = 'r'
				_ = b.Set(k[:], v[:60], nil)
				k[0] = 'j'
				_ = b.Set(k[:], v, nil)
				err := b.Commit(pebble.Sync)
				_ = b.Close()
				if err != nil {
					errs[w] = err
					return
				}
				_ = hs[w].RecordValue(time.Since(t).Nanoseconds())
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	res.CPU = CPUTime() - cpu
	if err := errors.Join(errs...); err != nil {
		return res, fmt.Errorf("indextest: pebble probe: %w", err)
	}
	res.Latency = NewHistogram()
	for _, x := range hs {
		res.Latency.Merge(x)
	}
	res.PerSecond = float64(n) / took.Seconds()
	return res, nil
}

// ProbeResult is what PebbleProbe measured.
type ProbeResult struct {
	Latency   *hdrhistogram.Histogram // per commit, nanoseconds
	PerSecond float64                 // commits per second
	CPU       time.Duration           // the process's CPU time during the commits
}

// CPUTime returns the CPU time (user and system) the process used so far:
// the difference over a run, per operation, says what an operation costs
// in CPU whatever else loads the machine.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// quietLogger drops Pebble's informational lines (it prints "Found 0 WALs"
// on stdout by default, into the benchmark's output).
type quietLogger struct{}

func (quietLogger) Infof(string, ...any)  {}
func (quietLogger) Errorf(string, ...any) {}
func (quietLogger) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf("indextest: pebble probe: "+format, args...))
}

// warmWAL leaves db writing into a recycled WAL of full size, as index.Open
// does: six memtables of filler, flushed, then one more flush.
func warmWAL(db *pebble.DB, memtable int) error {
	filler := make([]byte, 64<<10)
	key := []byte("warm")
	for written := 0; written < 6*memtable; written += len(filler) {
		if err := db.Set(key, filler, pebble.NoSync); err != nil {
			return err
		}
	}
	if err := db.Delete(key, pebble.NoSync); err != nil {
		return err
	}
	if err := db.Flush(); err != nil {
		return err
	}
	if err := db.Delete(key, pebble.Sync); err != nil {
		return err
	}
	return db.Flush()
}
