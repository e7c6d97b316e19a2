package decode

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/admitgate/admit/gate"
)

func TestDedup(t *testing.T) {
	d := NewDedup(0)
	read := func(text, source string, at time.Duration) gate.Read {
		return gate.Read{Text: text, Source: source, At: t0.Add(at)}
	}
	steps := []struct {
		r    gate.Read
		want bool
	}{
		{read("A", "s1", 0), true},
		{read("A", "s1", 500*time.Millisecond), false},  // repeat
		{read("A", "s2", 600*time.Millisecond), true},   // another scanner
		{read("B", "s1", 700*time.Millisecond), true},   // another barcode
		{read("A", "s1", 1400*time.Millisecond), false}, // held: 900ms since last seen
		{read("A", "s1", 2400*time.Millisecond), true},  // away for a whole second
		{read("A", "s1", 2300*time.Millisecond), false}, // clock stepped back
		{gate.Read{Text: "A", Source: "s1", At: t0.Add(2500 * time.Millisecond), Malformed: "x"}, true},
	}
	for i, s := range steps {
		if got := d.Allow(s.r); got != s.want {
			t.Errorf("step %d (%s@%v): Allow = %v, want %v", i, s.r.Text, s.r.At.Sub(t0), got, s.want)
		}
	}
}

func TestDedupClockAndOff(t *testing.T) {
	now := t0
	d := NewDedup(time.Second)
	d.Now = func() time.Time { return now }
	if !d.Allow(gate.Read{Text: "A"}) || d.Allow(gate.Read{Text: "A"}) {
		t.Fatal("injected clock: the second read should be a repeat")
	}
	now = now.Add(time.Second)
	if !d.Allow(gate.Read{Text: "A"}) {
		t.Fatal("a second later the read is new")
	}
	off := NewDedup(-1)
	if !off.Allow(gate.Read{Text: "A", At: t0}) || !off.Allow(gate.Read{Text: "A", At: t0}) {
		t.Fatal("a negative window lets everything through")
	}
}

// Many distinct barcodes keep memory bounded; the newest are remembered.
func TestDedupBounded(t *testing.T) {
	var rr recentReads
	rr.window = time.Hour
	for i := 0; i < 1000; i++ {
		r := gate.Read{Text: fmt.Sprint(i), At: t0.Add(time.Duration(i) * time.Millisecond)}
		if isRepeat(&rr, r.Text, "", "", r.At) {
			t.Fatalf("%d seen as a repeat", i)
		}
		rr.remember(&r)
	}
	if !isRepeat(&rr, "999", "", "", t0.Add(time.Second)) || isRepeat(&rr, "0", "", "", t0.Add(time.Second)) {
		t.Fatal("want the newest remembered and the oldest forgotten")
	}
	d := NewDedup(time.Second)
	for i := 0; i < 5000; i++ {
		d.Allow(gate.Read{Text: "A", Source: fmt.Sprint(i), At: t0})
	}
	if len(d.sources) > 1024 {
		t.Fatalf("%d sources remembered", len(d.sources))
	}
}

func TestDedupConcurrent(t *testing.T) {
	d := NewDedup(time.Second)
	var wg sync.WaitGroup
	var mu sync.Mutex
	allowed := 0
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				if d.Allow(gate.Read{Text: "same", Source: "s", At: t0.Add(time.Duration(i) * time.Millisecond)}) {
					mu.Lock()
					allowed++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if allowed != 1 {
		t.Fatalf("%d reads allowed, want 1", allowed)
	}
}
