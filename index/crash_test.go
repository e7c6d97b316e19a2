package index

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/internal/testkit"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// The crash tests re-execute the test binary as a child that works on a real
// directory and reports each admit as Scan returns it; the parent kills it
// with SIGKILL at a random moment, reopens the store and checks.

const crashEnv = "ADMIT_INDEX_CRASH_CHILD"

func TestMain(m *testing.M) {
	if mode := os.Getenv(crashEnv); mode != "" {
		os.Exit(crashChild(mode, os.Getenv("ADMIT_INDEX_CRASH_DIR")))
	}
	os.Exit(m.Run())
}

func crashOptions() *Options {
	o := testOptions(vfs.Default)
	o.ImportBatchLines = 1000 // the import child ingests SSTables
	return o
}

func crashChild(mode, dir string) int {
	ix, err := Open(dir, crashOptions())
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		return 2
	}
	out := bufio.NewWriter(os.Stdout)
	ctx := context.Background()
	switch mode {
	case "zones":
		return zonesCrashChild(ix, out) // zones_crash_test.go
	case "scan":
		fmt.Fprintln(out, "READY")
		out.Flush()
		for i := 0; ; i++ {
			bc := fmt.Sprintf("K%05d", i%crashTickets)
			d := ix.Scan(ctx, gate.Scan{Barcode: bc, Lane: "l", Direction: gate.In, At: during})
			if d.Reason == gate.ReasonOK {
				fmt.Fprintf(out, "ADMIT %s %d\n", bc, d.Seq)
				out.Flush()
			}
		}
	case "import":
		fmt.Fprintln(out, "READY")
		out.Flush()
		for round := 0; ; round++ {
			var ts []gate.Ticket
			for i := range crashImport {
				ts = append(ts, tk(fmt.Sprintf("G%03d-%05d", round, i), "derby"))
			}
			res, err := ix.Load(ctx, gate.ImportRequest{Provider: "p1"}, gate.Lines(ts...))
			if err != nil {
				fmt.Fprintln(os.Stderr, "load:", err)
				return 2
			}
			fmt.Fprintf(out, "IMPORT %d\n", res.ID)
			out.Flush()
		}
	case "withdraw":
		imps, err := ix.Imports(ctx)
		if err != nil || len(imps) == 0 {
			fmt.Fprintln(os.Stderr, "imports:", imps, err)
			return 2
		}
		fmt.Fprintln(out, "READY")
		out.Flush()
		start := time.Now()
		rec, err := ix.Withdraw(ctx, imps[0].ID, "crash")
		if err != nil {
			fmt.Fprintln(os.Stderr, "withdraw:", err)
			return 2
		}
		fmt.Fprintf(out, "WITHDRAWN %d in %v\n", rec.Cancelled, time.Since(start))
		out.Flush()
		select {} // wait for the kill
	}
	return 2
}

const (
	crashTickets  = 3000
	crashImport   = 5000
	crashWithdraw = 4000
)

func runChild(t *testing.T, mode, dir string, kill func(lines <-chan string)) []string {
	t.Helper()
	c := testkit.StartChild(t, crashEnv+"="+mode, "ADMIT_INDEX_CRASH_DIR="+dir)
	if l := testkit.Recv(t, c.Lines(), testkit.ExpectTimeout, "line from the child"); l != "READY" {
		t.Fatalf("child said %q", l)
	}
	kill(c.Lines())
	return c.Kill()
}

// TestCrashAdmitsSurvive: every admit a child reported before SIGKILL is
// redeemed after reopening, and the journal stays gapless.
func TestCrashAdmitsSurvive(t *testing.T) {
	dir := t.TempDir()
	ix, err := Open(dir, crashOptions())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ix.PutEvent(context.Background(), derby); err != nil {
		t.Fatal(err)
	}
	var ts []gate.Ticket
	for i := range crashTickets {
		ts = append(ts, tk(fmt.Sprintf("K%05d", i), "derby"))
	}
	load(t, ix, ts...)
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	runs := 8
	if testing.Short() {
		runs = 3
	}
	reported := map[string]uint64{}
	for run := range runs {
		wait := time.Duration(20+rand.IntN(150)) * time.Millisecond
		var admits []string
		runChild(t, "scan", dir, func(lines <-chan string) { admits = testkit.Collect(lines, wait) })
		for _, l := range admits {
			f := strings.Fields(l)
			seq, _ := strconv.ParseUint(f[2], 10, 64)
			reported[f[1]] = seq
		}
		ix, err := Open(dir, crashOptions())
		if err != nil {
			t.Fatalf("run %d: reopen: %v", run, err)
		}
		for bc, seq := range reported {
			v, err := ix.Ticket(context.Background(), bc)
			if err != nil {
				t.Fatal(err)
			}
			if len(v.Redemptions) != 1 || v.Redemptions[0].Admissions != 1 || v.Redemptions[0].First.Seq != seq {
				t.Fatalf("run %d: %s reported admitted at seq %d, stored %+v", run, bc, seq, v.Redemptions)
			}
		}
		es := allEntries(t, ix)
		for i, e := range es {
			if e.Seq != uint64(i+1) {
				t.Fatalf("run %d: journal gap at %d (seq %d)", run, i+1, e.Seq)
			}
		}
		for bc, seq := range reported {
			if e := es[seq-1]; e.Kind != gate.KindDecision || e.Decision.Reason != gate.ReasonOK || e.Decision.Barcode != bc {
				t.Fatalf("run %d: entry %d = %+v, want the admit of %s", run, seq, e, bc)
			}
		}
		checkCounters(t, ix)
		if err := ix.Close(); err != nil {
			t.Fatal(err)
		}
		t.Logf("run %d: killed after %v, %d admits reported, %d journal entries", run, wait, len(admits), len(es))
	}
	if len(reported) == 0 {
		t.Fatal("no child reported an admit: the test proved nothing")
	}
}

