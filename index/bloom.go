package index

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"time"
	"unsafe"

	"github.com/bits-and-blooms/bloom/v3"
	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/rs/zerolog"
)

// The bloom filter answers "never seen" for unknown barcodes without touching
// Pebble. It holds every stored barcode (a false positive costs one Get; a
// false negative would refuse a paying guest, so keys are added before the
// records that hold them are written). It is immutable once published: a
// change copies it, adds, and swaps the pointer, so scans read it without a
// lock.
//
// Saved as bloom.snapshot in the data directory: a header (magic, the id
// of the store it belongs to, the bloom generation it reflects, its
// capacity), the filter, and a CRC-32C of all of it. Open loads it when the
// checksum holds, the store id is its store's and the generation is the
// one stored in Pebble; otherwise it rebuilds the filter from the ticket
// records. The store id (random, written once when the store is created)
// keeps a snapshot copied from another store from being taken for this
// one's; the generation, a fresh random number with every change that adds
// barcodes (in the same batch), keeps an old snapshot of this store, or one
// of a copy of it that took other imports since, from being taken for its
// present. A small counter as generation let two stores, each a few
// imports old, share one, and a copied snapshot then refused every valid
// ticket of the other as unknown.

const (
	bloomFile    = "bloom.snapshot"
	bloomMagic   = "ADMBLM02"
	bloomMagicV1 = "ADMBLM01" // no store id: never loaded, the filter is rebuilt
	storeIDLen   = 16
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
		ix.log.Debug().Dur("took_ms", time.Since(start)).Uint64("capacity", f.capacity).Msg("bloom filter loaded")
		return nil
	}
	// A new store has no snapshot, and one that was not closed (a crash, a
	// kill) has an old one: both are expected, neither is an error.
	lvl := zerolog.InfoLevel
	switch {
	case errors.Is(err, os.ErrNotExist) && ix.tickets.Load() == 0:
		lvl = zerolog.DebugLevel
		ix.log.Debug().Msg("no bloom snapshot: a new store")
	case errors.Is(err, os.ErrNotExist):
		ix.log.Info().Msg("no bloom snapshot: rebuilding the bloom filter from the tickets")
	default:
		ix.log.Info().Str("why", err.Error()).Msg("rebuilding the bloom filter from the tickets")
	}
	f, err = ix.rebuildFilter(ix.capacityFor(uint64(ix.tickets.Load())), nil, nil)
	if err != nil {
		return fmt.Errorf("index: rebuild bloom filter: %w", err)
	}
	ix.filter.Store(f)
	ix.log.WithLevel(lvl).Dur("took_ms", time.Since(start)).Uint64("capacity", f.capacity).Msg("bloom filter rebuilt")
	return nil
}

var errStaleFilter = errors.New("index: bloom snapshot is stale")

func (ix *Index) filterPath() string { return ix.fs.PathJoin(ix.dir, bloomFile) }

// snapshotHeader is what a bloom snapshot says it reflects.
type snapshotHeader struct {
	Store    [storeIDLen]byte
	Gen      uint64
	Capacity uint64
}

// encodeSnapshot is the bytes of a bloom snapshot.
func encodeSnapshot(h snapshotHeader, f *bloom.BloomFilter) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString(bloomMagic)
	buf.Write(h.Store[:])
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], h.Gen)
	buf.Write(n[:])
	binary.BigEndian.PutUint64(n[:], h.Capacity)
	buf.Write(n[:])
	if _, err := f.WriteTo(&buf); err != nil {
		return nil, err
	}
	var sum [4]byte
	binary.BigEndian.PutUint32(sum[:], crc32.Checksum(buf.Bytes(), castagnoli))
	buf.Write(sum[:])
	return buf.Bytes(), nil
}

