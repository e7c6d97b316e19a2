package index

// Health is whether the store answers, read from two flags: cheap enough
// to call on every request, unlike [Index.Stats], which also gathers
// Pebble's metrics (microseconds and dozens of allocations a call).
type Health struct {
	Closed   bool // Close was called
	Faulted  bool // a disk fault is being recovered from, or the store is corrupt: scans are refused with reason error
	DiskFull bool // the fault is a full data disk: the store reopens once there is space
	// Corruption says, for people, that the store found on-disk corruption
	// (naming the file) and how to recover: it refuses everything until a
	// backup is restored. Empty when there is none.
	Corruption string
}

// Health returns the store's health now. It never blocks.
func (ix *Index) Health() Health {
	h := Health{Closed: ix.closed.Load(), Faulted: ix.faulted.Load(), DiskFull: ix.diskFull.Load()}
	if c := ix.corrupt.Load(); c != nil {
		h.Faulted, h.Corruption = true, c.msg
	}
	return h
}
