package rules

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// kind is the type of a value. JSON's six types, plus a point in time (what
// pretix's "now" and buildTime give).
type kind uint8

const (
	kNull kind = iota
	kBool
	kNum
	kStr
	kArr
	kObj
	kTime
)

var kindNames = [...]string{kNull: "null", kBool: "a boolean", kNum: "a number", kStr: "a string",
	kArr: "an array", kObj: "an object", kTime: "a time"}

// value is what an expression evaluates to. It is passed by value (40
// bytes: the evaluator copies it at every step) and holds no pointer it does
// not share with the compiled rule or the facts, so the evaluation of a rule
// that builds no array allocates nothing.
type value struct {
	k kind
	b bool
	// n is a kNum's number, or a kTime's microseconds since 1970 UTC
	// (pretix's precision; exact within 285 years of 1970, and rounded to a
	// few microseconds beyond).
	n float64
	s string    // kStr
	c *compound // kArr, kObj
}

// compound holds an array's elements or an object's members.
type compound struct {
	a []value
	o map[string]value // data of the official suite only: rules have no object literals
}

// arr returns an array's elements.
func (v value) arr() []value {
	if v.c == nil {
		return nil
	}
	return v.c.a
}

// obj returns an object's members.
func (v value) obj() map[string]value {
	if v.c == nil {
		return nil
	}
	return v.c.o
}

func object(o map[string]value) value { return value{k: kObj, c: &compound{o: o}} }

var null = value{}

func boolean(b bool) value   { return value{k: kBool, b: b} }
func number(n float64) value { return value{k: kNum, n: n} }
func str(s string) value     { return value{k: kStr, s: s} }
func array(a []value) value  { return value{k: kArr, c: &compound{a: a}} }
func instant(t time.Time) value {
	return value{k: kTime, n: float64(t.UnixMicro())}
}

// time returns the instant of a kTime value.
func (v value) time() time.Time { return time.UnixMicro(int64(v.n)) }

// truthy is JsonLogic's truth: false, null, 0, NaN, "" and [] are false,
// everything else true (so "0" is true and [] is not, unlike in JavaScript).
func truthy(v value) bool {
	switch v.k {
	case kNull:
		return false
	case kBool:
		return v.b
	case kNum:
		return v.n != 0 && !math.IsNaN(v.n)
	case kStr:
		return v.s != ""
	case kArr:
		return len(v.arr()) > 0
	}
	return true
}

// toPrimitive is JavaScript's ToPrimitive for the values JsonLogic meets: an
// array becomes its elements joined with commas, an object "[object Object]".
func toPrimitive(v value) value {
	switch v.k {
	case kArr, kObj:
		return str(toString(v))
	}
	return v
}

// toNumber is JavaScript's Number(v). A time has no number: callers that
// meet one refuse the rule (see env.numeric).
func toNumber(v value) float64 {
	switch v.k {
	case kNull:
		return 0
	case kBool:
		if v.b {
			return 1
		}
		return 0
	case kNum:
		return v.n
	case kStr:
		return stringToNumber(v.s)
	case kArr:
		return stringToNumber(toString(v))
	}
	return math.NaN()
}

// jsSpace reports the white space JavaScript trims from numeric strings.
func jsSpace(r rune) bool {
	switch r {
	case ' ', '\t', '\n', '\v', '\f', '\r', 0xA0, 0x1680, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000, 0xFEFF:
		return true
	}
	return r >= 0x2000 && r <= 0x200A
}

// stringToNumber is JavaScript's StringToNumber: trimmed, empty is 0, decimal
// literals, Infinity, and 0x/0o/0b integers; anything else is NaN.
func stringToNumber(s string) float64 {
	s = strings.TrimFunc(s, jsSpace)
	if s == "" {
		return 0
	}
	if len(s) > 2 && s[0] == '0' {
		base := 0
		switch s[1] {
		case 'x', 'X':
			base = 16
		case 'o', 'O':
			base = 8
		case 'b', 'B':
			base = 2
		}
		if base != 0 {
			u, err := strconv.ParseUint(s[2:], base, 64)
			if err != nil || strings.ContainsRune(s[2:], '_') {
				return math.NaN()
			}
			return float64(u)
		}
	}
	n, ok := decimalPrefix(s)
	if !ok || n != len(s) {
		return math.NaN()
	}
	return parseDecimal(s)
}

// parseFloat is JavaScript's parseFloat(String(v)), which "+" and "*" use:
// the longest decimal prefix after leading white space, else NaN.
func parseFloat(v value) float64 {
	switch v.k {
	case kNum:
		return v.n
	case kNull, kBool, kObj, kTime:
		return math.NaN()
	}
	s := v.s
	if v.k == kArr {
		s = toString(v)
	}
	s = strings.TrimLeftFunc(s, jsSpace)
	n, ok := decimalPrefix(s)
	if !ok {
		return math.NaN()
	}
	return parseDecimal(s[:n])
}

