package main

// serveProcs is the GOMAXPROCS `admit serve` runs with, given Go's default
// (the CPUs the process may use, cgroup limits included): twice that,
// unless GOMAXPROCS is set in the environment (then Go already applied it
// and it is kept).
//
// Every durable admission waits for a WAL fdatasync, a system call of
// about 100 µs that keeps its P (Go's right to run Go code) until the
// runtime's monitor takes the P back, at least 20 µs later. On a two-core
// appliance one P of two is then held by a sleeping system call much of
// the time while requests wait for it. Measured with the daemon in a
// process of its own and the load from another (`admit bench -target`,
// 1M tickets, 2 vCPU, two alternated runs each): /v1/scan mixed at 64
// connections 41.5-45.3k → 49.0-50.2k requests/s, at 8 connections
// 20.0-21.0k → 24.0-24.5k with p99 1.09-1.30 → 1.00 ms; one connection
// and 1,000 requests/s unchanged.
func serveProcs(getenv func(string) string, goDefault int) int {
	if getenv("GOMAXPROCS") != "" {
		return goDefault
	}
	return 2 * goDefault
}