// decodeSnapshot reads the bytes of a bloom snapshot, checking its magic
// and checksum.
func decodeSnapshot(data []byte) (snapshotHeader, *bloom.BloomFilter, error) {
	var h snapshotHeader
	const header = len(bloomMagic) + storeIDLen + 16
	if len(data) >= len(bloomMagicV1) && string(data[:len(bloomMagicV1)]) == bloomMagicV1 {
		return h, nil, fmt.Errorf("%w: a snapshot of the first format, which does not name its store", errStaleFilter)
	}
	if len(data) < header+4 || string(data[:len(bloomMagic)]) != bloomMagic {
		return h, nil, errors.New("index: bloom snapshot: bad header")
	}
	body, sum := data[:len(data)-4], binary.BigEndian.Uint32(data[len(data)-4:])
	if crc32.Checksum(body, castagnoli) != sum {
		return h, nil, errors.New("index: bloom snapshot: checksum mismatch")
	}
	rest := body[len(bloomMagic):]
	copy(h.Store[:], rest)
	rest = rest[storeIDLen:]
	h.Gen = binary.BigEndian.Uint64(rest)
	h.Capacity = binary.BigEndian.Uint64(rest[8:])
	f := &bloom.BloomFilter{}
	if _, err := f.ReadFrom(bytes.NewReader(body[header:])); err != nil {
		return h, nil, fmt.Errorf("index: bloom snapshot: %w", err)
	}
	return h, f, nil
}

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
	h, bf, err := decodeSnapshot(data)
	if err != nil {
		return nil, err
	}
	if h.Store != ix.storeID {
		return nil, fmt.Errorf("%w: the snapshot of store %x, this is store %x", errStaleFilter, h.Store, ix.storeID)
	}
	if h.Gen != ix.bloomGen {
		return nil, fmt.Errorf("%w: generation %x, store at %x", errStaleFilter, h.Gen, ix.bloomGen)
	}
	if h.Capacity < uint64(ix.tickets.Load()) {
		return nil, fmt.Errorf("%w: capacity %d below %d tickets", errStaleFilter, h.Capacity, ix.tickets.Load())
	}
	return &filter{f: bf, capacity: h.Capacity}, nil
}

// saveFilter writes the snapshot atomically (temporary file, sync, rename,
// directory sync).
func (ix *Index) saveFilter() error {
	f := ix.filter.Load()
	if f == nil {
		return nil
	}
	data, err := encodeSnapshot(snapshotHeader{Store: ix.storeID, Gen: ix.bloomGen, Capacity: f.capacity}, f.f)
	if err != nil {
		return err
	}
	return writeFileAtomic(ix.fs, ix.dir, bloomFile, data)
}

// nextBloomGen is the generation after gen: random, neither gen nor zero
// (the generation of a store without tickets).
func nextBloomGen(gen uint64) uint64 {
	for {
		var b [8]byte
		if _, err := rand.Read(b[:]); err != nil {
			return gen + 1 // crypto/rand does not fail on the systems Go supports
		}
		if n := binary.BigEndian.Uint64(b[:]); n != gen && n != 0 {
			return n
		}
	}
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

// openStoreID reads the store's id, or makes it: a store is created with
// one, and a store made before ids were gets one at its first Open (its
// snapshot, which names no store, is then rebuilt once).
func (ix *Index) openStoreID() error {
	v, closer, err := ix.db.Get(metaStoreID)
	if err == nil {
		ix.storeID, err = decodeStoreID(v)
		closer.Close()
		if err != nil {
			return fmt.Errorf("index: meta %s: %w", metaStoreID, err)
		}
		return nil
	}
	if !errors.Is(err, pebble.ErrNotFound) {
		return err
	}
	if _, err := rand.Read(ix.storeID[:]); err != nil {
		return fmt.Errorf("index: make a store id: %w", err)
	}
	b := ix.db.NewBatch()
	_ = b.Set(metaStoreID, ix.storeID[:], nil)
	return ix.apply(b)
}

// decodeStoreID reads the stored store id.
func decodeStoreID(v []byte) ([storeIDLen]byte, error) {
	var id [storeIDLen]byte
	if len(v) != storeIDLen {
		return id, errCorrupt
	}
	copy(id[:], v)
	return id, nil
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
