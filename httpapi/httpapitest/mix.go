package httpapitest

import (
	"strconv"
	"sync/atomic"
)

// ScanMix is the benchmark's scan mix: of every ten scans, seven present a
// barcode for the first time, two an unknown barcode and one a barcode
// already used. Fresh barcodes are handed out once each across all
// connections; when they run out, first uses become already-used scans.
type ScanMix struct {
	Lane    string
	fresh   []string
	used    []string
	next    atomic.Int64
	Unknown string // prefix of unknown barcodes
}

// NewScanMix returns a mix over fresh (never scanned) and used (already
// admitted) barcodes.
func NewScanMix(lane string, fresh, used []string) *ScanMix {
	return &ScanMix{Lane: lane, fresh: fresh, used: used, Unknown: "UNKNOWN-"}
}

// Kind is what a scan of the mix is.
type Kind int

// Kinds of scans in the mix.
const (
	FirstUse Kind = iota
	Unknown
	AlreadyUsed
)

// KindOf returns the kind of request i: 0-6 first use, 7-8 unknown, 9
// already used, repeating.
func KindOf(i int) Kind {
	switch i % 10 {
	case 7, 8:
		return Unknown
	case 9:
		return AlreadyUsed
	}
	return FirstUse
}

// Body appends the JSON body of request i on conn.
func (m *ScanMix) Body(buf []byte, conn, i int) []byte {
	buf = append(buf, `{"lane":"`...)
	buf = append(buf, m.Lane...)
	buf = append(buf, `","barcode":"`...)
	switch KindOf(i) {
	case FirstUse:
		if n := m.next.Add(1) - 1; n < int64(len(m.fresh)) {
			buf = append(buf, m.fresh[n]...)
			break
		}
		fallthrough
	case AlreadyUsed:
		if len(m.used) > 0 {
			buf = append(buf, m.used[(conn*7919+i)%len(m.used)]...)
			break
		}
		fallthrough
	case Unknown:
		buf = append(buf, m.Unknown...)
		buf = strconv.AppendInt(buf, int64(conn), 10)
		buf = append(buf, '-')
		buf = strconv.AppendInt(buf, int64(i), 10)
	}
	return append(buf, `"}`...)
}

// FreshUsed reports how many fresh barcodes were handed out.
func (m *ScanMix) FreshUsed() int {
	n := int(m.next.Load())
	if n > len(m.fresh) {
		return len(m.fresh)
	}
	return n
}
