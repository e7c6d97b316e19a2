package serialrelay_test

import (
	"fmt"

	"github.com/admitgate/admit/turnstile/serialrelay"
)

// The frames an LCUS board switches on, and what a malformed one says.
func ExampleNewFrame() {
	on := serialrelay.NewFrame(1, true)
	off := serialrelay.NewFrame(2, false)
	fmt.Printf("% X\n% X\n", on, off)
	fmt.Println(serialrelay.ParseFrame(on[:]))
	_, _, err := serialrelay.ParseFrame([]byte{0xA0, 0x01, 0x01, 0x00})
	fmt.Println(err)
	// Output:
	// A0 01 01 A2
	// A0 02 00 A2
	// 1 true <nil>
	// frame a0 01 01 00: checksum 00, want A2
}
