package index

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/internal/testkit"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
)

// heldWriter holds the journal writer before each write until released.
type heldWriter struct {
	mu      sync.Mutex
	held    bool
	entered chan struct{} // a write is being held
	release chan struct{} // closed to let every held write go
}

func newHeldWriter() *heldWriter {
	return &heldWriter{held: true, entered: make(chan struct{}, 1), release: make(chan struct{})}
}

func (h *heldWriter) hook() {
	h.mu.Lock()
	held := h.held
	h.mu.Unlock()
	if !held {
		return
	}
	select {
	case h.entered <- struct{}{}:
	default:
	}
	<-h.release
}

func (h *heldWriter) let() {
	h.mu.Lock()
	h.held = false
	h.mu.Unlock()
	close(h.release)
}

// openBacklog opens an index with a journal backlog of limit entries whose
// writer h holds, and a ticket "used-1" already admitted.
func openBacklog(t *testing.T, limit int, h *heldWriter) *Index {
	t.Helper()
	o := testOptions(vfs.NewMem())
	o.JournalBacklog = limit
	o.beforeJournalWrite = h.hook
	ix := openDerby(t, o)
	load(t, ix, tk("used-1", "derby"), tk("fresh-1", "derby"))
	if d := scanAt(ix, "used-1", during); !d.Admit {
		t.Fatalf("first scan of used-1: %+v", d)
	}
	return ix
}

// waitFor polls cond (a condition the test cannot be told of) for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testkit.WaitFor(t, 10*time.Second, what, cond)
}

// refusal is one scan a backlog test makes and the decision it expects.
type refusal struct {
	barcode string
	reason  gate.Reason
}

// fill makes n refusals with the writer held (the first is taken by the
// writer and held there) and returns their decisions.
func fill(t *testing.T, ix *Index, h *heldWriter, n int) []gate.Decision {
	t.Helper()
	var ds []gate.Decision
	for i := range n {
		d := scanAt(ix, fmt.Sprintf("nope-%d", i), during)
		if d.Reason != gate.ReasonUnknown || d.Seq == 0 {
			t.Fatalf("fill scan %d: %+v", i, d)
		}
		ds = append(ds, d)
		if i == 0 {
			<-h.entered
		}
	}
	if st := ix.Stats(); st.JournalBacklog != n {
		t.Fatalf("backlog after %d refusals: %d", n, st.JournalBacklog)
	}
	return ds
}

// A full backlog makes the next refusals (an unknown barcode, a malformed
// one, an already used ticket) wait without taking a sequence number, an
// admission still goes through, and once the writer runs again every scan
// finishes and the journal holds every decision under its number, without
// a hole, the backlog never past its bound.
func TestJournalBacklogFullWaits(t *testing.T) {
	const limit = 8
	h := newHeldWriter()
	ix := openBacklog(t, limit, h)
	first := ix.Stats().LastSeq // the admission of used-1
	bySeq := map[uint64]gate.Decision{}
	for _, d := range fill(t, ix, h, limit) {
		bySeq[d.Seq] = d
	}

	waiting := []refusal{
		{"nope-x", gate.ReasonUnknown},
		{"", gate.ReasonMalformed},
		{"used-1", gate.ReasonAlreadyUsed},
		{"nope-y", gate.ReasonUnknown},
	}
	results := make(chan gate.Decision, len(waiting))
	for _, r := range waiting {
		go func() { results <- scanAt(ix, r.barcode, during) }()
	}
	waitFor(t, "the scans to wait for room", func() bool { return ix.Stats().JournalWaits == uint64(len(waiting)) })
	select {
	case d := <-results:
		t.Fatalf("a scan was answered while the backlog was full: %+v", d)
	default:
	}
	if st := ix.Stats(); st.LastSeq != first+limit || st.JournalBacklog != limit {
		t.Fatalf("while waiting: last seq %d (want %d), backlog %d", st.LastSeq, first+limit, st.JournalBacklog)
	}

	// An admission needs no room: it is journaled by its own commit.
	adm := scanAt(ix, "fresh-1", during)
	if !adm.Admit || adm.Seq != first+limit+1 {
		t.Fatalf("admission while the backlog is full: %+v", adm)
	}
	bySeq[adm.Seq] = adm

	h.let()
	got := map[string]gate.Reason{}
	for range waiting {
		d := <-results
		if d.Seq == 0 {
			t.Fatalf("a waiting scan was not journaled: %+v", d)
		}
		bySeq[d.Seq] = d
		got[d.Barcode] = d.Reason
	}
	for _, r := range waiting {
		if got[r.barcode] != r.reason {
			t.Errorf("%q: reason %s, want %s", r.barcode, got[r.barcode], r.reason)
		}
	}
	checkJournal(t, ix, first, bySeq)
	st := ix.Stats()
	if st.JournalBacklogPeak > limit || st.JournalBacklogLimit != limit || st.JournalWaitsAbandoned != 0 || st.JournalWaitTime <= 0 {
		t.Errorf("stats: %+v", st)
	}
}

