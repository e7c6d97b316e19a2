package decode

import (
	"fmt"
	"strings"

	"github.com/admitgate/admit/gate"
)

// GTINCheckDigit returns the GS1 mod-10 check digit of digits (the number
// without its check digit): weights 3 and 1 from the right, the check digit
// bringing the sum to a multiple of ten. The same digit ends EAN-8, EAN-13,
// UPC-A, ITF-14 and the optional "mod 10" digit of Interleaved 2 of 5.
// EINVALID when digits is empty or holds a non-digit.
func GTINCheckDigit(digits string) (byte, error) {
	if len(digits) == 0 {
		return 0, gate.Errorf(gate.EINVALID, "no digits to check")
	}
	if i := firstNonDigit(digits); i >= 0 {
		return 0, gate.Errorf(gate.EINVALID, "%q holds a non-digit at character %d", digits, i+1)
	}
	return mod10(digits), nil
}

// ExpandUPCE returns the 12-digit UPC-A number an 8-digit UPC-E number
// (number system 0 or 1, six digits, check digit) stands for, check digit
// included, by the zero-suppression rules of the UPC specification. It does
// not validate the check digit. EINVALID for anything else.
func ExpandUPCE(upce string) (string, error) {
	var a [12]byte
	if !expandUPCE(upce, &a) {
		return "", gate.Errorf(gate.EINVALID, "%q is not an 8-digit UPC-E number with number system 0 or 1", upce)
	}
	return string(a[:]), nil
}

// Code39CheckChar returns the modulo 43 check character of Code 39 data (the
// data without its check character). EINVALID when data holds a character
// outside Code 39's 43.
func Code39CheckChar(data string) (byte, error) {
	c, bad := mod43(data)
	if bad >= 0 {
		return 0, gate.Errorf(gate.EINVALID, "%q holds %q at character %d, outside Code 39", data, data[bad], bad+1)
	}
	return c, nil
}

// VerifyCheckDigit checks the check digit that data of symbology sym ends
// with: GS1 mod 10 for EAN-8, EAN-13, UPC-A, ITF-14 and Interleaved 2 of 5,
// UPC-E through its UPC-A expansion, mod 43 for Code 39. Symbologies without
// a check digit pass. The error (EINVALID) says which digit failed and why.
func VerifyCheckDigit(sym Symbology, data string) error {
	if p := checkProblem(sym, data); p != "" {
		return gate.Errorf(gate.EINVALID, "%s", p)
	}
	return nil
}

// checkProblem returns "" when data's check digit is right for sym, else a
// detail fit for Read.Malformed. It allocates only for a problem.
func checkProblem[T ~string | ~[]byte](sym Symbology, data T) string {
	switch sym {
	case EAN8:
		return gtinProblem(sym, data, 8)
	case EAN13:
		return gtinProblem(sym, data, 13)
	case UPCA:
		return gtinProblem(sym, data, 12)
	case ITF14:
		return gtinProblem(sym, data, 14)
	case ITF:
		if len(data) < 2 {
			return fmt.Sprintf("itf mod 10 check needs at least 2 digits, got %d", len(data))
		}
		return gtinProblem(sym, data, len(data))
	case UPCE:
		var a [12]byte
		if len(data) != 8 {
			return fmt.Sprintf("upce check digit needs 8 digits (number system, 6 digits, check digit), got %d characters", len(data))
		}
		if i := firstNonDigit(data); i >= 0 {
			return fmt.Sprintf("upce holds %q at character %d, not a digit", data[i], i+1)
		}
		if !expandUPCE(data, &a) {
			return fmt.Sprintf("upce number system is %c, want 0 or 1", data[0])
		}
		if want := mod10(a[:11]); want != a[11] {
			return fmt.Sprintf("upce check digit is %c, want %c (UPC-A %s)", a[11], want, a[:11])
		}
	case Code39:
		if len(data) < 2 {
			return fmt.Sprintf("code39 mod 43 check needs at least 2 characters, got %d", len(data))
		}
		n := len(data) - 1
		want, bad := mod43(data[:n])
		if bad >= 0 {
			return fmt.Sprintf("code39 holds %q at character %d, outside Code 39 (mod 43 check)", data[bad], bad+1)
		}
		if got := data[n]; got != want {
			if code39Value(got) < 0 {
				return fmt.Sprintf("code39 check character %q is outside Code 39, want %q", got, want)
			}
			return fmt.Sprintf("code39 mod 43 check character is %q, want %q", got, want)
		}
	}
	return ""
}

// gtinProblem checks a mod-10 number of n digits, its last digit the check.
func gtinProblem[T ~string | ~[]byte](sym Symbology, data T, n int) string {
	if len(data) != n {
		return fmt.Sprintf("%s check digit needs %d digits, got %d characters", sym, n, len(data))
	}
	if i := firstNonDigit(data); i >= 0 {
		return fmt.Sprintf("%s holds %q at character %d, not a digit", sym, data[i], i+1)
	}
	if want, got := mod10(data[:n-1]), data[n-1]; got != want {
		return fmt.Sprintf("%s check digit is %c, want %c", sym, got, want)
	}
	return ""
}

// mod10 computes the GS1 check digit of ASCII digits.
func mod10[T ~string | ~[]byte](digits T) byte {
	sum := 0
	w := 3
	for i := len(digits) - 1; i >= 0; i-- {
		sum += int(digits[i]-'0') * w
		w = 4 - w
	}
	return byte('0' + (10-sum%10)%10)
}

func firstNonDigit[T ~string | ~[]byte](s T) int {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return i
		}
	}
	return -1
}

func allDigits[T ~string | ~[]byte](s T) bool { return firstNonDigit(s) < 0 }

// expandUPCE writes the UPC-A expansion of an 8-digit UPC-E number into a.
// The rules by the sixth data digit d6 (UPC-E "NS d1 d2 d3 d4 d5 d6 C"):
// 0-2: NS d1 d2 d6 0000 d3 d4 d5; 3: NS d1 d2 d3 00000 d4 d5;
// 4: NS d1 d2 d3 d4 00000 d5; 5-9: NS d1 d2 d3 d4 d5 0000 d6; then C.
func expandUPCE[T ~string | ~[]byte](e T, a *[12]byte) bool {
	if len(e) != 8 || !allDigits(e) || (e[0] != '0' && e[0] != '1') {
		return false
	}
	for i := range a {
		a[i] = '0'
	}
	a[0] = e[0]
	d := e[1:7]
	switch d[5] {
	case '0', '1', '2':
		a[1], a[2], a[3] = d[0], d[1], d[5]
		a[8], a[9], a[10] = d[2], d[3], d[4]
	case '3':
		a[1], a[2], a[3] = d[0], d[1], d[2]
		a[9], a[10] = d[3], d[4]
	case '4':
		a[1], a[2], a[3], a[4] = d[0], d[1], d[2], d[3]
		a[10] = d[4]
	default:
		a[1], a[2], a[3], a[4], a[5] = d[0], d[1], d[2], d[3], d[4]
		a[10] = d[5]
	}
	a[11] = e[7]
	return true
}

const code39Chars = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-. $/+%"

func code39Value(c byte) int { return strings.IndexByte(code39Chars, c) }

// mod43 returns the Code 39 check character of data, or the index of the
// first character outside Code 39.
func mod43[T ~string | ~[]byte](data T) (check byte, bad int) {
	sum := 0
	for i := 0; i < len(data); i++ {
		v := code39Value(data[i])
		if v < 0 {
			return 0, i
		}
		sum += v
	}
	return code39Chars[sum%43], -1
}
