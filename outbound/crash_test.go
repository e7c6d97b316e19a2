package outbound

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/index"
	"github.com/admitgate/admit/internal/testkit"
)

// The crash tests re-execute the test binary as a child that opens a real
// store in a temp dir, scans in the background and exports or posts; the
// parent kills it with SIGKILL at a chosen step (the child stops there and
// says so) or at a random moment, starts the next child on the same
// directories, and finally checks the files or what the receiver got
// against the journal.

const (
	childEnv  = "ADMIT_OUTBOUND_CHILD"
	dirEnv    = "ADMIT_OUTBOUND_DIR"
	outEnv    = "ADMIT_OUTBOUND_OUT"
	formatEnv = "ADMIT_OUTBOUND_FORMAT"
	stageEnv  = "ADMIT_OUTBOUND_STAGE"
	fromEnv   = "ADMIT_OUTBOUND_FROM"
	annulEnv  = "ADMIT_OUTBOUND_ANNUL"
	urlEnv    = "ADMIT_OUTBOUND_URL"
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		os.Exit(crashChild(mode))
	}
	os.Exit(m.Run())
}

// childScans is how many tickets each child scans (then it only delivers).
const childScans = 300

func crashChild(mode string) int {
	dir := os.Getenv(dirEnv)
	ix, err := index.Open(dir, indexOptions())
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		return 2
	}
	var mu sync.Mutex
	out := bufio.NewWriter(os.Stdout)
	say := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(out, format+"\n", args...)
		out.Flush()
	}
	stage := os.Getenv(stageEnv)
	opts := Options{Journal: ix, Tickets: ix, Appliance: "north", StateDir: filepath.Join(dir, "outbound"), Location: time.UTC,
		Head: func() uint64 { return ix.Stats().WrittenSeq }, Logger: testLogger(),
		hook: func(s string) {
			if s == stage {
				say("AT %s", s)
				select {} // wait for the kill
			}
		}}
	if err := os.MkdirAll(opts.StateDir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	from, _ := strconv.Atoi(os.Getenv(fromEnv))
	annul := os.Getenv(annulEnv) != ""
	scanning := func() {
		ctx := context.Background()
		for i := from; i < from+childScans; i++ {
			d := scanAsync(ix, i%testTickets, "north-1")
			if i%4 == 0 {
				scanAsync(ix, -i-1, "north-1")
			}
			if annul && d.Admit && i%5 == 0 {
				if _, err := ix.Annul(ctx, d.Seq, "crash"); err != nil {
					fmt.Fprintln(os.Stderr, "annul:", err)
					os.Exit(2)
				}
			}
		}
	}
	switch mode {
	case "export":
		s, err := New(opts, []Export{{Name: "k", Dir: os.Getenv(outEnv), Format: Format(os.Getenv(formatEnv))}}, nil)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		say("READY")
		go scanning()
		e := s.Exporters()[0]
		for {
			names, err := e.Export(context.Background())
			if err != nil {
				fmt.Fprintln(os.Stderr, "export:", err)
				return 2
			}
			for _, n := range names {
				say("EXPORTED %s", n)
			}
			time.Sleep(time.Millisecond) // pace: an export every millisecond or so
		}
	case "webhook":
		w := fastHook(os.Getenv(urlEnv))
		w.BatchSize = 5
		s, err := New(opts, nil, []Webhook{w})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		say("READY")
		go scanning()
		_ = s.Run(context.Background())
	}
	return 2
}

// runChild starts a child on the test's directories, calls kill with its
// output lines once it is ready, and kills it with SIGKILL when kill
// returns.
func runChild(t *testing.T, env []string, kill func(lines <-chan string)) {
	t.Helper()
	c := testkit.StartChild(t, env...)
	defer c.Kill()
	expect(t, c.Lines(), "READY", 1)
	kill(c.Lines())
}

