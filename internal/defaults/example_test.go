package defaults_test

import (
	"fmt"
	"time"

	"github.com/admitgate/admit/internal/defaults"
)

func ExampleSet() {
	type options struct {
		Timeout time.Duration // default 10s
		Batch   int           // default 100
	}
	o := options{Batch: 20}
	defaults.Set(&o.Timeout, 10*time.Second)
	defaults.Set(&o.Batch, 100)
	fmt.Println(o.Timeout, o.Batch)
	// Output: 10s 20
}
