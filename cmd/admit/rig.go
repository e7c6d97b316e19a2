package main

// The rig is the lanes' hardware, built from the [[lanes]] sections: per
// lane a scanner source (decode/usbhid, decode/serialscan) feeding a
// decoder, a turnstile.Lane deciding with the index and driving the unlock
// relay, passage sensor, lights and buzzer (turnstile/usbrelay,
// turnstile/serialrelay, turnstile/gpio, turnstile/sim), and one
// turnstile.Set over every lane for status, metrics and the emergency
// release. Relay boards are shared: one driver per board, a channel per
// output. Devices are opened by their drivers' Run loops, so a device absent
// at start is not an error: its lane shows it and it is picked up when it
// appears.
//
// Start order: boards (waited for briefly, so lanes do not start faulted
// only because a board was still being claimed), lanes, emergency inputs,
// scanners. Stop order (after the API drained): scanners, Set.Halt (every
// pending admission annulled, every output off), relay boards halted and
// released, GPIO lines closed, the USB bus closed. The index closes after.

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/admitgate/admit/decode/serialscan"
	"github.com/admitgate/admit/decode/usbhid"
	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/httpapi"
	"github.com/admitgate/admit/internal/usbdev"
	"github.com/admitgate/admit/turnstile"
	"github.com/admitgate/admit/turnstile/gpio"
	"github.com/admitgate/admit/turnstile/serialrelay"
	"github.com/admitgate/admit/turnstile/sim"
	"github.com/admitgate/admit/turnstile/usbrelay"
)

// boardWait is how long start waits for the configured relay boards to be
// claimed before it starts the lanes; a board still missing then leaves its
// lanes faulted until it answers a retest.
const boardWait = 3 * time.Second

// scannerSource is a USB HID or serial scanner source.
type scannerSource interface {
	Run(ctx context.Context, out chan<- gate.Read) error
	Connected() bool
	String() string
}

// rig is the hardware of every lane that has some. Build it with newRig,
// run it with start, stop it with stop; plan maps a (re)loaded lane list
// onto it.
type rig struct {
	log     zerolog.Logger // component=lanes, for the rig's own lines
	base    zerolog.Logger // the daemon's, for the drivers (which add their component)
	v       gate.Validator
	reg     prometheus.Registerer
	metrics *turnstile.Metrics

	bus        *usbdev.Bus // nil unless a USB scanner or board is configured
	usbBoards  map[string]*usbrelay.Board
	lcusBoards map[string]*serialrelay.Board
	boards     []turnstile.Board // in configuration order
	gpio       *gpio.Lines       // nil unless a GPIO line is configured
	sims       map[string]*sim.Turnstile
	lanes      map[string]*rigLane // immutable after newRig
	order      []*rigLane
	emergency  []turnstile.Input // emergency inputs, each once

	set atomic.Pointer[turnstile.Set]

	mu        sync.Mutex      // start, stop, plan
	apiLanes  map[string]bool // lanes served without hardware
	started   bool
	stopped   bool
	stopScan  context.CancelFunc
	stopLanes context.CancelFunc
	stopBoard context.CancelFunc
	scanWG    sync.WaitGroup
	laneWG    sync.WaitGroup
	boardWG   sync.WaitGroup
}

// rigLane is one lane with hardware: a turnstile, a scanner, or both.
type rigLane struct {
	id     string
	cfg    LaneConfig // as started
	key    string     // cfg.hardwareKey()
	policy atomic.Pointer[gate.Lane]
	v      gate.Validator
	log    zerolog.Logger

	turnstile bool
	parts     turnstile.Parts
	tcfg      turnstile.Config
	tl        atomic.Pointer[turnstile.Lane] // set by start

	source scannerSource    // nil: no scanner of its own
	out    chan gate.Read   // the source's reads
	reads  <-chan gate.Read // what the lane decides: out, or the simulated scanner's; nil: API only

	// A lane with a scanner and no turnstile decides with the index itself
	// and keeps its own record for status.
	mu     sync.Mutex
	last   *gate.Decision
	scans  uint64
	admits uint64
}

