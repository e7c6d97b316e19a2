package usbhid_test

import (
	"fmt"

	"github.com/admitgate/admit/decode/usbhid"
	"github.com/admitgate/admit/internal/usbdev"
)

// A config names the scanner and how it reports; Validate says what is
// wrong with one before anything is opened.
func ExampleConfig() {
	id, _ := usbdev.ParseID("0c2e:0b61")
	configs := []usbhid.Config{
		{Match: usbdev.Match{ID: id, Serial: "17011B0C29"}},
		{Match: usbdev.Match{Port: "1-1.4"}, Protocol: usbhid.ProtocolPOS},
		{Match: usbdev.Match{ID: id}, Protocol: "serial"},
		{Protocol: usbhid.ProtocolKeyboard},
	}
	for _, c := range configs {
		fmt.Printf("%s: %v\n", c.Match, c.Validate())
	}
	// Output:
	// 0c2e:0b61 serial=17011B0C29: <nil>
	// port=1-1.4: <nil>
	// 0c2e:0b61: protocol "serial": want keyboard or pos
	// any USB device: a USB device needs usb (vendor:product), serial or port
}
