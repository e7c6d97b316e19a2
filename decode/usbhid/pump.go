package usbhid

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"github.com/admitgate/admit/gate"
)

// ReportDecoder turns the input reports of one scanner into reads;
// decode.Keyboard and decode.POS implement it. The source calls it from one
// goroutine.
type ReportDecoder interface {
	// Feed takes one input report and returns the read it completes.
	Feed(report []byte, at time.Time) (gate.Read, bool)
	// Expire completes a read pending past its timeout, or hands out a
	// completed read still waiting.
	Expire(now time.Time) (gate.Read, bool)
	// Deadline is when to call Expire next; zero when nothing is pending.
	Deadline() time.Time
}

// Flusher is implemented by decoders that can end a pending read at once
// (decode's do): the source flushes when the scanner goes away, so a half
// read becomes a malformed read the lane can report instead of vanishing.
type Flusher interface {
	Flush(at time.Time) (gate.Read, bool)
}

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
// part of the source that does not know about USB, tested with fakes.
type pump struct {
	dec         ReportDecoder
	readTimeout time.Duration
	now         func() time.Time
	log         zerolog.Logger
	reports     uint64 // reports read in this session, for logs
}

// errStopped reports that the consumer's context ended while a read waited
// to be delivered.
var errStopped = errors.New("usbhid: stopped")

// run reads reports of up to size bytes from r until r fails (returning
// its error) or ctx ends (returning ctx.Err()). Each read waits at most
// readTimeout, or until the decoder's deadline when that is sooner, so
// reads pending in the decoder complete on time.
func (p *pump) run(ctx context.Context, r ReportReader, size int, out chan<- gate.Read) error {
	buf := make([]byte, size)
	for {
		if err := p.drain(ctx, out); err != nil {
			return err
		}
		deadline := p.now().Add(p.readTimeout)
		if d := p.dec.Deadline(); !d.IsZero() && d.Before(deadline) {
			deadline = d
		}
		rctx, cancel := context.WithDeadline(ctx, deadline)
		n, err := r.ReadContext(rctx, buf)
		at := p.now()
		timedOut := rctx.Err() != nil || !at.Before(deadline)
		cancel()
		if n > 0 {
			p.reports++
			if read, ok := p.dec.Feed(buf[:n], at); ok {
				if err := p.emit(ctx, out, read); err != nil {
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
			// in drain.
		default:
			return err
		}
	}
}

// drain hands out every read the decoder completes by now.
func (p *pump) drain(ctx context.Context, out chan<- gate.Read) error {
	for {
		d := p.dec.Deadline()
		now := p.now()
		if d.IsZero() || d.After(now) {
			return nil
		}
		read, ok := p.dec.Expire(now)
		if !ok {
			return nil
		}
		if err := p.emit(ctx, out, read); err != nil {
			return err
		}
	}
}

// flush ends a read pending when the scanner went away.
func (p *pump) flush(ctx context.Context, out chan<- gate.Read) {
	f, ok := p.dec.(Flusher)
	if !ok {
		return
	}
	for {
		read, ok := f.Flush(p.now())
		if !ok {
			return
		}
		if p.emit(ctx, out, read) != nil {
			return
		}
	}
}

func (p *pump) emit(ctx context.Context, out chan<- gate.Read, r gate.Read) error {
	select {
	case out <- r:
		return nil
	case <-ctx.Done():
		p.log.Warn().Str("barcode", r.Text).Msg("read not delivered: stopping")
		return fmt.Errorf("%w: %w", errStopped, ctx.Err())
	}
}
