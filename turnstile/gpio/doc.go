// Package gpio drives turnstile relays, lights and sensors wired to Linux GPIO
// lines, through the GPIO character device (/dev/gpiochipN) with
// github.com/warthog618/go-gpiocdev: no sysfs, no root-only memory mapping.
//
// [OpenOutput] requests a line as an output and returns a turnstile.Output;
// every Set is read back, so a line another process took, or a chip that
// went away, is a fault the lane sees. [OpenInput] requests a line with
// edge detection (both edges, optional debounce and bias) and returns a
// turnstile.Input whose edges carry the kernel's timestamps converted to
// wall-clock time. Active-low wiring is a config flag: the lane only ever
// sees "active".
//
// [Lines] is how an appliance holds its lanes' lines: a turnstile.Board whose
// outputs and inputs are requested when first used and requested again after
// they failed, so a chip missing at start faults the lane that uses it (and is
// retested) instead of stopping the appliance; its Run releases every line
// when it ends.
//
// The driver is Linux-only (gpio_linux.go); elsewhere (gpio_other.go, as
// periph's host/gpioioctl does) every Open fails with [ErrUnsupported], so the
// appliance still builds on a developer's Mac.
//
// Config, for a lane whose relay is on gpiochip0 line 17 and whose
// passage sensor (an open-collector output, active low) is on line 27:
//
//	relay, err := gpio.OpenOutput("gpiochip0", 17, gpio.OutputConfig{})
//	sensor, err := gpio.OpenInput("gpiochip0", 27, gpio.InputConfig{ActiveLow: true, Bias: gpio.PullUp, Debounce: 5 * time.Millisecond})
package gpio
