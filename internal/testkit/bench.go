package testkit

import (
	"os"
	"strconv"
)

// BenchTickets is the size of a benchmark's ticket fixture: def, or
// $ADMIT_BENCH_TICKETS when it is a positive number.
func BenchTickets(def int) int {
	if n, err := strconv.Atoi(os.Getenv("ADMIT_BENCH_TICKETS")); err == nil && n > 0 {
		return n
	}
	return def
}

// CountLabel writes n for a benchmark's name: 1M, 10k, 1500.
func CountLabel(n int) string {
	switch {
	case n%1_000_000 == 0:
		return strconv.Itoa(n/1_000_000) + "M"
	case n%1000 == 0:
		return strconv.Itoa(n/1000) + "k"
	}
	return strconv.Itoa(n)
}
