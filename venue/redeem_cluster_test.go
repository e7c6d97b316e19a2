package venue_test

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/venue"
	"github.com/admitgate/admit/venue/hubtest"
)

// TestVenueLeaderStopped: three appliances whose lanes deny offline scan
// the same barcodes while the redemptions' leader of a three-node hub is
// stopped. No acknowledged claim is lost (every admission answered is at
// the hub as that appliance's), no barcode is admitted twice, and the
// claims that landed for guests refused during the election are released.
func TestVenueLeaderStopped(t *testing.T) {
	c := hubtest.StartCluster(t, 3)
	ts := tickets("C", 90, "match")
	var apps []*appliance
	for _, id := range []string{"north", "south", "east"} {
		a := prepare(t, c, id, vfs.NewMem(), ts)
		a.cfg.ClaimTimeout = time.Second
		a.connect()
		apps = append(apps, a)
	}
	type admit struct {
		app string
		d   gate.Decision
	}
	var mu sync.Mutex
	admits := map[string][]admit{}
	var oks, offline atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i, a := range apps {
		for s := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(uint64(i), uint64(s)))
				for {
					select {
					case <-stop:
						return
					default:
					}
					bc := ts[rng.IntN(len(ts))].Barcode
					d := a.scan(bc, gate.In, gate.OfflineDeny)
					switch d.Reason {
					case gate.ReasonOK:
						oks.Add(1)
						mu.Lock()
						admits[bc] = append(admits[bc], admit{a.id, d})
						mu.Unlock()
					case gate.ReasonOffline:
						offline.Add(1)
						time.Sleep(5 * time.Millisecond) // pacing: a lane whose link is down refuses at once
					case gate.ReasonAlreadyUsed:
					default:
						t.Errorf("%s at %s: %s %s", bc, a.id, d.Reason, d.Detail)
					}
				}
			}()
		}
	}
	eventually(t, 30*time.Second, "the first admissions", func() bool { return oks.Load() >= 20 })
	stopped := c.KillLeader("KV_" + venue.BucketRedemptions)
	eventually(t, 90*time.Second, "every barcode admitted once the hub elected a new leader", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(admits) == len(ts)
	})
	close(stop)
	wg.Wait()
	t.Logf("%d admissions, %d offline refusals during the election", oks.Load(), offline.Load())
	c.RestartNode(stopped)

	_, js := c.Admin()
	for bc, as := range admits {
		if len(as) != 1 {
			t.Fatalf("%s admitted %d times: %+v", bc, len(as), as)
		}
		w := as[0]
		rec := hubRecord(t, js, "match", bc)
		if rec == nil || rec.Redemption.Admissions != 1 || rec.Redemption.First.Appliance != w.app || rec.Redemption.First.Seq != w.d.Seq {
			t.Fatalf("%s admitted at %s seq %d; the hub holds %+v", bc, w.app, w.d.Seq, rec)
		}
	}
	for _, a := range apps {
		a.learned(c)
		if s := a.red.Status(); s.OfflineWaiting != 0 || s.Failing != "" {
			t.Fatalf("%s: %+v", a.id, s)
		}
	}
}
