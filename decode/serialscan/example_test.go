package serialscan_test

import (
	"fmt"

	"github.com/admitgate/admit/decode/serialscan"
)

// A serial scanner is named by its port; Validate explains a bad config
// before anything is opened.
func ExampleConfig_Validate() {
	for _, c := range []serialscan.Config{
		{Device: "/dev/serial/by-id/usb-Honeywell_Xenon_1900-if00"},
		{Device: "/dev/ttyUSB0", Baud: 9600, Parity: "mark"},
		{},
	} {
		fmt.Println(c.Validate())
	}
	// Output:
	// <nil>
	// parity "mark": want none, odd or even
	// a serial scanner needs its device (/dev/ttyACM0 or a /dev/serial/by-id link)
}
