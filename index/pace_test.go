package index

import (
	"testing"
	"time"
)

// Without scans an import is never held back; with a scan in the last
// second its goroutines together get paceShare of one core: work beyond
// that share of the time that passed in the window is slept off.
func TestPacerHoldsImportsToAShareWhileScanning(t *testing.T) {
	ix := &Index{born: time.Now().Add(-time.Hour)}
	p := &pacer{ix: ix}
	now := time.Now()
	if d := p.account(now, 50*time.Millisecond); d != 0 {
		t.Fatalf("no scans: slept %v", d)
	}
	ix.noteScan()
	now = time.Now()
	if !ix.scanning(now) {
		t.Fatal("a scan just now is not seen")
	}
	share := func(d time.Duration) time.Duration { return time.Duration(float64(d) / paceShare) }
	if d := p.account(now, 2*time.Millisecond); d != share(2*time.Millisecond) {
		t.Fatalf("2 ms of work at the window's start: sleep %v, want %v", d, share(2*time.Millisecond))
	}
	later := share(2*time.Millisecond) + time.Millisecond
	if d := p.account(now.Add(later), 0); d != 0 {
		t.Fatalf("within the share: sleep %v, want none", d)
	}
	if d := p.account(now.Add(later), 3*time.Millisecond); d != share(5*time.Millisecond)-later {
		t.Fatalf("over the share: sleep %v, want %v", d, share(5*time.Millisecond)-later)
	}
	if ix.scanning(now.Add(2 * scanQuiet)) {
		t.Fatal("a scan long ago still paces imports")
	}
}
