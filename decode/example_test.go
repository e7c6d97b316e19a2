package decode_test

import (
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"github.com/admitgate/admit/decode"
	"github.com/admitgate/admit/gate"
)

// A scanner set to the German layout with AIM identifiers on types an
// EAN-13 barcode; the USB source feeds each boot keyboard report to the
// decoder and calls Expire when Deadline passes.
func ExampleKeyboard() {
	k, err := decode.NewKeyboard(decode.Config{
		Source: "usb:0c2e:0b61:1-1",
		Layout: "de",
		AIM:    true,
	}, zerolog.Nop())
	if err != nil {
		panic(err)
	}
	// What the scanner sends: key down, all-zero release, ..., Enter.
	reports, _ := decode.KeyboardReports("de", "]E04006381333931")
	at := time.Date(2026, 12, 5, 18, 30, 0, 0, time.UTC)
	for _, r := range reports {
		at = at.Add(2 * time.Millisecond)
		if read, ok := k.Feed(r[:], at); ok {
			fmt.Println(read.Text, read.Symbology, read.Source, read.Malformed == "")
		}
	}

	// The same barcode with a wrong check digit is delivered, malformed.
	reports, _ = decode.KeyboardReports("de", "]E04006381333932")
	for _, r := range reports {
		at = at.Add(2 * time.Millisecond)
		if read, ok := k.Feed(r[:], at); ok {
			fmt.Println(read.Text, read.Malformed)
		}
	}
	// Output:
	// 4006381333931 ean13 usb:0c2e:0b61:1-1 true
	// 4006381333932 ean13 check digit is 2, want 1
}

// A serial scanner framing reads with STX/ETX; Feed appends to a slice the
// caller reuses.
func ExampleSerial() {
	s, err := decode.NewSerial(decode.Config{Source: "serial:/dev/ttyACM0", Framing: decode.FramingSTXETX}, zerolog.Nop())
	if err != nil {
		panic(err)
	}
	at := time.Date(2026, 12, 5, 18, 30, 0, 0, time.UTC)
	var reads []gate.Read
	reads = s.Feed([]byte("\x02BO-WTekur"), at, reads[:0])
	reads = s.Feed([]byte("HSvCp4\x03\r\n"), at.Add(time.Millisecond), reads)
	for _, r := range reads {
		fmt.Printf("%s from %s\n", r.Text, r.Source)
	}
	// Output:
	// BO-WTekurHSvCp4 from serial:/dev/ttyACM0
}

// Dedup drops a barcode read again within its window, per scanner.
func ExampleDedup() {
	d := decode.NewDedup(time.Second)
	at := time.Date(2026, 12, 5, 18, 30, 0, 0, time.UTC)
	for _, ms := range []int{0, 400, 900, 2000} {
		r := gate.Read{Text: "9836900602677354", Source: "usb:1-1", At: at.Add(time.Duration(ms) * time.Millisecond)}
		fmt.Println(ms, d.Allow(r))
	}
	// Output:
	// 0 true
	// 400 false
	// 900 false
	// 2000 true
}
