package decodetest_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/rs/zerolog"

	"github.com/admitgate/admit/decode"
	"github.com/admitgate/admit/decode/decodetest"
)

// Record what a scanner sends (here an emulated one), save it, and replay
// the recording into a decoder.
func Example() {
	reports, _ := decode.KeyboardReports("us", "9836900602677354")
	var scanner decodetest.Stream
	for i, r := range reports {
		scanner = append(scanner, decodetest.Frame{At: time.Duration(i) * time.Millisecond, Data: r[:]})
	}
	device := &decodetest.Playback{Frames: scanner} // stands for *gousb.InEndpoint
	clock := time.Date(2026, 12, 5, 18, 0, 0, 0, time.UTC)
	tick := func() time.Time { clock = clock.Add(time.Millisecond); return clock } // time.Now in real use
	rec := &decodetest.Record{R: device, Now: tick}
	buf := make([]byte, 8)
	for range scanner {
		if _, err := rec.ReadContext(context.Background(), buf); err != nil {
			panic(err)
		}
	}
	fmt.Println("unread:", device.Close())
	_, _ = rec.Frames()[:2].WriteTo(os.Stdout)

	k, _ := decode.NewKeyboard(decode.Config{}, zerolog.Nop())
	for _, r := range decodetest.Replay(k, scanner, time.Now()) {
		fmt.Println(r.Text)
	}
	// Output:
	// unread: <nil>
	// @0s 00 00 26 00 00 00 00 00
	// @1ms 00 00 00 00 00 00 00 00
	// 9836900602677354
}
