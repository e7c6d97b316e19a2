package decode

import (
	"slices"

	"golang.org/x/text/encoding/charmap"
)

// Keyboard usage IDs (USB HID Usage Tables, page 0x07) that decode names.
const (
	keyA              = 0x04
	keyZ              = 0x1D
	key1              = 0x1E
	key0              = 0x27
	keyEnter          = 0x28
	keyTab            = 0x2B
	keySpace          = 0x2C
	keyCapsLock       = 0x39
	keyScrollLock     = 0x47
	keyNumLock        = 0x53
	keyMinus          = 0x2D // first key of the punctuation block 0x2D-0x38
	keyLeftBracket    = 0x2F
	keyRightBracket   = 0x30
	keyBackslash      = 0x31
	keyNonUSHash      = 0x32
	keySlash          = 0x38
	keyKPSlash        = 0x54
	keyKPEnter        = 0x58
	keyKP1            = 0x59
	keyKP0            = 0x62
	keyKPDot          = 0x63
	keyNonUSBackslash = 0x64
	keyKPEqual        = 0x67
	numKeys           = 0x68 // usages at or above are unmapped
)

// Modifier bits of byte 0 of a boot keyboard report.
const (
	modLCtrl  = 0x01
	modLShift = 0x02
	modLAlt   = 0x04
	modLGUI   = 0x08
	modRCtrl  = 0x10
	modRShift = 0x20
	modRAlt   = 0x40
	modRGUI   = 0x80
)

// Levels of a key: which modifiers select which character.
const (
	levelShift = 1
	levelAltGr = 2
)

// layout maps key usages to characters the way Windows' layout of the same
// name does, because that is what scanners set to a "country keyboard"
// emulate: base, Shift, AltGr and Shift+AltGr levels, dead keys, and the
// OEM code page that ALT+numpad codes without a leading zero use.
//
// The tables were checked against Microsoft's layout sources for German and
// French (github.com/microsoft/Windows-driver-samples,
// input/layout/all_kbds/kbdgr/kbdgr.c and kbdfr/kbdfr.c: levels, dead keys
// and their compositions, the Ctrl column) and ReactOS's reimplementations
// for UK and Spanish (dll/keyboard/kbduk, kbdsp).
type layout struct {
	name  string
	altGr bool             // Right Alt is AltGr (as is Ctrl+Left Alt)
	oem   *charmap.Charmap // code page of ALT+nnn (without a leading 0)
	keys  [numKeys][4]rune // by level; 0: nothing
	dead  [numKeys]uint8   // bit 1<<level: that level is a dead key
	alias [numKeys]bool    // the key repeats another one; the encoder avoids it

	// For the encoder.
	strokes map[rune]stroke    // the key that types a rune
	viaDead map[rune][2]stroke // a rune typed as dead key + base key
}

// stroke is a key pressed with modifiers.
type stroke struct{ key, mods byte }

// layoutSpec is a layout as written in the source: the characters of the
// key rows in US usage order, '\x00' where a level types nothing.
type layoutSpec struct {
	name                  string
	altGr                 bool
	oem                   *charmap.Charmap
	letters, lettersShift string // usages 0x04-0x1D (a-z on a US keyboard)
	digits, digitsShift   string // usages 0x1E-0x27 (1-9, 0)
	punct, punctShift     string // usages 0x2D-0x38 (- = [ ] \ #~ ; ' ` , . /)
	iso, isoShift         rune   // usage 0x64, the ISO key left of Z
	altGrKeys             []altGrKey
	deadKeys              []deadKey
	kpDecimal             rune
	aliases               []byte
}

type altGrKey struct {
	key          byte
	altGr, shift rune // AltGr and Shift+AltGr levels
}

type deadKey struct{ key, level byte }

