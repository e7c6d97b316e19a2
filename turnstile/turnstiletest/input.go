package turnstiletest

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/admitgate/admit/turnstile"
)

var _ turnstile.Input = (*Input)(nil)

// ErrNotWatched is returned by Send when nobody watches the input.
var ErrNotWatched = errors.New("turnstiletest: input not watched")

// Input is a fake passage sensor or emergency input. Watch registers the
// watcher and delivers the Initial level; Send then calls the watcher
// synchronously, so when Send returns the lane has acted on the edge.
type Input struct {
	N string // the name String returns

	sync.Mutex
	Active   bool // the level; Watch delivers it as the Initial edge
	Watching bool // a Watch is running
	Watches  int  // how many Watch calls started

	fn      func(turnstile.Edge)
	fail    chan error
	watched chan struct{}
}

// NewInput returns an inactive input named name.
func NewInput(name string) *Input { return &Input{N: name, watched: make(chan struct{})} }

// String returns the name.
func (in *Input) String() string { return in.N }

// Watch delivers the Initial level, then edges from Send, until ctx is done
// or Fail is called.
func (in *Input) Watch(ctx context.Context, fn func(turnstile.Edge)) error {
	in.Lock()
	if in.watched == nil {
		in.watched = make(chan struct{})
	}
	if in.Watching {
		in.Unlock()
		return errors.New("turnstiletest: input already watched")
	}
	fail := make(chan error, 1)
	in.fail, in.Watching = fail, true
	in.Watches++
	active := in.Active
	in.Unlock()

	// The Initial edge comes first: Send reaches fn only after it.
	fn(turnstile.Edge{Active: active, Initial: true})
	in.Lock()
	in.fn = fn
	close(in.watched)
	in.Unlock()
	var err error
	select {
	case <-ctx.Done():
		err = ctx.Err()
	case err = <-fail:
	}
	in.Lock()
	in.fn, in.fail, in.Watching = nil, nil, false
	in.watched = make(chan struct{})
	in.Unlock()
	return err
}

// Watched returns a channel closed once a Watch is running.
func (in *Input) Watched() <-chan struct{} {
	in.Lock()
	defer in.Unlock()
	if in.watched == nil {
		in.watched = make(chan struct{})
	}
	return in.watched
}

// Send sets the level and delivers the edge, stamped at, to the watcher, and
// returns once the watcher has handled it; ErrNotWatched if nobody watches.
func (in *Input) Send(active bool, at time.Time) error {
	in.Lock()
	in.Active = active
	fn := in.fn
	in.Unlock()
	if fn == nil {
		return ErrNotWatched
	}
	fn(turnstile.Edge{Active: active, At: at})
	return nil
}

// Pulse sends an active edge then an inactive one, both stamped at: a
// person passing the sensor.
func (in *Input) Pulse(at time.Time) error {
	if err := in.Send(true, at); err != nil {
		return err
	}
	return in.Send(false, at)
}

// Fail ends the running Watch with err, as a driver whose line went away.
func (in *Input) Fail(err error) {
	in.Lock()
	defer in.Unlock()
	if in.fail != nil {
		in.fail <- err
		in.fail = nil
	}
}
