package index

import (
	"testing"
	"time"

	"github.com/admitgate/admit/gate"
)

func TestRedeemedSet(t *testing.T) {
	var s redeemedSet
	for _, key := range []uint64{1, 63, 64, redeemedChunkKeys - 1, redeemedChunkKeys, 3*redeemedChunkKeys + 5} {
		if !s.mayHave(key) {
			t.Fatalf("key %d: not ready yet, but known absent", key)
		}
	}
	s.ready.Store(true)
	marked := []uint64{1, 64, redeemedChunkKeys, 3*redeemedChunkKeys + 5}
	for _, key := range marked {
		s.mark(key)
		s.mark(key) // marking twice is harmless
	}
	tests := []struct {
		key  uint64
		want bool
	}{
		{1, true}, {64, true}, {redeemedChunkKeys, true}, {3*redeemedChunkKeys + 5, true},
		{2, false}, {63, false}, {65, false}, {redeemedChunkKeys + 1, false}, {2 * redeemedChunkKeys, false},
		{redeemedChunks * redeemedChunkKeys, true}, // beyond the set: never known absent
		{1<<64 - 1, true},
	}
	for _, tt := range tests {
		if got := s.mayHave(tt.key); got != tt.want {
			t.Errorf("mayHave(%d) = %v, want %v", tt.key, got, tt.want)
		}
	}
	s.mark(redeemedChunks * redeemedChunkKeys) // out of range: ignored, no panic
}

func waitRedeemedReady(t *testing.T, ix *Index) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ix.redeemed.ready.Load() {
		if time.Now().After(deadline) {
			t.Fatal("redeemed tickets never loaded")
		}
		time.Sleep(time.Millisecond)
	}
}

// An admission is never forgotten by the redeemed set: not when the caches
// are emptied (the redemptions are read from Pebble again, because the
// stripe marked the ticket), and not across a reopen (Open's read of the
// stored redemptions marks it). A ticket never scanned is known absent.
func TestRedeemedSetKeepsAdmissions(t *testing.T) {
	ix, fs := openMem(t)
	load(t, ix, tk("A", "derby"), tk("B", "derby"), tk("C", "derby"))
	waitRedeemedReady(t, ix)
	during := t0.Add(time.Hour)
	if d := scanAt(ix, "A", during); d.Reason != gate.ReasonOK {
		t.Fatalf("first scan of A: %s", d.Reason)
	}
	ix.forgetCached()
	if d := scanAt(ix, "A", during.Add(time.Minute)); d.Reason != gate.ReasonAlreadyUsed {
		t.Fatalf("A again with empty caches: %s, want already_used", d.Reason)
	}
	rec, _, err := ix.getTicket(nil, "C")
	if err != nil {
		t.Fatal(err)
	}
	if ix.redeemed.mayHave(rec.Key) {
		t.Errorf("C, never scanned, may have redemptions")
	}
	if d := scanAt(ix, "B", during); d.Reason != gate.ReasonOK {
		t.Fatalf("first scan of B: %s", d.Reason)
	}
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}

	ix = openFS(t, fs)
	waitRedeemedReady(t, ix)
	for _, b := range []string{"A", "B"} {
		if d := scanAt(ix, b, during.Add(2*time.Minute)); d.Reason != gate.ReasonAlreadyUsed {
			t.Errorf("%s after reopen: %s, want already_used", b, d.Reason)
		}
	}
	if d := scanAt(ix, "C", during); d.Reason != gate.ReasonOK {
		t.Errorf("first scan of C after reopen: %s", d.Reason)
	}
}
