package main

// The rig maps the [[lanes]] sections onto turnstile parts and hands them to
// one turnstile.Set, which runs them: per lane a scanner (decode/usbhid,
// decode/serialscan, or the simulated turnstile's) and a turnstile.Lane
// deciding with the index — a door when the lane has no relay — with its
// unlock relay, passage sensor, lights and buzzer (turnstile/usbrelay,
// turnstile/serialrelay, turnstile/gpio, turnstile/sim). Relay boards are
// shared: one driver per board, a turnstile.Channel per output. Devices are
// opened by their drivers' Run loops, so a device absent at start is not an
// error: its lane shows it and it is picked up when it appears. The Set
// starts and stops everything in order; the USB bus closes after it.

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

// rig is the lanes' hardware in a turnstile.Set. Build it with newRig, run
// it with start, stop it with stop; plan maps a (re)loaded lane list onto
// it.
type rig struct {
	set   *turnstile.Set
	reg   prometheus.Registerer
	log   zerolog.Logger // component=lanes, for the rig's own lines
	base  zerolog.Logger // the daemon's, for the drivers (which add their component)
	lanes []LaneConfig   // the lanes with hardware, as started

	// The devices, made on first use by the lanes that name them.
	bus          *usbdev.Bus // nil unless a USB scanner or board is configured
	usbBoards    map[string]*usbrelay.Board
	lcusBoards   map[string]*serialrelay.Board
	lcusChannels map[string]int // relays each LCUS board has: the highest channel named, or channels
	gpio         *gpio.Lines
	sims         map[string]*sim.Turnstile // by lane

	stopOnce sync.Once
	stopErr  error
}

// newRig builds the drivers and lanes of a lane list without touching a
// device.
func newRig(lanes []LaneConfig, v gate.Validator, reg prometheus.Registerer, log zerolog.Logger) (*rig, error) {
	metrics := turnstile.NewMetrics()
	if err := reg.Register(metrics); err != nil {
		return nil, fmt.Errorf("admit: lane metrics: %w", err)
	}
	set, err := turnstile.NewSet(nil, log)
	if err != nil {
		return nil, err
	}
	r := &rig{
		set:          set,
		reg:          reg,
		log:          log.With().Str("component", "lanes").Logger(),
		base:         log,
		usbBoards:    map[string]*usbrelay.Board{},
		lcusBoards:   map[string]*serialrelay.Board{},
		lcusChannels: map[string]int{},
		sims:         map[string]*sim.Turnstile{},
	}
	for i := range lanes {
		for _, o := range lanes[i].outputs() {
			if o.cfg.Driver == outputLCUS {
				r.lcusChannels[o.cfg.Device] = max(r.lcusChannels[o.cfg.Device], o.cfg.Channel, o.cfg.Channels)
			}
		}
	}
	for i := range lanes {
		l := &lanes[i]
		if !l.hardware() {
			continue
		}
		spec, err := r.spec(l, v, metrics)
		if err == nil {
			_, err = set.Add(spec)
		}
		if err != nil {
			return nil, fmt.Errorf("admit: lane %s: %w", l.ID, err)
		}
		r.lanes = append(r.lanes, *l)
	}
	return r, nil
}

// spec maps a lane with hardware onto its turnstile.Lane: a door when it
// has no relay.
func (r *rig) spec(l *LaneConfig, v gate.Validator, metrics *turnstile.Metrics) (turnstile.LaneSpec, error) {
	spec := turnstile.LaneSpec{Lane: l.policy(), Validator: v, Hardware: l.hardwareKey()}
	if l.hasScanner() {
		src, err := r.scanner(&l.Scanner)
		if err != nil {
			return spec, fmt.Errorf("scanner: %w", err)
		}
		spec.Scanner = src
	}
	if !l.hasTurnstile() {
		return spec, nil
	}
	for _, o := range l.outputs() {
		if isSet(o.cfg.Driver, outputNone) {
			out, err := r.output(l, o)
			if err != nil {
				return spec, err
			}
			*o.part(&spec.Parts) = out
		}
	}
	if isSet(l.Sensor.Driver, inputNone) {
		spec.Parts.Passage = r.input(l, l.Sensor, func(t *sim.Turnstile) *sim.Input { return t.Passage })
	}
	if in := l.Emergency.Input; isSet(in.Driver, inputNone) {
		r.set.AddEmergency(r.input(l, in, func(t *sim.Turnstile) *sim.Input { return t.Emergency }))
	}
	if l.Relay.Driver == outputSim && spec.Scanner == nil {
		spec.Scanner = r.simFor(l).Scanner() // barcodes typed on the simulated scanner
	}
	cfg := l.turnstileConfig()
	cfg.Metrics = metrics
	spec.Config = &cfg
	return spec, nil
}

