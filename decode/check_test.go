package decode

import (
	"testing"

	"github.com/admitgate/admit/gate"
)

// Check-digit vectors, each from a published source:
//   - GS1 check digit calculator page (gs1.org/barcodes/support/check_digit_calculator):
//     GTIN-13 629104150021 -> 3.
//   - GS1 Sweden, "Så beräknas kontrollsiffran": 730001100001 -> 7.
//   - GS1 India, "How to calculate the Check Digit": 890400021003 -> 7.
//   - Wikipedia "International Article Number": 400638133393 -> 1; EAN-8 7351353 -> 7;
//     "Universal Product Code": UPC-A 03600029145 -> 2.
//   - barcoderesource.com "Calculation of ITF14 Check Digit": 0001234567890 -> 5.
//   - jodal/biip (GS1 test data): ITF-14 9876543210921 -> 3 (]I198765432109213).
//   - Worth Data TriCoder manual, Appendix H (I 2 of 5 mod 10): 1987 -> 3, sent as 019873.
//   - Printronix LQH-HWTM manual, Table 19 (UPC-E zero expansion), and the
//     UPC-E 425261 <-> UPC-A 042100005264 pair (fungenerators.com UPC-E page).
//   - Motorola LS4208 Product Reference Guide, AIM identifiers: Code 39
//     "A+I+MI+D" with mod 43 check character W.
func TestGTINCheckDigit(t *testing.T) {
	for _, tc := range []struct {
		digits string
		want   byte
	}{
		{"629104150021", '3'},
		{"730001100001", '7'},
		{"890400021003", '7'},
		{"400638133393", '1'},
		{"7351353", '7'},
		{"03600029145", '2'},
		{"0001234567890", '5'},
		{"9876543210921", '3'},
		{"1987", '3'},
		{"01987", '3'}, // a leading zero changes nothing
		{"04210000526", '4'},
	} {
		got, err := GTINCheckDigit(tc.digits)
		if err != nil || got != tc.want {
			t.Errorf("GTINCheckDigit(%q) = %c, %v; want %c", tc.digits, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "12a4", "١٢٣"} {
		if _, err := GTINCheckDigit(bad); gate.ErrorCode(err) != gate.EINVALID {
			t.Errorf("GTINCheckDigit(%q) error = %v, want EINVALID", bad, err)
		}
	}
}

func TestExpandUPCE(t *testing.T) {
	// Printronix Table 19 gives the six-digit expansions; number system 0
	// and the check digit (computed by hand over the UPC-A, apart from this
	// package) complete them.
	for _, tc := range []struct{ upce, upca string }{
		{"04252614", "042100005264"},
		{"01245608", "012000004568"}, // ends 0: 12000 00456
		{"02758314", "027100005834"}, // ends 1: 27100 00583
		{"04120229", "041200002029"}, // ends 2: 41200 00202
		{"08765438", "087600000548"}, // ends 3: 87600 00054
		{"07537743", "075370000073"}, // ends 4: 75370 00007
		{"02137568", "021375000068"}, // ends 5-9: 21375 00006
		{"05170197", "051701000097"},
	} {
		got, err := ExpandUPCE(tc.upce)
		if err != nil || got != tc.upca {
			t.Errorf("ExpandUPCE(%q) = %q, %v; want %q", tc.upce, got, err, tc.upca)
			continue
		}
		if c, _ := GTINCheckDigit(got[:11]); c != got[11] {
			t.Errorf("vector %q: check digit %c, computed %c", tc.upce, got[11], c)
		}
		if err := VerifyCheckDigit(UPCE, tc.upce); err != nil {
			t.Errorf("VerifyCheckDigit(upce, %q) = %v", tc.upce, err)
		}
	}
	for _, bad := range []string{"", "0425261", "24252614", "0425261x", "042526140"} {
		if _, err := ExpandUPCE(bad); gate.ErrorCode(err) != gate.EINVALID {
			t.Errorf("ExpandUPCE(%q) error = %v, want EINVALID", bad, err)
		}
	}
}

func TestCode39CheckChar(t *testing.T) {
	for _, tc := range []struct {
		data string
		want byte
	}{
		{"A+I+MI+D", 'W'}, // Motorola LS4208 PRG
		{"CODE 39", 'R'},  // 12+24+13+14+38+3+9 = 113 = 2*43+27: R
		{"%%%%%%%%", 'Z'}, // 8*42 = 336 = 7*43+35: Z
		{"$/+%", 'X'},     // 39+40+41+42 = 162 = 3*43+33: X
		{"0", '0'},
	} {
		got, err := Code39CheckChar(tc.data)
		if err != nil || got != tc.want {
			t.Errorf("Code39CheckChar(%q) = %q, %v; want %q", tc.data, got, err, tc.want)
		}
	}
	if _, err := Code39CheckChar("abc"); gate.ErrorCode(err) != gate.EINVALID {
		t.Errorf("lower case is outside Code 39, got %v", err)
	}
}

func TestVerifyCheckDigit(t *testing.T) {
	for _, tc := range []struct {
		sym    Symbology
		data   string
		detail string // "" when valid
	}{
		{EAN13, "6291041500213", ""},
		{EAN13, "7300011000017", ""},
		{EAN13, "8904000210037", ""},
		{EAN13, "4006381333931", ""},
		{EAN13, "4006381333932", "ean13 check digit is 2, want 1"},
		{EAN13, "400638133393", "ean13 check digit needs 13 digits, got 12 characters"},
		{EAN13, "40063813339X1", "ean13 holds 'X' at character 12, not a digit"},
		{EAN8, "73513537", ""},
		{EAN8, "73513538", "ean8 check digit is 8, want 7"},
		{UPCA, "036000291452", ""},
		{UPCA, "036000291453", "upca check digit is 3, want 2"},
		{UPCE, "04252614", ""},
		{UPCE, "04252615", "upce check digit is 5, want 4 (UPC-A 04210000526)"},
		{UPCE, "24252614", "upce number system is 2, want 0 or 1"},
		{UPCE, "425261", "upce check digit needs 8 digits (number system, 6 digits, check digit), got 6 characters"},
		{ITF14, "00012345678905", ""},
		{ITF14, "98765432109213", ""},
		{ITF14, "98765432109214", "itf14 check digit is 4, want 3"},
		{ITF, "019873", ""},
		{ITF, "19873", ""},
		{ITF, "019872", "itf check digit is 2, want 3"},
		{ITF, "7", "itf mod 10 check needs at least 2 digits, got 1"},
		{Code39, "A+I+MI+DW", ""},
		{Code39, "A+I+MI+DV", "code39 mod 43 check character is 'V', want 'W'"},
		{Code39, "A+I+MI+D*", "code39 check character '*' is outside Code 39, want 'W'"},
		{Code39, "a+I+MI+DW", "code39 holds 'a' at character 1, outside Code 39 (mod 43 check)"},
		{QR, "anything at all", ""},
		{Code128, "X", ""},
	} {
		err := VerifyCheckDigit(tc.sym, tc.data)
		switch {
		case tc.detail == "" && err != nil:
			t.Errorf("VerifyCheckDigit(%s, %q) = %v, want nil", tc.sym, tc.data, err)
		case tc.detail != "" && (err == nil || err.Error() != tc.detail):
			t.Errorf("VerifyCheckDigit(%s, %q) = %v, want %q", tc.sym, tc.data, err, tc.detail)
		case err != nil && gate.ErrorCode(err) != gate.EINVALID:
			t.Errorf("VerifyCheckDigit(%s, %q) code = %s", tc.sym, tc.data, gate.ErrorCode(err))
		}
	}
}

// Every single-digit substitution in a GTIN is caught (the weights 1 and 3
// are prime to 10), and every single-character substitution in Code 39.
func TestCheckDigitsCatchSubstitutions(t *testing.T) {
	for _, v := range []struct {
		sym  Symbology
		data string
	}{{EAN13, "6291041500213"}, {ITF14, "00012345678905"}, {EAN8, "73513537"}, {UPCA, "036000291452"}} {
		for i := 0; i < len(v.data); i++ {
			for d := byte('0'); d <= '9'; d++ {
				if d == v.data[i] {
					continue
				}
				b := []byte(v.data)
				b[i] = d
				if VerifyCheckDigit(v.sym, string(b)) == nil {
					t.Errorf("%s %s: substitution at %d passed", v.sym, b, i)
				}
			}
		}
	}
	good := "A+I+MI+DW"
	for i := 0; i < len(good); i++ {
		for j := 0; j < len(code39Chars); j++ {
			if code39Chars[j] == good[i] {
				continue
			}
			b := []byte(good)
			b[i] = code39Chars[j]
			if VerifyCheckDigit(Code39, string(b)) == nil {
				t.Errorf("code39 %s: substitution at %d passed", b, i)
			}
		}
	}
}
