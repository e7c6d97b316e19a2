// Package indextest holds what benchmarks of the ticket store share: a
// synthetic SecuTix-like gate.LineSource of any size, deterministic known and
// unknown barcodes, a cached store fixture of N tickets (built once per
// machine, copied for each run), the disk's reference fsync probe, and HDR
// latency histograms reported through testing.B. The index benchmarks and
// the bench tool use it, so neither copies the other.
package indextest
