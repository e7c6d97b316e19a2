package decode

import (
	"testing"
)

// The identifiers and examples come from testdata/reference/aim-identifiers.md
// (ISO/IEC 15424 as the scanner manuals quoted there transcribe it).
func TestAIMSymbology(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Symbology
		rest string
	}{
		{"]z0AZTECDATA", Aztec, "AZTECDATA"},
		{"]zCRUNE", Aztec, "RUNE"},
		{"]A0CODE39", Code39, "CODE39"},
		{"]A7AIMID", Code39, "AIMID"}, // Motorola LS4208: Full ASCII, check stripped
		{"]A1A+I+MI+DW", Code39, "A+I+MI+DW"},
		{"]G0CODE93", Code93, "CODE93"},
		{"]C0ABC", Code128, "ABC"},
		{"]C2ABC", Code128, "ABC"},
		{"]C1AIMID", GS1128, "AIMID"}, // NCR example
		{"]d1DM", DataMatrix, "DM"},
		{"]d2010950110153000317", GS1DataMatrix, "010950110153000317"},
		{"]E400210126", EAN8, "00210126"},            // Datalogic example
		{"]E00012345678905", EAN13, "0012345678905"}, // Zebra: UPC-A as EAN-13
		{"]E0012345678905", UPCA, "012345678905"},
		{"]E00000000998875", EAN13, "0000000998875"}, // Datalogic: UPC-E as EAN-13
		{"]E004252614", UPCE, "04252614"},
		{"]E3400638133393112", EAN13, "400638133393112"},
		{"]E112", "", "12"},      // an add-on alone
		{"]I04123", ITF, "4123"}, // NCR example
		{"]I198765432109213", ITF14, "98765432109213"},
		{"]I1123456", ITF, "123456"},
		{"]I098765432109213", ITF, "98765432109213"}, // unchecked 14 digits stay ITF
		{"]L2ABCD", PDF417, "ABCD"},                  // Zebra example
		{"]Q1QR", QR, "QR"},
		{"]Q3010950110153000317", GS1QR, "010950110153000317"},
		{"]e00109501101530003", DataBar, "0109501101530003"},
		{"]F0A123B", Codabar, "A123B"},
		{"]X0ISSN", "", "ISSN"},
	} {
		id, rest, ok := ParseAIM(tc.in)
		if !ok {
			t.Errorf("ParseAIM(%q) found no identifier", tc.in)
			continue
		}
		if got := id.Symbology(rest); got != tc.want || rest != tc.rest {
			t.Errorf("%q: symbology %q rest %q; want %q %q", tc.in, got, rest, tc.want, tc.rest)
		}
		if id.String() != tc.in[:3] {
			t.Errorf("%q: String() = %q", tc.in, id.String())
		}
	}
	for _, s := range []string{"", "]", "]E", "E00123", "]e", "]1A", "]Aa123", "]E-0", "[E0123"} {
		if _, rest, ok := ParseAIM(s); ok || rest != s {
			t.Errorf("ParseAIM(%q) = ok %v rest %q; want no identifier", s, ok, rest)
		}
	}
}

func TestUnescapeECI(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{`plain`, `plain`, true},
		{`a\\b`, `a\b`, true},
		{`\000026Grüße`, `Grüße`, true},
		{`x\000003y\\\\z`, `xy\\z`, true},
		{`bad\x`, ``, false},
		{`trailing\`, ``, false},
		{`short\12345`, ``, false},
	} {
		out, ok := unescapeECI([]byte(tc.in))
		if ok != tc.ok || (ok && string(out) != tc.want) {
			t.Errorf("unescapeECI(%q) = %q, %v; want %q, %v", tc.in, out, ok, tc.want, tc.ok)
		}
	}
	if !(AIM{'Q', '2'}).usesECI() || (AIM{'Q', '1'}).usesECI() || !(AIM{'L', '1'}).usesECI() || (AIM{'C', '0'}).usesECI() {
		t.Error("usesECI disagrees with the AIM tables")
	}
}

func TestHoneywellCodeID(t *testing.T) {
	for code, want := range map[byte]Symbology{'j': Code128, 'd': EAN13, 'D': EAN8, 'c': UPCA, 'E': UPCE,
		'e': ITF, 'b': Code39, 'i': Code93, 'z': Aztec, 'w': DataMatrix, 'r': PDF417, 's': QR, 'I': GS1128, '?': ""} {
		if got := honeywellSymbology(code); got != want {
			t.Errorf("code ID %c = %q, want %q", code, got, want)
		}
	}
}
