package index

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"time"
	"unsafe"

	"github.com/bits-and-blooms/bloom/v3"
	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// The bloom filter answers "never seen" for unknown barcodes without touching
// Pebble. It holds every stored barcode (a false positive costs one Get; a
// false negative would refuse a paying guest, so keys are added before the
// records that hold them are written). It is immutable once published: a
// change copies it, adds, and swaps the pointer, so scans read it without a
// lock.
//
// Saved as bloom.snapshot in the data directory: a header (magic, the
// bloom generation it reflects, its capacity), the filter, and a CRC-32C of
// all of it. Open loads it when the checksum holds and its generation equals
// the one stored in Pebble (which every change that adds barcodes bumps in
// the same batch); otherwise it rebuilds the filter from the ticket records.

const (
	bloomFile  = "bloom.snapshot"
	bloomMagic = "ADMBLM01"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

type filter struct {
	f        *bloom.BloomFilter
	capacity uint64
}

// test reports whether barcode may be stored. It does not allocate: the
// filter only reads the bytes.
func (f *filter) test(barcode string) bool {
	return f.f.Test(unsafe.Slice(unsafe.StringData(barcode), len(barcode)))
}

// capacityFor returns the capacity to size a filter for n barcodes: at least
// the configured minimum, doubling until n fits with room to grow.
func (ix *Index) capacityFor(n uint64) uint64 {
	c := ix.opts.BloomMinCapacity
	for c < n+n/4 {
		c *= 2
	}
	return c
}

func (ix *Index) newFilter(capacity uint64) *filter {
	return &filter{f: bloom.NewWithEstimates(uint(capacity), ix.opts.BloomFalsePositiveRate), capacity: capacity}
}

// openFilter loads the snapshot or rebuilds the filter.
func (ix *Index) openFilter() error {
	start := time.Now()
	f, err := ix.loadFilter()
	if err == nil {
		ix.filter.Store(f)
		ix.log.Debug().Dur("took", time.Since(start)).Uint64("capacity", f.capacity).Msg("bloom filter loaded")
		return nil
	}
	ix.log.Info().Err(err).Msg("rebuilding bloom filter")
	f, err = ix.rebuildFilter(ix.capacityFor(uint64(ix.tickets.Load())), nil, nil)
	if err != nil {
		return fmt.Errorf("index: rebuild bloom filter: %w", err)
	}
	ix.filter.Store(f)
	ix.log.Info().Dur("took", time.Since(start)).Uint64("capacity", f.capacity).Msg("bloom filter rebuilt")
	return nil
}

var errStaleFilter = errors.New("index: bloom snapshot is stale")

func (ix *Index) filterPath() string { return ix.fs.PathJoin(ix.dir, bloomFile) }

// loadFilter reads and verifies the snapshot.
func (ix *Index) loadFilter() (*filter, error) {
	file, err := ix.fs.Open(ix.filterPath())
	if err != nil {
		return nil, err
	}
	defer file.Close()
	data, err := io.ReadAll(file)
	if err != nil {
		return nil, err
	}
	const header = len(bloomMagic) + 16
	if len(data) < header+4 || string(data[:len(bloomMagic)]) != bloomMagic {
		return nil, errors.New("index: bloom snapshot: bad header")
	}
	body, sum := data[:len(data)-4], binary.BigEndian.Uint32(data[len(data)-4:])
	if crc32.Checksum(body, castagnoli) != sum {
		return nil, errors.New("index: bloom snapshot: checksum mismatch")
	}
	gen := binary.BigEndian.Uint64(body[len(bloomMagic):])
	capacity := binary.BigEndian.Uint64(body[len(bloomMagic)+8:])
	if gen != ix.bloomGen {
		return nil, fmt.Errorf("%w: generation %d, store at %d", errStaleFilter, gen, ix.bloomGen)
	}
	if capacity < uint64(ix.tickets.Load()) {
		return nil, fmt.Errorf("%w: capacity %d below %d tickets", errStaleFilter, capacity, ix.tickets.Load())
	}
	f := &filter{f: &bloom.BloomFilter{}, capacity: capacity}
	if _, err := f.f.ReadFrom(bytes.NewReader(body[header:])); err != nil {
		return nil, fmt.Errorf("index: bloom snapshot: %w", err)
	}
	return f, nil
}

// saveFilter writes the snapshot atomically (temporary file, sync, rename,
// directory sync).
func (ix *Index) saveFilter() error {
	f := ix.filter.Load()
	if f == nil {
		return nil
	}
	var buf bytes.Buffer
	buf.WriteString(bloomMagic)
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], ix.bloomGen)
	buf.Write(n[:])
	binary.BigEndian.PutUint64(n[:], f.capacity)
	buf.Write(n[:])
	if _, err := f.f.WriteTo(&buf); err != nil {
		return err
	}
	var sum [4]byte
	binary.BigEndian.PutUint32(sum[:], crc32.Checksum(buf.Bytes(), castagnoli))
	buf.Write(sum[:])
	return writeFileAtomic(ix.fs, ix.dir, bloomFile, buf.Bytes())
}

func writeFileAtomic(fs vfs.FS, dir, name string, data []byte) error {
	tmp := fs.PathJoin(dir, name+".tmp")
	file, err := fs.Create(tmp, vfs.WriteCategoryUnspecified)
	if err != nil {
		return err
	}
	if _, err := file.Write(data); err != nil {
		_ = file.Close()
		return err
	}
	if err := file.Sync(); err != nil {
		_ = file.Close()
		return err
	}
	if err := file.Close(); err != nil {
		return err
	}
	if err := fs.Rename(tmp, fs.PathJoin(dir, name)); err != nil {
		return err
	}
	d, err := fs.OpenDir(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// rebuildFilter builds a filter of the given capacity from every ticket key
// in the database, plus extra, paced by p (nil at Open).
func (ix *Index) rebuildFilter(capacity uint64, extra func(*filter), p *pacer) (*filter, error) {
	clk := p.clock()
	f := ix.newFilter(capacity)
	it, err := ix.db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixTicket}, UpperBound: []byte{prefixTicket + 1}})
	if err != nil {
		return nil, err
	}
	for it.First(); it.Valid(); it.Next() {
		f.f.Add(it.Key()[1:])
		clk.tick()
	}
	if err := it.Close(); err != nil {
		return nil, err
	}
	if extra != nil {
		extra(f)
	}
	return f, nil
}

// addToFilter publishes a copy of the filter with the barcodes added. The
// caller holds adminMu.
func (ix *Index) addToFilter(barcodes ...string) {
	old := ix.filter.Load()
	f := &filter{f: old.f.Copy(), capacity: old.capacity}
	for _, b := range barcodes {
		f.f.AddString(b)
	}
	ix.filter.Store(f)
}
