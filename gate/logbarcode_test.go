package gate

import (
	"testing"
	"unicode/utf8"
)

func TestBarcodeLog(t *testing.T) {
	for _, tt := range []struct {
		mode    BarcodeLog
		barcode string
		want    string
	}{
		{BarcodeLast4, "9836900602677354", "…7354"},
		{BarcodeLast4, "BO-hvm3ZNdjS8Fm", "…S8Fm"},
		{BarcodeLast4, "12345678", "…5678"},
		{BarcodeLast4, "1234567", "…567"}, // at most half of a short one
		{BarcodeLast4, "AB", "…B"},
		{BarcodeLast4, "A", "…"},
		{BarcodeLast4, "", "…"},
		{BarcodeLast4, "ÄÖÜ-ÉÈÊË", "…ÉÈÊË"}, // characters, not bytes
		{BarcodeLast4, "01\x1d2345\x1d6789", "…6789"},
		{BarcodeFull, "9836900602677354", "9836900602677354"},
		{BarcodeNone, "9836900602677354", ""},
	} {
		got := tt.mode.Redact(tt.barcode)
		if got != tt.want || !utf8.ValidString(got) {
			t.Errorf("%s of %q: %q, want %q", tt.mode, tt.barcode, got, tt.want)
		}
	}
	for _, s := range []string{"", "last4", "full", "none"} {
		m, err := ParseBarcodeLog(s)
		if err != nil || (s != "" && m.String() != s) {
			t.Errorf("ParseBarcodeLog(%q): %v %v", s, m, err)
		}
	}
	if _, err := ParseBarcodeLog("last-4"); ErrorCode(err) != EINVALID {
		t.Errorf("ParseBarcodeLog(last-4): %v", err)
	}
	var buf [24]byte
	if n := testing.AllocsPerRun(100, func() { _ = BarcodeLast4.Append(buf[:0], "9836900602677354") }); n != 0 {
		t.Errorf("Append allocates %v times", n)
	}
}
