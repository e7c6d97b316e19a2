package index

import (
	"bufio"
	"container/heap"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unsafe"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// sorter orders import lines by barcode (then line number) in bounded
// memory: lines collect in a buffer; when it passes the spill threshold it
// is sorted and written to a run file; iterate merges the runs and the last
// buffer (a k-way merge). Sorting compares a precomputed 8-byte prefix of
// the barcode first, which settles most comparisons without touching the
// strings.
type sorter struct {
	fs    vfs.FS
	dir   string
	limit int
	pace  *pacer // nil: yields only
	items []sortItem
	bytes int
	runs  []string
	// spilling, when not nil, delivers the result of the run being sorted
	// and written in the background while the next one fills.
	spilling chan spillResult
	spare    []sortItem
	tmp      []sortItem // merge buffer of sortItems
}

type spillResult struct {
	err   error
	items []sortItem // the buffer, emptied, for reuse
	tmp   []sortItem // the sort's merge buffer, for reuse
}

type sortItem struct {
	prefix  uint64
	barcode string
	line    int
	payload []byte
}

func barcodePrefix(s string) uint64 {
	var b [8]byte
	copy(b[:], s)
	return binary.BigEndian.Uint64(b[:])
}

func compareItems(a, b *sortItem) int {
	if a.prefix != b.prefix {
		if a.prefix < b.prefix {
			return -1
		}
		return 1
	}
	if c := strings.Compare(a.barcode, b.barcode); c != 0 {
		return c
	}
	return a.line - b.line
}

func (s *sorter) add(barcode string, line int, payload []byte) error {
	s.items = append(s.items, sortItem{barcodePrefix(barcode), barcode, line, payload})
	s.bytes += len(barcode) + len(payload) + 80
	if s.bytes >= s.limit {
		return s.spill()
	}
	return nil
}

// sortItems sorts items, yielding to clk as it goes: blocks of sortBlock
// items are sorted in place, then merged pairwise through tmp (which it
// grows as needed and returns for reuse), so no stretch of the sort holds a
// core for more than a fraction of a millisecond.
func sortItems(items, tmp []sortItem, clk *paceClock) []sortItem {
	cmp := func(a, b sortItem) int { return compareItems(&a, &b) }
	for i := 0; i < len(items); i += sortBlock {
		slices.SortFunc(items[i:min(i+sortBlock, len(items))], cmp)
		clk.work(256) // about a millisecond: yield after each block
	}
	if len(items) <= sortBlock {
		return tmp
	}
	if cap(tmp) < len(items) {
		tmp = make([]sortItem, len(items))
	}
	src, dst := items, tmp[:len(items)]
	for width := sortBlock; width < len(items); width *= 2 {
		for lo := 0; lo < len(items); lo += 2 * width {
			mid, hi := min(lo+width, len(items)), min(lo+2*width, len(items))
			i, j, k := lo, mid, lo
			for ; i < mid && j < hi; k++ {
				if compareItems(&src[j], &src[i]) < 0 {
					dst[k] = src[j]
					j++
				} else {
					dst[k] = src[i]
					i++
				}
				if k&15 == 0 {
					clk.tick() // a merge step is a few nanoseconds
				}
			}
			k += copy(dst[k:], src[i:mid])
			copy(dst[k:], src[j:hi])
		}
		src, dst = dst, src
	}
	if &src[0] != &items[0] {
		copy(items, src)
	}
	clear(tmp[:cap(tmp)]) // drop the references to payloads
	return tmp[:0]
}

// sortBlock is how many items are sorted at a time before merging.
const sortBlock = 8192

// spill hands the buffer to a goroutine that sorts it and writes it as a
// run, after the previous run is done; reading goes on into a fresh buffer.
func (s *sorter) spill() error {
	if err := s.waitSpill(); err != nil {
		return err
	}
	name := s.fs.PathJoin(s.dir, fmt.Sprintf("run-%06d", len(s.runs)))
	s.runs = append(s.runs, name)
	items := s.items
	s.items = s.spare[:0]
	s.spare = nil
	s.bytes = 0
	ch := make(chan spillResult, 1)
	s.spilling = ch
	tmp := s.tmp
	s.tmp = nil
	go func() {
		clk := s.pace.clock()
		tmp = sortItems(items, tmp, clk)
		err := s.writeRun(name, items, clk)
		clear(items)
		ch <- spillResult{err, items[:0], tmp}
	}()
	return nil
}

// waitSpill waits for the run being written, if any.
func (s *sorter) waitSpill() error {
	if s.spilling == nil {
		return nil
	}
	r := <-s.spilling
	s.spilling = nil
	s.spare = r.items
	s.tmp = r.tmp
	return r.err
}

func (s *sorter) writeRun(name string, items []sortItem, clk *paceClock) error {
	// A run only has to outlive this import, which deletes it: it is never
	// synced, nor pushed to the disk early, so it can stay in the page cache
	// and leave the disk to the WAL syncs of scans (a run pushed to the disk
	// whole at close, as a syncing file does, stalls them while it is
	// written).
	f, err := s.fs.Create(name, vfs.WriteCategoryUnspecified)
	if err != nil {
		return fmt.Errorf("index: import: spill: %w", err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	var scratch []byte
	for i := range items {
		clk.tick()
		it := &items[i]
		scratch = binary.AppendUvarint(scratch[:0], uint64(len(it.barcode)))
		scratch = append(scratch, it.barcode...)
		scratch = binary.AppendUvarint(scratch, uint64(it.line))
		scratch = binary.AppendUvarint(scratch, uint64(len(it.payload)))
		scratch = append(scratch, it.payload...)
		if _, err := w.Write(scratch); err != nil {
			_ = f.Close()
			return fmt.Errorf("index: import: spill: %w", err)
		}
	}
	if err := w.Flush(); err != nil {
		_ = f.Close()
		return fmt.Errorf("index: import: spill: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("index: import: spill: %w", err)
	}
	return nil
}

// cleanup removes the run files.
func (s *sorter) cleanup() {
	_ = s.waitSpill()
	for _, r := range s.runs {
		_ = s.fs.Remove(r)
	}
	s.runs = nil
}

// source yields sorted items.
type source interface {
	next() (sortItem, bool, error)
}

type memSource struct {
	items []sortItem
	i     int
}

func (m *memSource) next() (sortItem, bool, error) {
	if m.i >= len(m.items) {
		return sortItem{}, false, nil
	}
	m.i++
	return m.items[m.i-1], true, nil
}

type runSource struct {
	f     vfs.File
	r     *bufio.Reader
	arena []byte // barcodes and payloads are carved from it
}

// carve returns the next n bytes of the arena (a new arena when it is full).
func (r *runSource) carve(n int) []byte {
	if len(r.arena)+n > cap(r.arena) {
		r.arena = make([]byte, 0, max(1<<20, n))
	}
	b := r.arena[len(r.arena) : len(r.arena)+n : len(r.arena)+n]
	r.arena = r.arena[:len(r.arena)+n]
	return b
}

func (r *runSource) next() (sortItem, bool, error) {
	n, err := binary.ReadUvarint(r.r)
	if errors.Is(err, io.EOF) {
		return sortItem{}, false, nil
	}
	if err != nil {
		return sortItem{}, false, err
	}
	if n > 1<<20 {
		return sortItem{}, false, errCorrupt
	}
	bc := r.carve(int(n))
	if _, err := io.ReadFull(r.r, bc); err != nil {
		return sortItem{}, false, err
	}
	line, err := binary.ReadUvarint(r.r)
	if err != nil {
		return sortItem{}, false, err
	}
	pn, err := binary.ReadUvarint(r.r)
	if err != nil || pn > 1<<20 {
		return sortItem{}, false, errors.Join(err, errCorrupt)
	}
	payload := r.carve(int(pn))
	if _, err := io.ReadFull(r.r, payload); err != nil {
		return sortItem{}, false, err
	}
	// The arena's bytes are never written again once carved.
	barcode := unsafe.String(unsafe.SliceData(bc), len(bc))
	return sortItem{barcodePrefix(barcode), barcode, int(line), payload}, true, nil
}

type mergeHeap []struct {
	item sortItem
	src  source
}

func (h mergeHeap) Len() int           { return len(h) }
func (h mergeHeap) Less(i, j int) bool { return compareItems(&h[i].item, &h[j].item) < 0 }
func (h mergeHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *mergeHeap) Push(x any) {
	*h = append(*h, x.(struct {
		item sortItem
		src  source
	}))
}
func (h *mergeHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// merger yields the items of every run and the buffer in order.
type merger struct {
	h     mergeHeap
	files []vfs.File
}

func (s *sorter) iterate() (*merger, error) {
	if err := s.waitSpill(); err != nil {
		return nil, err
	}
	s.tmp = sortItems(s.items, s.tmp, s.pace.clock())
	s.tmp = nil // not needed any more
	m := &merger{}
	srcs := []source{&memSource{items: s.items}}
	for _, name := range s.runs {
		f, err := s.fs.Open(name)
		if err != nil {
			m.close()
			return nil, fmt.Errorf("index: import: read run: %w", err)
		}
		m.files = append(m.files, f)
		srcs = append(srcs, &runSource{f: f, r: bufio.NewReaderSize(f, 256<<10)})
	}
	for _, src := range srcs {
		it, ok, err := src.next()
		if err != nil {
			m.close()
			return nil, fmt.Errorf("index: import: read run: %w", err)
		}
		if ok {
			m.h = append(m.h, struct {
				item sortItem
				src  source
			}{it, src})
		}
	}
	heap.Init(&m.h)
	return m, nil
}

func (m *merger) next() (sortItem, bool, error) {
	if len(m.h) == 0 {
		return sortItem{}, false, nil
	}
	top := m.h[0].item
	it, ok, err := m.h[0].src.next()
	if err != nil {
		return sortItem{}, false, fmt.Errorf("index: import: read run: %w", err)
	}
	if ok {
		m.h[0].item = it
		heap.Fix(&m.h, 0)
	} else {
		heap.Pop(&m.h)
	}
	return top, true, nil
}

func (m *merger) close() {
	for _, f := range m.files {
		_ = f.Close()
	}
	m.files = nil
}
