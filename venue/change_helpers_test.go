package venue_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/importfile"
	"github.com/admitgate/admit/index"
	"github.com/admitgate/admit/venue"
	"github.com/admitgate/admit/venue/hubtest"
)

// The changes tests run several appliances in one process: each its own
// index.Index on disk, its link to a real hub, its applier and publisher,
// as cmd/admit wires them in venue mode.

// appliance is one appliance of a test venue.
type changeAppliance struct {
	t    testing.TB
	id   string
	dir  string
	cfg  venue.LinkConfig
	ix   *index.Index
	link *venue.Link
	app  *venue.Applier
	pub  *venue.Publisher
	api  gate.Index // what the API works on: reads from ix, changes through pub
}

func changeIndexOptions(id string) *index.Options {
	return &index.Options{Appliance: id, Logger: testLogger().With().Str("appliance", id).Logger(),
		MemTableSize: 4 << 20, BloomMinCapacity: 1000, DisableWALWarmup: true, DisableCacheWarmup: true}
}

// startAppliance opens appliance id's store in dir (a fresh one when dir is
// ""), links it to c through urls (default every node) and starts its
// applier and publisher; stop undoes it (at cleanup too).
func startAppliance(t testing.TB, c *hubtest.Cluster, id, dir string, urls ...string) *changeAppliance {
	t.Helper()
	if dir == "" {
		dir = filepath.Join(t.TempDir(), id)
	}
	a := &changeAppliance{t: t, id: id, dir: dir, cfg: c.LinkConfig(id, urls...)}
	a.start()
	t.Cleanup(a.stop)
	return a
}

func (a *changeAppliance) start() {
	a.t.Helper()
	ix, err := index.Open(a.dir, changeIndexOptions(a.id))
	if err != nil {
		a.t.Fatal(err)
	}
	a.ix = ix
	a.link = open(a.t, a.cfg)
	log := testLogger().With().Str("appliance", a.id).Logger()
	local := importfile.NewService(ix, log, nil)
	a.app, err = venue.StartApplier(venue.ApplierConfig{Link: a.link, Store: ix, Importer: local, TempDir: a.t.TempDir(),
		StartWait: time.Minute, ProbeInterval: 50 * time.Millisecond, RetryWait: 20 * time.Millisecond,
		MaxRetryWait: 200 * time.Millisecond, Logger: log})
	if err != nil {
		a.t.Fatal(err)
	}
	a.pub, err = venue.NewPublisher(venue.PublisherConfig{Link: a.link, Applier: a.app, Local: local, TempDir: a.t.TempDir(),
		PublishTimeout: 3 * time.Second, ApplyWait: 30 * time.Second, Logger: log})
	if err != nil {
		a.t.Fatal(err)
	}
	a.api = a.pub.Index(ix)
}

// stop closes the applier, the link and the store (it may be started
// again on the same store).
func (a *changeAppliance) stop() {
	if a.ix == nil {
		return
	}
	_ = a.app.Close()
	_ = a.link.Close()
	if err := a.ix.Close(); err != nil {
		a.t.Errorf("%s: close: %v", a.id, err)
	}
	a.ix = nil
}

// caughtUp waits until the appliance has applied position pos.
func (a *changeAppliance) caughtUp(pos uint64) {
	a.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := a.app.WaitApplied(ctx, pos); err != nil {
		a.t.Fatalf("%s: %v (status %+v)", a.id, err, a.app.Status())
	}
}

// lastPosition is the hub's last change position.
func lastPosition(t testing.TB, c *hubtest.Cluster) uint64 {
	t.Helper()
	_, js := c.Admin()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := js.Stream(ctx, venue.StreamChanges)
	if err != nil {
		t.Fatal(err)
	}
	return st.CachedInfo().State.LastSeq
}

// ticketsOf lists every ticket of a store as a lookup shows it: barcode,
// then the ticket (or the lookup's error). Redemptions are left out: they
// travel through the redemptions bucket, not the changes.
func ticketsOf(t testing.TB, ix *index.Index, barcodes []string) []string {
	t.Helper()
	var out []string
	for _, bc := range barcodes {
		v, err := ix.Ticket(context.Background(), bc)
		if err != nil {
			out = append(out, bc+" "+gate.ErrorCode(err))
			continue
		}
		out = append(out, fmt.Sprintf("%s %+v", bc, v.Ticket))
	}
	return out
}

// sameStores checks that the stores answer every lookup of barcodes alike,
// hold the same imports and record the same changes.
func sameStores(t testing.TB, barcodes []string, apps ...*changeAppliance) {
	t.Helper()
	ctx := context.Background()
	want := ticketsOf(t, apps[0].ix, barcodes)
	wantChanges := changeList(t, apps[0].ix)
	wantImports := importList(t, apps[0].ix)
	for _, a := range apps[1:] {
		got := ticketsOf(t, a.ix, barcodes)
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%s and %s differ on ticket %d:\n%s\n%s", apps[0].id, a.id, i, want[i], got[i])
			}
		}
		if g := changeList(t, a.ix); !slices.Equal(g, wantChanges) {
			t.Fatalf("%s and %s record other changes:\n%s\n%s", apps[0].id, a.id, strings.Join(wantChanges, "\n"), strings.Join(g, "\n"))
		}
		if g := importList(t, a.ix); !slices.Equal(g, wantImports) {
			t.Fatalf("%s and %s hold other imports:\n%v\n%v", apps[0].id, a.id, wantImports, g)
		}
		ev1, _ := apps[0].ix.Events(ctx)
		ev2, _ := a.ix.Events(ctx)
		if !slices.Equal(ev1, ev2) {
			t.Fatalf("%s and %s hold other events: %v %v", apps[0].id, a.id, ev1, ev2)
		}
	}
}

func changeList(t testing.TB, ix *index.Index) []string {
	t.Helper()
	var out []string
	for after := uint64(0); ; {
		cs, err := ix.Changes(context.Background(), after, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(cs) == 0 {
			return out
		}
		for _, c := range cs {
			imp := ""
			if c.Import != nil {
				imp = fmt.Sprintf("%+v", *c.Import)
			}
			out = append(out, fmt.Sprintf("%d %s %s %s %s@%d %s", c.Seq, c.ID, c.Kind, c.By, c.Appliance, c.Position, imp))
		}
		after = cs[len(cs)-1].Seq
	}
}

func importList(t testing.TB, ix *index.Index) []string {
	t.Helper()
	recs, err := ix.Imports(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range recs {
		out = append(out, fmt.Sprintf("%d %s %s %d/%d/%d/%d %s %v %d", r.ID, r.Provider, r.By, r.Lines, r.Added, r.Updated,
			r.Rejected, r.Digest, r.WithdrawPending || !r.WithdrawnAt.IsZero(), r.Cancelled))
	}
	return out
}

// lines is an import file of barcodes, one a line.
func lines(barcodes ...string) string { return strings.Join(barcodes, "\n") + "\n" }

var derby = gate.Event{ID: "derby", Name: "Derby"}

// percentile returns the p-th percentile of ds (sorted in place).
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	return ds[min(len(ds)-1, int(float64(len(ds))*p))]
}
