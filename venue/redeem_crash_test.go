package venue_test

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/index"
	"github.com/admitgate/admit/venue"
	"github.com/admitgate/admit/venue/hubtest"
)

// The crash test re-executes the test binary as an appliance that scans
// until it kills itself (SIGKILL) between the hub's acknowledgement of a
// claim and the local commit; the parent restarts the appliance on its
// store and checks.

const (
	crashEnv     = "ADMIT_VENUE_CRASH_CHILD"
	crashTickets = 200
)

func TestMain(m *testing.M) {
	if os.Getenv(crashEnv) != "" {
		os.Exit(crashChild())
	}
	os.Exit(m.Run())
}

// crashChild is the appliance north on the store in ADMIT_VENUE_CRASH_DIR,
// linked to the hub at ADMIT_VENUE_CRASH_URL. It prints READY, then ADMIT
// <barcode> <seq> for every admission it answers, and PHANTOM <ticket> just
// before it kills itself at the ADMIT_VENUE_CRASH_AT-th acknowledged claim.
func crashChild() int {
	at, _ := strconv.Atoi(os.Getenv("ADMIT_VENUE_CRASH_AT"))
	out := bufio.NewWriter(os.Stdout)
	ix, err := index.Open(os.Getenv("ADMIT_VENUE_CRASH_DIR"), indexOptions("north", vfs.Default))
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		return 2
	}
	ctx := context.Background()
	link, err := venue.Open(ctx, venue.LinkConfig{Appliance: "north", URLs: []string{os.Getenv("ADMIT_VENUE_CRASH_URL")},
		PasswordFile: os.Getenv("ADMIT_VENUE_CRASH_PASSWORD"), Layout: venue.Layout{Replicas: 1, Create: true},
		ConnectTimeout: 20 * time.Second, ClaimTimeout: 5 * time.Second, PingInterval: 500 * time.Millisecond,
		ReconnectWait: 20 * time.Millisecond, MaxReconnectWait: 250 * time.Millisecond, Heartbeat: 500 * time.Millisecond}, testLogger())
	if err != nil {
		fmt.Fprintln(os.Stderr, "link:", err)
		return 2
	}
	red := venue.NewRedeemer(link, ix, venue.RedeemerConfig{Logger: testLogger()})
	var won atomic.Int64
	venue.SetAfterClaim(red, func(c *gate.Claim) {
		if won.Add(1) == int64(at) {
			fmt.Fprintf(out, "PHANTOM %s\n", c.Ticket)
			out.Flush()
			_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {}
		}
	})
	if err := ix.UseVenue(red); err != nil {
		fmt.Fprintln(os.Stderr, "venue:", err)
		return 2
	}
	red.Start()
	fmt.Fprintln(out, "READY")
	out.Flush()
	for i := 0; ; i++ {
		bc := fmt.Sprintf("K%04d", i%crashTickets)
		d := ix.Scan(ctx, gate.Scan{Barcode: bc, Lane: "north-1", Direction: gate.In})
		if d.Reason == gate.ReasonOK {
			fmt.Fprintf(out, "ADMIT %s %d\n", bc, d.Seq)
			out.Flush()
		}
	}
}

// TestVenueKilledBetweenAckAndCommit: an appliance killed between the hub's
// acknowledgement of a claim and its local commit loses none of the
// admissions it answered (each is redeemed in its store and at the hub),
// and after its restart the claim it never answered is released, so that
// guest can enter.
func TestVenueKilledBetweenAckAndCommit(t *testing.T) {
	c := hubtest.StartCluster(t, 1)
	dir := t.TempDir()
	ts := tickets("K", crashTickets, "match")
	a := &appliance{t: t, id: "north", fs: vfs.Default, dir: dir, cfg: c.LinkConfig("north"), opts: indexOptions("north", vfs.Default)}
	a.openIndex()
	ctx := context.Background()
	if _, err := a.ix.PutEvent(ctx, match); err != nil {
		t.Fatal(err)
	}
	if _, err := a.ix.Load(ctx, gate.ImportRequest{Provider: "p1", Source: "test"}, gate.Lines(ts...)); err != nil {
		t.Fatal(err)
	}
	if err := a.ix.Close(); err != nil {
		t.Fatal(err)
	}
	a.ix = nil

	at := 5 + rand.IntN(40)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashEnv+"=1", "ADMIT_VENUE_CRASH_DIR="+dir, "ADMIT_VENUE_CRASH_URL="+c.Node(0).URL(),
		"ADMIT_VENUE_CRASH_PASSWORD="+c.PasswordFile("north"), "ADMIT_VENUE_CRASH_AT="+strconv.Itoa(at))
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Every line is read before Wait, which closes the pipe.
	read := make(chan []string, 1)
	go func() {
		var lines []string
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines = append(lines, sc.Text())
		}
		read <- lines
	}()
	var lines []string
	select {
	case lines = <-read:
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatal("the child did not end")
	}
	err = cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("the child ended with %v, not killed; it said %q", err, lines)
	}
	admitted := map[string]uint64{}
	phantom := ""
	for _, l := range lines {
		f := strings.Fields(l)
		switch {
		case len(f) == 3 && f[0] == "ADMIT":
			seq, _ := strconv.ParseUint(f[2], 10, 64)
			admitted[f[1]] = seq
		case len(f) == 2 && f[0] == "PHANTOM":
			phantom = f[1]
		}
	}
	if len(admitted) != at-1 || phantom == "" {
		t.Fatalf("the child answered %d admissions and named phantom %q; it was to die at claim %d; it said %q", len(admitted), phantom, at, lines)
	}

	a.openIndex()
	a.connect()
	t.Cleanup(a.close)
	eventually(t, 30*time.Second, "the phantom claim is released", func() bool { return a.red.Status().Released == 1 })
	_, js := c.Admin()
	for bc, seq := range admitted {
		r := a.used(bc, "match")
		rec := hubRecord(t, js, "match", bc)
		if r.Admissions != 1 || r.First.Seq != seq || r.Revision == 0 || rec == nil || rec.Redemption.Admissions != 1 ||
			rec.Redemption.First.Seq != seq || rec.Redemption.First.Appliance != "north" {
			t.Fatalf("%s answered admitted at seq %d: the store holds %+v, the hub %+v", bc, seq, r, rec)
		}
	}
	if rec := hubRecord(t, js, "match", phantom); rec == nil || rec.Redemption.Admissions != 0 || rec.Prev == nil || rec.Prev.Admissions != 1 {
		t.Fatalf("the hub holds %+v for the phantom %s", rec, phantom)
	}
	if d := a.in(phantom); d.Reason != gate.ReasonOK {
		t.Fatalf("the guest never answered, scanned again: %s %s", d.Reason, d.Detail)
	}
}