// newRig builds the drivers of lanes without touching a device.
func newRig(lanes []LaneConfig, v gate.Validator, reg prometheus.Registerer, log zerolog.Logger) (*rig, error) {
	r := &rig{
		log:        log.With().Str("component", "lanes").Logger(),
		base:       log,
		v:          v,
		reg:        reg,
		metrics:    turnstile.NewMetrics(),
		usbBoards:  map[string]*usbrelay.Board{},
		lcusBoards: map[string]*serialrelay.Board{},
		sims:       map[string]*sim.Turnstile{},
		lanes:      map[string]*rigLane{},
		apiLanes:   map[string]bool{},
	}
	if err := reg.Register(r.metrics); err != nil {
		return nil, fmt.Errorf("admit: lane metrics: %w", err)
	}
	lcusChannels := map[string]int{}
	for i := range lanes {
		for _, o := range lanes[i].outputs() {
			if o.Driver == outputLCUS {
				lcusChannels[o.Device] = max(lcusChannels[o.Device], o.Channel, o.Channels)
			}
		}
	}
	emInputs := map[string]bool{}
	for i := range lanes {
		l := &lanes[i]
		if !l.hardware() {
			continue
		}
		rl := &rigLane{id: l.ID, cfg: *l, key: l.hardwareKey(), v: v, log: r.log.With().Str("lane", l.ID).Logger()}
		p := l.policy()
		rl.policy.Store(&p)
		if l.hasScanner() {
			src, err := r.scanner(l)
			if err != nil {
				return nil, fmt.Errorf("admit: lane %s: scanner: %w", l.ID, err)
			}
			rl.source, rl.out = src, make(chan gate.Read, 16)
			rl.reads = rl.out
		}
		if l.hasTurnstile() {
			rl.turnstile = true
			var err error
			if rl.parts, err = r.parts(l, lcusChannels); err != nil {
				return nil, fmt.Errorf("admit: lane %s: %w", l.ID, err)
			}
			if rl.source != nil {
				rl.parts.Scanner = rl.source
			} else if l.Relay.Driver == outputSim {
				rl.reads = r.simFor(l).Reads() // barcodes typed on the simulated scanner
			}
			rl.tcfg = l.turnstileConfig()
			rl.tcfg.Metrics = r.metrics
			if in := l.Emergency.Input; isSet(in.Driver, inputNone) {
				key := in.describe()
				if in.Driver == inputSim {
					key = "sim:" + l.ID
				}
				if !emInputs[key] {
					emInputs[key] = true
					r.emergency = append(r.emergency, r.input(l, in, "emergency"))
				}
			}
		}
		r.lanes[l.ID] = rl
		r.order = append(r.order, rl)
	}
	return r, nil
}

// outputs are the lane's relay, lights and buzzer.
func (l *LaneConfig) outputs() []*OutputConfig {
	return []*OutputConfig{&l.Relay.OutputConfig, &l.Lights.Green.OutputConfig, &l.Lights.Red.OutputConfig, &l.Lights.Buzzer.OutputConfig}
}

// usb returns the shared USB bus, created on first use.
func (r *rig) usb() *usbdev.Bus {
	if r.bus == nil {
		r.bus = usbdev.NewBus(0, r.base)
	}
	return r.bus
}

func (r *rig) scanner(l *LaneConfig) (scannerSource, error) {
	s := &l.Scanner
	dec, err := s.newDecoder(r.base)
	if err != nil {
		return nil, err
	}
	switch s.Driver {
	case scannerUSBHID:
		return usbhid.New(r.usb(), usbhid.Config{Match: s.match(), Protocol: usbhid.Protocol(s.Protocol), Interface: s.Interface},
			dec.(usbhid.ReportDecoder), r.base)
	case scannerSerial:
		return serialscan.New(serialscan.Config{Device: s.Device, Baud: s.Baud, Parity: s.Parity}, dec.(serialscan.StreamDecoder), nil, r.base)
	}
	return nil, fmt.Errorf("unknown scanner driver %q", s.Driver)
}

