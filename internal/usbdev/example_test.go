package usbdev_test

import (
	"fmt"

	"github.com/admitgate/admit/internal/usbdev"
)

// A config names a scanner by its id and the socket it is plugged into.
func ExampleMatch() {
	id, err := usbdev.ParseID("0c2e:0b61")
	if err != nil {
		fmt.Println(err)
		return
	}
	m := usbdev.Match{ID: id, Port: "1-1.4"}
	fmt.Println(m, m.Validate())
	bus, ports, _ := usbdev.ParsePort(m.Port)
	fmt.Println(bus, ports)
	fmt.Println(usbdev.Match{}.Validate())
	// Output:
	// 0c2e:0b61 port=1-1.4 <nil>
	// 1 [1 4]
	// a USB device needs usb (vendor:product), serial or port
}
