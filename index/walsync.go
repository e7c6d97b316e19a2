package index

import "time"

// Pebble syncs the WAL as soon as the previous sync is over, so under many
// concurrent durable admissions each fdatasync covers only the commits that
// arrived during the one before. On two cores many lanes admitting at once
// are CPU-bound, and every sync costs the WAL writer's write and fdatasync
// system calls and a round of wake-ups: a large share of an admission's
// CPU. Pebble's
// WALMinSyncInterval holds the next sync back for a while after one ends,
// so more commits share it. A fixed interval would add its whole length to
// every admission at one lane (the next sync is asked for microseconds
// after the last ended), so the interval applies only while many Sync
// commits are in flight: then the ones that arrive during the wait would
// have waited for the running sync anyway. The interval and the threshold
// come from BenchmarkScan first-use/goroutines=64 (BENCHMARKS.md, "WAL
// sync spacing"): a longer interval carried no more commits per sync.
const (
	walBusySyncing  = 16                     // Sync commits in flight from which syncs are spaced
	walBusyInterval = 100 * time.Microsecond // the spacing then
)

// walMinSyncInterval is Pebble's WALMinSyncInterval: walBusyInterval while
// at least walBusySyncing Sync commits are in flight, else none.
func (ix *Index) walMinSyncInterval() time.Duration {
	if ix.syncing.Load() >= walBusySyncing {
		return walBusyInterval
	}
	return 0
}
