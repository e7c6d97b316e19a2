package index

import "time"

// Pebble syncs the WAL as soon as the previous sync is over, so under many
// concurrent durable admissions each fdatasync covers only the commits that
// arrived during the one before. On two cores a first use at 64 lanes is
// CPU-bound (p50 ~0.6-1 ms against a ~0.1 ms fsync), and every sync costs
// the WAL writer's write and fdatasync system calls and a round of
// wake-ups: about a quarter of an admission's CPU. Pebble's
// WALMinSyncInterval holds the next sync back for a while after one ends,
// so more commits share it. A fixed interval would add its whole length to
// every admission at one lane (the next sync is asked for microseconds
// after the last ended), so the interval applies only while many Sync
// commits are in flight: then the ones that arrive during the wait would
// have waited for the running sync anyway.
//
// Measured (BenchmarkScan first-use/goroutines=64, 1M tickets, 3 runs each,
// interleaved): a fixed 100 µs took CPU per admit from 12.6-14.0 to
// 10.5-11.0 µs and admits/s from 90-98k to 113-127k, p50 from 536-577 to
// 450-477 µs; 250 µs was no better than 100 µs.
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
