package index

import "testing"

// Health follows Close, and agrees with Stats.
func TestHealthFollowsClose(t *testing.T) {
	ix, _ := openMem(t)
	if h, st := ix.Health(), ix.Stats(); h.Closed || h.Faulted || h.Closed != st.Closed || h.Faulted != st.Faulted {
		t.Fatalf("open: health %+v, stats closed %v faulted %v", h, st.Closed, st.Faulted)
	}
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	if h := ix.Health(); !h.Closed {
		t.Fatalf("closed: health %+v", h)
	}
}

// Health is cheap: no allocation (Stats allocates gathering Pebble's
// metrics), as the API calls it on every request.
func TestHealthAllocatesNothing(t *testing.T) {
	ix, _ := openMem(t)
	if n := testing.AllocsPerRun(100, func() { _ = ix.Health() }); n != 0 {
		t.Fatalf("Health allocates %v times", n)
	}
}
