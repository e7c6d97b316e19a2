package index

import (
	"math/bits"
	"slices"
	"sync"
)

// stripe is one redeem-once lock, and the redemptions of a few ticket keys
// it guards (see cache.go). A scan holds its ticket's stripe from reading
// the ticket's redemptions to the end of its commit; so does every other
// writer of redemptions or of a record a decision reads (annulments, ticket
// changes, imports and withdrawals that change a stored ticket).
type stripe struct {
	sync.Mutex
	reds     *stripeReds  // under the mutex; nil until used
	redeemed *redeemedSet // the index's, shared by every stripe (nil in tests of the cache alone)
	_        [40]byte     // keep neighbours off the same cache line
}

// stripe returns the stripe of a ticket key.
func (ix *Index) stripe(key uint64) *stripe {
	return &ix.stripes[ix.stripeIndex(key)]
}

// stripeIndex spreads ticket keys over the lock stripes by Fibonacci
// hashing: the top bits of the key times 2^64/φ. Tickets scanned together
// were usually imported together, so their keys form an arithmetic
// progression, and Fibonacci hashing puts any such run on distinct stripes
// (TestStripesSpreadProgressions): many lanes admitting at once then never
// wait for each other's commit. The low bits of the product do not have
// that property, nor do its middle bits for every stride.
func (ix *Index) stripeIndex(key uint64) int {
	return stripeOf(key, len(ix.stripes))
}

// stripeOf is stripeIndex for n stripes, a power of two.
func stripeOf(key uint64, n int) int {
	h := key * 0x9E3779B97F4A7C15
	return int(h >> (64 - bits.TrailingZeros(uint(n))))
}

// stripeSet is a set of stripes a writer of many tickets takes together.
type stripeSet map[int]bool

// add adds the stripe of a ticket key.
func (s stripeSet) add(ix *Index, key uint64) { s[ix.stripeIndex(key)] = true }

// sorted returns the stripes in the order every writer takes them, so two
// writers of many tickets never deadlock.
func (s stripeSet) sorted() []int {
	out := make([]int, 0, len(s))
	for i := range s {
		out = append(out, i)
	}
	slices.Sort(out)
	return out
}

// lockStripes takes the stripes of order (from stripeSet.sorted).
func (ix *Index) lockStripes(order []int) {
	for _, s := range order {
		ix.stripes[s].Lock()
	}
}

// unlockStripes releases what lockStripes took.
func (ix *Index) unlockStripes(order []int) {
	for _, s := range order {
		ix.stripes[s].Unlock()
	}
}
