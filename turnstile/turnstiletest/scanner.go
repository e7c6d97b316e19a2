package turnstiletest

import (
	"sync/atomic"

	"github.com/admitgate/admit/turnstile"
)

var _ turnstile.ScannerLink = (*Scanner)(nil)

// Scanner is a fake turnstile.ScannerLink; it starts disconnected.
type Scanner struct {
	connected atomic.Bool
}

// Connected reports the connection SetConnected set.
func (s *Scanner) Connected() bool { return s.connected.Load() }

// SetConnected plugs (true) or unplugs (false) the fake scanner.
func (s *Scanner) SetConnected(v bool) { s.connected.Store(v) }
