package venue_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/admitgate/admit/venue"
	"github.com/admitgate/admit/venue/hubtest"
)

// TestLeaderKill kills the leader of the redemptions stream of a 3-node hub
// between claims: claims fail as offline (never as lost, never wrongly
// acknowledged) while the survivors elect, then go through again, and every
// claim acknowledged before or after is at the hub with its value.
func TestLeaderKill(t *testing.T) {
	c := hubtest.StartCluster(t, 3)
	north := openUp(t, c, "north")
	ctx := context.Background()

	acked := map[string]uint64{} // key -> revision acknowledged
	claim := func(i int, timeout time.Duration) error {
		rec := admission("MATCH", fmt.Sprintf("T-%d", i), "north", uint64(i), nil)
		cctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		rev, err := north.Claim(cctx, rec.Key(), rec, 0)
		if err == nil {
			acked[rec.Key()] = rev
		}
		return err
	}
	for i := range 20 {
		if err := claim(i, 5*time.Second); err != nil {
			t.Fatalf("claim %d before the kill: %v", i, err)
		}
	}
	killed := c.KillLeader("KV_" + venue.BucketRedemptions)
	// Claims with the lane's short timeout: offline while there is no
	// leader, then acknowledged again.
	i, offline := 20, 0
	deadline := time.Now().Add(45 * time.Second)
	for ok := 0; ok < 20; i++ {
		if time.Now().After(deadline) {
			t.Fatalf("claims did not resume within 45s after the leader was killed (%d offline)", offline)
		}
		err := claim(i, 250*time.Millisecond)
		switch {
		case err == nil:
			ok++
		case errors.Is(err, venue.ErrOffline):
			offline++
			time.Sleep(5 * time.Millisecond) // a link that is down answers at once
		default:
			t.Fatalf("claim %d after the kill: %v, want acknowledged or offline", i, err)
		}
	}
	t.Logf("killed %s: %d claims offline before the election ended", c.Node(killed).Name, offline)
	c.RestartNode(killed)
	for key, rev := range acked {
		e, err := north.Get(ctx, key)
		if err != nil || e.Rev != rev || e.Record == nil {
			t.Fatalf("acknowledged claim %s at %d reads %+v, %v", key, rev, e, err)
		}
	}
}
