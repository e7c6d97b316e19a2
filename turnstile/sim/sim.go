package sim

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/turnstile"
)

// DefaultWalkAfter is how long a simulated guest takes to pass an unlocked arm.
const DefaultWalkAfter = 1500 * time.Millisecond

// ErrScannerBusy is returned by Scan when reads are not being taken.
var ErrScannerBusy = errors.New("sim: scanner buffer full: is the lane running?")

// Config describes a simulated turnstile.
type Config struct {
	// ID names the turnstile's parts ("sim:<id>/relay"). Default "sim".
	ID string
	// WalkAfter is how long after unlocking the simulated guest passes.
	// Default 1.5s; negative: guests never pass on their own (call Pass).
	WalkAfter time.Duration
	// Clock is the time source; default turnstile.SystemClock().
	Clock turnstile.Clock
}

var _ turnstile.Board = (*Turnstile)(nil)

// Turnstile is a simulated turnstile. Its exported parts are what a lane is
// given; the methods act as a guest or a fault would. It is a
// turnstile.Board too, so a Set runs and halts it like a relay board.
type Turnstile struct {
	Lock      *Output // the unlock relay
	Green     *Output
	Red       *Output
	Buzzer    *Output
	Passage   *Input // fires when a guest passes
	Emergency *Input // the emergency button

	cfg   Config
	reads chan gate.Read

	mu        sync.Mutex
	walkAway  int  // guests still to walk away instead of passing
	connected bool // the scanner
	passages  int
}

// New returns a simulated turnstile, locked and idle, its scanner connected.
func New(cfg Config) *Turnstile {
	if cfg.ID == "" {
		cfg.ID = "sim"
	}
	if cfg.WalkAfter == 0 {
		cfg.WalkAfter = DefaultWalkAfter
	}
	if cfg.Clock == nil {
		cfg.Clock = turnstile.SystemClock()
	}
	t := &Turnstile{cfg: cfg, reads: make(chan gate.Read, 64), connected: true}
	name := func(part string) string { return fmt.Sprintf("sim:%s/%s", cfg.ID, part) }
	t.Lock = &Output{name: name("relay"), onSwitch: t.relaySwitched}
	t.Green = &Output{name: name("green")}
	t.Red = &Output{name: name("red")}
	t.Buzzer = &Output{name: name("buzzer")}
	t.Passage = &Input{name: name("passage"), clock: cfg.Clock}
	t.Emergency = &Input{name: name("emergency"), clock: cfg.Clock}
	return t
}

// Parts returns the turnstile as a lane's parts, scanner included.
func (t *Turnstile) Parts() turnstile.Parts {
	return turnstile.Parts{Lock: t.Lock, Passage: t.Passage, Green: t.Green, Red: t.Red, Buzzer: t.Buzzer,
		Scanner: t.Scanner()}
}

// Reads returns the reads of the simulated scanner, for Lane.Run.
func (t *Turnstile) Reads() <-chan gate.Read { return t.reads }

// Scanner returns the simulated scanner as a turnstile.Scanner, for a Set:
// its Run hands on the reads Scan makes.
func (t *Turnstile) Scanner() turnstile.Scanner { return scanner{t} }

type scanner struct{ t *Turnstile }

// Connected reports whether the simulated scanner is plugged in.
func (s scanner) Connected() bool { return s.t.scannerConnected() }

// Run hands on the scanner's reads until ctx is done.
func (s scanner) Run(ctx context.Context, out chan<- gate.Read) error {
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case r := <-s.t.reads:
			select {
			case out <- r:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
}

// Run keeps the simulated turnstile until ctx is done (there is nothing to
// connect), then switches its outputs off; it returns ctx.Err().
func (t *Turnstile) Run(ctx context.Context) error {
	<-ctx.Done()
	_ = t.Halt()
	return ctx.Err()
}

// Connected reports true: the simulated turnstile is always there.
func (t *Turnstile) Connected() bool { return true }

// String names the turnstile: "sim:<id>".
func (t *Turnstile) String() string { return "sim:" + t.cfg.ID }

// Scan presents a barcode to the simulated scanner. It fails when the
// scanner is unplugged or nobody takes the reads.
func (t *Turnstile) Scan(text string) error {
	if !t.scannerConnected() {
		return fmt.Errorf("sim: %s: scanner unplugged", t.cfg.ID)
	}
	r := gate.Read{Text: text, Source: "sim:" + t.cfg.ID, At: t.cfg.Clock.Now()}
	select {
	case t.reads <- r:
		return nil
	default:
		return ErrScannerBusy
	}
}

// Pass makes someone pass the sensor now: the guest of an admission, or a
// tailgater when nobody was admitted.
func (t *Turnstile) Pass() {
	t.mu.Lock()
	t.passages++
	t.mu.Unlock()
	at := t.cfg.Clock.Now()
	t.Passage.deliver(turnstile.Edge{Active: true, At: at})
	t.Passage.deliver(turnstile.Edge{Active: false, At: at})
}

// WalkAway makes the next guest whose arm unlocks leave without passing.
func (t *Turnstile) WalkAway() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.walkAway++
}