// parts builds the lane's turnstile parts.
func (r *rig) parts(l *LaneConfig, lcusChannels map[string]int) (turnstile.Parts, error) {
	var p turnstile.Parts
	var err error
	if p.Lock, err = r.output(l, &l.Relay.OutputConfig, "relay", lcusChannels); err != nil {
		return p, err
	}
	for _, o := range []struct {
		dst  *turnstile.Output
		cfg  *OutputConfig
		role string
	}{{&p.Green, &l.Lights.Green.OutputConfig, "green"}, {&p.Red, &l.Lights.Red.OutputConfig, "red"}, {&p.Buzzer, &l.Lights.Buzzer.OutputConfig, "buzzer"}} {
		if isSet(o.cfg.Driver, outputNone) {
			if *o.dst, err = r.output(l, o.cfg, o.role, lcusChannels); err != nil {
				return p, err
			}
		}
	}
	if isSet(l.Sensor.Driver, inputNone) {
		p.Passage = r.input(l, l.Sensor, "passage")
	}
	if l.Relay.Driver == outputSim && !l.hasScanner() {
		p.Scanner = r.simFor(l).Parts().Scanner
	}
	return p, nil
}

func (r *rig) simFor(l *LaneConfig) *sim.Turnstile {
	t := r.sims[l.ID]
	if t == nil {
		t = sim.New(sim.Config{ID: l.ID, WalkAfter: time.Duration(l.Relay.WalkAfter)})
		r.sims[l.ID] = t
	}
	return t
}

func (r *rig) output(l *LaneConfig, o *OutputConfig, role string, lcusChannels map[string]int) (turnstile.Output, error) {
	switch o.Driver {
	case outputSim:
		t := r.simFor(l)
		return map[string]turnstile.Output{"relay": t.Lock, "green": t.Green, "red": t.Red, "buzzer": t.Buzzer}[role], nil
	case outputUSBRelay:
		key := usbBoardKey(o)
		b := r.usbBoards[key]
		if b == nil {
			var err error
			if b, err = usbrelay.New(r.usb(), usbrelay.Config{Board: o.Board, Port: o.Port}, r.base); err != nil {
				return nil, err
			}
			r.usbBoards[key] = b
			r.boards = append(r.boards, b)
		}
		return b.Channel(o.Channel), nil
	case outputLCUS:
		b := r.lcusBoards[o.Device]
		if b == nil {
			var err error
			if b, err = serialrelay.New(serialrelay.Config{Device: o.Device, Baud: o.Baud, Channels: lcusChannels[o.Device]}, nil, r.base); err != nil {
				return nil, err
			}
			r.lcusBoards[o.Device] = b
			r.boards = append(r.boards, b)
		}
		return b.Channel(o.Channel), nil
	case outputGPIO:
		return r.gpioLines().Output(o.Chip, o.Line, gpio.OutputConfig{ActiveLow: o.ActiveLow}), nil
	}
	return nil, fmt.Errorf("%s: unknown driver %q", role, o.Driver)
}

func (r *rig) input(l *LaneConfig, in InputConfig, role string) turnstile.Input {
	if in.Driver == inputSim {
		t := r.simFor(l)
		if role == "emergency" {
			return t.Emergency
		}
		return t.Passage
	}
	return r.gpioLines().Input(in.Chip, in.Line, gpio.InputConfig{ActiveLow: in.ActiveLow, Bias: in.Bias, Debounce: time.Duration(in.Debounce)})
}

// gpioLines returns the lanes' GPIO lines, a board of their own, made on
// first use.
func (r *rig) gpioLines() *gpio.Lines {
	if r.gpio == nil {
		r.gpio = gpio.NewLines()
		r.boards = append(r.boards, r.gpio)
	}
	return r.gpio
}

