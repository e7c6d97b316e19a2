package bench

import (
	"context"
	"time"

	"github.com/admitgate/admit/index/indextest"
)

// RunFsync measures the disk's own floor in dir: overwrites of one 4 KiB
// block followed by fdatasync (indextest.FsyncProbe), the least a durable
// admit can cost. Every durable figure of the same run is also reported as
// a ratio to it: "fsync".
func RunFsync(ctx context.Context, dir string, lim Limit) (Observation, error) {
	if err := lim.valid(); err != nil {
		return Observation{}, err
	}
	// A few syncs first: the file's blocks get allocated, the device wakes.
	if _, err := indextest.FsyncProbe(dir, 8); err != nil {
		return Observation{}, err
	}
	h := newHistogram()
	var ops int64
	start := time.Now()
	for ctx.Err() == nil {
		n := 64
		if lim.Ops > 0 {
			n = int(min(int64(n), lim.Ops-ops))
		}
		if n <= 0 || (lim.Duration > 0 && time.Since(start) >= lim.Duration) {
			break
		}
		part, err := indextest.FsyncProbe(dir, n)
		if err != nil {
			return Observation{}, err
		}
		h.Merge(part)
		ops += int64(n)
	}
	s := latencies(h)
	s[StatOps] = float64(ops)
	s[StatErrs] = 0
	if mean := h.Mean(); mean > 0 {
		s[StatRate] = 1e9 / mean // back to back; creating probe files is not counted
	}
	return Observation{Name: "fsync", Unit: "sync", Sample: s}, ctx.Err()
}