// TestCrashImportAtomic: an import killed at any moment is entirely there or
// entirely absent after reopening.
func TestCrashImportAtomic(t *testing.T) {
	dir := t.TempDir()
	ix, err := Open(dir, crashOptions())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ix.PutEvent(context.Background(), derby); err != nil {
		t.Fatal(err)
	}
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	runs := 6
	if testing.Short() {
		runs = 2
	}
	for run := range runs {
		wait := time.Duration(30+rand.IntN(300)) * time.Millisecond
		runChild(t, "import", dir, func(lines <-chan string) { testkit.Collect(lines, wait) })
		ix, err := Open(dir, crashOptions())
		if err != nil {
			t.Fatalf("run %d: reopen: %v", run, err)
		}
		imps, err := ix.Imports(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		// Each import adds one round's tickets; count tickets per round.
		rounds := map[string]int{}
		if err := ix.iterPrefix([]byte{prefixTicket}, func(k, v []byte) error {
			rounds[string(k[1:5])]++
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		total := 0
		for r, n := range rounds {
			if n != crashImport {
				t.Fatalf("run %d: round %s has %d of %d tickets: a partial import", run, r, n, crashImport)
			}
			total += n
		}
		if int64(total) != ix.Stats().Tickets {
			t.Fatalf("run %d: %d tickets stored, meta says %d", run, total, ix.Stats().Tickets)
		}
		added := 0
		for _, im := range imps {
			added += im.Added
		}
		if added != total {
			t.Fatalf("run %d: import records add up to %d, %d stored", run, added, total)
		}
		// Every stored barcode passes the bloom filter.
		for r := range rounds {
			if d := scanAt(ix, r+"-00007", during); d.Reason != gate.ReasonOK && d.Reason != gate.ReasonAlreadyUsed {
				t.Fatalf("run %d: %s-00007: %s", run, r, d.Reason)
			}
		}
		if err := ix.Close(); err != nil {
			t.Fatal(err)
		}
		t.Logf("run %d: killed after %v, %d imports whole", run, wait, len(imps))
	}
}

// TestCrashWithdrawWhole: a withdrawal killed at any moment is, once the
// store reopens, either not begun (no ticket of the import cancelled) or
// whole (every ticket cancelled, the record withdrawn, the count exact):
// Open finishes one that was cut short.
func TestCrashWithdrawWhole(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	runs := 8
	if testing.Short() {
		runs = 3
	}
	outcomes := map[string]int{}
	for run := range runs {
		ix, err := Open(dir, crashOptions())
		if err != nil {
			t.Fatal(err)
		}
		if run == 0 {
			if _, err := ix.PutEvent(ctx, derby); err != nil {
				t.Fatal(err)
			}
		}
		prefix := fmt.Sprintf("W%02d-", run)
		var ts []gate.Ticket
		for i := range crashWithdraw {
			ts = append(ts, tk(fmt.Sprintf("%s%05d", prefix, i), "derby"))
		}
		res := load(t, ix, ts...)
		if err := ix.Close(); err != nil {
			t.Fatal(err)
		}

		wait := time.Duration(rand.IntN(30_000)) * time.Microsecond
		var said []string
		runChild(t, "withdraw", dir, func(lines <-chan string) { said = testkit.Collect(lines, wait) })

		ix, err = Open(dir, crashOptions())
		if err != nil {
			t.Fatalf("run %d: reopen: %v", run, err)
		}
		imps, err := ix.Imports(ctx)
		if err != nil {
			t.Fatal(err)
		}
		rec := imps[0]
		if rec.ID != res.ID {
			t.Fatalf("run %d: newest import %d, want %d", run, rec.ID, res.ID)
		}
		cancelled := 0
		for i := range crashWithdraw {
			v, err := ix.Ticket(ctx, fmt.Sprintf("%s%05d", prefix, i))
			if err != nil {
				t.Fatal(err)
			}
			if v.State == gate.StateCancelled {
				cancelled++
			}
		}
		outcome := "whole"
		switch {
		case rec.WithdrawPending:
			t.Fatalf("run %d: still pending after Open: %+v", run, rec)
		case rec.WithdrawnAt.IsZero():
			outcome = "not begun"
			if cancelled != 0 || rec.Cancelled != 0 {
				t.Fatalf("run %d: not withdrawn, yet %d tickets cancelled (record %+v)", run, cancelled, rec)
			}
		case cancelled != crashWithdraw || rec.Cancelled != crashWithdraw:
			t.Fatalf("run %d: withdrawn with %d of %d tickets cancelled (record says %d)", run, cancelled, crashWithdraw, rec.Cancelled)
		}
		outcomes[outcome]++
		checkCounters(t, ix)
		if err := ix.Close(); err != nil {
			t.Fatal(err)
		}
		t.Logf("run %d: killed after %v: %s (child said %q)", run, wait, outcome, said)
	}
	t.Logf("outcomes: %v", outcomes)
}
