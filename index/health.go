package index

// Health is whether the store answers, read from two flags: cheap enough
// to call on every request, unlike [Index.Stats], which also gathers
// Pebble's metrics (microseconds and dozens of allocations a call).
type Health struct {
	Closed   bool // Close was called
	Faulted  bool // a disk fault is being recovered from: scans are refused with reason error
	DiskFull bool // the fault is a full data disk: the store reopens once there is space
}

// Health returns the store's health now. It never blocks.
func (ix *Index) Health() Health {
	return Health{Closed: ix.closed.Load(), Faulted: ix.faulted.Load(), DiskFull: ix.diskFull.Load()}
}