// expect reads lines until n of them begin with prefix.
func expect(t *testing.T, lines <-chan string, prefix string, n int) {
	t.Helper()
	testkit.Expect(t, lines, prefix, n)
}

// randomMoment lets a child run a little longer, for a kill at a moment no
// step chose.
func randomMoment() { time.Sleep(time.Duration(rand.N(20_000)) * time.Microsecond) }

// Killed with SIGKILL at each step of publishing a file and at random
// moments while it scans and exports, the export's files, once a last
// export caught up, list every use once (an annulled one at most once, and
// then with its annulment), numbered and ranged without gaps; SecuTix files
// parse as admit's own import.
func TestKillDuringExport(t *testing.T) {
	for _, c := range []struct {
		format Format
		annul  bool
	}{{FormatSecutix, false}, {FormatJSONL, true}} {
		t.Run(string(c.format), func(t *testing.T) {
			ix, dir := seededIndex(t)
			if err := ix.Close(); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(t.TempDir(), "out")
			stages := []string{"export:temp-synced", "", "export:intent-saved", "export:renamed", ""}
			for r, stage := range stages {
				env := []string{childEnv + "=export", dirEnv + "=" + dir, outEnv + "=" + out, formatEnv + "=" + string(c.format),
					stageEnv + "=" + stage, fromEnv + "=" + strconv.Itoa(r*childScans)}
				if c.annul {
					env = append(env, annulEnv+"=1")
				}
				runChild(t, env, func(lines <-chan string) {
					if stage != "" {
						expect(t, lines, "AT "+stage, 1)
						return
					}
					expect(t, lines, "EXPORTED", 2)
					randomMoment()
				})
			}

			ix = openIndex(t, dir)
			cfg := []Export{{Name: "k", Dir: out, Format: c.format}}
			mustExport(t, newTestService(t, ix, filepath.Join(dir, "outbound"), cfg, nil, nil).Exporters()[0])
			es := journal(t, ix)
			files := exportFiles(t, out, "k", c.format.ext())
			if got, want := files[len(files)-1].to, es[len(es)-1].Seq; got != want {
				t.Fatalf("the files end at %d, the journal at %d", got, want)
			}
			t.Logf("%d files, %d journal entries, %d uses", len(files), len(es), len(uses(es)))
			if c.format == FormatSecutix {
				checkSecutixFiles(t, out, files, es)
			} else {
				checkRecordFiles(t, out, files, es)
			}
		})
	}
}

// checkSecutixFiles: every use's ticket is in exactly one file, and
// nothing else is (the tickets are used once each, no annulment).
func checkSecutixFiles(t *testing.T, out string, files []exportFile, es []gate.JournalEntry) {
	t.Helper()
	want := map[string]bool{}
	for _, bc := range uses(es) {
		want[bc] = true
	}
	seen := map[string]string{}
	for _, f := range files {
		for _, tk := range parseSecutix(t, filepath.Join(out, f.name)) {
			if prev, dup := seen[tk.Barcode]; dup {
				t.Errorf("%s is in %s and %s", tk.Barcode, prev, f.name)
			}
			seen[tk.Barcode] = f.name
			if !want[tk.Barcode] || !tk.UsedUpstream {
				t.Errorf("%s in %s is not a use of the journal", tk.Barcode, f.name)
			}
		}
	}
	if len(seen) != len(want) {
		t.Errorf("the files hold %d uses, the journal %d", len(seen), len(want))
	}
}