var layoutSpecs = []layoutSpec{
	{
		name: "us", oem: charmap.CodePage437,
		letters: "abcdefghijklmnopqrstuvwxyz", lettersShift: "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
		digits: "1234567890", digitsShift: "!@#$%^&*()",
		punct: "-=[]\\\\;'`,./", punctShift: "_+{}||:\"~<>?",
		iso: '\\', isoShift: '|',
		kpDecimal: '.',
		aliases:   []byte{keyNonUSHash, keyNonUSBackslash},
	},
	{
		name: "uk", altGr: true, oem: charmap.CodePage850,
		letters: "abcdefghijklmnopqrstuvwxyz", lettersShift: "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
		digits: "1234567890", digitsShift: "!\"£$%^&*()",
		punct: "-=[]##;'`,./", punctShift: "_+{}~~:@¬<>?",
		iso: '\\', isoShift: '|',
		altGrKeys: []altGrKey{
			{0x21, '€', 0}, {0x35, '¦', 0},
			{0x04, 'á', 'Á'}, {0x08, 'é', 'É'}, {0x0C, 'í', 'Í'}, {0x12, 'ó', 'Ó'}, {0x18, 'ú', 'Ú'},
		},
		kpDecimal: '.',
		aliases:   []byte{keyBackslash},
	},
	{
		name: "de", altGr: true, oem: charmap.CodePage850,
		letters: "abcdefghijklmnopqrstuvwxzy", lettersShift: "ABCDEFGHIJKLMNOPQRSTUVWXZY",
		digits: "1234567890", digitsShift: "!\"§$%&/()=",
		punct: "ß´ü+##öä^,.-", punctShift: "?`Ü*''ÖÄ°;:_",
		iso: '<', isoShift: '>',
		altGrKeys: []altGrKey{
			{0x14, '@', 0}, {0x08, '€', 0}, {0x10, 'µ', 0},
			{0x1F, '²', 0}, {0x20, '³', 0}, {0x24, '{', 0}, {0x25, '[', 0}, {0x26, ']', 0}, {0x27, '}', 0},
			{0x2D, '\\', 0}, {0x30, '~', 0}, {0x64, '|', 0},
		},
		deadKeys:  []deadKey{{0x2E, 0}, {0x2E, levelShift}, {0x35, 0}},
		kpDecimal: ',',
		aliases:   []byte{keyBackslash},
	},
	{
		name: "fr", altGr: true, oem: charmap.CodePage850,
		letters: "qbcdefghijkl,noparstuvzxyw", lettersShift: "QBCDEFGHIJKL?NOPARSTUVZXYW",
		digits: "&é\"'(-è_çà", digitsShift: "1234567890",
		punct: ")=^$**mù²;:!", punctShift: "°+¨£µµM%\x00./§",
		iso: '<', isoShift: '>',
		altGrKeys: []altGrKey{
			{0x08, '€', 0},
			{0x1F, '~', 0}, {0x20, '#', 0}, {0x21, '{', 0}, {0x22, '[', 0}, {0x23, '|', 0},
			{0x24, '`', 0}, {0x25, '\\', 0}, {0x26, '^', 0}, {0x27, '@', 0},
			{0x2D, ']', 0}, {0x2E, '}', 0}, {0x30, '¤', 0},
		},
		deadKeys:  []deadKey{{0x2F, 0}, {0x2F, levelShift}, {0x1F, levelAltGr}, {0x24, levelAltGr}},
		kpDecimal: '.',
		aliases:   []byte{keyBackslash},
	},
	{
		name: "es", altGr: true, oem: charmap.CodePage850,
		letters: "abcdefghijklmnopqrstuvwxyz", lettersShift: "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
		digits: "1234567890", digitsShift: "!\"·$%&/()=",
		punct: "'¡`+ççñ´º,.-", punctShift: "?¿^*ÇÇÑ¨ª;:_",
		iso: '<', isoShift: '>',
		altGrKeys: []altGrKey{
			{0x08, '€', 0},
			{0x1E, '|', 0}, {0x1F, '@', 0}, {0x20, '#', 0}, {0x21, '~', 0}, {0x22, '€', 0}, {0x23, '¬', 0},
			{0x2F, '[', 0}, {0x30, ']', 0}, {0x31, '}', 0}, {0x32, '}', 0}, {0x34, '{', 0}, {0x35, '\\', 0},
		},
		deadKeys:  []deadKey{{0x2F, 0}, {0x2F, levelShift}, {0x34, 0}, {0x34, levelShift}, {0x21, levelAltGr}},
		kpDecimal: '.',
		aliases:   []byte{keyBackslash},
	},
}

// deadCompose lists, per dead accent, pairs of base letter and the letter
// the accent composes with it. A dead key followed by Space types the accent
// itself; followed by anything else, the accent and then that character.
var deadCompose = map[rune][]rune{
	'^': []rune("aâeêiîoôuûAÂEÊIÎOÔUÛ"),
	'`': []rune("aàeèiìoòuùAÀEÈIÌOÒUÙ"),
	'´': []rune("aáeéiíoóuúyýAÁEÉIÍOÓUÚYÝ"),
	'¨': []rune("aäeëiïoöuüyÿAÄEËIÏOÖUÜYŸ"),
	'~': []rune("aãoõnñAÃOÕNÑ"),
}

// compose returns what dead accent followed by base types, or 0.
func compose(accent, base rune) rune {
	pairs := deadCompose[accent]
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i] == base {
			return pairs[i+1]
		}
	}
	return 0
}

var layouts = buildLayouts()

// Layouts returns the names of the keyboard layouts decode reads.
func Layouts() []string {
	names := make([]string, len(layouts))
	for i, l := range layouts {
		names[i] = l.name
	}
	return names
}

func layoutByName(name string) *layout {
	for _, l := range layouts {
		if l.name == name {
			return l
		}
	}
	return nil
}

func buildLayouts() []*layout {
	out := make([]*layout, 0, len(layoutSpecs))
	for i := range layoutSpecs {
		out = append(out, buildLayout(&layoutSpecs[i]))
	}
	return out
}

