package index

import "testing"

// Tickets scanned together are usually imported together, their keys an
// arithmetic progression: 64 of them in a row must take 64 stripes, or
// distinct first uses wait for each other's commit.
func TestStripesSpreadProgressions(t *testing.T) {
	for _, n := range []int{4096, 1024} { // the default, and a quarter of it
		for _, stride := range []uint64{1, 2, 3, 27, 64, 100, 1000, 4096} {
			worst := 0
			for base := uint64(1); base < 10_000_000; base += 99_991 {
				seen := map[int]bool{}
				for j := range uint64(64) {
					s := stripeOf(base+j*stride, n)
					if s < 0 || s >= n {
						t.Fatalf("key %d: stripe %d of %d", base+j*stride, s, n)
					}
					seen[s] = true
				}
				worst = max(worst, 64-len(seen))
			}
			if worst > 0 {
				t.Errorf("%d stripes, keys %d apart: %d of 64 share a stripe", n, stride, worst)
			}
		}
	}
	if s := stripeOf(12345, 1); s != 0 {
		t.Errorf("one stripe: index %d", s)
	}
}
