package decode

import (
	"fmt"
	"strings"
	"time"

	"github.com/admitgate/admit/gate"
)

// Defaults of Config's zero fields.
const (
	// DefaultTimeout is the inter-character timeout of scanners whose reads
	// end by it (no terminator, no suffix): it adds to every scan's latency,
	// so it is short.
	DefaultTimeout = 100 * time.Millisecond
	// DefaultIncompleteTimeout is the inter-character timeout of scanners
	// whose reads end at a terminator, suffix, ETX or final POS report: it
	// only ends a read the scanner broke off, so it is generous enough for
	// cordless scanners whose radio link pauses mid-read.
	DefaultIncompleteTimeout = 500 * time.Millisecond
	DefaultDedupWindow       = time.Second // duplicate-read window
	DefaultMaxLen            = 4096        // longest read, in bytes
	DefaultPOSReportID       = 0x02        // HID POS scanned-data input report
)

// Config describes one scanner: how its bytes become reads. One Config
// style serves the keyboard, HID POS and serial decoders; each uses the
// fields that apply to it. Every field's zero value means its default, so
// Config{} is a US-layout keyboard scanner that ends reads at Enter, LF or Tab,
// sends no AIM identifiers, accepts every symbology and validates the check
// digits of EAN/UPC and ITF-14 when it knows the symbology.
type Config struct {
	// Source names the scanner in every Read ("usb:0c2e:0b61:1-1",
	// "serial:/dev/ttyACM0").
	Source string `toml:"source"`

	// Layout is the keyboard layout the scanner is set to type in: "us"
	// (default), "uk", "de", "fr" or "es". Keyboard only.
	Layout string `toml:"layout"`

	// Prefix and Suffix are what the scanner sends before and after each
	// barcode (after the terminator is removed). They are removed; a read
	// without them is malformed. With Terminators "none", Suffix ends a read.
	Prefix string `toml:"prefix"`
	Suffix string `toml:"suffix"`

	// Terminators end a read. Default: Enter, LF (Ctrl+J, which scanners in
	// Ctrl-ASCII mode type) and Tab for keyboards, CR and LF for serial lines.
	// An LF right behind the CR that ended a read is the rest of a CR LF,
	// whatever the terminators. TermNone: reads end at Suffix, or after
	// Timeout for scanners that send no suffix. Not used by HID POS (its
	// reports say where a read ends; a trailing terminator is dropped) nor by
	// STX/ETX framing.
	Terminators Terminators `toml:"terminators"`

	// Timeout is the inter-character timeout: a read that receives nothing
	// for this long ends. With TermNone and no Suffix it is how reads end
	// (default DefaultTimeout); otherwise such a read is malformed,
	// incomplete (default DefaultIncompleteTimeout). Negative: never.
	Timeout time.Duration `toml:"timeout"`

	// AIM says the scanner sends an AIM symbology identifier ("]E0") before
	// each barcode. It is parsed into Read.Symbology and removed; a read
	// without one is malformed. HID POS scanners send it in its own field,
	// whatever AIM says.
	AIM bool `toml:"aim"`

	// Symbologies restricts the symbologies the scanner may deliver; a read
	// of another, or of an unknown symbology, is malformed. Empty: any.
	// Keyboard and serial scanners need AIM for a restriction to work.
	Symbologies SymbologySet `toml:"symbologies"`

	// CheckDigits lists the symbologies whose check digit is validated when
	// the read's symbology is known. Zero: DefaultCheckDigits (EAN-8,
	// EAN-13, UPC-A, UPC-E, ITF-14). code39 (mod 43) and itf (mod 10) are
	// validated only when listed, or when the AIM modifier says the scanner
	// transmits a check character it has validated. NoSymbologies: none.
	CheckDigits SymbologySet `toml:"check_digits"`

	// Framing is how a serial scanner frames reads: FramingLines (default)
	// or FramingSTXETX. Serial only.
	Framing Framing `toml:"framing"`

	// DedupWindow suppresses the same barcode from this scanner again within
	// the window after it was last seen, so a ticket held under a
	// presentation scanner is reported once. Default DefaultDedupWindow;
	// negative: off.
	DedupWindow time.Duration `toml:"dedup_window"`

	// MaxLen caps a read, in bytes; a longer read is malformed and its rest
	// dropped. Default DefaultMaxLen.
	MaxLen int `toml:"max_len"`

	// POSReportID is the input report ID of HID POS scanned-data reports.
	// Default DefaultPOSReportID. HID POS only.
	POSReportID uint8 `toml:"pos_report_id"`
}

// Terminators is a set of characters that end a read. In text it is a
// comma-separated list of "enter" (or "cr"), "lf", "tab", or "none".
type Terminators uint8

