package index

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// TestSorterSpills: items come back in (barcode, line) order, all of them,
// whether they stayed in memory or went through spilled runs.
func TestSorterSpills(t *testing.T) {
	for _, limit := range []int{1 << 30, 4096, 200} {
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			fs := vfs.NewMem()
			s := &sorter{fs: fs, dir: "", limit: limit}
			defer s.cleanup()
			const n = 3000
			rng := rand.New(rand.NewPCG(1, 2))
			for i := range n {
				bc := fmt.Sprintf("%0*d", 1+rng.IntN(12), rng.IntN(500)) // many duplicates, many lengths
				if err := s.add(bc, i+1, []byte(fmt.Sprintf("payload-%d", i))); err != nil {
					t.Fatal(err)
				}
			}
			if limit < 1<<30 && len(s.runs) == 0 {
				t.Fatal("nothing spilled")
			}
			m, err := s.iterate()
			if err != nil {
				t.Fatal(err)
			}
			defer m.close()
			var prev sortItem
			count := 0
			for {
				it, ok, err := m.next()
				if err != nil {
					t.Fatal(err)
				}
				if !ok {
					break
				}
				if count > 0 && compareItems(&prev, &it) >= 0 {
					t.Fatalf("out of order: %q/%d before %q/%d", prev.barcode, prev.line, it.barcode, it.line)
				}
				if want := fmt.Sprintf("payload-%d", it.line-1); string(it.payload) != want {
					t.Fatalf("line %d carries %q", it.line, it.payload)
				}
				prev = it
				count++
			}
			if count != n {
				t.Fatalf("%d items back of %d", count, n)
			}
		})
	}
}

// sortItems (blocks sorted, then merged) orders like a plain sort, at and
// around the block size, and reuses its merge buffer.
func TestSortItemsMatchesSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var tmp []sortItem
	for _, n := range []int{0, 1, 2, sortBlock - 1, sortBlock, sortBlock + 1, 2 * sortBlock, 3*sortBlock + 7, 5 * sortBlock, 20011} {
		items := make([]sortItem, n)
		for i := range items {
			bc := fmt.Sprintf("%0*d", 1+rng.IntN(10), rng.IntN(n/3+1))
			items[i] = sortItem{barcodePrefix(bc), bc, i + 1, nil}
		}
		want := slices.Clone(items)
		slices.SortFunc(want, func(a, b sortItem) int { return compareItems(&a, &b) })
		tmp = sortItems(items, tmp, (*pacer)(nil).clock())
		if !slices.EqualFunc(items, want, func(a, b sortItem) bool { return a.barcode == b.barcode && a.line == b.line }) {
			t.Fatalf("n=%d: sortItems differs from a plain sort", n)
		}
		for _, x := range tmp[:cap(tmp)] {
			if x.barcode != "" {
				t.Fatalf("n=%d: the merge buffer keeps references", n)
			}
		}
	}
}
