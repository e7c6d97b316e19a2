package decode

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"github.com/admitgate/admit/gate"
)

// Timed is the part of a decoder its source drives by the clock rather than
// by input: reads that end at their inter-character timeout, and the read a
// vanished scanner leaves unfinished. Keyboard, POS and Serial implement it.
type Timed interface {
	// Expire completes a read pending past its inter-character timeout at
	// now, or hands out a completed read still waiting.
	Expire(now time.Time) (gate.Read, bool)
	// Deadline is when Expire should be called next (zero: nothing
	// pending). It is in the past while a completed read waits.
	Deadline() time.Time
	// Flush ends the pending read at once, as when the scanner goes away:
	// a read still waiting for its end is malformed (incomplete). Call it
	// until it returns false.
	Flush(at time.Time) (gate.Read, bool)
}

// Pump delivers a decoder's reads to a lane's channel for a scanner source
// (decode/usbhid, decode/serialscan): the source reads its device and feeds
// the decoder, and asks the Pump how long it may wait for input, to hand out
// what completed (Send, Due), and to flush the read a vanished scanner cut
// short. Both sources wait on the same rules this way: never past a pending
// read's timeout, and never blocked on a consumer that has gone.
type Pump struct {
	Decoder Timed            // required
	Now     func() time.Time // the clock; nil means time.Now
	Log     zerolog.Logger   // a read that could not be delivered is logged
}

// errStopped reports that the consumer's context ended while a read waited
// to be delivered.
var errStopped = errors.New("stopped with a read not delivered")

func (p *Pump) now() time.Time {
	if p.Now == nil {
		return time.Now()
	}
	return p.Now()
}

// ReadDeadline is when the source's next wait for input should end, and
// how long that is from now: limit, or less when a pending read's timeout
// comes first.
func (p *Pump) ReadDeadline(limit time.Duration) (deadline time.Time, wait time.Duration) {
	now := p.now()
	deadline = now.Add(limit)
	if d := p.Decoder.Deadline(); !d.IsZero() && d.Before(deadline) {
		deadline = d
	}
	return deadline, deadline.Sub(now)
}

// Due hands out every read the decoder has completed by now: those ended by
// their timeout and those still queued. It returns an error only when ctx
// ends with a read undelivered.
func (p *Pump) Due(ctx context.Context, out chan<- gate.Read) error {
	for {
		d := p.Decoder.Deadline()
		now := p.now()
		if d.IsZero() || d.After(now) {
			return nil
		}
		r, ok := p.Decoder.Expire(now)
		if !ok {
			return nil
		}
		if err := p.Send(ctx, out, r); err != nil {
			return err
		}
	}
}

// Flush ends the read pending when the scanner went away and hands it out,
// so a half read becomes a malformed read the lane reports instead of
// vanishing.
func (p *Pump) Flush(ctx context.Context, out chan<- gate.Read) {
	for {
		r, ok := p.Decoder.Flush(p.now())
		if !ok || p.Send(ctx, out, r) != nil {
			return
		}
	}
}

// Send hands r to the lane, or gives up when ctx ends (the error wraps
// ctx.Err()).
func (p *Pump) Send(ctx context.Context, out chan<- gate.Read, r gate.Read) error {
	select {
	case out <- r:
		return nil
	case <-ctx.Done():
		p.Log.Warn().Str("barcode", gate.BarcodeLast4.Redact(r.Text)).Msg("read not delivered: stopping")
		return fmt.Errorf("%w: %w", errStopped, ctx.Err())
	}
}