// The terminators. The zero Terminators means the decoder's default.
const (
	TermEnter Terminators = 1 << iota // the Enter key, or CR (0x0D) on a serial line
	TermLF                            // LF (0x0A) on a serial line, Ctrl+J on a keyboard
	TermTab                           // the Tab key, or HT (0x09)
	TermNone                          // no terminator: reads end at the suffix or the timeout
)

// has reports whether c is a terminator in t.
func (t Terminators) has(c byte) bool {
	switch c {
	case '\r':
		return t&TermEnter != 0
	case '\n':
		return t&TermLF != 0
	case '\t':
		return t&TermTab != 0
	}
	return false
}

// String returns t as ParseTerminators reads it.
func (t Terminators) String() string {
	if t&TermNone != 0 {
		return "none"
	}
	var parts []string
	if t&TermEnter != 0 {
		parts = append(parts, "enter")
	}
	if t&TermLF != 0 {
		parts = append(parts, "lf")
	}
	if t&TermTab != 0 {
		parts = append(parts, "tab")
	}
	return strings.Join(parts, ",")
}

// describe names t for an error: "Enter, LF or Tab" for keys, "CR or LF"
// for bytes.
func (t Terminators) describe(bytes bool) string {
	var parts []string
	if t&TermEnter != 0 && bytes {
		parts = append(parts, "CR")
	} else if t&TermEnter != 0 {
		parts = append(parts, "Enter")
	}
	if t&TermLF != 0 {
		parts = append(parts, "LF")
	}
	if t&TermTab != 0 {
		parts = append(parts, "Tab")
	}
	if len(parts) > 2 {
		return strings.Join(parts[:len(parts)-1], ", ") + " or " + parts[len(parts)-1]
	}
	return strings.Join(parts, " or ")
}

// ParseTerminators parses a comma-separated list of terminators: "enter"
// (or "cr"), "lf", "tab", or "none" alone. "" is the zero value (default).
func ParseTerminators(text string) (Terminators, error) {
	var t Terminators
	for _, f := range strings.Split(text, ",") {
		switch strings.ToLower(strings.TrimSpace(f)) {
		case "":
		case "enter", "cr":
			t |= TermEnter
		case "lf":
			t |= TermLF
		case "tab":
			t |= TermTab
		case "none":
			t |= TermNone
		default:
			return 0, gate.Errorf(gate.EINVALID, "unknown terminator %q (want enter, lf, tab or none)", strings.TrimSpace(f))
		}
	}
	if t&TermNone != 0 && t != TermNone {
		return 0, gate.Errorf(gate.EINVALID, "terminators %q mix none with others", text)
	}
	return t, nil
}

// MarshalText implements encoding.TextMarshaler.
func (t Terminators) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler (see ParseTerminators).
func (t *Terminators) UnmarshalText(text []byte) error {
	v, err := ParseTerminators(string(text))
	if err != nil {
		return err
	}
	*t = v
	return nil
}

// Framing is how a serial scanner marks where a read ends.
type Framing uint8

// Framings. In text: "lines", "stx-etx".
const (
	FramingLines  Framing = iota // each read ends with a terminator (CR, LF or CRLF)
	FramingSTXETX                // each read is STX (0x02) data ETX (0x03)
)

// String returns the framing's name.
func (f Framing) String() string {
	switch f {
	case FramingLines:
		return "lines"
	case FramingSTXETX:
		return "stx-etx"
	}
	return fmt.Sprintf("framing(%d)", uint8(f))
}

// ParseFraming parses "lines" or "stx-etx" ("" is lines).
func ParseFraming(text string) (Framing, error) {
	switch strings.ToLower(strings.TrimSpace(text)) {
	case "", "lines", "line":
		return FramingLines, nil
	case "stx-etx", "stxetx", "stx/etx":
		return FramingSTXETX, nil
	}
	return 0, gate.Errorf(gate.EINVALID, "unknown framing %q (want lines or stx-etx)", text)
}

