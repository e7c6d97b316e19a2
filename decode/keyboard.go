package decode

import (
	"bytes"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/rs/zerolog"

	"github.com/admitgate/admit/gate"
)

// ReportDecoder turns the input reports of a HID scanner into reads. The
// USB source feeds it every report it reads from the interrupt endpoint and
// drives the rest through a [Pump]. Implementations are not safe for
// concurrent use: one goroutine per scanner.
type ReportDecoder interface {
	// Feed takes one input report as read from the interrupt endpoint. It
	// returns a completed read when this report ends one (Enter/Tab/suffix,
	// or a POS report that completes a barcode).
	Feed(report []byte, at time.Time) (gate.Read, bool)
	Timed
}

// BootReportLen is the length of a boot keyboard input report: modifiers,
// a reserved byte and six key codes.
const BootReportLen = 8

// maxAltDigits bounds an ALT+numpad code: seven digits reach every
// Unicode code point.
const maxAltDigits = 7

// Keyboard decodes boot keyboard reports from a scanner in keyboard
// ("wedge") mode into reads. It reads key-down edges only: a key held across
// reports counts once, roll-over reports are taken in order, and the
// all-zero report releases everything. Characters come from the configured
// layout (never the host's, nor its Caps Lock), with Shift, AltGr, dead keys,
// Ctrl combinations for control characters (Ctrl+] is the GS1 separator) and
// ALT+numpad codes for characters outside the layout. Not safe for
// concurrent use.
type Keyboard struct {
	a      assembler
	layout *layout

	prev      [6]byte // keys down in the last report
	reports   int     // reports fed, for details
	dead      rune    // a dead key waiting for its base character
	altDigits [maxAltDigits]byte
	altLen    int  // ALT+numpad digits typed so far
	altOn     bool // an ALT+numpad code is being typed
	altBad    bool // the code overflowed
}

var _ ReportDecoder = (*Keyboard)(nil)

// NewKeyboard returns a decoder of boot keyboard reports for the scanner cfg
// describes. EINVALID for a config it cannot honour.
func NewKeyboard(cfg Config, log zerolog.Logger) (*Keyboard, error) {
	s, err := cfg.resolve(kindKeyboard)
	if err != nil {
		return nil, err
	}
	k := &Keyboard{layout: s.layout}
	log = log.With().Str("component", "decode").Str("decoder", "keyboard").Str("source", s.source).Logger()
	k.a.init(s, log, endName(s, false))
	return k, nil
}

// endName says what should end a read under s, for "incomplete" details.
func endName(s *settings, bytes bool) string {
	if s.suffixEnds {
		return fmt.Sprintf("suffix %q", s.suffix)
	}
	if s.terms == TermNone {
		return "end of read"
	}
	return s.terms.describe(bytes)
}

// Feed takes one input report. A report that is not 8 bytes long makes the
// current read malformed; an ErrorRollOver report (too many keys down) is
// ignored, as the HID specification asks.
func (k *Keyboard) Feed(report []byte, at time.Time) (gate.Read, bool) {
	k.reports++
	if k.a.expired(at) {
		k.end(endTimeout, k.a.last)
	}
	if len(report) != BootReportLen {
		k.a.fail(at, "report %d is %d bytes, want %d (boot keyboard report)", k.reports, len(report), BootReportLen)
		return k.a.pop()
	}
	mods := report[0]
	keys := report[2:8]
	for _, c := range keys {
		switch {
		case c >= 0x01 && c <= 0x03:
			// ErrorRollOver, POSTFail, ErrorUndefined: the state is unknown,
			// keep the last one.
			return k.a.pop()
		case c >= 0xE0 && c <= 0xE7:
			mods |= 1 << (c - 0xE0) // a modifier sent as a key
		}
	}
	if k.altOn && !k.altHeld(mods) {
		k.endAlt(at)
	}
	for i, c := range keys {
		if c == 0 || (c >= 0xE0 && c <= 0xE7) || k.wasDown(c) || bytes.IndexByte(keys[:i], c) >= 0 {
			continue // no key, a modifier, held since the last report, or listed twice
		}
		k.press(c, mods, at)
	}
	copy(k.prev[:], keys)
	return k.a.pop()
}

// Expire completes the read pending past its timeout at now, or hands out a
// completed read still waiting.
func (k *Keyboard) Expire(now time.Time) (gate.Read, bool) { return k.a.expire(now, k.end) }

// Deadline is when Expire should be called next; zero when nothing is
// pending.
func (k *Keyboard) Deadline() time.Time { return k.a.deadline() }

// Flush ends the pending read at once, as when the scanner is unplugged: a
// read still waiting for its terminator is malformed (incomplete). It also
// forgets which keys were down. Call it until it returns false.
func (k *Keyboard) Flush(at time.Time) (gate.Read, bool) {
	k.prev = [6]byte{}
	return k.a.flush(at, k.end)
}

func (k *Keyboard) wasDown(c byte) bool {
	for _, p := range k.prev {
		if p == c {
			return true
		}
	}
	return false
}

// altHeld reports whether mods hold a plain Alt (not AltGr, no Ctrl), the
// modifier of ALT+numpad codes.
func (k *Keyboard) altHeld(mods byte) bool {
	if mods&(modLCtrl|modRCtrl) != 0 {
		return false
	}
	return mods&modLAlt != 0 || (!k.layout.altGr && mods&modRAlt != 0)
}