// Jam makes the relay fail to switch from now on, as an unplugged board
// would; Jam(nil) repairs it.
func (t *Turnstile) Jam(err error) { t.Lock.fail(err) }

// PressEmergency asserts (true) or releases (false) the emergency button.
func (t *Turnstile) PressEmergency(on bool) {
	t.Emergency.deliver(turnstile.Edge{Active: on, At: t.cfg.Clock.Now()})
}

// Unplug disconnects (true) or reconnects (false) the simulated scanner.
func (t *Turnstile) Unplug(unplugged bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.connected = !unplugged
}

// Passages returns how many times someone passed.
func (t *Turnstile) Passages() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.passages
}

// Halt switches every output off, as a real board's Halt.
func (t *Turnstile) Halt() error {
	return errors.Join(t.Lock.Set(false), t.Green.Set(false), t.Red.Set(false), t.Buzzer.Set(false))
}

func (t *Turnstile) scannerConnected() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.connected
}

// relaySwitched sends the simulated guest through when the arm unlocks.
func (t *Turnstile) relaySwitched(on bool) {
	if !on || t.cfg.WalkAfter < 0 {
		return
	}
	t.mu.Lock()
	away := t.walkAway > 0
	if away {
		t.walkAway--
	}
	t.mu.Unlock()
	if away {
		return
	}
	gen := t.Lock.generation()
	t.cfg.Clock.AfterFunc(t.cfg.WalkAfter, func() {
		// Only if the arm is still unlocked from that same switch.
		if t.Lock.generation() == gen && t.Lock.On() {
			t.Pass()
		}
	})
}

// Output is a simulated relay channel or light.
type Output struct {
	name     string
	onSwitch func(on bool)

	mu       sync.Mutex
	on       bool
	err      error
	switches int
	gen      uint64
}

// Set switches the output, or fails when jammed.
func (o *Output) Set(on bool) error {
	o.mu.Lock()
	if o.err != nil {
		err := o.err
		o.mu.Unlock()
		return fmt.Errorf("sim: %s: %w", o.name, err)
	}
	changed := o.on != on
	o.on = on
	if changed {
		o.switches++
		o.gen++
	}
	o.mu.Unlock()
	if changed && o.onSwitch != nil {
		o.onSwitch(on)
	}
	return nil
}

// String returns the output's name.
func (o *Output) String() string { return o.name }

// On reports whether the output is on.
func (o *Output) On() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.on
}

// Switches returns how many times the output changed level.
func (o *Output) Switches() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.switches
}

func (o *Output) generation() uint64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.gen
}

func (o *Output) fail(err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.err = err
}

// Input is a simulated sensor or button. Edges sent while nobody watches
// are lost, as with real hardware, but the level is kept.
type Input struct {
	name  string
	clock turnstile.Clock

	mu      sync.Mutex // guards level, fn and watched
	level   bool
	fn      func(turnstile.Edge)
	watched chan struct{} // closed while a Watch runs
	callMu  sync.Mutex    // one delivery at a time
}

// Watched returns a channel closed once a Watch is running: edges sent
// before are lost, as with a real line nobody watches.
func (in *Input) Watched() <-chan struct{} {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.watched == nil {
		in.watched = make(chan struct{})
	}
	return in.watched
}

// String returns the input's name.
func (in *Input) String() string { return in.name }

// Active reports the input's level.
func (in *Input) Active() bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.level
}

// Watch delivers the level, then every edge, until ctx is done.
func (in *Input) Watch(ctx context.Context, fn func(turnstile.Edge)) error {
	in.mu.Lock()
	if in.fn != nil {
		in.mu.Unlock()
		return fmt.Errorf("sim: %s: already watched", in.name)
	}
	in.fn = fn
	level := in.level
	if in.watched == nil {
		in.watched = make(chan struct{})
	}
	watched := in.watched
	in.mu.Unlock()
	in.callMu.Lock()
	fn(turnstile.Edge{Active: level, Initial: true, At: in.clock.Now()})
	in.callMu.Unlock()
	close(watched)
	<-ctx.Done()
	in.mu.Lock()
	in.fn, in.watched = nil, nil
	in.mu.Unlock()
	return ctx.Err()
}

func (in *Input) deliver(e turnstile.Edge) {
	in.callMu.Lock()
	defer in.callMu.Unlock()
	in.mu.Lock()
	in.level = e.Active
	fn := in.fn
	in.mu.Unlock()
	if fn != nil {
		fn(e)
	}
}