// usb returns the shared USB bus, created on first use.
func (r *rig) usb() *usbdev.Bus {
	if r.bus == nil {
		r.bus = usbdev.NewBus(0, r.base)
	}
	return r.bus
}

func (r *rig) scanner(s *ScannerConfig) (turnstile.Scanner, error) {
	switch s.Driver {
	case scannerUSBHID:
		dec, err := s.reportDecoder(r.base)
		if err != nil {
			return nil, err
		}
		src, err := usbhid.New(r.usb(), usbhid.Config{Match: s.match(), Protocol: usbhid.Protocol(s.Protocol), Interface: s.Interface}, dec, r.base)
		if err != nil {
			return nil, err
		}
		return src, nil
	case scannerSerial:
		dec, err := s.streamDecoder(r.base)
		if err != nil {
			return nil, err
		}
		src, err := serialscan.New(serialscan.Config{Device: s.Device, Baud: s.Baud, Parity: s.Parity}, dec, nil, r.base)
		if err != nil {
			return nil, err
		}
		return src, nil
	}
	return nil, fmt.Errorf("unknown scanner driver %q", s.Driver)
}

// simFor returns the lane's simulated turnstile, a board of its own.
func (r *rig) simFor(l *LaneConfig) *sim.Turnstile {
	t := r.sims[l.ID]
	if t == nil {
		t = sim.New(sim.Config{ID: l.ID, WalkAfter: time.Duration(l.Relay.WalkAfter)})
		r.sims[l.ID] = t
		r.set.AddBoard(t)
	}
	return t
}

func (r *rig) output(l *LaneConfig, o laneOutput) (turnstile.Output, error) {
	c := o.cfg
	switch c.Driver {
	case outputSim:
		return o.sim(r.simFor(l)), nil
	case outputUSBRelay:
		key := usbBoardKey(c)
		b := r.usbBoards[key]
		if b == nil {
			var err error
			if b, err = usbrelay.New(r.usb(), usbrelay.Config{Board: c.Board, Port: c.Port}, r.base); err != nil {
				return nil, err
			}
			r.usbBoards[key] = b
			r.set.AddBoard(b)
		}
		return b.Channel(c.Channel), nil
	case outputLCUS:
		b := r.lcusBoards[c.Device]
		if b == nil {
			var err error
			if b, err = serialrelay.New(serialrelay.Config{Device: c.Device, Baud: c.Baud, Channels: r.lcusChannels[c.Device]}, nil, r.base); err != nil {
				return nil, err
			}
			r.lcusBoards[c.Device] = b
			r.set.AddBoard(b)
		}
		return b.Channel(c.Channel), nil
	case outputGPIO:
		return r.gpioLines().Output(c.Chip, c.Line, gpio.OutputConfig{ActiveLow: c.ActiveLow}), nil
	}
	return nil, fmt.Errorf("%s: unknown driver %q", o.key, c.Driver)
}

// input is a passage sensor or an emergency input; simPart picks it on the
// simulated turnstile.
func (r *rig) input(l *LaneConfig, in InputConfig, simPart func(*sim.Turnstile) *sim.Input) turnstile.Input {
	if in.Driver == inputSim {
		return simPart(r.simFor(l))
	}
	return r.gpioLines().Input(in.Chip, in.Line, gpio.InputConfig{ActiveLow: in.ActiveLow, Bias: in.Bias, Debounce: time.Duration(in.Debounce)})
}

// gpioLines returns the lanes' GPIO lines, a board of their own, made on
// first use.
func (r *rig) gpioLines() *gpio.Lines {
	if r.gpio == nil {
		r.gpio = gpio.NewLines()
		r.set.AddBoard(r.gpio)
	}
	return r.gpio
}