// checkJournal waits for every entry to be written and checks that the
// journal holds 1..LastSeq without a hole, and each decision of bySeq (all
// those after first) under its number.
func checkJournal(t *testing.T, ix *Index, first uint64, bySeq map[uint64]gate.Decision) {
	t.Helper()
	waitFor(t, "the journal to be written", func() bool {
		st := ix.Stats()
		return st.WrittenSeq == st.LastSeq && st.JournalBacklog == 0
	})
	last := ix.Stats().LastSeq
	if last != first+uint64(len(bySeq)) {
		t.Fatalf("last seq %d, want %d decisions after %d", last, len(bySeq), first)
	}
	es, err := ix.Entries(context.Background(), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if uint64(len(es)) != last {
		t.Fatalf("journal holds %d entries, want %d", len(es), last)
	}
	for i, e := range es {
		if e.Seq != uint64(i+1) || e.Kind != gate.KindDecision {
			t.Fatalf("entry %d: seq %d kind %s", i, e.Seq, e.Kind)
		}
		if e.Seq <= first {
			continue
		}
		d := bySeq[e.Seq]
		if e.Decision.Barcode != d.Barcode || e.Decision.Reason != d.Reason || e.Decision.Admit != d.Admit {
			t.Errorf("entry %d: %q %s admit=%v, answered %q %s admit=%v", e.Seq,
				e.Decision.Barcode, e.Decision.Reason, e.Decision.Admit, d.Barcode, d.Reason, d.Admit)
		}
	}
}

// A scan waiting for room gives up when its context ends: answered error,
// undecided (Seq 0, no sequence number taken), and everything already
// queued is still written.
func TestJournalBacklogCancelledWait(t *testing.T) {
	const limit = 8
	h := newHeldWriter()
	ix := openBacklog(t, limit, h)
	first := ix.Stats().LastSeq
	bySeq := map[uint64]gate.Decision{}
	for _, d := range fill(t, ix, h, limit) {
		bySeq[d.Seq] = d
	}

	ctx, cancel := context.WithCancel(context.Background())
	result := make(chan gate.Decision, 1)
	go func() {
		result <- ix.Scan(ctx, gate.Scan{Barcode: "nope-x", Lane: "north-1", At: during, Nonce: "n-1"})
	}()
	waitFor(t, "the scan to wait for room", func() bool { return ix.Stats().JournalWaits == 1 })
	cancel()
	d := <-result
	if d.Reason != gate.ReasonError || d.Seq != 0 || d.Admit {
		t.Fatalf("cancelled wait: %+v", d)
	}
	// A context already ended is turned away at once.
	if d := ix.Scan(ctx, gate.Scan{Barcode: "nope-z", Lane: "north-1", At: during}); d.Reason != gate.ReasonError || d.Seq != 0 {
		t.Fatalf("ended context: %+v", d)
	}
	st := ix.Stats()
	if st.JournalWaitsAbandoned != 2 || st.LastSeq != first+limit {
		t.Fatalf("after the cancelled waits: %+v", st)
	}

	h.let()
	checkJournal(t, ix, first, bySeq)
	// With room again, the scan retried (same nonce) is decided and
	// journaled: the undecided answer did not claim the nonce.
	again := ix.Scan(context.Background(), gate.Scan{Barcode: "nope-x", Lane: "north-1", At: during, Nonce: "n-1"})
	if again.Reason != gate.ReasonUnknown || again.Seq != first+limit+1 || again.Replayed {
		t.Fatalf("after the writer ran: %+v", again)
	}
	bySeq[again.Seq] = again
	checkJournal(t, ix, first, bySeq)
}

// Close while scans wait for room: they are answered "closed" without a
// number, the queued entries are written at Close, and the reopened journal
// has no lost entry.
func TestJournalBacklogClose(t *testing.T) {
	const limit = 8
	h := newHeldWriter()
	fs := vfs.NewMem()
	o := testOptions(fs)
	o.JournalBacklog = limit
	o.beforeJournalWrite = h.hook
	ix, err := Open("data", o)
	if err != nil {
		t.Fatal(err)
	}
	fill(t, ix, h, limit)
	result := make(chan gate.Decision, 1)
	go func() { result <- scanAt(ix, "nope-x", during) }()
	waitFor(t, "the scan to wait for room", func() bool { return ix.Stats().JournalWaits == 1 })
	closed := make(chan error, 1)
	go func() { closed <- ix.Close() }()
	if d := <-result; d.Reason != gate.ReasonError || d.Seq != 0 {
		t.Fatalf("waiting scan at Close: %+v", d)
	}
	h.let()
	if err := <-closed; err != nil {
		t.Fatal(err)
	}

	ix, err = Open("data", testOptions(fs))
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	es, err := ix.Entries(context.Background(), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != limit {
		t.Fatalf("journal after reopen: %d entries, want %d", len(es), limit)
	}
	for i, e := range es {
		if e.Seq != uint64(i+1) || e.Kind != gate.KindDecision || e.Decision.Reason != gate.ReasonUnknown {
			t.Errorf("entry %d: %+v", i, e)
		}
	}
}

// Many goroutines flooding a tiny backlog with refusals (and a few
// admissions) all finish, never push the backlog past its bound, and leave
// a journal without a hole.
func TestJournalBacklogFlood(t *testing.T) {
	const limit = 16
	o := testOptions(vfs.NewMem())
	o.JournalBacklog = limit
	ix := openDerby(t, o)
	var tickets []gate.Ticket
	for i := range 32 {
		tickets = append(tickets, tk(fmt.Sprintf("t-%d", i), "derby"))
	}
	load(t, ix, tickets...)

	var mu sync.Mutex
	bySeq := map[uint64]gate.Decision{}
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := range 200 {
				bc := fmt.Sprintf("nope-%d-%d", g, i)
				if i%10 == 0 {
					bc = fmt.Sprintf("t-%d", (g*20+i/10)%32) // admitted once, then already used
				}
				d := scanAt(ix, bc, during)
				if d.Seq == 0 {
					t.Errorf("%s: not journaled: %+v", bc, d)
					return
				}
				mu.Lock()
				bySeq[d.Seq] = d
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	checkJournal(t, ix, 0, bySeq)
	st := ix.Stats()
	if st.JournalBacklogPeak > limit {
		t.Errorf("backlog peaked at %d, over its bound %d", st.JournalBacklogPeak, limit)
	}
	admits := 0
	for _, d := range bySeq {
		if d.Admit {
			admits++
		}
	}
	if admits != 32 {
		t.Errorf("%d admissions, want 32", admits)
	}
	t.Logf("waits %d, waited %v", st.JournalWaits, st.JournalWaitTime)
}

// While the store is faulted nothing drains, so once the backlog is full a
// refusal can neither be journaled nor wait for room (issue 21.1: it hung
// until the recovery): it is answered at once with its reason, without a
// journal entry (Seq 0, Stats.Unjournaled); a refusal already waiting when
// the store faults is answered so too. After the recovery the journal is
// whole and new refusals are journaled again.
func TestJournalBacklogFullDuringFault(t *testing.T) {
	const limit = 4
	w := &walSyncs{}
	o := testOptions(errorfs.Wrap(vfs.NewMem(), w))
	o.JournalBacklog = limit
	h := newHeldWriter()
	o.beforeJournalWrite = h.hook
	ix := openDerby(t, o)
	load(t, ix, tk("A", "derby"), tk("B", "derby"))

	// The writer holds the first refusal; three more fill the backlog, and
	// the next one waits for room.
	bySeq := map[uint64]gate.Decision{}
	for _, d := range fill(t, ix, h, limit) {
		bySeq[d.Seq] = d
	}
	waiting := make(chan gate.Decision, 1)
	go func() { waiting <- scanAt(ix, "nope-waiting", during) }()
	waitFor(t, "the scan to wait for room", func() bool { return ix.Stats().JournalWaits == 1 })

	// The store faults: the waiting refusal is answered at once.
	w.failing.Store(true)
	failed := scanAt(ix, "A", during)
	if failed.Reason != gate.ReasonError || failed.Seq == 0 {
		t.Fatalf("admission with a failing WAL: %+v", failed)
	}
	bySeq[failed.Seq] = failed
	var d gate.Decision
	select {
	case d = <-waiting:
	case <-time.After(10 * time.Second):
		t.Fatal("a refusal waiting for room was not answered when the store faulted")
	}
	if d.Reason != gate.ReasonUnknown || d.Seq != 0 || !strings.Contains(d.Detail, "not journaled") {
		t.Fatalf("the waiting refusal after the fault: %+v", d)
	}
	// And so is every refusal that needs no disk, at once.
	for _, r := range []refusal{{"nope-x", gate.ReasonUnknown}, {"", gate.ReasonMalformed}, {"B", gate.ReasonError}} {
		d := scanAt(ix, r.barcode, during)
		if d.Reason != r.reason || d.Seq != 0 {
			t.Fatalf("%q while faulted with a full backlog: %+v, want %s unjournaled", r.barcode, d, r.reason)
		}
	}
	if st := ix.Stats(); st.Unjournaled != 4 || !st.Faulted {
		t.Fatalf("stats while faulted: %+v", st)
	}

	w.failing.Store(false)
	h.let()
	waitFor(t, "the recovery", func() bool { return !ix.Stats().Faulted })
	for _, bc := range []string{"nope-after", "A"} {
		d := scanAt(ix, bc, during)
		if d.Seq == 0 {
			t.Fatalf("%s after the recovery: %+v", bc, d)
		}
		bySeq[d.Seq] = d
	}
	checkJournal(t, ix, 0, bySeq)
	if d := bySeq[ix.Stats().LastSeq]; !d.Admit {
		t.Fatalf("A after the recovery: %+v", d)
	}
	if st := ix.Stats(); st.JournalBacklogPeak > limit+1 || st.Recoveries == 0 {
		t.Errorf("stats: %+v", st)
	}
}