// MarshalText implements encoding.TextMarshaler.
func (f Framing) MarshalText() ([]byte, error) { return []byte(f.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler (see ParseFraming).
func (f *Framing) UnmarshalText(text []byte) error {
	v, err := ParseFraming(string(text))
	if err != nil {
		return err
	}
	*f = v
	return nil
}

type decoderKind uint8

const (
	kindKeyboard decoderKind = iota
	kindPOS
	kindSerial
)

// settings is a Config with its defaults applied, in the forms the hot path
// wants.
type settings struct {
	source      string
	layout      *layout
	prefix      []byte
	suffix      []byte
	terms       Terminators // never zero: TermNone when none
	suffixEnds  bool        // the suffix ends a read (no terminators)
	timeout     time.Duration
	timeoutEnds bool // a read that times out is complete, not malformed
	aim         bool
	allow       SymbologySet // 0: any
	check       SymbologySet
	framing     Framing
	dedupWindow time.Duration // 0: off
	maxLen      int
	posReportID uint8
}

// resolve applies defaults and checks c for a decoder of kind k.
func (c Config) resolve(k decoderKind) (*settings, error) {
	s := &settings{
		source:      c.Source,
		prefix:      []byte(c.Prefix),
		suffix:      []byte(c.Suffix),
		terms:       c.Terminators,
		timeout:     c.Timeout,
		aim:         c.AIM,
		allow:       c.Symbologies,
		check:       c.CheckDigits,
		framing:     c.Framing,
		dedupWindow: c.DedupWindow,
		maxLen:      c.MaxLen,
		posReportID: c.POSReportID,
	}
	name := c.Layout
	if name == "" {
		name = "us"
	}
	s.layout = layoutByName(name)
	if s.layout == nil {
		return nil, gate.Errorf(gate.EINVALID, "unknown keyboard layout %q (want %s)", c.Layout, strings.Join(Layouts(), ", "))
	}
	if s.terms == 0 {
		// Keyboards: Enter, Tab, and Ctrl+J (LF), which a scanner in
		// Ctrl-ASCII mode types for the LF of a CR LF suffix.
		s.terms = TermEnter | TermLF | TermTab
		if k == kindSerial {
			s.terms = TermEnter | TermLF
		}
	}
	if s.terms&TermNone != 0 && s.terms != TermNone {
		return nil, gate.Errorf(gate.EINVALID, "terminators mix none with others")
	}
	if s.terms&^(TermEnter|TermLF|TermTab|TermNone) != 0 {
		return nil, gate.Errorf(gate.EINVALID, "unknown terminator bits %#x", uint8(s.terms))
	}
	switch k {
	case kindPOS:
		s.terms = TermEnter | TermLF // only to drop a trailing CR/LF suffix
		s.aim = false                // the AIM identifier has its own field
	case kindSerial:
		if s.framing != FramingLines && s.framing != FramingSTXETX {
			return nil, gate.Errorf(gate.EINVALID, "unknown framing %d", s.framing)
		}
	}
	s.suffixEnds = s.terms == TermNone && len(s.suffix) > 0 && !(k == kindSerial && s.framing == FramingSTXETX)
	s.timeoutEnds = s.terms == TermNone && len(s.suffix) == 0 && k != kindPOS && !(k == kindSerial && s.framing == FramingSTXETX)
	if s.timeout == 0 {
		s.timeout = DefaultIncompleteTimeout
		if s.timeoutEnds {
			s.timeout = DefaultTimeout
		}
	}
	if s.timeout < 0 {
		s.timeout = 0
	}
	if s.timeoutEnds && s.timeout == 0 {
		return nil, gate.Errorf(gate.EINVALID, "with no terminator and no suffix, reads end only by the timeout; it cannot be off")
	}
	if s.allow&NoSymbologies != 0 {
		return nil, gate.Errorf(gate.EINVALID, "symbologies none would refuse every read")
	}
	if !s.allow.IsEmpty() && !s.aim && k != kindPOS {
		return nil, gate.Errorf(gate.EINVALID, "restricting symbologies (%s) needs AIM identifiers: enable them on the scanner and set aim", s.allow)
	}
	if s.check == 0 {
		s.check = DefaultCheckDigits
	}
	if s.dedupWindow == 0 {
		s.dedupWindow = DefaultDedupWindow
	}
	if s.dedupWindow < 0 {
		s.dedupWindow = 0
	}
	if s.maxLen == 0 {
		s.maxLen = DefaultMaxLen
	}
	if s.maxLen < 0 {
		return nil, gate.Errorf(gate.EINVALID, "max_len %d is negative", c.MaxLen)
	}
	if s.posReportID == 0 {
		s.posReportID = DefaultPOSReportID
	}
	for _, part := range []struct{ name, v string }{{"prefix", c.Prefix}, {"suffix", c.Suffix}} {
		if len(part.v) > 64 {
			return nil, gate.Errorf(gate.EINVALID, "%s is longer than 64 bytes", part.name)
		}
		for i := 0; i < len(part.v); i++ {
			if s.terms.has(part.v[i]) && k != kindPOS {
				return nil, gate.Errorf(gate.EINVALID, "%s %q holds a terminator; remove it from the %s or from the terminators", part.name, part.v, part.name)
			}
		}
	}
	return s, nil
}
