package decode

import (
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/admitgate/admit/gate"
)

func TestSymbologyNames(t *testing.T) {
	if len(allSymbologies) > 31 {
		t.Fatal("SymbologySet has 31 bits for symbologies")
	}
	seen := map[Symbology]bool{}
	for _, sym := range Symbologies() {
		if seen[sym] || string(sym) != strings.ToLower(string(sym)) {
			t.Errorf("symbology %q duplicated or not lower case", sym)
		}
		seen[sym] = true
		got, err := ParseSymbology(" " + strings.ToUpper(string(sym)) + " ")
		if err != nil || got != sym {
			t.Errorf("ParseSymbology(%q) = %q, %v", sym, got, err)
		}
	}
	for _, want := range []Symbology{Aztec, Code39, Code93, Code128, DataMatrix, EAN8, EAN13, UPCA, UPCE, ITF, ITF14, PDF417, QR} {
		if !seen[want] {
			t.Errorf("symbology %s missing", want)
		}
	}
	if _, err := ParseSymbology("maxicode"); gate.ErrorCode(err) != gate.EINVALID || !strings.Contains(err.Error(), "ean13") {
		t.Errorf("ParseSymbology(maxicode) = %v, want EINVALID listing the names", err)
	}
	if want := NewSymbologySet(EAN8, EAN13, UPCA, UPCE, ITF14); DefaultCheckDigits != want {
		t.Errorf("DefaultCheckDigits = %s, want %s", DefaultCheckDigits, want)
	}
}

func TestSymbologySetText(t *testing.T) {
	for _, tc := range []struct {
		in, out string
		err     bool
	}{
		{"", "", false},
		{"qr", "qr", false},
		{"QR, ean13 ,qr", "ean13,qr", false},
		{"none", "none", false},
		{"default", "ean8,ean13,itf14,upca,upce", false},
		{"default,itf,code39", "code39,ean8,ean13,itf,itf14,upca,upce", false},
		{"none,qr", "", true},
		{"qr,bogus", "", true},
	} {
		var s SymbologySet
		err := s.UnmarshalText([]byte(tc.in))
		if (err != nil) != tc.err {
			t.Errorf("%q: err %v", tc.in, err)
			continue
		}
		if err == nil {
			b, _ := s.MarshalText()
			if string(b) != tc.out {
				t.Errorf("%q -> %q, want %q", tc.in, b, tc.out)
			}
			var back SymbologySet
			if err := back.UnmarshalText(b); err != nil || (back != s && !(tc.in == "default" || strings.HasPrefix(tc.in, "default"))) {
				t.Errorf("%q: round trip %v %v", tc.in, back, err)
			}
		}
	}
}

func TestTerminatorsAndFramingText(t *testing.T) {
	for in, want := range map[string]Terminators{"": 0, "enter": TermEnter, "CR, lf": TermEnter | TermLF,
		"enter,tab": TermEnter | TermTab, "none": TermNone} {
		got, err := ParseTerminators(in)
		if err != nil || got != want {
			t.Errorf("ParseTerminators(%q) = %v, %v; want %v", in, got, err, want)
		}
		if again, _ := ParseTerminators(got.String()); again != got {
			t.Errorf("%q does not round-trip through %q", in, got.String())
		}
	}
	for _, bad := range []string{"esc", "none,enter"} {
		if _, err := ParseTerminators(bad); gate.ErrorCode(err) != gate.EINVALID {
			t.Errorf("ParseTerminators(%q) = %v, want EINVALID", bad, err)
		}
	}
	for in, want := range map[string]Framing{"": FramingLines, "lines": FramingLines, "STX-ETX": FramingSTXETX} {
		if got, err := ParseFraming(in); err != nil || got != want {
			t.Errorf("ParseFraming(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseFraming("slip"); gate.ErrorCode(err) != gate.EINVALID {
		t.Errorf("ParseFraming(slip) = %v", err)
	}
}

// The daemon reads scanner settings from TOML straight into Config.
func TestConfigFromTOML(t *testing.T) {
	const doc = `
source = "usb:0c2e:0b61:1-1"
layout = "de"
prefix = "S1"
terminators = "enter"
timeout = "80ms"
aim = true
symbologies = "qr,ean13"
check_digits = "default,itf"
dedup_window = "2s"
`
	var c Config
	md, err := toml.Decode(doc, &c)
	if err != nil {
		t.Fatal(err)
	}
	if len(md.Undecoded()) > 0 {
		t.Fatalf("undecoded keys %v", md.Undecoded())
	}
	want := Config{Source: "usb:0c2e:0b61:1-1", Layout: "de", Prefix: "S1", Terminators: TermEnter,
		Timeout: 80 * time.Millisecond, AIM: true, Symbologies: NewSymbologySet(QR, EAN13),
		CheckDigits: DefaultCheckDigits | NewSymbologySet(ITF), DedupWindow: 2 * time.Second}
	if c != want {
		t.Fatalf("decoded %+v\nwant    %+v", c, want)
	}
	if _, err := NewKeyboard(c, testLogger(t)); err != nil {
		t.Fatal(err)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Layout: "azerty"}, `unknown keyboard layout "azerty"`},
		{Config{Terminators: TermNone | TermTab}, "mix none"},
		{Config{Terminators: TermNone, Timeout: -1}, "cannot be off"},
		{Config{Symbologies: NewSymbologySet(QR)}, "needs AIM identifiers"},
		{Config{Symbologies: NoSymbologies, AIM: true}, "refuse every read"},
		{Config{MaxLen: -1}, "negative"},
		{Config{Prefix: strings.Repeat("x", 65)}, "longer than 64"},
		{Config{Suffix: "\r"}, "holds a terminator"},
	} {
		_, err := NewKeyboard(tc.cfg, testLogger(t))
		if err == nil || gate.ErrorCode(err) != gate.EINVALID || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewKeyboard(%+v) = %v, want EINVALID containing %q", tc.cfg, err, tc.want)
		}
	}
	// HID POS carries the symbology in its report: a restriction needs no AIM.
	if _, err := NewPOS(Config{Symbologies: NewSymbologySet(QR)}, testLogger(t)); err != nil {
		t.Errorf("NewPOS with symbologies: %v", err)
	}
	if _, err := NewSerial(Config{Framing: Framing(9)}, testLogger(t)); gate.ErrorCode(err) != gate.EINVALID {
		t.Errorf("NewSerial with framing 9: %v", err)
	}
}
