package usbemu

import "fmt"

// KeyboardReports returns the 8-byte boot keyboard reports a US-layout
// keyboard-wedge scanner sends for text: for each character a key press
// (with left shift when needed) and a key release. '\n' and '\r' are the
// Enter key, '\t' the Tab key. It is the emulated scanner's own table, kept
// small on purpose; decode has the full layouts.
func KeyboardReports(text string) ([][]byte, error) {
	var out [][]byte
	for i, r := range text {
		k, ok := usKeys[r]
		if !ok {
			return nil, fmt.Errorf("usbemu: character %q at byte %d has no key on a US keyboard", r, i)
		}
		var mod byte
		if k.shift {
			mod = 0x02 // left shift
		}
		out = append(out, []byte{mod, 0, k.usage, 0, 0, 0, 0, 0}, make([]byte, 8))
	}
	return out, nil
}

type key struct {
	usage byte
	shift bool
}

var usKeys = func() map[rune]key {
	m := map[rune]key{
		'\n': {0x28, false}, '\r': {0x28, false}, '\t': {0x2b, false}, ' ': {0x2c, false},
		'0': {0x27, false},
	}
	for i := 0; i < 26; i++ {
		m[rune('a'+i)] = key{byte(0x04 + i), false}
		m[rune('A'+i)] = key{byte(0x04 + i), true}
	}
	for i := 1; i <= 9; i++ {
		m[rune('0'+i)] = key{byte(0x1e + i - 1), false}
	}
	plain := "-=[]\\;'`,./"
	shifted := "_+{}|:\"~<>?"
	usages := []byte{0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38}
	for i, u := range usages {
		m[rune(plain[i])] = key{u, false}
		m[rune(shifted[i])] = key{u, true}
	}
	shiftedDigits := "!@#$%^&*()"
	for i, r := range shiftedDigits {
		m[r] = key{byte(0x1e + i), true}
	}
	return m
}()
