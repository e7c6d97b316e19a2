package venue_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/admitgate/admit/venue"
	"github.com/admitgate/admit/venue/hubtest"
)

func TestClaimCreateUpdateLost(t *testing.T) {
	c := hubtest.StartCluster(t, 1)
	north := openUp(t, c, "north")
	south := openUp(t, c, "south")
	ctx := context.Background()

	first := admission("MATCH", "T-1", "north", 1, nil)
	key := first.Key()
	rev, err := north.Claim(ctx, key, first, 0)
	if err != nil {
		t.Fatal(err)
	}
	got, err := south.Get(ctx, key)
	if err != nil || got.Rev != rev || got.Record.Claim.Appliance != "north" {
		t.Fatalf("south reads %+v, %v; want north's at revision %d", got, err, rev)
	}

	// South did not know the key: its Create loses, naming north.
	_, err = south.Claim(ctx, key, admission("MATCH", "T-1", "south", 7, nil), 0)
	var lost *venue.LostError
	if !errors.As(err, &lost) || !errors.Is(err, venue.ErrLost) {
		t.Fatalf("south's create: %v, want a lost claim", err)
	}
	if lost.Rev != rev || lost.Current.Claim.Appliance != "north" || lost.Current.Claim.Seq != 1 {
		t.Fatalf("lost claim carries %+v at %d, want north's seq 1 at %d", lost.Current, lost.Rev, rev)
	}

	// At the revision it learned, south's second admission goes through.
	second := admission("MATCH", "T-1", "south", 8, &lost.Current.Redemption)
	rev2, err := south.Claim(ctx, key, second, lost.Rev)
	if err != nil || rev2 <= rev {
		t.Fatalf("update at %d: %d, %v", lost.Rev, rev2, err)
	}
	// North's update at the old revision loses to it.
	_, err = north.Claim(ctx, key, admission("MATCH", "T-1", "north", 2, &first.Redemption), rev)
	if !errors.As(err, &lost) || lost.Rev != rev2 || lost.Current.Claim.Appliance != "south" ||
		lost.Current.Redemption.Admissions != 2 {
		t.Fatalf("north's stale update: %v, want lost to south's second admission at %d", err, rev2)
	}
	// An update of a key nobody wrote loses with no current value.
	other := admission("MATCH", "T-2", "north", 3, nil)
	_, err = north.Claim(ctx, other.Key(), other, 5)
	if !errors.As(err, &lost) || lost.Current != nil || lost.Rev != 0 {
		t.Fatalf("update of a missing key: %v", err)
	}
	// A key that is not the record's is refused before the hub.
	if _, err := north.Claim(ctx, key, other, 0); err == nil || errors.Is(err, venue.ErrLost) {
		t.Fatalf("claim under the wrong key: %v", err)
	}
	if s := north.Status(); s.State != venue.StateUp || !s.Connected || s.LastClaim <= 0 {
		t.Fatalf("status %+v", s)
	}
	_ = time.Second
}

// TestClaimRace: 16 appliances' worth of goroutines claim one key at once;
// exactly one wins and every other learns the winner.
func TestClaimRace(t *testing.T) {
	c := hubtest.StartCluster(t, 1)
	links := []*venue.Link{openUp(t, c, "north"), openUp(t, c, "south"), openUp(t, c, "east"), openUp(t, c, "west")}
	const n = 16
	type result struct {
		app string
		seq uint64
		rev uint64
		err error
	}
	results := make(chan result, n)
	start := make(chan struct{})
	for i := range n {
		l := links[i%len(links)]
		go func() {
			<-start
			rec := admission("MATCH", "SHARED", l.Appliance(), uint64(100+i), nil)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			rev, err := l.Claim(ctx, rec.Key(), rec, 0)
			results <- result{l.Appliance(), uint64(100 + i), rev, err}
		}()
	}
	close(start)
	var winners []result
	var losers []*venue.LostError
	for range n {
		r := <-results
		var lost *venue.LostError
		switch {
		case r.err == nil:
			winners = append(winners, r)
		case errors.As(r.err, &lost):
			losers = append(losers, lost)
		default:
			t.Fatalf("claim by %s: %v", r.app, r.err)
		}
	}
	if len(winners) != 1 {
		t.Fatalf("%d winners, want exactly one: %+v", len(winners), winners)
	}
	w := winners[0]
	for _, l := range losers {
		if l.Current == nil || l.Rev != w.rev || l.Current.Claim.Appliance != w.app || l.Current.Claim.Seq != w.seq {
			t.Fatalf("a loser learned %+v at %d, want the winner %s seq %d at %d", l.Current, l.Rev, w.app, w.seq, w.rev)
		}
	}
}