// press handles one key going down.
func (k *Keyboard) press(key, mods byte, at time.Time) {
	l := k.layout
	ctrl := mods&(modLCtrl|modRCtrl) != 0
	altGr := l.altGr && (mods&modRAlt != 0 || (ctrl && mods&modLAlt != 0))
	alt := !altGr && (mods&modLAlt != 0 || (!l.altGr && mods&modRAlt != 0))

	if alt && !ctrl {
		if d, ok := isKeypadDigit(key); ok {
			k.altDigit(d, at)
			return
		}
	}
	if k.altOn {
		// Windows types an ALT code when Alt goes up; another key in the
		// middle spoils it. Guessing the character could admit the wrong
		// barcode, so the read is malformed.
		k.altOn, k.altLen, k.altBad = false, 0, false
		k.a.fail(at, "ALT+numpad code interrupted by key code %#02x at character %d", key, k.a.chars+1)
		k.a.chars++
	}
	switch {
	case key == keyCapsLock || key == keyNumLock || key == keyScrollLock:
		return // lock keys type nothing; the layout decides case, not the lock state
	case (key == keyEnter || key == keyKPEnter || key == keyTab) && mods&(modLCtrl|modRCtrl|modLAlt|modRAlt|modLGUI|modRGUI) != 0:
		// Ctrl, Alt, AltGr or GUI with Enter or Tab is a shortcut: the host
		// types nothing, so it neither ends the read nor is part of it.
		k.unmapped(key, mods, at)
		return
	case key == keyEnter || key == keyKPEnter:
		k.char('\r', at)
		return
	case key == keyTab:
		k.char('\t', at)
		return
	case mods&(modLGUI|modRGUI) != 0 || alt:
		k.unmapped(key, mods, at)
		return
	case ctrl && !altGr:
		if c := l.control(key); c >= 0 {
			k.char(c, at)
		} else {
			k.unmapped(key, mods, at)
		}
		return
	}
	if key >= numKeys {
		k.unmapped(key, mods, at)
		return
	}
	level := 0
	if mods&(modLShift|modRShift) != 0 {
		level |= levelShift
	}
	if altGr {
		level |= levelAltGr
	}
	r := l.keys[key][level]
	if r == 0 {
		k.unmapped(key, mods, at)
		return
	}
	if l.dead[key]&(1<<level) != 0 {
		k.deadKey(r, at)
		return
	}
	k.char(r, at)
}

// deadKey handles a dead accent: it waits for the next character.
func (k *Keyboard) deadKey(accent rune, at time.Time) {
	if k.dead != 0 {
		// Two dead keys: the first types itself, the second waits.
		prev := k.dead
		k.dead = 0
		k.put(prev, at)
	}
	k.dead = accent
	k.a.touch(at)
}

// char types r, composing it with a waiting dead key.
func (k *Keyboard) char(r rune, at time.Time) {
	if k.dead != 0 {
		accent := k.dead
		k.dead = 0
		if r == ' ' {
			k.put(accent, at)
			return
		}
		if c := compose(accent, r); c != 0 {
			k.put(c, at)
			return
		}
		k.put(accent, at)
	}
	k.put(r, at)
}

// put adds a finished character to the read, ending it at a terminator or
// at the suffix.
func (k *Keyboard) put(r rune, at time.Time) {
	if r < utf8.RuneSelf {
		if k.a.lfOfCRLF(byte(r), at) {
			return
		}
		if k.a.s.terms.has(byte(r)) {
			k.end(endTerminator, at)
			k.a.endedAt(byte(r), at)
			return
		}
	}
	k.a.addRune(r, at)
	if k.a.endsWithSuffix() {
		k.end(endSuffix, at)
	}
}

func (k *Keyboard) unmapped(key, mods byte, at time.Time) {
	if mods != 0 {
		k.a.fail(at, "unmapped key code %#02x with modifiers %#02x at character %d", key, mods, k.a.chars+1)
	} else {
		k.a.fail(at, "unmapped key code %#02x at character %d", key, k.a.chars+1)
	}
	k.a.chars++ // the key stood for a character: later positions count it
}

func (k *Keyboard) altDigit(d byte, at time.Time) {
	k.altOn = true
	k.a.touch(at)
	if k.altLen == len(k.altDigits) {
		k.altBad = true
		return
	}
	k.altDigits[k.altLen] = d
	k.altLen++
}

// endAlt types the character of the ALT+numpad code just finished: a code
// with a leading zero is Windows-1252 ("ALT+0233" é), one without is the
// layout's OEM code page (437 for us, 850 for the others) up to 255 and a
// Unicode code point above.
func (k *Keyboard) endAlt(at time.Time) {
	digits := k.altDigits[:k.altLen]
	bad := k.altBad
	k.altOn, k.altLen, k.altBad = false, 0, false
	if bad {
		k.a.fail(at, "ALT+numpad code longer than %d digits at character %d", maxAltDigits, k.a.chars+1)
		k.a.chars++
		return
	}
	v := 0
	for _, d := range digits {
		v = v*10 + int(d-'0')
	}
	var r rune
	switch {
	case v == 0:
		r = utf8.RuneError
	case v <= 0xFF && digits[0] == '0':
		r = windows1252(byte(v))
	case v <= 0xFF:
		r = k.layout.oem.DecodeByte(byte(v))
	case utf8.ValidRune(rune(v)):
		r = rune(v)
	default:
		r = utf8.RuneError
	}
	if r == utf8.RuneError {
		k.a.fail(at, "ALT+%s is not a character, at character %d", digits, k.a.chars+1)
		k.a.chars++
		return
	}
	k.char(r, at)
}

// end finishes the pending read: a waiting dead key types itself and an
// unfinished ALT code makes the read malformed.
func (k *Keyboard) end(kind endKind, at time.Time) {
	if k.altOn {
		k.altOn, k.altLen, k.altBad = false, 0, false
		k.a.fail(at, "ALT+numpad code not finished at character %d", k.a.chars+1)
	}
	if k.dead != 0 {
		accent := k.dead
		k.dead = 0
		k.a.addRune(accent, at)
	}
	k.a.finish(kind, at)
}
