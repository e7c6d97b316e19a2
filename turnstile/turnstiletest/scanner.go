package turnstiletest

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/turnstile"
)

var _ turnstile.Scanner = (*Scanner)(nil)

// Scanner is a fake turnstile.Scanner; it starts disconnected. The zero
// value is ready to use.
type Scanner struct {
	connected atomic.Bool
	running   atomic.Int32

	once  sync.Once
	reads chan gate.Read
}

// Connected reports the connection SetConnected set.
func (s *Scanner) Connected() bool { return s.connected.Load() }

// SetConnected plugs (true) or unplugs (false) the fake scanner.
func (s *Scanner) SetConnected(v bool) { s.connected.Store(v) }

func (s *Scanner) ch() chan gate.Read {
	s.once.Do(func() { s.reads = make(chan gate.Read) })
	return s.reads
}

// Run hands out what Send is given until ctx is done.
func (s *Scanner) Run(ctx context.Context, out chan<- gate.Read) error {
	s.running.Add(1)
	defer s.running.Add(-1)
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case r := <-s.ch():
			select {
			case out <- r:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
}

// Running reports whether a Run is under way.
func (s *Scanner) Running() bool { return s.running.Load() > 0 }

// Send waits until a Run takes r, or ctx is done.
func (s *Scanner) Send(ctx context.Context, r gate.Read) error {
	select {
	case s.ch() <- r:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
