package usbrelay_test

import (
	"fmt"

	"github.com/admitgate/admit/internal/usbdev"
	"github.com/admitgate/admit/turnstile/usbrelay"
)

// A board is named by the serial in its feature report; each lane gets one
// of its relays as its output.
func ExampleBoard_Channel() {
	bus := usbdev.NewBus(0, testLogger())
	defer bus.Close()
	board, err := usbrelay.New(bus, usbrelay.Config{Board: "QWERT"}, testLogger())
	if err != nil {
		fmt.Println(err)
		return
	}
	unlock := board.Channel(1)
	fmt.Println(unlock)
	// Without Run the board is not connected: a lane sees a relay fault.
	fmt.Println(unlock.Set(true))
	_, err = usbrelay.New(bus, usbrelay.Config{Board: "TOO-LONG"}, testLogger())
	fmt.Println(err)
	// Output:
	// usbrelay QWERT/1
	// usbrelay: board not connected: QWERT
	// board serial "TOO-LONG": boards have 5-character serials
}
