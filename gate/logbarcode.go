package gate

import (
	"fmt"
	"unicode/utf8"
)

// BarcodeLog says how log lines show a barcode (admit's [log] barcodes). A
// barcode admits whoever shows it, and logs travel further than the store
// (journald, a log server), so by default a line shows only its end: enough
// to tell scans apart and to find one (journalctl -u admit | grep 7354),
// not enough to enter with.
type BarcodeLog uint8

const (
	// BarcodeLast4 shows the last four characters ("…7354"), at most half
	// of a short barcode's. The default.
	BarcodeLast4 BarcodeLog = iota
	// BarcodeFull shows the barcode whole.
	BarcodeFull
	// BarcodeNone leaves the barcode out.
	BarcodeNone
)

var barcodeLogNames = [...]string{BarcodeLast4: "last4", BarcodeFull: "full", BarcodeNone: "none"}

func (m BarcodeLog) String() string {
	if int(m) < len(barcodeLogNames) {
		return barcodeLogNames[m]
	}
	return fmt.Sprintf("BarcodeLog(%d)", m)
}

// ParseBarcodeLog reads "last4", "full" or "none" ("" is last4).
func ParseBarcodeLog(s string) (BarcodeLog, error) {
	if s == "" {
		return BarcodeLast4, nil
	}
	for m, name := range barcodeLogNames {
		if s == name {
			return BarcodeLog(m), nil
		}
	}
	return 0, Errorf(EINVALID, "%q is not a way to log barcodes; use last4, full or none", s)
}

// Shown reports whether log lines carry the barcode at all.
func (m BarcodeLog) Shown() bool { return m != BarcodeNone }

// ellipsis marks a shortened barcode.
const ellipsis = "…"

// Append appends what a log line shows of barcode to dst (nothing for
// BarcodeNone). It allocates nothing when dst has room for 19 bytes
// (the ellipsis and four characters), so the scan path can log into a
// buffer on its stack.
func (m BarcodeLog) Append(dst []byte, barcode string) []byte {
	switch m {
	case BarcodeFull:
		return append(dst, barcode...)
	case BarcodeNone:
		return dst
	}
	keep := min(4, utf8.RuneCountInString(barcode)/2)
	i := len(barcode)
	for range keep {
		_, size := utf8.DecodeLastRuneInString(barcode[:i])
		i -= size
	}
	dst = append(dst, ellipsis...)
	return append(dst, barcode[i:]...)
}

// Redact returns what a log line shows of barcode ("" for BarcodeNone).
func (m BarcodeLog) Redact(barcode string) string {
	if m == BarcodeFull {
		return barcode
	}
	var buf [24]byte
	return string(m.Append(buf[:0], barcode))
}