// start runs the lanes (turnstile.Set.Start) and publishes their gauges. It
// is called once the index is open.
func (r *rig) start(ctx context.Context) error {
	if err := r.set.Start(ctx); err != nil {
		return fmt.Errorf("admit: lanes: %w", err)
	}
	if err := r.reg.Register(r.set); err != nil {
		return fmt.Errorf("admit: lane metrics: %w", err)
	}
	for i := range r.lanes {
		r.log.Info().Str("lane", r.lanes[i].ID).Str("hardware", r.lanes[i].describe()).Msg("lane started")
	}
	return nil
}

// stop halts the lanes in order (turnstile.Set.Stop), then closes the USB
// bus. Calling it again returns the first call's error.
func (r *rig) stop() error {
	r.stopOnce.Do(func() {
		r.stopErr = r.set.Stop()
		if r.bus != nil {
			r.stopErr = errors.Join(r.stopErr, r.bus.Close())
		}
	})
	return r.stopErr
}

// plan maps a lane list onto the running rig (turnstile.Set.Plan): the
// API's lanes, a function that applies the new policies, and what a
// restart would still change, in words for the log.
func (r *rig) plan(lanes []LaneConfig) ([]httpapi.LaneInfo, func(), []string) {
	want := make([]turnstile.Configured, len(lanes))
	for i := range lanes {
		want[i].Lane = lanes[i].policy()
		if lanes[i].hardware() {
			want[i].Hardware = lanes[i].hardwareKey()
		}
	}
	p := r.set.Plan(want)
	var infos []httpapi.LaneInfo
	var warnings []string
	for _, pl := range p.Lanes {
		switch id := pl.Policy.ID; pl.Wait {
		case turnstile.WaitHardware:
			warnings = append(warnings, fmt.Sprintf("lane %s: its scanner, relay, sensor, lights, emergency or turnstile settings changed; "+
				"they take effect when admit restarts (the lane keeps running on the old ones with the new name, direction and events)", id))
		case turnstile.WaitRemoved:
			warnings = append(warnings, fmt.Sprintf("lane %s was removed from the configuration: it keeps running until admit restarts", id))
		case turnstile.WaitNew:
			warnings = append(warnings, fmt.Sprintf("lane %s is new and names hardware: it starts when admit restarts", id))
			continue
		case turnstile.WaitDriven:
			warnings = append(warnings, fmt.Sprintf("lane %s now names hardware: it is driven when admit restarts; until then its scans come through the API only", id))
		}
		info := httpapi.LaneInfo{Lane: pl.Policy}
		if pl.Lane != nil && pl.Lane.Turnstile() {
			info.Turnstile = pl.Lane
		}
		infos = append(infos, info)
	}
	return infos, func() { r.set.Apply(p) }, warnings
}

// laneMonitor is GET /v1/lanes: the API's lanes (their policy and the
// decisions it made), with what the rig's lanes know filled in.
type laneMonitor struct {
	set   *turnstile.Set
	api   atomic.Pointer[httpapi.Server]
	venue *venueSlot // in a venue: each lane's venue state (venue_lanes.go)
}

// Lanes implements gate.LaneMonitor.
func (m *laneMonitor) Lanes() []gate.LaneStatus {
	api := m.api.Load()
	if api == nil {
		return []gate.LaneStatus{}
	}
	out := api.LaneMonitor().Lanes()
	m.set.Overlay(out)
	if v := m.venue.get(); v != nil {
		v.laneStates(out)
	}
	return out
}

// emergencyControl is the API's emergency release over the rig's Set.
type emergencyControl struct{ set *turnstile.Set }

var _ httpapi.EmergencyControl = emergencyControl{}

// Release implements httpapi.EmergencyControl.
func (e emergencyControl) Release(_ context.Context, by, reason string) (gate.EmergencyStatus, error) {
	if st := e.set.Emergency(); len(st.Lanes) == 0 {
		return st, errNothingToRelease()
	}
	return e.set.Release(by), nil
}

// Clear implements httpapi.EmergencyControl.
func (e emergencyControl) Clear(_ context.Context, by string) (gate.EmergencyStatus, error) {
	if st := e.set.Emergency(); len(st.Lanes) == 0 {
		return st, errNothingToRelease()
	}
	return e.set.Clear(by)
}

// Status implements httpapi.EmergencyControl.
func (e emergencyControl) Status() gate.EmergencyStatus { return e.set.Emergency() }

func errNothingToRelease() error {
	return gate.Errorf(gate.ECONFLICT, "no lane of this appliance drives a turnstile: there is nothing to release")
}
