//go:build race

package e2e_test

// raceEnabled builds the daemon with -race too, so it reuses the packages
// the test binary was built from and its races fail the test.
const raceEnabled = true
