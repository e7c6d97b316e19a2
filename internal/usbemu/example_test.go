package usbemu_test

import (
	"fmt"

	"github.com/admitgate/admit/internal/usbemu"
)

// A keyboard-wedge scanner types a barcode as a key press and a key release
// per character, then Enter.
func ExampleKeyboardReports() {
	reports, err := usbemu.KeyboardReports("A1\n")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range reports {
		fmt.Printf("% x\n", r)
	}
	// Output:
	// 02 00 04 00 00 00 00 00
	// 00 00 00 00 00 00 00 00
	// 00 00 1e 00 00 00 00 00
	// 00 00 00 00 00 00 00 00
	// 00 00 28 00 00 00 00 00
	// 00 00 00 00 00 00 00 00
}
