package decode

import (
	"sync"
	"time"

	"github.com/admitgate/admit/gate"
)

// dedupSlots bounds what a dedup remembers: the barcodes seen within one
// window. A scanner reads a few barcodes a second, so 16 is ample; when
// full, the barcode seen longest ago is forgotten first.
const dedupSlots = 16

// recentReads remembers the reads of one scanner seen within a window, to
// drop repeats. Not safe for concurrent use; it never allocates after
// its first reads except to keep a new barcode's text.
type recentReads struct {
	window time.Duration
	seen   [dedupSlots]seenRead
}

type seenRead struct {
	text, symbology, malformed string
	last                       time.Time // when it was last seen
	used                       bool
}

// isRepeat reports whether a read of text (with symbology and malformed
// detail) at is a repeat of one d saw within the window before it, and then
// counts at as its last sighting. A read held under a presentation scanner
// keeps being a repeat until it leaves for a whole window.
func isRepeat[T ~string | ~[]byte](d *recentReads, text T, sym, malformed string, at time.Time) bool {
	if d.window <= 0 {
		return false
	}
	for i := range d.seen {
		s := &d.seen[i]
		if !s.used || string(text) != s.text || s.symbology != sym || s.malformed != malformed {
			continue
		}
		gap := at.Sub(s.last)
		if gap < 0 {
			gap = -gap // a clock that stepped back is no reason to let a repeat through
		}
		if gap < d.window {
			if at.After(s.last) {
				s.last = at
			}
			return true
		}
		return false
	}
	return false
}

// remember records r as seen at r.At, in its own slot if it has one, else
// in a free slot, else in the slot of the read seen longest ago.
func (d *recentReads) remember(r *gate.Read) {
	if d.window <= 0 {
		return
	}
	slot := -1
	for i := range d.seen {
		s := &d.seen[i]
		if s.used && s.text == r.Text && s.symbology == r.Symbology && s.malformed == r.Malformed {
			slot = i
			break
		}
	}
	if slot < 0 {
		slot = 0
		for i := range d.seen {
			if !d.seen[i].used {
				slot = i
				break
			}
			if d.seen[i].last.Before(d.seen[slot].last) {
				slot = i
			}
		}
	}
	d.seen[slot] = seenRead{text: r.Text, symbology: r.Symbology, malformed: r.Malformed, last: r.At, used: true}
}

// Dedup suppresses duplicate reads: the same barcode (text, symbology and
// malformed detail) from the same source within Window of its last sighting
// is reported once. The decoders apply it themselves per Config.DedupWindow;
// Dedup is for reads from elsewhere. It is safe for concurrent use.
type Dedup struct {
	// Now is the clock for reads whose At is zero. Default time.Now.
	Now func() time.Time

	mu      sync.Mutex
	window  time.Duration
	sources map[string]*recentReads
}

// NewDedup returns a Dedup with the given window: 0 means
// DefaultDedupWindow, a negative window lets everything through.
func NewDedup(window time.Duration) *Dedup {
	if window == 0 {
		window = DefaultDedupWindow
	}
	if window < 0 {
		window = 0
	}
	return &Dedup{window: window, sources: make(map[string]*recentReads)}
}

// Allow reports whether r should be delivered: false for a repeat within
// the window. It remembers r either way, so a barcode held in front of a
// scanner stays suppressed until it has been away for a whole window.
func (d *Dedup) Allow(r gate.Read) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if r.At.IsZero() {
		if d.Now != nil {
			r.At = d.Now()
		} else {
			r.At = time.Now()
		}
	}
	rr := d.sources[r.Source]
	if rr == nil {
		if len(d.sources) >= 1024 {
			clear(d.sources) // bounded: a thousand scanners is not a venue, it is a bug
		}
		rr = &recentReads{window: d.window}
		d.sources[r.Source] = rr
	}
	if isRepeat(rr, r.Text, r.Symbology, r.Malformed, r.At) {
		return false
	}
	rr.remember(&r)
	return true
}
