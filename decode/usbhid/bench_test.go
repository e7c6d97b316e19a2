package usbhid

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/admitgate/admit/decode"
	"github.com/admitgate/admit/gate"
)

// replayReader returns a recorded scan's reports over and over.
type replayReader struct {
	reports [][8]byte
	i, left int
}

var errReplayDone = errors.New("replay done")

func (r *replayReader) ReadContext(ctx context.Context, buf []byte) (int, error) {
	if r.left == 0 {
		return 0, errReplayDone
	}
	rep := r.reports[r.i]
	r.i = (r.i + 1) % len(r.reports)
	if r.i == 0 {
		r.left--
	}
	return copy(buf, rep[:]), nil
}

// BenchmarkPumpKeyboardScan is the source's cost per scanned EAN-13 (28
// boot reports) between the endpoint and the lane's channel, with decode's
// keyboard decoder: what a scanner costs the appliance besides USB itself.
func BenchmarkPumpKeyboardScan(b *testing.B) {
	keys, err := decode.KeyboardReports("us", "4006381333931")
	if err != nil {
		b.Fatal(err)
	}
	keys = append(keys, [8]byte{2: 0x28}, [8]byte{})
	dec, err := decode.NewKeyboard(decode.Config{DedupWindow: -1}, zerolog.Nop())
	if err != nil {
		b.Fatal(err)
	}
	p := newPump(dec, time.Second, time.Now, zerolog.Nop())
	out := make(chan gate.Read, 1024)
	done := make(chan struct{})
	go func() {
		for range out {
		}
		close(done)
	}()
	b.ReportAllocs()
	b.ResetTimer()
	r := &replayReader{reports: keys, left: b.N}
	start := time.Now()
	if err := p.run(context.Background(), r, 8, out); !errors.Is(err, errReplayDone) {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "scans/s")
	close(out)
	<-done
}
