package gpio_test

import (
	"log"
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/turnstile"
	"github.com/admitgate/admit/turnstile/gpio"
	"github.com/rs/zerolog"
)

// A lane wired to GPIO: the turnstile relay on line 17 of gpiochip0, the
// passage sensor (open collector, active low) on line 27. It needs the
// hardware, so it is compiled but not run.
func Example() {
	relay, err := gpio.OpenOutput("gpiochip0", 17, gpio.OutputConfig{})
	if err != nil {
		log.Fatal(err)
	}
	defer relay.Close()
	sensor, err := gpio.OpenInput("gpiochip0", 27, gpio.InputConfig{ActiveLow: true, Bias: gpio.PullUp, Debounce: 5 * time.Millisecond})
	if err != nil {
		log.Fatal(err)
	}
	defer sensor.Close()

	var index gate.Validator // the opened index
	lane, err := turnstile.NewLane(gate.Lane{ID: "north-1"}, index,
		turnstile.Parts{Lock: relay, Passage: sensor},
		&turnstile.Config{Confirm: turnstile.ConfirmPassage}, zerolog.Nop())
	if err != nil {
		log.Fatal(err)
	}
	defer lane.Halt()
}
