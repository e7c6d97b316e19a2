package decodetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/admitgate/admit/gate"
)

// Reader reads one report; *gousb.InEndpoint and the USB source's
// ReportReader have this method.
type Reader interface {
	ReadContext(ctx context.Context, buf []byte) (int, error)
}

// ErrShortBuffer is returned by Playback.ReadContext when a frame does not
// fit the caller's buffer: a recording taken from a device with longer
// reports.
var ErrShortBuffer = errors.New("decodetest: frame longer than the read buffer")

// Playback replays a stream to ReadContext calls, one frame per call. With
// Paced set it waits out the recorded gaps (measured from the first read);
// otherwise frames come at once. When the frames run out it blocks until
// the context ends, as a scanner with nothing to send does. It is safe for
// concurrent use.
type Playback struct {
	Frames Stream
	Paced  bool

	mu    sync.Mutex
	next  int
	start time.Time
}

var _ Reader = (*Playback)(nil)

// ReadContext copies the next frame into buf.
func (p *Playback) ReadContext(ctx context.Context, buf []byte) (int, error) {
	p.mu.Lock()
	if p.next >= len(p.Frames) {
		p.mu.Unlock()
		<-ctx.Done()
		return 0, ctx.Err()
	}
	f := p.Frames[p.next]
	if p.start.IsZero() {
		p.start = time.Now().Add(-f.At)
	}
	wait := time.Until(p.start.Add(f.At))
	p.mu.Unlock()
	if p.Paced && wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return 0, ctx.Err()
		}
	}
	if len(f.Data) > len(buf) {
		return 0, fmt.Errorf("%w: %d bytes into %d", ErrShortBuffer, len(f.Data), len(buf))
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.next++
	return copy(buf, f.Data), nil
}

// Close fails when frames were left unread: the code under test stopped
// reading early.
func (p *Playback) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if left := len(p.Frames) - p.next; left > 0 {
		return fmt.Errorf("decodetest: %d of %d frames left unread", left, len(p.Frames))
	}
	return nil
}

// Record wraps a reader and keeps every frame it returns, timed from the
// first. Save Frames with Stream.WriteTo. It is safe for concurrent use.
type Record struct {
	R   Reader
	Now func() time.Time // default time.Now

	mu      sync.Mutex
	started bool
	start   time.Time
	frames  Stream
}

var _ Reader = (*Record)(nil)

// ReadContext reads from R and records what it returned.
func (r *Record) ReadContext(ctx context.Context, buf []byte) (int, error) {
	n, err := r.R.ReadContext(ctx, buf)
	if n > 0 {
		now := time.Now
		if r.Now != nil {
			now = r.Now
		}
		at := now()
		r.mu.Lock()
		if !r.started {
			r.started, r.start = true, at
		}
		r.frames = append(r.frames, Frame{At: at.Sub(r.start), Data: append([]byte(nil), buf[:n]...)})
		r.mu.Unlock()
	}
	return n, err
}

// Frames returns what was recorded so far.
func (r *Record) Frames() Stream {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append(Stream(nil), r.frames...)
}

// Decoder is what Replay feeds: decode.Keyboard and decode.POS.
type Decoder interface {
	Feed(report []byte, at time.Time) (gate.Read, bool)
	Expire(now time.Time) (gate.Read, bool)
	Deadline() time.Time
}

// Replay feeds every frame of s to d at start plus its offset, calling
// Expire whenever a deadline passes between frames and once everything is
// fed, as the USB source does, and returns the reads in order.
func Replay(d Decoder, s Stream, start time.Time) []gate.Read {
	var out []gate.Read
	expire := func(now time.Time) {
		for {
			dl := d.Deadline()
			if dl.IsZero() || dl.After(now) {
				return
			}
			r, ok := d.Expire(now)
			if !ok {
				return
			}
			out = append(out, r)
		}
	}
	for _, f := range s {
		at := start.Add(f.At)
		expire(at)
		if r, ok := d.Feed(f.Data, at); ok {
			out = append(out, r)
		}
	}
	for {
		dl := d.Deadline()
		if dl.IsZero() {
			return out
		}
		before := len(out)
		expire(dl)
		if len(out) == before && !d.Deadline().IsZero() && !d.Deadline().After(dl) {
			return out // a decoder that keeps a past deadline without handing anything out
		}
	}
}
