package venue_test

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/importfile"
	"github.com/admitgate/admit/index"
	"github.com/admitgate/admit/venue"
	"github.com/admitgate/admit/venue/hubtest"
)

// The crash test re-executes the test binary as an appliance (north) whose
// applier imports a file from the hub; the parent kills it with SIGKILL
// while it does, starts it again, and checks that every import is whole,
// once. The child is chosen in init, not TestMain, so the package keeps
// one TestMain for whoever needs it.

const changeChildEnv = "ADMIT_VENUE_CHANGES_CHILD"

func init() {
	if os.Getenv(changeChildEnv) != "" {
		os.Exit(changeChild())
	}
}

func changeChild() int {
	dir, id := os.Getenv("ADMIT_VENUE_DIR"), os.Getenv(changeChildEnv)
	o := changeIndexOptions(id)
	o.ImportBatchLines = 1000 // the import is ingested as tables
	ix, err := index.Open(dir, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		return 2
	}
	cfg := venue.LinkConfig{Appliance: id, URLs: strings.Split(os.Getenv("ADMIT_VENUE_URLS"), ","),
		PasswordFile: os.Getenv("ADMIT_VENUE_PASSWORD_FILE"), Layout: venue.Layout{Replicas: 1},
		ConnectTimeout: 20 * time.Second, PingInterval: 500 * time.Millisecond, ReconnectWait: 20 * time.Millisecond,
		MaxReconnectWait: 250 * time.Millisecond, Heartbeat: 500 * time.Millisecond}
	link, err := venue.Open(context.Background(), cfg, zerolog.Nop())
	if err != nil {
		fmt.Fprintln(os.Stderr, "link:", err)
		return 2
	}
	app, err := venue.StartApplier(venue.ApplierConfig{Link: link, Store: ix, Importer: importfile.NewService(ix, zerolog.Nop(), nil),
		TempDir: dir, ProbeInterval: 50 * time.Millisecond, RetryWait: 20 * time.Millisecond})
	if err != nil {
		fmt.Fprintln(os.Stderr, "applier:", err)
		return 2
	}
	out := bufio.NewWriter(os.Stdout)
	fmt.Fprintln(out, "READY")
	out.Flush()
	var applying bool
	applied := app.Applied()
	for {
		st := app.Status()
		if now := strings.HasPrefix(st.Applying, "import"); now && !applying {
			fmt.Fprintln(out, "APPLYING", st.Applying)
			out.Flush()
			applying = true
		} else if !now {
			applying = false
		}
		if st.Applied != applied {
			applied = st.Applied
			fmt.Fprintln(out, "APPLIED", applied)
			out.Flush()
		}
		time.Sleep(time.Millisecond)
	}
}

// runChangeChild runs the child on dir until kill returns, then kills it.
func runChangeChild(t *testing.T, c *hubtest.Cluster, dir string, kill func(lines <-chan string)) []string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), changeChildEnv+"=north", "ADMIT_VENUE_DIR="+dir,
		"ADMIT_VENUE_URLS="+strings.Join(c.URLs(), ","), "ADMIT_VENUE_PASSWORD_FILE="+c.PasswordFile("north"))
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1<<12)
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	select {
	case l := <-lines:
		if l != "READY" {
			_ = cmd.Process.Kill()
			t.Fatalf("child said %q", l)
		}
	case <-time.After(time.Minute):
		_ = cmd.Process.Kill()
		t.Fatal("the child did not start")
	}
	kill(lines)
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-done
	_ = cmd.Wait()
	var rest []string
	for l := range lines {
		rest = append(rest, l)
	}
	return rest
}

// TestKillDuringAnImportFromTheHub: an appliance killed (SIGKILL) while it
// imports a file from the hub has the import whole, once, after it starts
// again — whatever moment the kill met.
func TestKillDuringAnImportFromTheHub(t *testing.T) {
	c := hubtest.StartCluster(t, 1)
	south := startAppliance(t, c, "south", "")
	setUp(t, south, 10)
	dir := filepath.Join(t.TempDir(), "north")
	rounds, size := 3, 40000
	if testing.Short() || changesRace {
		rounds, size = 2, 4000
	}
	var all []string
	// The kill comes at a random moment after the child began the import;
	// each kill that came after the import's commit makes the next come
	// sooner, and the rounds go on (a few at most) until one came in the
	// middle.
	maxDelay, middle := 150*time.Millisecond, 0
	for round := 0; round < rounds || middle == 0 && round < rounds+4; round++ {
		var bcs []string
		for i := range size {
			bcs = append(bcs, fmt.Sprintf("K%d-%06d", round, i))
		}
		all = append(all, bcs...)
		published := make(chan error, 1)
		rest := runChangeChild(t, c, dir, func(out <-chan string) {
			go func() {
				_, err := south.pub.Import(context.Background(), gate.ImportRequest{Provider: "box", Event: "derby",
					Source: fmt.Sprintf("round-%d", round), By: "ops"}, strings.NewReader(lines(bcs...)))
				published <- err
			}()
			deadline := time.After(2 * time.Minute)
			for {
				select {
				case l, ok := <-out:
					if !ok {
						t.Fatal("the child ended")
					}
					if strings.HasPrefix(l, "APPLYING import") {
						// Somewhere in the import: reading the file, the
						// merge, the ingest.
						time.Sleep(time.Duration(rand.Int64N(int64(maxDelay))))
						return
					}
				case <-deadline:
					t.Fatal("the child never began the import")
				}
			}
		})
		if err := <-published; err != nil {
			t.Fatalf("round %d: import at south: %v", round, err)
		}
		when := "in the middle of the import"
		for _, l := range rest {
			if strings.HasPrefix(l, "APPLIED") {
				when = "after the import was committed"
			}
		}
		if when == "after the import was committed" {
			maxDelay = max(maxDelay/2, time.Millisecond)
		} else {
			middle++
		}
		t.Logf("round %d: killed %s", round, when)
	}
	north := startAppliance(t, c, "north", dir)
	north.caughtUp(lastPosition(t, c))
	sameStores(t, all, south, north)
	imports := importList(t, north.ix)
	if len(imports) != len(importList(t, south.ix)) {
		t.Fatalf("north holds %d imports, south %d: %v", len(imports), len(importList(t, south.ix)), imports)
	}
	var n int
	for _, bc := range all {
		if v, err := north.ix.Ticket(context.Background(), bc); err == nil && v.State == gate.StateValid {
			n++
		}
	}
	if n != len(all) {
		t.Fatalf("north holds %d of the %d imported tickets", n, len(all))
	}
}
