package decode

import (
	"strings"

	"github.com/admitgate/admit/gate"
)

// Symbology names a barcode symbology. The names are stable and lower-case:
// they appear in gate.Read.Symbology, in the journal and in the config.
type Symbology string

// The symbologies a venue meets, and the GS1 forms that carry FNC1.
const (
	Aztec         Symbology = "aztec"
	Codabar       Symbology = "codabar"
	Code39        Symbology = "code39"
	Code93        Symbology = "code93"
	Code128       Symbology = "code128"
	DataBar       Symbology = "databar" // GS1 DataBar (]e0)
	DataMatrix    Symbology = "datamatrix"
	EAN8          Symbology = "ean8"
	EAN13         Symbology = "ean13"
	GS1128        Symbology = "gs1-128"        // Code 128 with FNC1 first (]C1)
	GS1DataMatrix Symbology = "gs1-datamatrix" // Data Matrix with FNC1 first (]d2)
	GS1QR         Symbology = "gs1-qr"         // QR Code with FNC1 first (]Q3)
	ITF           Symbology = "itf"            // Interleaved 2 of 5
	ITF14         Symbology = "itf14"          // Interleaved 2 of 5 carrying a GTIN-14
	PDF417        Symbology = "pdf417"
	QR            Symbology = "qr"
	UPCA          Symbology = "upca"
	UPCE          Symbology = "upce"
)

// allSymbologies lists every symbology in bit order of SymbologySet. Append
// only: the position is the bit.
var allSymbologies = [...]Symbology{
	Aztec, Codabar, Code39, Code93, Code128, DataBar, DataMatrix, EAN8, EAN13,
	GS1128, GS1DataMatrix, GS1QR, ITF, ITF14, PDF417, QR, UPCA, UPCE,
}

// Symbologies returns every symbology name decode knows, in a stable order.
func Symbologies() []Symbology {
	out := make([]Symbology, len(allSymbologies))
	copy(out, allSymbologies[:])
	return out
}

// ParseSymbology returns the symbology named s (case-insensitive), or an
// EINVALID error listing the names.
func ParseSymbology(s string) (Symbology, error) {
	name := strings.ToLower(strings.TrimSpace(s))
	for _, sym := range allSymbologies {
		if string(sym) == name {
			return sym, nil
		}
	}
	return "", gate.Errorf(gate.EINVALID, "unknown symbology %q (want one of %s)", s, symbologyNames())
}

func symbologyNames() string {
	var b strings.Builder
	for i, sym := range allSymbologies {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(string(sym))
	}
	return b.String()
}

// bit returns sym's bit in a SymbologySet, or 0 for an unknown name.
func (sym Symbology) bit() SymbologySet {
	for i, s := range allSymbologies {
		if s == sym {
			return 1 << i
		}
	}
	return 0
}

// SymbologySet is a set of symbologies. Its zero value is empty; in Config
// an empty set means the default (see Config.Symbologies and
// Config.CheckDigits), and NoSymbologies says "none" explicitly.
// In text (TOML, flags) it is a comma-separated list of names, "none", or
// "default".
type SymbologySet uint32

// NoSymbologies is the explicit empty set: in Config.CheckDigits it turns
// every check-digit validation off.
const NoSymbologies SymbologySet = 1 << 31

// DefaultCheckDigits are the symbologies whose check digit is part of the
// symbology and is validated unless the config says otherwise. Code 39
// (mod 43) and Interleaved 2 of 5 (mod 10) carry an optional check digit and
// are validated only when configured.
const DefaultCheckDigits = SymbologySet(1<<7 | 1<<8 | 1<<13 | 1<<16 | 1<<17) // ean8, ean13, itf14, upca, upce

// NewSymbologySet returns the set of the given symbologies.
func NewSymbologySet(syms ...Symbology) SymbologySet {
	var s SymbologySet
	for _, sym := range syms {
		s |= sym.bit()
	}
	return s
}

// Has reports whether sym is in s.
func (s SymbologySet) Has(sym Symbology) bool {
	b := sym.bit()
	return b != 0 && s&b != 0
}

// IsEmpty reports whether s holds no symbology.
func (s SymbologySet) IsEmpty() bool { return s&^NoSymbologies == 0 }

// List returns the symbologies in s in a stable order.
func (s SymbologySet) List() []Symbology {
	var out []Symbology
	for i, sym := range allSymbologies {
		if s&(1<<i) != 0 {
			out = append(out, sym)
		}
	}
	return out
}

// String returns s as a comma-separated list, "none" for NoSymbologies and
// "" for the zero set.
func (s SymbologySet) String() string {
	if s == 0 {
		return ""
	}
	if s.IsEmpty() {
		return "none"
	}
	var b strings.Builder
	for i, sym := range s.List() {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(string(sym))
	}
	return b.String()
}

// ParseSymbologySet parses a comma-separated list of symbology names.
// "none" is NoSymbologies; "default" adds DefaultCheckDigits; "" is the zero
// set.
func ParseSymbologySet(text string) (SymbologySet, error) {
	var s SymbologySet
	for _, f := range strings.Split(text, ",") {
		f = strings.TrimSpace(f)
		switch strings.ToLower(f) {
		case "":
			continue
		case "none":
			s |= NoSymbologies
			continue
		case "default":
			s |= DefaultCheckDigits
			continue
		}
		sym, err := ParseSymbology(f)
		if err != nil {
			return 0, err
		}
		s |= sym.bit()
	}
	if s&NoSymbologies != 0 && !s.IsEmpty() {
		return 0, gate.Errorf(gate.EINVALID, "symbology list %q mixes none with names", text)
	}
	return s, nil
}

// MarshalText implements encoding.TextMarshaler.
func (s SymbologySet) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler (see ParseSymbologySet).
func (s *SymbologySet) UnmarshalText(text []byte) error {
	v, err := ParseSymbologySet(string(text))
	if err != nil {
		return err
	}
	*s = v
	return nil
}