// checkRecordFiles: every use not annulled is in exactly one row; an
// annulled one in at most one, and then its annulment in exactly one.
func checkRecordFiles(t *testing.T, out string, files []exportFile, es []gate.JournalEntry) {
	t.Helper()
	useRows, annulRows := map[uint64]int{}, map[uint64]int{}
	for _, f := range files {
		for _, r := range readRecords(t, filepath.Join(out, f.name)) {
			seq, err := strconv.ParseUint(strings.TrimPrefix(r.ID, "north:"), 10, 64)
			if err != nil {
				t.Fatalf("id %q", r.ID)
			}
			switch r.Kind {
			case "use":
				useRows[seq]++
			case "annulment":
				u, err := strconv.ParseUint(strings.TrimPrefix(r.Annuls, "north:"), 10, 64)
				if err != nil || u >= seq {
					t.Fatalf("annulment %q annuls %q", r.ID, r.Annuls)
				}
				annulRows[u]++
			default:
				t.Fatalf("row kind %q", r.Kind)
			}
		}
	}
	annulled := 0
	for _, e := range es {
		if e.Kind != gate.KindDecision || !e.Decision.Admit || e.Decision.Reason != gate.ReasonOK {
			if useRows[e.Seq] > 0 {
				t.Errorf("entry %d (%s) is exported as a use", e.Seq, e.Decision.Reason)
			}
			continue
		}
		u, a := useRows[e.Seq], annulRows[e.Seq]
		delete(useRows, e.Seq)
		delete(annulRows, e.Seq)
		switch {
		case e.Annulled == 0 && (u != 1 || a != 0):
			t.Errorf("use %d: %d use rows, %d annulment rows; want 1 and 0", e.Seq, u, a)
		case e.Annulled != 0 && (u > 1 || a != u):
			t.Errorf("annulled use %d: %d use rows, %d annulment rows", e.Seq, u, a)
		case e.Annulled != 0:
			annulled++
		}
	}
	if len(useRows) != 0 || len(annulRows) != 0 {
		t.Errorf("rows of entries that are no use: %v %v", useRows, annulRows)
	}
	if annulled == 0 {
		t.Error("no use was annulled: the test did not test annulments")
	}
}

// Killed with SIGKILL while the receiver holds a batch, between the
// receiver's acknowledgement and the saved position, and at a random
// moment, the webhook delivers, once a last run caught up, every decision
// with its acknowledgement, any second copy with the same id and content.
func TestKillDuringWebhook(t *testing.T) {
	ix, dir := seededIndex(t)
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	blockAt := -1
	rec := newReceiver(t, testSecret, func(n int) action {
		mu.Lock()
		defer mu.Unlock()
		if n == blockAt {
			return block
		}
		return answerOK
	})
	requests := func() int {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		return rec.requests
	}
	for r, mode := range []string{"block", "webhook:acked", "random", "block", "webhook:acked"} {
		env := []string{childEnv + "=webhook", dirEnv + "=" + dir, urlEnv + "=" + rec.srv.URL, fromEnv + "=" + strconv.Itoa(r*childScans)}
		if strings.HasPrefix(mode, "webhook:") {
			env = append(env, stageEnv+"="+mode)
		}
		mu.Lock()
		if mode == "block" {
			blockAt = requests() + 1 + rand.N(4)
		}
		mu.Unlock()
		start := requests()
		runChild(t, env, func(lines <-chan string) {
			switch mode {
			case "block":
				select {
				case <-rec.blocked:
				case <-time.After(60 * time.Second):
					t.Fatal("no batch reached the receiver")
				}
			case "random":
				waitFor(t, "a few batches", func() bool { return requests() >= start+5 })
				randomMoment()
			default:
				expect(t, lines, "AT "+mode, 1)
			}
		})
	}

	ix = openIndex(t, dir)
	s := newTestService(t, ix, filepath.Join(dir, "outbound"), nil, []Webhook{fastHook(rec.srv.URL)}, nil)
	runService(t, s)
	es := journal(t, ix)
	waitFor(t, "the webhook to catch up", caughtUp(s, ix, es[len(es)-1].Seq))
	dups := rec.check(t, journal(t, ix), func(*gate.JournalEntry) bool { return true })
	if dups == 0 {
		t.Error("no batch came twice, though the child was killed between acknowledgement and saving")
	}
	t.Logf("%d journal entries, %d requests, %d second copies", len(es), requests(), dups)
}
