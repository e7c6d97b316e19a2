package gpio

import (
	"errors"
	"fmt"
	"time"
)

// ErrUnsupported is returned by every Open on systems without the GPIO
// character device (anything but Linux).
var ErrUnsupported = errors.New("gpio: GPIO character devices need Linux")

// Consumer is the consumer label admit's lines carry (gpioinfo shows it).
const Consumer = "admit"

// Bias is an input's internal pull resistor.
type Bias string

// Biases.
const (
	BiasAsIs Bias = ""          // leave the line's bias as it is (default)
	PullUp   Bias = "pull-up"   // for open-collector and dry-contact sensors
	PullDown Bias = "pull-down" // for sensors that drive the line high
	NoBias   Bias = "disabled"  // no pull resistor
)

// UnmarshalText implements encoding.TextUnmarshaler ("", "pull-up", "pull-down", "disabled").
func (b *Bias) UnmarshalText(t []byte) error {
	switch v := Bias(t); v {
	case BiasAsIs, PullUp, PullDown, NoBias:
		*b = v
		return nil
	}
	return fmt.Errorf("gpio: bias must be \"pull-up\", \"pull-down\" or \"disabled\", not %q", t)
}

// OutputConfig configures an output line.
type OutputConfig struct {
	// ActiveLow: the line is driven low for "on" (relay modules with
	// active-low inputs). Default false.
	ActiveLow bool
}

// InputConfig configures an input line.
type InputConfig struct {
	ActiveLow bool // the input is active when the line is low
	Bias      Bias // default: as is
	// Debounce filters contact bounce in the kernel (Linux 5.10+); 0 for
	// none. At most 1s.
	Debounce time.Duration
	// Buffer is how many edges may wait for the watcher before the oldest
	// are dropped (and counted). Default 64.
	Buffer int
}

func (c *InputConfig) validate() error {
	if c.Debounce < 0 || c.Debounce > time.Second {
		return fmt.Errorf("gpio: debounce %v must be between 0 and 1s", c.Debounce)
	}
	if c.Buffer == 0 {
		c.Buffer = 64
	}
	if c.Buffer < 1 || c.Buffer > 1<<16 {
		return fmt.Errorf("gpio: edge buffer %d must be between 1 and 65536", c.Buffer)
	}
	return nil
}

func lineName(chip string, offset int) string { return fmt.Sprintf("gpio:%s/%d", chip, offset) }