// start connects the boards, starts the lanes, watches the emergency inputs
// and starts the scanners. It is called once the index is open.
func (r *rig) start(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.started || r.stopped {
		return errors.New("admit: lanes: start called twice")
	}
	r.started = true
	bctx, cancel := context.WithCancel(context.Background())
	r.stopBoard = cancel
	for _, b := range r.boards {
		r.boardWG.Add(1)
		go func() {
			defer r.boardWG.Done()
			_ = b.Run(bctx)
		}()
	}
	r.waitBoards(ctx)

	var lanes []*turnstile.Lane
	for _, rl := range r.order {
		if !rl.turnstile {
			continue
		}
		tl, err := turnstile.NewLane(*rl.policy.Load(), r.v, rl.parts, &rl.tcfg, r.base)
		if err != nil {
			return fmt.Errorf("admit: lane %s: %w", rl.id, err)
		}
		rl.tl.Store(tl)
		lanes = append(lanes, tl)
	}
	set, err := turnstile.NewSet(nil, r.base, lanes...)
	if err != nil {
		return fmt.Errorf("admit: lanes: %w", err)
	}
	if err := r.reg.Register(set); err != nil {
		return fmt.Errorf("admit: lane metrics: %w", err)
	}
	r.set.Store(set)

	lctx, cancel := context.WithCancel(context.Background())
	r.stopLanes = cancel
	for _, tl := range lanes {
		r.laneWG.Add(1)
		go func() {
			defer r.laneWG.Done()
			_ = tl.Run(lctx, nil) // watches the passage sensor; reads come through rigLane
		}()
	}
	for _, in := range r.emergency {
		r.laneWG.Add(1)
		go func() {
			defer r.laneWG.Done()
			_ = set.WatchEmergency(lctx, in, 0)
		}()
	}

	sctx, cancel := context.WithCancel(context.Background())
	r.stopScan = cancel
	for _, rl := range r.order {
		if rl.source != nil {
			r.scanWG.Add(1)
			go func() {
				defer r.scanWG.Done()
				_ = rl.source.Run(sctx, rl.out)
			}()
		}
		if rl.reads != nil {
			r.scanWG.Add(1)
			go func() {
				defer r.scanWG.Done()
				rl.readLoop(sctx)
			}()
		}
	}
	for _, rl := range r.order {
		r.log.Info().Str("lane", rl.id).Str("hardware", rl.cfg.describe()).Msg("lane started")
	}
	return nil
}

// waitBoards waits up to boardWait for every board to be claimed.
func (r *rig) waitBoards(ctx context.Context) {
	if len(r.boards) == 0 {
		return
	}
	deadline := time.Now().Add(boardWait)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		var missing []string
		for _, b := range r.boards {
			if !b.Connected() {
				missing = append(missing, b.String())
			}
		}
		if len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			r.log.Warn().Strs("boards", missing).
				Msg("relay boards not found: their lanes refuse scans (faulted) until the boards answer; `admit devices` lists what is attached")
			return
		}
		select {
		case <-ctx.Done():
		case <-tick.C:
		}
	}
}

// stop shuts the hardware down in order; see the file comment. Errors of
// devices that are not attached are logged, not returned: an unplugged
// relay is open.
func (r *rig) stop() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		return nil
	}
	r.stopped = true
	var errs []error
	if r.started {
		r.stopScan()
		r.scanWG.Wait()
		if set := r.set.Load(); set != nil {
			for _, tl := range set.All() {
				if err := tl.Halt(); err != nil {
					errs = r.haltError(errs, err, "lane "+tl.ID())
				}
			}
		}
		for _, b := range r.boards {
			if err := b.Halt(); err != nil {
				errs = r.haltError(errs, err, b.String())
			}
		}
		r.stopLanes()
		r.laneWG.Wait()
		r.stopBoard()
		r.boardWG.Wait()
	}
	for _, t := range r.sims {
		if err := t.Halt(); err != nil {
			errs = r.haltError(errs, err, "simulated turnstile")
		}
	}
	if r.bus != nil {
		if err := r.bus.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 && r.started {
		r.log.Info().Int("lanes", len(r.order)).Msg("lanes halted: every relay open")
	}
	return errors.Join(errs...)
}

