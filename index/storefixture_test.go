package index

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// storeFixture names the store fixture this code writes with -update, under
// testdata/stores: a whole data directory (Pebble's files, the bloom
// snapshot) written by a fixed workload, and beside it what the store holds
// (<name>.txt). TestStoreFixtures opens every fixture there and compares.
// When the on-disk format changes, give storeFixture a new name and run
// `go test ./index -run TestStoreFixtures -update`: the old fixtures stay,
// and must still open.
const storeFixture = "2026-12-venue" // format 4: venue, signed codes, zones, changes (formatversion.go)

// TestStoreFixtures: every store an earlier admit wrote (testdata/stores)
// opens, holds what it held (tickets, redemptions, journal, imports,
// catalog, reports), and takes new scans and imports.
func TestStoreFixtures(t *testing.T) {
	dir := filepath.Join("testdata", "stores")
	if *update {
		if _, err := os.Stat(filepath.Join(dir, storeFixture)); os.IsNotExist(err) {
			writeStoreFixture(t, dir, storeFixture)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		n++
		t.Run(e.Name(), func(t *testing.T) {
			want, err := os.ReadFile(filepath.Join(dir, e.Name()+".txt"))
			if err != nil {
				t.Fatal(err)
			}
			fs := vfs.NewMem()
			copyIn(t, filepath.Join(dir, e.Name()), fs, "data")
			ix := openFS(t, fs)
			if got := describeStore(t, ix); got != string(want) {
				t.Fatalf("the store holds\n%s\nwant (%s.txt)\n%s", got, e.Name(), want)
			}
			// It takes new scans and imports.
			if d := scanAt(ix, "FX-E", during); d.Reason != gate.ReasonOK {
				t.Fatalf("FX-E in the old store: %+v", d)
			}
			if d := scanAt(ix, "FX-A", during); d.Reason != gate.ReasonAlreadyUsed {
				t.Fatalf("FX-A in the old store: %+v", d)
			}
			fresh := tk("FX-NEW", "derby")
			fresh.Provider = "box-office"
			res, err := ix.Load(context.Background(), gate.ImportRequest{Provider: "box-office", Source: "test"}, gate.Lines(fresh))
			if err != nil || res.Added != 1 {
				t.Fatalf("import into the old store: %+v %v", res, err)
			}
			checkCounters(t, ix)
		})
	}
	if n == 0 {
		t.Fatal("no store fixture in testdata/stores (create one with -update)")
	}
}

// writeStoreFixture runs the fixture's workload on a fresh store, closes it
// and copies its data directory to dir/name, and what it holds to
// dir/name.txt.
func writeStoreFixture(t *testing.T, dir, name string) {
	ctx := context.Background()
	fs := vfs.NewMem()
	ix := openFS(t, fs)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err := ix.PutProvider(ctx, gate.Provider{ID: "secutix-main", Name: "SecuTix (main)"})
	must(err)
	for _, e := range []gate.Event{derby, fest, cup} {
		_, err := ix.PutEvent(ctx, e)
		must(err)
	}
	ticket := func(barcode string, events ...string) gate.Ticket {
		tk := tk(barcode, events...)
		tk.Provider = "secutix-main"
		tk.Holder, tk.Order, tk.Price = "Holder "+barcode, "ORD-1", "45.00"
		tk.Product = gate.Code{Code: "MATCH", Name: "Match day"}
		return tk
	}
	season := ticket("FX-S")
	season.Events, season.Period = nil, gate.Period{From: t0.Add(-24 * time.Hour), Until: t0.Add(30 * 24 * time.Hour)}
	season.PriceType = gate.Code{Code: "SEASON", Name: "Season"}
	imp := func(tickets ...gate.Ticket) {
		t.Helper()
		_, err := ix.Load(ctx, gate.ImportRequest{Provider: "secutix-main", Source: "fixture", By: "admin"}, gate.Lines(tickets...))
		must(err)
	}
	imp(ticket("FX-A", "derby"), ticket("FX-B", "derby"), ticket("FX-C", "derby", "fest"), ticket("FX-D", "fest"),
		ticket("FX-E", "derby"), season)
	must(ix.db.Flush()) // the fixture holds tables as well as a WAL
	cancelled := ticket("FX-B", "derby")
	cancelled.State = gate.StateCancelled
	imp(cancelled, ticket("FX-F", "cup"))
	imp(ticket("FX-W1", "derby"), ticket("FX-W2", "derby"))
	scan := func(barcode string, dir gate.Direction, at time.Duration, nonce string) gate.Decision {
		return ix.Scan(ctx, gate.Scan{Barcode: barcode, Lane: "north-1", Direction: dir, At: t0.Add(at), Nonce: nonce, Source: "fixture"})
	}
	scan("FX-A", gate.In, time.Hour, "n-1")
	scan("FX-A", gate.In, time.Hour+time.Minute, "")
	scan("FX-B", gate.In, time.Hour+2*time.Minute, "")
	scan("nope", gate.In, time.Hour+3*time.Minute, "")
	scan("FX-D", gate.In, time.Hour+4*time.Minute, "")
	scan("FX-D", gate.Out, time.Hour+5*time.Minute, "")
	scan("FX-D", gate.In, time.Hour+6*time.Minute, "")
	scan("FX-S", gate.In, time.Hour+7*time.Minute, "")
	annul := scan("FX-C", gate.In, time.Hour+8*time.Minute, "")
	_, err = ix.Annul(ctx, annul.Seq, "admin")
	must(err)
	_, err = ix.Reissue(ctx, "FX-C", "FX-C2", "admin")
	must(err)
	_, err = ix.Block(ctx, "FX-F", "admin")
	must(err)
	imports, err := ix.Imports(ctx)
	must(err)
	_, err = ix.Withdraw(ctx, imports[0].ID, "admin")
	must(err)
	waitWritten(t, ix)
	must(ix.Close())

	dst := filepath.Join(dir, name)
	copyOut(t, fs, "data", dst)
	check := vfs.NewMem()
	copyIn(t, dst, check, "data")
	reopened := openFS(t, check)
	must(os.WriteFile(dst+".txt", []byte(describeStore(t, reopened)), 0o644))
}

// describeStore describes everything a store holds, in a stable order.
func describeStore(t *testing.T, ix *Index) string {
	t.Helper()
	ctx := context.Background()
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	providers, err := ix.Providers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, pr := range providers {
		p("provider %s %q", pr.ID, pr.Name)
	}
	events, err := ix.Events(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range events {
		// The fields of the first event record, as the fixtures were
		// described; those of later versions when set.
		p("event {ID:%s Name:%s OpensAt:%v ClosesAt:%v Reentry:%v Entries:%d}%s", e.ID, e.Name, e.OpensAt, e.ClosesAt, e.Reentry, e.Entries, eventV2(e))
	}
	imports, err := ix.Imports(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range imports {
		r.At = time.Time{} // written at the fixture's making: not a fixed time
		p("import %+v", r)
	}
	var barcodes []string
	if err := ix.iterPrefix([]byte{prefixTicket}, func(k, _ []byte) error {
		barcodes = append(barcodes, string(k[1:]))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, bc := range barcodes {
		v, err := ix.Ticket(ctx, bc)
		if err != nil {
			t.Fatal(err)
		}
		var seqs []uint64
		for _, h := range v.History {
			seqs = append(seqs, h.Seq)
		}
		p("ticket %+v history %v%s", fixtureTicketView(v), seqs, laterRedemptionFields(v.Redemptions))
		d := ix.Check(ctx, gate.Scan{Barcode: bc, Lane: "south-1", Direction: gate.In, At: during})
		p("  check at +1h: %s %s", d.Reason, d.Event)
	}
	for _, e := range allEntries(t, ix) {
		d := e.Decision
		if d.Ticket != nil {
			p("journal %d %s %s admit=%t %s %s %s %s event=%s ticket=%+v first=%+v nonce=%s source=%s annulled=%d by=%s %q",
				e.Seq, e.Kind, d.At.Sub(t0), d.Admit, d.Reason, d.Barcode, d.Lane, d.Direction, d.Event, *d.Ticket, d.FirstUsed,
				e.Nonce, e.Source, e.Annulled, e.By, d.Detail)
		} else {
			p("journal %d %s %s admit=%t %s %s %s event=%s nonce=%s annulled=%d by=%s %q",
				e.Seq, e.Kind, d.At.Sub(t0), d.Admit, d.Reason, d.Barcode, d.Lane, d.Event, e.Nonce, e.Annulled, e.By, d.Detail)
		}
	}
	for _, e := range events {
		rep, err := ix.Report(ctx, e.ID, during)
		if err != nil {
			t.Fatal(err)
		}
		p("report %s total %+v", e.ID, rep.Total)
		for _, r := range rep.Rows {
			p("  row %+v", r)
		}
		for _, r := range slices.Sorted(func(yield func(gate.Reason) bool) {
			for r := range rep.Denials {
				if !yield(r) {
					return
				}
			}
		}) {
			p("  denied %s %d", r, rep.Denials[r])
		}
		for _, m := range rep.Minutes {
			p("  minute %s entries %d exits %d", m.Minute.Sub(t0), m.Entries, m.Exits)
		}
	}
	st := ix.Stats()
	p("tickets %d imports %d last seq %d", st.Tickets, st.Imports, st.LastSeq)
	return b.String()
}

// copyOut copies the directory src of fs to dst on the disk.
func copyOut(t *testing.T, fs vfs.FS, src, dst string) {
	t.Helper()
	names, err := fs.List(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		from := fs.PathJoin(src, name)
		st, err := fs.Stat(from)
		if err != nil {
			t.Fatal(err)
		}
		if st.IsDir() {
			copyOut(t, fs, from, filepath.Join(dst, name))
			continue
		}
		f, err := fs.Open(from)
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(f)
		_ = f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// copyIn copies the directory src on the disk to dst in fs.
func copyIn(t *testing.T, src string, fs vfs.FS, dst string) {
	t.Helper()
	if err := fs.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		from, to := filepath.Join(src, e.Name()), fs.PathJoin(dst, e.Name())
		if e.IsDir() {
			copyIn(t, from, fs, to)
			continue
		}
		data, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, fs, to, data)
	}
}

// fixtureTicket is a TicketView as the store fixtures' text shows it: the
// redemptions with the fields of their version 1, so that a fixture written
// before a field was added reads the same (laterRedemptionFields shows the
// later ones, when set).
type fixtureTicket struct {
	Ticket      gate.Ticket
	Redemptions []fixtureRedemption
	History     []gate.JournalEntry
}

type fixtureRedemption struct {
	Event      string
	Admissions int
	Reentries  int
	Exits      int
	Inside     bool
	First      gate.Movement
	Last       gate.Movement
}

func fixtureTicketView(v gate.TicketView) fixtureTicket {
	out := fixtureTicket{Ticket: v.Ticket, Redemptions: []fixtureRedemption{}, History: []gate.JournalEntry{}}
	for _, r := range v.Redemptions {
		out.Redemptions = append(out.Redemptions, fixtureRedemption{r.Event, r.Admissions, r.Reentries, r.Exits, r.Inside, r.First, r.Last})
	}
	return out
}

// laterRedemptionFields shows the fields redemptions gained after version 1
// (entry times, the hub revision) where they are set.
func laterRedemptionFields(rs []gate.Redemption) string {
	var b strings.Builder
	for _, r := range rs {
		if len(r.Entries) > 0 || r.Revision != 0 {
			fmt.Fprintf(&b, " %s:entries=%v,revision=%d", r.Event, r.Entries, r.Revision)
		}
	}
	return b.String()
}

// eventV2 describes an event's fields of record version 2, "" when unset.
func eventV2(e gate.Event) string {
	if e.TimeZone == "" && e.StartsAt.IsZero() && e.EndsAt.IsZero() && e.Rule == "" {
		return ""
	}
	return fmt.Sprintf(" time_zone=%s starts_at=%v ends_at=%v rule=%s", e.TimeZone, e.StartsAt, e.EndsAt, e.Rule)
}
