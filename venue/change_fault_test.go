package venue_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/venue"
	"github.com/admitgate/admit/venue/hubtest"
)

// With the hub away, a change is refused with a clear 503 and nothing is
// applied anywhere: not at the appliance that took it, not at the others,
// nothing at the hub; scans go on. Once the hub is back, changes go through.
func TestChangesRefusedWhileTheHubIsAway(t *testing.T) {
	c := hubtest.StartCluster(t, 1)
	p := hubtest.NewProxy(t, c.Node(0).URL())
	a := startAppliance(t, c, "north", "", p.URL())
	b := startAppliance(t, c, "south", "")
	bcs := setUp(t, a, 10)
	before := lastPosition(t, c)
	b.caughtUp(before)
	ctx := context.Background()

	lag := gate.LagPolicy{MaxLag: 300 * time.Millisecond, Refuse: true}
	eventually(t, 30*time.Second, "north current", func() bool {
		v, _ := a.app.CheckLag(lag, time.Now())
		return v == gate.LagOK
	})
	p.Cut()
	eventually(t, 30*time.Second, "north sees the hub gone", func() bool { return !a.link.Status().Connected })
	// Its data ages: a lane with max_lag refuses once it is older.
	eventually(t, 30*time.Second, "north's data ages", func() bool {
		v, age := a.app.CheckLag(lag, time.Now())
		return v == gate.LagRefuse && age > lag.MaxLag
	})
	start := time.Now()
	_, err := a.api.Cancel(ctx, bcs[0], "ops")
	if gate.ErrorCode(err) != gate.EUNAVAILABLE || !strings.Contains(gate.ErrorMessage(err), "the venue hub is not reachable") {
		t.Fatalf("cancel with the hub away: %v", err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("the refusal took %s", took)
	}
	if _, err := a.pub.Import(ctx, gate.ImportRequest{Provider: "box", Event: "derby", By: "ops"}, strings.NewReader("X1\n")); gate.ErrorCode(err) != gate.EUNAVAILABLE {
		t.Fatalf("import with the hub away: %v", err)
	}
	if _, err := a.api.PutEvent(ctx, gate.Event{ID: "cup"}); gate.ErrorCode(err) != gate.EUNAVAILABLE {
		t.Fatalf("put event with the hub away: %v", err)
	}
	// A dry run is local: it goes on.
	if res, err := a.pub.Import(ctx, gate.ImportRequest{Provider: "box", Event: "derby", DryRun: true}, strings.NewReader("X1\n")); err != nil || res.Added != 1 {
		t.Fatalf("dry run with the hub away: %+v, %v", res, err)
	}
	// Scans go on.
	if d := scan(a, bcs[0]); !d.Admit {
		t.Fatalf("scan with the hub away: %+v", d)
	}
	if got := lastPosition(t, c); got != before {
		t.Fatalf("the hub's stream moved from %d to %d", before, got)
	}
	for _, x := range []*changeAppliance{a, b} {
		if v, _ := x.ix.Ticket(ctx, bcs[0]); v.State != gate.StateValid {
			t.Fatalf("%s: %s is %s", x.id, bcs[0], v.State)
		}
		if _, err := x.ix.Ticket(ctx, "X1"); gate.ErrorCode(err) != gate.ENOTFOUND {
			t.Fatalf("%s: the refused import's ticket exists: %v", x.id, err)
		}
	}
	p.Heal()
	waitUp(t, a.link)
	eventually(t, 30*time.Second, "north current again", func() bool {
		v, _ := a.app.CheckLag(lag, time.Now())
		return v == gate.LagOK
	})
	if _, err := a.api.Cancel(ctx, bcs[1], "ops"); err != nil {
		t.Fatalf("cancel once the hub is back: %v", err)
	}
	b.caughtUp(lastPosition(t, c))
	sameStores(t, append(bcs, "X1"), a, b)
}

// An appliance that was closed while 500 changes and an import were made
// catches up when it starts again, and a new appliance catches up from the
// whole history; until each has, CatchingUp says so with its progress.
func TestCatchUp(t *testing.T) {
	c := hubtest.StartCluster(t, 1)
	a := startAppliance(t, c, "north", "")
	b := startAppliance(t, c, "south", "")
	bcs := setUp(t, a, 500)
	b.caughtUp(lastPosition(t, c))
	b.stop()

	ctx := context.Background()
	for i, bc := range bcs {
		var err error
		if i%2 == 0 {
			_, err = a.api.Cancel(ctx, bc, "ops")
		} else {
			_, err = a.api.Block(ctx, bc, "ops")
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	var extra []string
	for i := range 2000 {
		extra = append(extra, fmt.Sprintf("E%05d", i))
	}
	if _, err := a.pub.Import(ctx, gate.ImportRequest{Provider: "box", Event: "derby", By: "ops"}, strings.NewReader(lines(extra...))); err != nil {
		t.Fatal(err)
	}
	last := lastPosition(t, c)

	progress := regexp.MustCompile(`^catching up: ([0-9,]+) of ([0-9,]+) changes$`)
	watch := func(x *changeAppliance) {
		t.Helper()
		err := x.app.CatchingUp()
		if err == nil {
			t.Fatalf("%s: not catching up right after it started", x.id)
		}
		var seen []string
		for err != nil {
			if gate.ErrorCode(err) != gate.EUNAVAILABLE {
				t.Fatalf("%s: %v", x.id, err)
			}
			if m := gate.ErrorMessage(err); len(seen) == 0 || seen[len(seen)-1] != m {
				seen = append(seen, m)
			}
			time.Sleep(time.Millisecond)
			err = x.app.CatchingUp()
		}
		if x.app.Applied() < last {
			t.Fatalf("%s opened at %d of %d", x.id, x.app.Applied(), last)
		}
		for _, m := range seen[1:] {
			if !progress.MatchString(m) && !strings.Contains(m, "waiting for the venue hub") {
				t.Fatalf("%s: progress %q", x.id, m)
			}
		}
		t.Logf("%s caught up; readiness said %d things, from %q to %q", x.id, len(seen), seen[0], seen[len(seen)-1])
	}
	b.start()
	watch(b)
	fresh := startAppliance(t, c, "east", "")
	watch(fresh)
	if st := fresh.app.Status(); st.State != "current" && st.State != "behind" {
		t.Fatalf("status after the catch-up: %+v", st)
	}
	sameStores(t, append(bcs, extra...), a, b, fresh)
}

// publishRaw publishes data on appliance id's change subject as that
// appliance would, and returns its position.
func publishRaw(t *testing.T, c *hubtest.Cluster, id string, data []byte) uint64 {
	t.Helper()
	nc, err := nats.Connect(strings.Join(c.URLs(), ","), nats.UserInfo(id, c.Password(id)),
		nats.CustomInboxPrefix("_INBOX_"+id))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ack, err := js.Publish(ctx, venue.ChangeSubject(id), data)
	if err != nil {
		t.Fatal(err)
	}
	return ack.Sequence
}

func importChange(id, sum string, size int64) []byte {
	data, err := venue.MarshalChange(gate.Change{ID: "imp-" + sum[:8], Kind: gate.ChangeImport, By: "ops", At: time.Now().UTC(),
		Appliance: id, Import: &gate.ImportChange{Provider: "box", Event: "derby", File: sum, Size: size}})
	if err != nil {
		panic(err)
	}
	return data
}

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// waitStopped waits until x's applier stops, and returns why.
func waitStopped(t *testing.T, x *changeAppliance) *venue.StopInfo {
	t.Helper()
	eventually(t, 30*time.Second, x.id+" stops", func() bool { return x.app.Stopped() != nil })
	return x.app.Stopped()
}

// Bad input stops every applier at the change, with a clear error in its
// status and readiness, applying nothing of it and nothing after it, until
// an operator acts: a file missing from the hub (restored, then retried), a
// file whose content does not hash to its name (skipped), a change that
// does not decode (skipped). A change published while stopped is refused.
func TestBadInputStopsTheApplier(t *testing.T) {
	c := hubtest.StartCluster(t, 1)
	a := startAppliance(t, c, "north", "")
	b := startAppliance(t, c, "south", "")
	bcs := setUp(t, a, 5)
	b.caughtUp(lastPosition(t, c))
	ctx := context.Background()
	_, js := c.Admin()
	files, err := js.ObjectStore(ctx, venue.BucketFiles)
	if err != nil {
		t.Fatal(err)
	}
	// After each bad change: a good one, which must wait behind it.
	cancelNext := func(bc string) uint64 {
		data, err := venue.MarshalChange(gate.Change{ID: "cancel-" + bc, Kind: gate.ChangeCancel, By: "ops", At: time.Now().UTC(),
			Appliance: "south", Barcode: bc})
		if err != nil {
			t.Fatal(err)
		}
		return publishRaw(t, c, "south", data)
	}
	stuck := func(pos uint64, what string, bc string) {
		t.Helper()
		for _, x := range []*changeAppliance{a, b} {
			st := waitStopped(t, x)
			if st.Position != pos || !strings.Contains(st.Error, what) {
				t.Fatalf("%s stopped at %d: %q (want %d, %q)", x.id, st.Position, st.Error, pos, what)
			}
			if err := x.app.Ready(); err == nil || !strings.Contains(gate.ErrorMessage(err), what) {
				t.Fatalf("%s: ready while stopped: %v", x.id, err)
			}
			if s := x.app.Status(); s.State != "stopped" || s.Stopped == nil {
				t.Fatalf("%s: status %+v", x.id, s)
			}
			if x.app.Applied() != pos-1 {
				t.Fatalf("%s applied %d while stopped at %d", x.id, x.app.Applied(), pos)
			}
			if v, _ := x.ix.Ticket(ctx, bc); v.State != gate.StateValid {
				t.Fatalf("%s: the change after the bad one was applied: %s is %s", x.id, bc, v.State)
			}
		}
	}

	// A file missing from the hub: restored, then retried.
	content := lines("M1", "M2", "M3")
	missing := publishRaw(t, c, "south", importChange("south", sha(content), int64(len(content))))
	cancelNext(bcs[0])
	stuck(missing, "is not in the hub's file store", bcs[0])
	if _, err := a.api.Cancel(ctx, bcs[4], "ops"); gate.ErrorCode(err) != gate.EUNAVAILABLE ||
		!strings.Contains(gate.ErrorMessage(err), "stopped applying") {
		t.Fatalf("a change while stopped: %v", err)
	}
	for _, x := range []*changeAppliance{a, b} {
		if _, err := x.ix.Ticket(ctx, "M1"); gate.ErrorCode(err) != gate.ENOTFOUND {
			t.Fatalf("%s: the missing file's import applied: %v", x.id, err)
		}
	}
	if _, err := files.PutString(ctx, sha(content), content); err != nil {
		t.Fatal(err)
	}
	a.app.Retry()
	b.app.Retry()
	last := lastPosition(t, c)
	a.caughtUp(last)
	b.caughtUp(last)
	for _, x := range []*changeAppliance{a, b} {
		if v, err := x.ix.Ticket(ctx, "M3"); err != nil || v.ImportID != missing {
			t.Fatalf("%s: the restored file's import: %+v %v", x.id, v.Ticket, err)
		}
		if v, _ := x.ix.Ticket(ctx, bcs[0]); v.State != gate.StateCancelled {
			t.Fatalf("%s: the cancel after it: %s", x.id, v.State)
		}
	}

	// A file whose content does not hash to its name.
	bad := lines("H1")
	if _, err := files.PutString(ctx, sha("something else\n"), bad); err != nil {
		t.Fatal(err)
	}
	damaged := publishRaw(t, c, "south", importChange("south", sha("something else\n"), int64(len(bad))))
	cancelNext(bcs[1])
	stuck(damaged, "hashes to", bcs[1])
	for _, x := range []*changeAppliance{a, b} {
		if err := x.app.Skip(ctx, damaged+1, "operator"); err == nil {
			t.Fatalf("%s: skip of a change it did not stop at", x.id)
		}
		if err := x.app.Skip(ctx, damaged, "operator"); err != nil {
			t.Fatal(err)
		}
	}
	last = lastPosition(t, c)
	a.caughtUp(last)
	b.caughtUp(last)

	// A change that does not decode.
	garbage := publishRaw(t, c, "south", []byte(`{"v":1,"id":"x","kind":"cancel","by":"ops","at":"2026-12-05T19:00:00Z","appliance":"south","barcode":"T00002","extra":1}`))
	cancelNext(bcs[2])
	stuck(garbage, "does not decode", bcs[2])
	for _, x := range []*changeAppliance{a, b} {
		if err := x.app.Skip(ctx, garbage, "operator"); err != nil {
			t.Fatal(err)
		}
	}
	last = lastPosition(t, c)
	a.caughtUp(last)
	b.caughtUp(last)
	for _, x := range []*changeAppliance{a, b} {
		if v, _ := x.ix.Ticket(ctx, bcs[2]); v.State != gate.StateCancelled {
			t.Fatalf("%s: the cancel after the skipped change: %s", x.id, v.State)
		}
		if x.app.Ready() != nil {
			t.Fatalf("%s: not ready after the skips: %v", x.id, x.app.Ready())
		}
	}
	// The skips are in the record.
	var skips []string
	for _, line := range changeList(t, a.ix) {
		if strings.Contains(line, " skip ") {
			skips = append(skips, line)
		}
	}
	if len(skips) != 2 {
		t.Fatalf("skips recorded: %v", skips)
	}
	// A change published on another appliance's subject is refused by the
	// hub (permissions), and one that claims another appliance stops the
	// appliers like any change that does not decode.
	forged, err := venue.MarshalChange(gate.Change{ID: "forged", Kind: gate.ChangeCancel, By: "ops", At: time.Now().UTC(),
		Appliance: "north", Barcode: bcs[3]})
	if err != nil {
		t.Fatal(err)
	}
	pos := publishRaw(t, c, "south", forged)
	st := waitStopped(t, a)
	if st.Position != pos || !strings.Contains(st.Error, "does not decode") || !strings.Contains(st.Error, "published on admit.changes.south") {
		t.Fatalf("a forged change: %+v", st)
	}
}

// On a hub of three nodes, the changes stream's leader is killed while an
// appliance makes changes: each change either goes through (and is applied
// everywhere) or is refused with 503, and once the survivors have elected
// a leader the changes go through again (each refused one is asked again);
// afterwards every appliance holds the same history.
func TestChangesAcrossALeaderKill(t *testing.T) {
	c := hubtest.StartCluster(t, 3)
	a := startAppliance(t, c, "north", "")
	b := startAppliance(t, c, "south", "")
	bcs := setUp(t, a, 60)
	ctx := context.Background()
	killed := -1
	refused := 0
	deadline := time.Now().Add(90 * time.Second)
	for i, bc := range bcs {
		if i == 10 {
			killed = c.KillLeader(venue.StreamChanges)
		}
		for {
			_, err := a.api.Cancel(ctx, bc, "ops")
			if err == nil {
				break
			}
			if gate.ErrorCode(err) != gate.EUNAVAILABLE {
				t.Fatalf("cancel %d: %v", i, err)
			}
			if time.Now().After(deadline) {
				t.Fatalf("cancel %d: still refused 90 s after the leader was killed: %v", i, err)
			}
			refused++
			time.Sleep(20 * time.Millisecond)
		}
	}
	t.Logf("killed %s: %d cancels refused (503) while the survivors elected", c.Node(killed).Name, refused)
	c.RestartNode(killed)
	last := lastPosition(t, c)
	a.caughtUp(last)
	b.caughtUp(last)
	sameStores(t, bcs, a, b)
}
