package reconnect_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"github.com/admitgate/admit/internal/usbdev/reconnect"
)

// A scanner that is missing twice, then connects and later vanishes: the
// link reports each change and backs off between attempts.
func ExampleLink() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	attempt := 0
	link := reconnect.New("usb scanner 0c2e:0b61", &reconnect.Options{
		OnChange: func(s reconnect.Status) {
			fmt.Printf("connected=%v device=%q error=%q\n", s.Connected, s.Device, s.LastError)
		},
		Sleep: func(ctx context.Context, d time.Duration) error {
			fmt.Println("wait", d)
			return ctx.Err()
		},
	}, zerolog.Nop())
	link.Run(ctx, func(ctx context.Context, up func(device string)) error {
		attempt++
		switch attempt {
		case 1, 2:
			return errors.New("no device matches 0c2e:0b61")
		case 3:
			up("0c2e:0b61 port 1-2")
			return errors.New("device was disconnected")
		}
		cancel()
		return ctx.Err()
	})
	// Output:
	// connected=false device="" error="no device matches 0c2e:0b61"
	// wait 100ms
	// wait 200ms
	// connected=true device="0c2e:0b61 port 1-2" error="no device matches 0c2e:0b61"
	// connected=false device="0c2e:0b61 port 1-2" error="device was disconnected"
	// wait 400ms
}