// haltError keeps err unless it only says the device is not attached.
func (r *rig) haltError(errs []error, err error, what string) []error {
	if errors.Is(err, turnstile.ErrNotConnected) {
		r.log.Warn().Err(err).Str("device", what).Msg("halt: the device is not attached (an unpowered relay is open)")
		return errs
	}
	r.log.Error().Err(err).Str("device", what).Msg("halt failed")
	return append(errs, fmt.Errorf("admit: halt %s: %w", what, err))
}

// plan maps a lane list onto the running rig: the API's lanes, a function
// that applies the new policies, and what a restart would still change.
// Lanes that run hardware keep it (their name, direction and events
// change); hardware settings that changed, lanes added with hardware and
// lanes removed while running are reported, and take effect at restart.
// Lanes without hardware come and go.
func (r *rig) plan(lanes []LaneConfig) ([]httpapi.LaneInfo, func(), []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var infos []httpapi.LaneInfo
	var warnings []string
	type update struct {
		rl *rigLane
		p  gate.Lane
	}
	var updates []update
	apiLanes := map[string]bool{}
	seen := map[string]bool{}
	for i := range lanes {
		l := &lanes[i]
		seen[l.ID] = true
		p := l.policy()
		if rl := r.lanes[l.ID]; rl != nil {
			if rl.key != l.hardwareKey() {
				warnings = append(warnings, fmt.Sprintf("lane %s: its scanner, relay, sensor, lights, emergency or turnstile settings changed; "+
					"they take effect when admit restarts (the lane keeps running on the old ones with the new name, direction and events)", l.ID))
			}
			infos = append(infos, rl.info(p))
			updates = append(updates, update{rl, p})
			continue
		}
		if l.hardware() && !r.apiLanes[l.ID] && r.started {
			warnings = append(warnings, fmt.Sprintf("lane %s is new and names hardware: it starts when admit restarts", l.ID))
			continue
		}
		if l.hardware() && r.started {
			warnings = append(warnings, fmt.Sprintf("lane %s now names hardware: it is driven when admit restarts; until then its scans come through the API only", l.ID))
		}
		infos = append(infos, httpapi.LaneInfo{Lane: p})
		apiLanes[l.ID] = true
	}
	for _, rl := range r.order {
		if !seen[rl.id] {
			warnings = append(warnings, fmt.Sprintf("lane %s was removed from the configuration: it keeps running until admit restarts", rl.id))
			infos = append(infos, rl.info(*rl.policy.Load()))
		}
	}
	apply := func() {
		for _, u := range updates {
			u.rl.policy.Store(&u.p)
		}
		r.mu.Lock()
		r.apiLanes = apiLanes
		r.mu.Unlock()
	}
	return infos, apply, warnings
}

// info is the lane as the API serves it.
func (rl *rigLane) info(p gate.Lane) httpapi.LaneInfo {
	info := httpapi.LaneInfo{Lane: p}
	if rl.turnstile {
		info.Turnstile = rl
	}
	return info
}

// Scan decides an API scan at the lane through its turnstile
// (httpapi.LaneScanner).
func (rl *rigLane) Scan(ctx context.Context, s gate.Scan) gate.Decision {
	if tl := rl.tl.Load(); tl != nil {
		return tl.Scan(ctx, s)
	}
	return s.Refusal(gate.ReasonError, fmt.Sprintf("lane %s is starting", rl.id))
}

// readLoop decides the lane's scanner reads until ctx ends. A decision
// under way finishes whole.
func (rl *rigLane) readLoop(ctx context.Context) {
	decide := context.WithoutCancel(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case r := <-rl.reads:
			rl.handle(decide, r)
		}
	}
}

