package gate

import (
	"strings"
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

// FuzzBarcodeLog: whatever a scanner sends, a shortened barcode is the
// ellipsis and at most four characters of its end, valid UTF-8 when the
// barcode is, and never the whole of a barcode of two characters or more.
func FuzzBarcodeLog(f *testing.F) {
	for _, s := range []string{"9836900602677354", "", "A", "ÄÖÜ-ÉÈÊË", "01\x1d2345", "\xff\xfe\xfd\xfc\xfb", "ab\xffcd"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b string) {
		if BarcodeFull.Redact(b) != b || BarcodeNone.Redact(b) != "" {
			t.Fatalf("full or none of %q", b)
		}
		got := BarcodeLast4.Redact(b)
		tail, ok := strings.CutPrefix(got, "…")
		if !ok || !strings.HasSuffix(b, tail) || utf8.RuneCountInString(tail) > 4 {
			t.Fatalf("last4 of %q: %q", b, got)
		}
		if utf8.ValidString(b) && !utf8.ValidString(got) {
			t.Fatalf("last4 of %q is not UTF-8: %q", b, got)
		}
		if utf8.RuneCountInString(b) >= 2 && tail == b {
			t.Fatalf("last4 of %q shows it whole", b)
		}
	})
}
