package usbhid

import (
	"context"
	"time"

	"github.com/rs/zerolog"

	"github.com/admitgate/admit/decode"
	"github.com/admitgate/admit/gate"
)

// ReportDecoder turns the input reports of one scanner into reads;
// decode.Keyboard and decode.POS implement it.
type ReportDecoder = decode.ReportDecoder

// ReportReader reads one interrupt-IN report; *gousb.InEndpoint implements
// it. ReadContext returns when a report arrives, the device fails, or ctx
// ends (with an error of its own: gousb reports a cancelled transfer).
type ReportReader interface {
	ReadContext(ctx context.Context, buf []byte) (int, error)
}

// Defaults of Config's zero fields.
const (
	DefaultReadTimeout = time.Second
	DefaultBackoffMin  = 100 * time.Millisecond
	DefaultBackoffMax  = time.Second
)

// pump moves reports from a reader through a decoder to out. It is the
// part of the source that does not know about USB, tested with fakes; the
// decoder's timeouts, flushing and delivery are decode.Pump's.
type pump struct {
	decode.Pump
	dec         ReportDecoder
	readTimeout time.Duration
	reports     uint64 // reports read in this session, for logs
}

func newPump(dec ReportDecoder, readTimeout time.Duration, now func() time.Time, log zerolog.Logger) pump {
	return pump{Pump: decode.Pump{Decoder: dec, Now: now, Log: log}, dec: dec, readTimeout: readTimeout}
}

// run reads reports of up to size bytes from r until r fails (returning
// its error) or ctx ends (returning ctx.Err()). Each read waits at most
// readTimeout, or until the decoder's deadline when that is sooner, so
// reads pending in the decoder complete on time.
func (p *pump) run(ctx context.Context, r ReportReader, size int, out chan<- gate.Read) error {
	buf := make([]byte, size)
	for {
		if err := p.Due(ctx, out); err != nil {
			return err
		}
		deadline, _ := p.ReadDeadline(p.readTimeout)
		rctx, cancel := context.WithDeadline(ctx, deadline)
		n, err := r.ReadContext(rctx, buf)
		at := p.Now()
		timedOut := rctx.Err() != nil || !at.Before(deadline)
		cancel()
		if n > 0 {
			p.reports++
			if read, ok := p.dec.Feed(buf[:n], at); ok {
				if err := p.Send(ctx, out, read); err != nil {
					return err
				}
			}
		}
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case err == nil:
		case timedOut:
			// No report before the deadline: the decoder's timeouts run
			// in Due.
		default:
			return err
		}
	}
}