// handle decides one read with the lane's current policy, through the
// turnstile when the lane has one.
func (rl *rigLane) handle(ctx context.Context, r gate.Read) gate.Decision {
	at := r.At
	if at.IsZero() {
		at = time.Now()
	}
	s := rl.policy.Load().Scan(r.Text, at)
	s.Source = r.Source
	if r.Malformed != "" {
		s.Deny, s.Detail = gate.ReasonMalformed, r.Malformed
	}
	if rl.turnstile {
		return rl.Scan(ctx, s)
	}
	d := rl.v.Scan(ctx, s)
	rl.mu.Lock()
	rl.scans++
	if d.Admit {
		rl.admits++
	}
	rl.last = &d
	rl.mu.Unlock()
	rl.log.Debug().Uint64("seq", d.Seq).Str("reason", d.Reason.String()).Str("barcode", d.Barcode).Msg("decision")
	return d
}

// status fills in what the lane's hardware says over the API's view of it.
func (rl *rigLane) status(st *gate.LaneStatus) {
	if tl := rl.tl.Load(); tl != nil {
		ts := tl.Status()
		st.ScannerConnected, st.RelayOK, st.State, st.Fault = ts.ScannerConnected, ts.RelayOK, ts.State, ts.Fault
		st.Emergency, st.Last, st.Scans, st.Admits = ts.Emergency, ts.Last, ts.Scans, ts.Admits
		return
	}
	if rl.source != nil {
		st.ScannerConnected = rl.source.Connected()
	}
	rl.mu.Lock()
	defer rl.mu.Unlock()
	if rl.last != nil && (st.Last == nil || rl.last.Seq > st.Last.Seq) {
		st.Last = rl.last
	}
	st.Scans += rl.scans
	st.Admits += rl.admits
}

// laneMonitor is GET /v1/lanes: the API's lanes (their policy and the
// decisions it made), with the hardware's view of each lane that has some.
type laneMonitor struct {
	rig *rig
	api atomic.Pointer[httpapi.Server]
}

// Lanes implements gate.LaneMonitor.
func (m *laneMonitor) Lanes() []gate.LaneStatus {
	api := m.api.Load()
	if api == nil {
		return []gate.LaneStatus{}
	}
	out := api.LaneMonitor().Lanes()
	for i := range out {
		if rl := m.rig.lanes[out[i].ID]; rl != nil {
			rl.status(&out[i])
		}
	}
	return out
}

// emergencyControl is the emergency release of the API over the rig's Set.
type emergencyControl struct{ rig *rig }

var _ httpapi.EmergencyControl = emergencyControl{}

// Release implements httpapi.EmergencyControl.
func (e emergencyControl) Release(_ context.Context, by, reason string) (gate.EmergencyStatus, error) {
	set := e.rig.set.Load()
	if set == nil || len(set.All()) == 0 {
		return e.Status(), gate.Errorf(gate.ECONFLICT, "no lane of this appliance drives a turnstile: there is nothing to release")
	}
	set.Release(by)
	return e.Status(), nil
}

// Clear implements httpapi.EmergencyControl.
func (e emergencyControl) Clear(_ context.Context, by string) (gate.EmergencyStatus, error) {
	set := e.rig.set.Load()
	if set == nil || len(set.All()) == 0 {
		return e.Status(), gate.Errorf(gate.ECONFLICT, "no lane of this appliance drives a turnstile: there is nothing to release")
	}
	if _, err := set.Clear(by); err != nil {
		return e.Status(), err
	}
	return e.Status(), nil
}

// Status implements httpapi.EmergencyControl.
func (e emergencyControl) Status() gate.EmergencyStatus {
	set := e.rig.set.Load()
	if set == nil {
		return gate.EmergencyStatus{Lanes: []gate.EmergencyLane{}}
	}
	return set.Emergency()
}