func buildLayout(sp *layoutSpec) *layout {
	l := &layout{name: sp.name, altGr: sp.altGr, oem: sp.oem}
	row := func(first byte, base, shift string) {
		b, s := []rune(base), []rune(shift)
		if len(b) != len(s) {
			panic("decode: layout " + sp.name + ": row lengths differ")
		}
		for i := range b {
			l.keys[int(first)+i][0] = b[i]
			l.keys[int(first)+i][levelShift] = s[i]
		}
	}
	row(keyA, sp.letters, sp.lettersShift)
	row(key1, sp.digits, sp.digitsShift)
	row(keyMinus, sp.punct, sp.punctShift)
	l.keys[keyNonUSBackslash] = [4]rune{sp.iso, sp.isoShift}
	l.keys[keySpace] = [4]rune{' ', ' '}
	for _, k := range sp.altGrKeys {
		l.keys[k.key][levelAltGr] = k.altGr
		l.keys[k.key][levelAltGr|levelShift] = k.shift
	}
	for _, d := range sp.deadKeys {
		l.dead[d.key] |= 1 << d.level
	}
	// The keypad types the same in every layout, whatever Shift says.
	kp := map[byte]rune{keyKPSlash: '/', keyKPSlash + 1: '*', keyKPSlash + 2: '-', keyKPSlash + 3: '+',
		keyKP0: '0', keyKPDot: sp.kpDecimal, keyKPEqual: '='}
	for i := byte(0); i < 9; i++ {
		kp[keyKP1+i] = rune('1' + i)
	}
	for k, r := range kp {
		l.keys[k] = [4]rune{r, r}
		l.alias[k] = true
	}
	for _, k := range sp.aliases {
		l.alias[k] = true
	}

	// The encoder's view: unshifted before shifted before AltGr, then key
	// order; dead keys and aliases are never picked for a direct stroke.
	l.strokes = make(map[rune]stroke)
	l.viaDead = make(map[rune][2]stroke)
	var deadStrokes []stroke
	for level := 0; level < 4; level++ {
		for key := 0; key < numKeys; key++ {
			r := l.keys[key][level]
			if r == 0 || l.alias[key] {
				continue
			}
			st := stroke{key: byte(key), mods: levelMods(level)}
			if l.dead[key]&(1<<level) != 0 {
				deadStrokes = append(deadStrokes, st)
				continue
			}
			if _, ok := l.strokes[r]; !ok {
				l.strokes[r] = st
			}
		}
	}
	space := l.strokes[' ']
	for _, d := range deadStrokes {
		accent := l.keys[d.key][modsLevel(d.mods)]
		if _, ok := l.strokes[accent]; !ok {
			if _, ok := l.viaDead[accent]; !ok {
				l.viaDead[accent] = [2]stroke{d, space}
			}
		}
		pairs := deadCompose[accent]
		for i := 0; i+1 < len(pairs); i += 2 {
			base, composed := pairs[i], pairs[i+1]
			bs, ok := l.strokes[base]
			if !ok {
				continue
			}
			if _, direct := l.strokes[composed]; direct {
				continue
			}
			if _, ok := l.viaDead[composed]; !ok {
				l.viaDead[composed] = [2]stroke{d, bs}
			}
		}
	}
	return l
}

// levelMods returns the modifier byte the encoder sends for a level.
func levelMods(level int) byte {
	var m byte
	if level&levelShift != 0 {
		m |= modLShift
	}
	if level&levelAltGr != 0 {
		m |= modRAlt
	}
	return m
}

func modsLevel(m byte) int {
	level := 0
	if m&(modLShift|modRShift) != 0 {
		level |= levelShift
	}
	if m&modRAlt != 0 {
		level |= levelAltGr
	}
	return level
}

// control returns the control character Ctrl+key types, or -1. Letters give
// 0x01-0x1A by the letter the layout puts on the key; the keys at the US
// positions of [ \ ] give ESC, FS and GS (0x1B-0x1D) in every layout, as
// Windows' layouts do, which is how scanners in "Ctrl+ASCII" mode send the
// GS1 separator.
func (l *layout) control(key byte) rune {
	switch key {
	case keyLeftBracket:
		return 0x1B
	case keyBackslash, keyNonUSHash:
		return 0x1C
	case keyRightBracket:
		return 0x1D
	}
	if key < numKeys && !l.alias[key] {
		if c := l.keys[key][0]; c >= 'a' && c <= 'z' {
			return c - 'a' + 1
		}
	}
	return -1
}

// isKeypadDigit reports whether key is a keypad digit, and which.
func isKeypadDigit(key byte) (byte, bool) {
	switch {
	case key >= keyKP1 && key < keyKP0:
		return '1' + key - keyKP1, true
	case key == keyKP0:
		return '0', true
	}
	return 0, false
}

// keypadKey returns the keypad usage that types digit d.
func keypadKey(d byte) byte {
	if d == '0' {
		return keyKP0
	}
	return keyKP1 + d - '1'
}

// sortedRunes returns the runes the layout types directly, sorted; tests
// use it to round-trip every character of a layout.
func (l *layout) sortedRunes() []rune {
	out := make([]rune, 0, len(l.strokes)+len(l.viaDead))
	for r := range l.strokes {
		out = append(out, r)
	}
	for r := range l.viaDead {
		out = append(out, r)
	}
	slices.Sort(out)
	return out
}
