package index

import (
	"context"
	"testing"
	"time"

	"github.com/admitgate/admit/gate"
)

// TestBackgroundSpans: the store remembers Pebble's flushes and
// compactions, with their times, and returns those after a moment.
func TestBackgroundSpans(t *testing.T) {
	ix, _ := openMem(t)
	load(t, ix, tk("B1", "derby"), tk("B2", "derby"))
	before := time.Now()
	if got := ix.BackgroundSpans(before); len(got) != 0 {
		t.Fatalf("spans before anything ran: %+v", got)
	}
	for _, bc := range []string{"B1", "B2"} {
		if d := scanAt(ix, bc, during); d.Reason != gate.ReasonOK {
			t.Fatal(d.Reason)
		}
		if err := ix.db.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	if err := ix.db.Compact(context.Background(), []byte{0}, []byte{0xff}, true); err != nil {
		t.Fatal(err)
	}
	after := time.Now()
	kinds := map[string]int{}
	spans := ix.BackgroundSpans(before)
	for i, s := range spans {
		kinds[s.Kind]++
		if s.Start.Before(before) || s.End.Before(s.Start) || s.End.After(after) {
			t.Errorf("span %+v outside [%v, %v]", s, before, after)
		}
		if i > 0 && s.Start.Before(spans[i-1].Start) {
			t.Errorf("spans out of order: %+v", spans)
		}
	}
	if kinds["flush"] < 2 || kinds["compaction"] < 1 {
		t.Fatalf("spans %+v: want two flushes and a compaction", spans)
	}
	if got := ix.BackgroundSpans(after); len(got) != 0 {
		t.Errorf("spans after the last one ended: %+v", got)
	}
}

// TestBackgroundLogRing: the log keeps the latest maxBackgroundSpans ended
// spans, and running ones with a zero End.
func TestBackgroundLogRing(t *testing.T) {
	var l backgroundLog
	t0 := time.Now()
	for i := range maxBackgroundSpans + 10 {
		l.begin("flush", i)
		l.end("flush", i)
	}
	l.end("compaction", 99) // never began: ignored
	l.begin("compaction", 1)
	got := l.since(t0)
	if len(got) != maxBackgroundSpans+1 {
		t.Fatalf("%d spans, want %d", len(got), maxBackgroundSpans+1)
	}
	if last := got[len(got)-1]; last.Kind != "compaction" || !last.End.IsZero() {
		t.Errorf("the running compaction: %+v", last)
	}
}