// decimalPrefix returns the length of the longest prefix of s that is a
// JavaScript StrDecimalLiteral: [+-] (Infinity | digits [. digits] | . digits)
// [e [+-] digits].
func decimalPrefix(s string) (int, bool) {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	if strings.HasPrefix(s[i:], "Infinity") {
		return i + len("Infinity"), true
	}
	digits := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
		digits++
	}
	if i < len(s) && s[i] == '.' {
		j := i + 1
		frac := 0
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
			frac++
		}
		if digits+frac > 0 {
			i = j
			digits += frac
		}
	}
	if digits == 0 {
		return 0, false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		j := i + 1
		if j < len(s) && (s[j] == '+' || s[j] == '-') {
			j++
		}
		exp := 0
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
			exp++
		}
		if exp > 0 {
			i = j
		}
	}
	return i, true
}

// parseDecimal parses what decimalPrefix accepted. Out of range is ±Infinity
// or 0, as in JavaScript.
func parseDecimal(s string) float64 {
	switch strings.TrimLeft(s, "+-") {
	case "Infinity":
		if s[0] == '-' {
			return math.Inf(-1)
		}
		return math.Inf(1)
	}
	n, err := strconv.ParseFloat(s, 64)
	if err != nil && !isRangeErr(err) {
		return math.NaN()
	}
	return n
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// numberString is JavaScript's Number::toString: the shortest digits that
// round-trip, fixed notation for 1e-7 ≤ |n| < 1e21, else exponent notation.
func numberString(n float64) string {
	switch {
	case math.IsNaN(n):
		return "NaN"
	case math.IsInf(n, 1):
		return "Infinity"
	case math.IsInf(n, -1):
		return "-Infinity"
	case n == 0:
		return "0"
	}
	if a := math.Abs(n); a >= 1e-7 && a < 1e21 {
		return strconv.FormatFloat(n, 'f', -1, 64)
	}
	s := strconv.FormatFloat(n, 'e', -1, 64) // 1e+21, 1.5e-07
	mant, exp, _ := strings.Cut(s, "e")
	sign := exp[0]
	exp = strings.TrimLeft(exp[1:], "0")
	return mant + "e" + string(sign) + exp
}

// toString is JavaScript's String(v), with a time in RFC 3339 (UTC).
func toString(v value) string {
	switch v.k {
	case kNull:
		return "null"
	case kBool:
		if v.b {
			return "true"
		}
		return "false"
	case kNum:
		return numberString(v.n)
	case kStr:
		return v.s
	case kArr:
		var b strings.Builder
		for i, e := range v.arr() {
			if i > 0 {
				b.WriteByte(',')
			}
			if e.k != kNull {
				b.WriteString(toString(e))
			}
		}
		return b.String()
	case kObj:
		return "[object Object]"
	case kTime:
		return v.time().UTC().Format(time.RFC3339Nano)
	}
	return ""
}

// looseEqual is JavaScript's == (IsLooselyEqual). Two arrays or objects are
// never equal (JavaScript compares them by identity); a time equals only the
// same instant.
func looseEqual(a, b value) bool {
	if a.k == b.k {
		return strictEqual(a, b)
	}
	switch {
	case a.k == kNull || b.k == kNull, a.k == kTime || b.k == kTime:
		return false
	case a.k == kNum && b.k == kStr:
		return a.n == stringToNumber(b.s)
	case a.k == kStr && b.k == kNum:
		return stringToNumber(a.s) == b.n
	case a.k == kBool:
		return looseEqual(number(toNumber(a)), b)
	case b.k == kBool:
		return looseEqual(a, number(toNumber(b)))
	case (a.k == kArr || a.k == kObj) && (b.k == kNum || b.k == kStr):
		return looseEqual(toPrimitive(a), b)
	case (b.k == kArr || b.k == kObj) && (a.k == kNum || a.k == kStr):
		return looseEqual(a, toPrimitive(b))
	}
	return false
}

// strictEqual is JavaScript's === (arrays and objects by identity, so never).
func strictEqual(a, b value) bool {
	if a.k != b.k {
		return false
	}
	switch a.k {
	case kNull:
		return true
	case kBool:
		return a.b == b.b
	case kNum:
		return a.n == b.n
	case kStr:
		return a.s == b.s
	case kTime:
		return a.n == b.n
	}
	return false
}

// deepEqual compares values by content, for tests and constant lists.
func deepEqual(a, b value) bool {
	if a.k != b.k {
		return false
	}
	switch a.k {
	case kArr:
		if len(a.arr()) != len(b.arr()) {
			return false
		}
		for i := range a.arr() {
			if !deepEqual(a.arr()[i], b.arr()[i]) {
				return false
			}
		}
		return true
	case kObj:
		if len(a.obj()) != len(b.obj()) {
			return false
		}
		for k, av := range a.obj() {
			bv, ok := b.obj()[k]
			if !ok || !deepEqual(av, bv) {
				return false
			}
		}
		return true
	case kNum:
		return a.n == b.n || (math.IsNaN(a.n) && math.IsNaN(b.n))
	}
	return strictEqual(a, b)
}
