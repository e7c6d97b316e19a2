//go:build race

package venue_test

// changesRace: the race detector slows imports tenfold; the changes tests
// import less under it.
const changesRace = true
