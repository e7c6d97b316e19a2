package index

import (
	"context"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/admitgate/admit/gate"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
)

// usageFS reports the disk usage usage says.
type usageFS struct {
	vfs.FS
	usage func() (vfs.DiskUsage, error)
}

func (f *usageFS) GetDiskUsage(string) (vfs.DiskUsage, error) { return f.usage() }

// reserveFails refuses the warm-up's reservation with ENOSPC.
type reserveFails struct{}

func (reserveFails) String() string { return "reservation fails" }

func (reserveFails) MaybeError(op errorfs.Op) error {
	if op.Kind == errorfs.OpFilePreallocate && strings.HasSuffix(op.Path, warmupReserve) {
		return &os.PathError{Op: "fallocate", Path: op.Path, Err: syscall.ENOSPC}
	}
	return nil
}

// TestWALWarmupOnSmallDisk (issue 21.2): a store opened on a disk without
// room for its WAL warm-up used to fill the disk and crash inside Pebble
// ("sync: unlock of unlocked mutex" rotating its WAL). Open now fails with
// a clear error naming the space needed, before the warm-up writes (the
// disk says it is short, or refuses the warm-up's reservation) or as soon
// as the disk runs short during it, and removes the warm-up's WAL files;
// the store opens as before once there is room.
func TestWALWarmupOnSmallDisk(t *testing.T) {
	const mib = 1 << 20
	for _, tc := range []struct {
		name string
		disk func(mem *vfs.MemFS) vfs.FS
		want string
	}{
		{"the disk says it is short", func(mem *vfs.MemFS) vfs.FS {
			mem.TestingSetDiskUsage(vfs.DiskUsage{TotalBytes: 64 * mib, AvailBytes: 10 * mib, UsedBytes: 54 * mib})
			return mem
		}, "no space for the store's WAL warm-up (needs 24 MiB, 10 MiB free)"},
		{"the disk refuses the reservation", func(mem *vfs.MemFS) vfs.FS {
			return errorfs.Wrap(mem, reserveFails{}) // and cannot tell its free space
		}, "no space for the store's WAL warm-up (needs 24 MiB)"},
		{"the disk fills during the warm-up", func(mem *vfs.MemFS) vfs.FS {
			// Another writer fills the disk three times as fast as the
			// warm-up writes its WAL.
			d := &usageFS{FS: mem}
			d.usage = func() (vfs.DiskUsage, error) {
				used := 4 * walSize(mem)
				avail := uint64(0)
				if used < 30*mib {
					avail = 30*mib - used
				}
				return vfs.DiskUsage{TotalBytes: 64 * mib, AvailBytes: avail, UsedBytes: 64*mib - avail}, nil
			}
			return d
		}, "no space for the store's WAL warm-up (needs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem := vfs.NewMem()
			o := testOptions(mem)
			ix := openDerby(t, o)
			load(t, ix, tk("W1", "derby"), tk("W2", "derby"))
			if d := scanAt(ix, "W1", during); !d.Admit {
				t.Fatalf("W1: %+v", d)
			}
			if err := ix.Close(); err != nil {
				t.Fatal(err)
			}

			small := testOptions(tc.disk(mem))
			small.DisableWALWarmup = false // 6 memtables of 4 MiB
			_, err := Open("data", small)
			if err == nil || !strings.Contains(err.Error(), tc.want) || gate.ErrorCode(err) != gate.ENOSPACE {
				t.Fatalf("open on a small disk: %v, want %q", err, tc.want)
			}
			if n := walSize(mem); n > mib {
				t.Errorf("the failed warm-up left %d bytes of WAL files", n)
			}
			if _, err := mem.Stat(mem.PathJoin("data", warmupReserve)); err == nil {
				t.Error("the warm-up's reservation file was left behind")
			}

			mem.TestingSetDiskUsage(vfs.DiskUsage{TotalBytes: 256 * mib, AvailBytes: 200 * mib, UsedBytes: 56 * mib})
			roomy := testOptions(mem)
			roomy.DisableWALWarmup = false
			ix, err = Open("data", roomy)
			if err != nil {
				t.Fatalf("open once there is room: %v", err)
			}
			defer ix.Close()
			if d := scanAt(ix, "W1", during); d.Reason != gate.ReasonAlreadyUsed {
				t.Fatalf("W1 after the failed warm-up: %+v", d)
			}
			if d := scanAt(ix, "W2", during); !d.Admit {
				t.Fatalf("W2 after the failed warm-up: %+v", d)
			}
			if v, err := ix.Ticket(context.Background(), "W1"); err != nil || len(v.Redemptions) != 1 || v.Redemptions[0].Admissions != 1 {
				t.Fatalf("W1 after the failed warm-up: %+v %v", v, err)
			}
		})
	}
}

// walSize is the size of the store's WAL files in mem.
func walSize(mem *vfs.MemFS) uint64 {
	names, _ := mem.List(mem.PathJoin("data", "db"))
	var n uint64
	for _, name := range names {
		if strings.HasSuffix(name, ".log") {
			if st, err := mem.Stat(mem.PathJoin("data", "db", name)); err == nil {
				n += uint64(st.Size())
			}
		}
	}
	return n
}
