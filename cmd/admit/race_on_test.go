//go:build race

package main

// raceEnabled builds the child binary with -race too, so it reuses the
// packages the test binary was built from.
const raceEnabled = true
