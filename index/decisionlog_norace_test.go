//go:build !race

package index

// underRace says the race detector is on: sync.Pool then drops pooled
// values at random, so allocation counts mean nothing.
const underRace = false
