//go:build !race

package venue_test

const changesRace = false
