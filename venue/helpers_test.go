package venue_test

import (
	"context"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/internal/testkit"
	"github.com/admitgate/admit/venue"
	"github.com/admitgate/admit/venue/hubtest"
)

// testLogger logs nothing unless ADMIT_TEST_LOG is set.
func testLogger() zerolog.Logger { return testkit.Logger(nil) }

// open opens a link with cfg and closes it at cleanup.
func open(t testing.TB, cfg venue.LinkConfig) *venue.Link {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	l, err := venue.Open(ctx, cfg, testLogger().With().Str("appliance", cfg.Appliance).Logger())
	if err != nil {
		t.Fatalf("open %s: %v", cfg.Appliance, err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// openUp opens appliance id's link to c and waits until it is up.
func openUp(t testing.TB, c *hubtest.Cluster, id string, urls ...string) *venue.Link {
	t.Helper()
	l := open(t, c.LinkConfig(id, urls...))
	waitUp(t, l)
	return l
}

func waitUp(t testing.TB, l *venue.Link) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := l.WaitUp(ctx); err != nil {
		t.Fatalf("%s: %v (status %+v)", l.Appliance(), err, l.Status())
	}
}

var t0 = time.Date(2026, 12, 5, 19, 0, 0, 0, time.UTC)

// admission is the record of ticket's n-th admission to event at appliance
// app, after prev.
func admission(event, ticket, app string, seq uint64, prev *gate.Redemption) *venue.Record {
	at := t0.Add(time.Duration(seq) * time.Second)
	move := gate.Movement{At: at, Lane: app + "-1", Seq: seq, Appliance: app}
	r := gate.Redemption{Event: event, Admissions: 1, Inside: true, First: move, Last: move}
	if prev != nil {
		r = *prev
		r.Admissions++
		r.Inside = true
		r.Last = move
	}
	return &venue.Record{V: venue.RecordVersion, Event: event, Ticket: ticket, Redemption: r,
		Claim: venue.ClaimRef{Appliance: app, Seq: seq, At: at}, Prev: prev}
}

// eventually polls cond until it holds or d passes.
func eventually(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	testkit.WaitFor(t, d, what, cond)
}