// TestClaimBlackholed: a claim through a link that went silent answers
// ErrOffline within its deadline, and the link then reports itself down.
func TestClaimBlackholed(t *testing.T) {
	c := hubtest.StartCluster(t, 1)
	p := hubtest.NewProxy(t, c.Node(0).URL())
	north := openUp(t, c, "north", p.URL())
	p.Blackhole()
	rec := admission("MATCH", "T-1", "north", 1, nil)
	const timeout = 250 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	start := time.Now()
	_, err := north.Claim(ctx, rec.Key(), rec, 0)
	took := time.Since(start)
	if !errors.Is(err, venue.ErrOffline) || errors.Is(err, venue.ErrLost) {
		t.Fatalf("claim through a blackhole: %v, want ErrOffline", err)
	}
	// The deadline, and slack for a loaded machine: bounded, not hung.
	if took > timeout+2*time.Second {
		t.Fatalf("claim answered after %s, its deadline was %s", took, timeout)
	}
	// Unanswered pings (500ms in the test config) bring the link down.
	eventually(t, 15*time.Second, "the link notices the silence", func() bool {
		return north.Status().State != venue.StateUp
	})
	_, err = north.Claim(context.Background(), rec.Key(), rec, 0)
	if !errors.Is(err, venue.ErrOffline) {
		t.Fatalf("claim on a down link: %v", err)
	}
	p.Heal()
	waitUp(t, north)
	if _, err := north.Claim(context.Background(), rec.Key(), rec, 0); err != nil {
		t.Fatalf("claim after healing: %v", err)
	}
}

// TestLinkCutReconnects: a cut link goes down at once, claims fail offline
// at once, and after Heal it reconnects by itself and claims again; a slow
// link still claims.
func TestLinkCutReconnects(t *testing.T) {
	c := hubtest.StartCluster(t, 1)
	p := hubtest.NewProxy(t, c.Node(0).URL())
	north := openUp(t, c, "north", p.URL())
	p.Cut()
	eventually(t, 10*time.Second, "the link goes down", func() bool { return !north.Status().Connected })
	rec := admission("MATCH", "T-1", "north", 1, nil)
	start := time.Now()
	if _, err := north.Claim(context.Background(), rec.Key(), rec, 0); !errors.Is(err, venue.ErrOffline) {
		t.Fatalf("claim on a cut link: %v", err)
	}
	if took := time.Since(start); took > 100*time.Millisecond {
		t.Logf("a claim on a cut link took %s (it should not wait)", took)
	}
	before := north.Status().Reconnects
	p.Heal()
	waitUp(t, north)
	s := north.Status()
	if s.Reconnects <= before || !s.Connected || s.ServerURL == "" || s.LastError == "" {
		t.Fatalf("status after healing: %+v", s)
	}
	p.Slow(20 * time.Millisecond)
	if _, err := north.Claim(context.Background(), rec.Key(), rec, 0); err != nil {
		t.Fatalf("claim on a slow link: %v", err)
	}
	p.Heal()
}

// TestOpenHubAway: a hub that does not answer leaves Open offline but not
// failed; the link comes up by itself when the hub does.
func TestOpenHubAway(t *testing.T) {
	c := hubtest.StartCluster(t, 1)
	p := hubtest.NewProxy(t, c.Node(0).URL())
	p.Cut()
	cfg := c.LinkConfig("north", p.URL())
	cfg.ConnectTimeout = 300 * time.Millisecond
	start := time.Now()
	north := open(t, cfg)
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("Open waited %s with a 300ms connect timeout", took)
	}
	if s := north.Status(); s.State != venue.StateConnecting {
		t.Fatalf("state %s, want connecting", s.State)
	}
	rec := admission("MATCH", "T-1", "north", 1, nil)
	if _, err := north.Claim(context.Background(), rec.Key(), rec, 0); !errors.Is(err, venue.ErrOffline) {
		t.Fatalf("claim before the hub answered: %v", err)
	}
	p.Heal()
	waitUp(t, north)
}
