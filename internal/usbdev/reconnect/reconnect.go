package reconnect

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/admitgate/admit/internal/defaults"
)

// Defaults of Backoff's zero fields.
const (
	DefaultMin    = 100 * time.Millisecond
	DefaultMax    = 5 * time.Second
	DefaultFactor = 2.0
)

// Backoff is how long a Link waits between failed attempts to reach its
// device: Min after the first failure, then Factor times longer each time,
// never more than Max. The zero value is 100ms doubling up to 5s.
type Backoff struct {
	Min    time.Duration // the first wait; default 100ms
	Max    time.Duration // the longest wait; default 5s
	Factor float64       // growth per failure, at least 1; default 2
}

func (b Backoff) withDefaults() Backoff {
	defaults.Set(&b.Min, DefaultMin)
	defaults.Set(&b.Max, DefaultMax)
	if b.Max < b.Min {
		b.Max = b.Min
	}
	if b.Factor < 1 {
		b.Factor = DefaultFactor
	}
	return b
}

// Delay returns the wait after the given number of failures in a row
// (1 for the first).
func (b Backoff) Delay(failures int) time.Duration {
	b = b.withDefaults()
	d := float64(b.Min)
	for i := 1; i < failures && d < float64(b.Max); i++ {
		d *= b.Factor
	}
	if d > float64(b.Max) {
		return b.Max
	}
	return time.Duration(d)
}

// Status is the state of a device link, for lane status and the API.
type Status struct {
	Connected bool      `json:"connected"`
	Device    string    `json:"device,omitempty"`     // what is (or was last) connected
	Since     time.Time `json:"since"`                // when Connected last changed; zero before the first attempt
	LastError string    `json:"last_error,omitempty"` // why it is not connected, or why it last dropped
	Failures  int       `json:"failures"`             // failed attempts since it was last up long enough
	Reconnect int       `json:"reconnects"`           // times it came back after being up
}

// Session is one connection to a device: it opens the device, calls up
// (with a description of what it reached) once the device is ready, and
// serves until the device fails, returning why, or ctx ends. A session that
// returns before calling up failed to connect.
type Session func(ctx context.Context, up func(device string)) error

// Link keeps one device connected: it runs a Session again and again, with
// Backoff between failures, until its context ends, and tracks the Status.
// Status and Connected are safe for concurrent use with Run.
type Link struct {
	name    string
	backoff Backoff
	log     zerolog.Logger
	// now and sleep are the clock; tests replace them.
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error

	dropped chan error // Drop's error, for the session running now

	mu       sync.Mutex
	status   Status
	everUp   bool
	onChange func(Status)
}

// Options are a Link's optional parts.
type Options struct {
	Backoff Backoff
	// OnChange is called with the new status whenever Connected changes.
	// It runs on the link's goroutine and must not block.
	OnChange func(Status)
	// Now and Sleep replace the clock (tests). Sleep must return ctx.Err()
	// when ctx ends first.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
}

// New returns a link named name ("usb scanner 0c2e:0b61", "relay QWERT").
// A nil opts means the defaults. log is the device's own logger, which
// names its component (usbhid, usbrelay, ...): the link adds the device's
// name, never a second component key.
func New(name string, opts *Options, log zerolog.Logger) *Link {
	if opts == nil {
		opts = &Options{}
	}
	l := &Link{
		name:     name,
		backoff:  opts.Backoff.withDefaults(),
		log:      log.With().Str("device", name).Logger(),
		now:      opts.Now,
		sleep:    opts.Sleep,
		onChange: opts.OnChange,
		dropped:  make(chan error, 1),
	}
	if l.now == nil {
		l.now = time.Now
	}
	if l.sleep == nil {
		l.sleep = sleepContext
	}
	return l
}

func sleepContext(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Name returns the link's name.
func (l *Link) Name() string { return l.name }

// Status returns the link's state now.
func (l *Link) Status() Status {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.status
}

// Connected reports whether the device is up now (turnstile.ScannerLink).
func (l *Link) Connected() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.status.Connected
}

// Drop ends the session running now with err: a request that found the
// device gone says so, and the session (which selects on Dropped) ends at
// once instead of when it next notices. It never blocks; a second drop
// before the session took the first is forgotten, and so is a drop that
// no session took before the next one started.
func (l *Link) Drop(err error) {
	select {
	case l.dropped <- err:
	default:
	}
}

// Dropped delivers the error of Drop to the session running now.
func (l *Link) Dropped() <-chan error { return l.dropped }

// Run runs session until ctx ends and returns ctx.Err(). It never returns
// because the device failed or vanished: it marks the link down at once,
// waits out the backoff (sleeping, not polling) and tries again. A session
// that stayed up at least Backoff.Max resets the backoff, so a device
// unplugged after a long time is looked for again quickly, while one that
// fails right after connecting is retried ever more slowly.
func (l *Link) Run(ctx context.Context, session Session) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		select { // a drop from the last session is old news
		case <-l.dropped:
		default:
		}
		var upAt time.Time
		err := session(ctx, func(device string) {
			upAt = l.now()
			l.up(device, upAt)
		})
		if ctx.Err() != nil {
			l.down(ctx.Err(), l.now(), !upAt.IsZero(), false)
			return ctx.Err()
		}
		if err == nil {
			err = errors.New("session ended")
		}
		stable := !upAt.IsZero() && l.now().Sub(upAt) >= l.backoff.Max
		failures := l.down(err, l.now(), !upAt.IsZero(), stable)
		if err := l.sleep(ctx, l.backoff.Delay(failures)); err != nil {
			return err
		}
	}
}

func (l *Link) up(device string, at time.Time) {
	l.mu.Lock()
	if l.everUp {
		l.status.Reconnect++
	}
	l.everUp = true
	l.status.Connected = true
	l.status.Device = device
	l.status.Since = at
	st := l.status
	l.mu.Unlock()
	l.log.Info().Str("connected", device).Msg("device connected")
	if l.onChange != nil {
		l.onChange(st)
	}
}

// down records a session's end and returns the failure count to back off by.
func (l *Link) down(err error, at time.Time, wasUp, stable bool) int {
	l.mu.Lock()
	changed := l.status.Connected || l.status.Since.IsZero()
	l.status.Connected = false
	l.status.LastError = err.Error()
	if changed {
		l.status.Since = at
	}
	if stable {
		l.status.Failures = 0
	}
	l.status.Failures++
	st := l.status
	l.mu.Unlock()
	switch {
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		l.log.Debug().Msg("device link stopped")
	case wasUp:
		l.log.Warn().Err(err).Msg("device disconnected; reconnecting")
	case st.Failures == 1:
		l.log.Warn().Err(err).Msg("device not reachable; retrying with backoff")
	default:
		l.log.Debug().Err(err).Int("failures", st.Failures).Msg("device still not reachable")
	}
	if changed && l.onChange != nil {
		l.onChange(st)
	}
	return st.Failures
}
