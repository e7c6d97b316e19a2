package main

// This file is the [[lanes]] part of the configuration: the keys, their
// defaults, and how a lane's settings map onto the gate, decode, turnstile
// and driver packages; lanecheck.go validates them, and rig.go hands the
// parts to a turnstile.Set. The device keys (driver, usb, serial, port, protocol,
// device, baud, board, channel) are the ones `admit devices` prints
// (internal/usbdev.List), so its snippets paste as they are.

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/rs/zerolog"

	"github.com/admitgate/admit/decode"
	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/internal/usbdev"
	"github.com/admitgate/admit/turnstile"
	"github.com/admitgate/admit/turnstile/gpio"
	"github.com/admitgate/admit/turnstile/serialrelay"
	"github.com/admitgate/admit/turnstile/sim"
	"github.com/admitgate/admit/turnstile/usbrelay"
)

// LaneConfig is one lane: a turnstile or door with its scanner and relay.
// docs/config.md documents every key.
type LaneConfig struct {
	ID        string   `toml:"id"`
	Name      string   `toml:"name"`
	Direction string   `toml:"direction"` // in (default) or out
	Events    []string `toml:"events"`    // the events it admits; omitted: every event open now

	Confirm        string   `toml:"confirm"`         // none (default) or passage
	PassageTimeout Duration `toml:"passage_timeout"` // default relay.unlock_time + 3s
	Queue          bool     `toml:"queue"`           // queue admissions instead of lane_busy
	MaxQueue       int      `toml:"max_queue"`       // default 3

	Scanner   ScannerConfig   `toml:"scanner"`
	Relay     RelayConfig     `toml:"relay"`
	Sensor    InputConfig     `toml:"sensor"` // the passage sensor
	Lights    LightsConfig    `toml:"lights"`
	Emergency EmergencyConfig `toml:"emergency"`
}

// Scanner drivers.
const (
	scannerNone   = "none"   // scans arrive over the API only
	scannerUSBHID = "usbhid" // a USB HID scanner (keyboard wedge or HID POS): decode/usbhid
	scannerSerial = "serial" // a CDC ACM or RS-232 scanner: decode/serialscan
)

// Output drivers (the unlock relay, lights, buzzer).
const (
	outputNone     = "none"
	outputSim      = "sim"      // the simulated turnstile: turnstile/sim
	outputUSBRelay = "usbrelay" // a "USBRelay" HID board (16c0:05df): turnstile/usbrelay
	outputLCUS     = "lcus"     // a CH340 "LCUS" serial relay board: turnstile/serialrelay
	outputGPIO     = "gpio"     // a Linux GPIO line: turnstile/gpio
)

// Input drivers (the passage sensor, the emergency input).
const (
	inputNone = "none"
	inputSim  = "sim"
	inputGPIO = "gpio"
)

// ScannerConfig is the lane's fixed scanner: which device, and (the
// embedded decode.Config) how its bytes become barcodes.
type ScannerConfig struct {
	Driver string `toml:"driver"` // none (default), usbhid, serial

	// usbhid: the device, by any of these (every one given must match).
	USB    usbdev.ID `toml:"usb"`    // vendor:product, "0c2e:0b61"
	Serial string    `toml:"serial"` // the USB serial number
	Port   string    `toml:"port"`   // the USB port path, "1-2"
	// usbhid: keyboard (default) or pos.
	Protocol string `toml:"protocol"`
	// usbhid: the HID interface number; 0 picks the first that fits.
	Interface int `toml:"interface"`

	// serial: the port, best its /dev/serial/by-id link.
	Device string `toml:"device"`
	Baud   int    `toml:"baud"`   // default 9600
	Parity string `toml:"parity"` // none (default), odd, even

	// The decoder: layout, prefix, suffix, terminators, timeout, aim,
	// symbologies, check_digits, framing, dedup_window, max_len,
	// pos_report_id, source.
	decode.Config
}

// OutputConfig is one relay channel or GPIO line.
type OutputConfig struct {
	Driver string `toml:"driver"` // none (default), sim, usbrelay, lcus, gpio
	// usbrelay: the board, by its 5-character serial or its USB port path.
	Board string `toml:"board"`
	Port  string `toml:"port"`
	// lcus: the board's serial port, best its /dev/serial/by-id link.
	Device   string `toml:"device"`
	Baud     int    `toml:"baud"`     // lcus: default 9600
	Channels int    `toml:"channels"` // lcus: relays on the board (Halt opens them all); default the highest channel used
	// usbrelay, lcus: the relay, 1 to 8.
	Channel int `toml:"channel"`
	// gpio: the chip ("gpiochip0") and line offset.
	Chip      string `toml:"chip"`
	Line      int    `toml:"line"`
	ActiveLow bool   `toml:"active_low"`
}

// RelayConfig is the lane's unlock relay: its turnstile.
type RelayConfig struct {
	OutputConfig
	// UnlockTime is how long an admission unlocks the lane. Default 5s.
	UnlockTime Duration `toml:"unlock_time"`
	// WalkAfter (sim) is how long a simulated guest takes to pass; negative:
	// guests never pass on their own. Default 1.5s.
	WalkAfter Duration `toml:"walk_after"`
}

// LightConfig is a light or the buzzer, and what it plays for each lane
// event (turnstile.Pattern text: "on", "off", "on:150ms off:100ms on:150ms",
// "on:500ms off:500ms repeat"); unset patterns take the defaults.
type LightConfig struct {
	OutputConfig
	Admit     turnstile.Pattern `toml:"admit"`
	Deny      turnstile.Pattern `toml:"deny"`
	Fault     turnstile.Pattern `toml:"fault"`
	Emergency turnstile.Pattern `toml:"emergency"`
}

// patterns are the light's turnstile.SignalPatterns.
func (lc *LightConfig) patterns() turnstile.SignalPatterns {
	return turnstile.SignalPatterns{Admit: lc.Admit, Deny: lc.Deny, Fault: lc.Fault, Emergency: lc.Emergency}
}

// LightsConfig are the lane's signals.
type LightsConfig struct {
	Green  LightConfig `toml:"green"`
	Red    LightConfig `toml:"red"`
	Buzzer LightConfig `toml:"buzzer"`
}

// InputConfig is a passage sensor or an emergency input.
type InputConfig struct {
	Driver    string    `toml:"driver"` // none (default), sim, gpio
	Chip      string    `toml:"chip"`
	Line      int       `toml:"line"`
	ActiveLow bool      `toml:"active_low"`
	Bias      gpio.Bias `toml:"bias"`     // "" (as is), pull-up, pull-down, disabled
	Debounce  Duration  `toml:"debounce"` // kernel debounce (Linux 5.10+); default none
}

// EmergencyConfig is what an emergency release does at the lane, and an
// input that releases (every lane).
type EmergencyConfig struct {
	Mode  string      `toml:"mode"` // open (default: unlock and stay unlocked) or hold
	Input InputConfig `toml:"input"`
}

func isSet(driver, none string) bool { return driver != "" && driver != none }

// laneOutput is one of the four outputs of a lane: how the configuration
// names it, and where it goes among a turnstile's parts, its signal
// patterns and the simulated turnstile. LaneConfig.outputs lists the four
// once; validation, validateLanes, describe and the rig iterate them.
type laneOutput struct {
	key   string // the table under [lanes]: "relay", "lights.green"
	name  string // for people: "relay", "green"
	cfg   *OutputConfig
	light *LightConfig // a light's (or the buzzer's) patterns; nil for the relay
	part  func(*turnstile.Parts) *turnstile.Output
	sig   func(*turnstile.Signals) *turnstile.SignalPatterns // nil for the relay
	sim   func(*sim.Turnstile) *sim.Output
}

// outputs are the lane's unlock relay, green and red lights and buzzer.
func (l *LaneConfig) outputs() []laneOutput {
	return []laneOutput{
		{key: "relay", name: "relay", cfg: &l.Relay.OutputConfig,
			part: func(p *turnstile.Parts) *turnstile.Output { return &p.Lock },
			sim:  func(t *sim.Turnstile) *sim.Output { return t.Lock }},
		{key: "lights.green", name: "green", cfg: &l.Lights.Green.OutputConfig, light: &l.Lights.Green,
			part: func(p *turnstile.Parts) *turnstile.Output { return &p.Green },
			sig:  func(s *turnstile.Signals) *turnstile.SignalPatterns { return &s.Green },
			sim:  func(t *sim.Turnstile) *sim.Output { return t.Green }},
		{key: "lights.red", name: "red", cfg: &l.Lights.Red.OutputConfig, light: &l.Lights.Red,
			part: func(p *turnstile.Parts) *turnstile.Output { return &p.Red },
			sig:  func(s *turnstile.Signals) *turnstile.SignalPatterns { return &s.Red },
			sim:  func(t *sim.Turnstile) *sim.Output { return t.Red }},
		{key: "lights.buzzer", name: "buzzer", cfg: &l.Lights.Buzzer.OutputConfig, light: &l.Lights.Buzzer,
			part: func(p *turnstile.Parts) *turnstile.Output { return &p.Buzzer },
			sig:  func(s *turnstile.Signals) *turnstile.SignalPatterns { return &s.Buzzer },
			sim:  func(t *sim.Turnstile) *sim.Output { return t.Buzzer }},
	}
}

// lights are the lane's green and red lights and buzzer.
func (l *LaneConfig) lights() []laneOutput { return l.outputs()[1:] }

func (l *LaneConfig) direction() gate.Direction {
	if l.Direction == "out" {
		return gate.Out
	}
	return gate.In
}

// policy is the lane as the gate sees it: what SIGHUP changes in place.
func (l *LaneConfig) policy() gate.Lane {
	return gate.Lane{ID: l.ID, Name: l.Name, Direction: l.direction(), Events: slices.Clone(l.Events)}
}

// hasTurnstile says whether the lane drives a turnstile (it has a relay).
func (l *LaneConfig) hasTurnstile() bool { return isSet(l.Relay.Driver, outputNone) }

// hasScanner says whether the lane reads a scanner of its own.
func (l *LaneConfig) hasScanner() bool { return isSet(l.Scanner.Driver, scannerNone) }

// hardware says whether the lane runs devices (a scanner, a turnstile and
// what hangs on it): such a lane changes only at a restart.
func (l *LaneConfig) hardware() bool { return l.hasTurnstile() || l.hasScanner() }

// hardwareKey is every setting of the lane but its policy (name, direction,
// events): two lanes with the same key run the same hardware the same way.
func (l *LaneConfig) hardwareKey() string {
	c := *l
	c.ID, c.Name, c.Direction, c.Events = "", "", "", nil
	b, err := json.Marshal(c)
	if err != nil { // every field marshals; keep the lane distinct anyway
		return fmt.Sprintf("%p", l)
	}
	return string(b)
}

// turnstileConfig maps the lane onto turnstile.Config (defaults unset).
func (l *LaneConfig) turnstileConfig() turnstile.Config {
	c := turnstile.Config{
		UnlockTime:     time.Duration(l.Relay.UnlockTime),
		Confirm:        turnstile.Confirm(l.Confirm),
		PassageTimeout: time.Duration(l.PassageTimeout),
		Queue:          l.Queue,
		MaxQueue:       l.MaxQueue,
		Emergency:      turnstile.EmergencyMode(l.Emergency.Mode),
	}
	for _, o := range l.lights() {
		*o.sig(&c.Signals) = o.light.patterns()
	}
	return c
}

// source is the scanner's name in every read it delivers (and so in the
// journal): decode's source key, else "usb:<id>:<serial>:<port>" or
// "serial:<device>".
func (s *ScannerConfig) source() string {
	if s.Source != "" {
		return s.Source
	}
	switch s.Driver {
	case scannerUSBHID:
		parts := []string{"usb"}
		if !s.USB.IsZero() {
			parts = append(parts, s.USB.String())
		}
		for _, p := range []string{s.Serial, s.Port} {
			if p != "" {
				parts = append(parts, p)
			}
		}
		return strings.Join(parts, ":")
	case scannerSerial:
		return "serial:" + s.Device
	}
	return ""
}

func (s *ScannerConfig) match() usbdev.Match {
	return usbdev.Match{ID: s.USB, Serial: s.Serial, Port: s.Port}
}

// decodeConfig is how the scanner's bytes become barcodes, with the
// scanner's name in every read.
func (s *ScannerConfig) decodeConfig() decode.Config {
	cfg := s.Config
	cfg.Source = s.source()
	return cfg
}

// reportDecoder builds a USB HID scanner's decoder (keyboard or POS
// reports); it is also how the decode settings are validated.
func (s *ScannerConfig) reportDecoder(log zerolog.Logger) (decode.ReportDecoder, error) {
	if s.Protocol == "pos" {
		d, err := decode.NewPOS(s.decodeConfig(), log)
		if err != nil {
			return nil, err
		}
		return d, nil
	}
	d, err := decode.NewKeyboard(s.decodeConfig(), log)
	if err != nil {
		return nil, err
	}
	return d, nil
}

// streamDecoder builds a serial scanner's decoder; it is also how the
// decode settings are validated.
func (s *ScannerConfig) streamDecoder(log zerolog.Logger) (decode.StreamDecoder, error) {
	d, err := decode.NewSerial(s.decodeConfig(), log)
	if err != nil {
		return nil, err
	}
	return d, nil
}

// validate returns what is wrong with the lane, one message per problem.
func (l *LaneConfig) validate() []string {
	var errs []string
	add := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	if err := gate.CheckID("lane", l.ID); err != nil {
		add("id: %s", gate.ErrorMessage(err))
	}
	switch l.Direction {
	case "", "in", "out":
	default:
		add("direction must be in or out, not %q", l.Direction)
	}
	for _, e := range l.Events {
		if err := gate.CheckID("event", e); err != nil {
			add("events: %s", gate.ErrorMessage(err))
		}
	}
	if l.Events != nil && len(l.Events) == 0 {
		add("events is an empty list; omit it to admit every event open now")
	}
	switch l.Confirm {
	case "", "none":
	case "passage":
		if !isSet(l.Sensor.Driver, inputNone) {
			add("confirm = \"passage\" needs a passage sensor ([lanes.sensor])")
		}
	default:
		add("confirm must be none or passage, not %q", l.Confirm)
	}
	if l.MaxQueue < 0 || l.MaxQueue > 100 {
		add("max_queue must be between 0 and 100")
	}
	switch l.Emergency.Mode {
	case "", "open", "hold":
	default:
		add("emergency.mode must be open or hold, not %q", l.Emergency.Mode)
	}

	errs = append(errs, l.Scanner.validate()...)
	for _, o := range l.outputs() {
		errs = append(errs, o.cfg.validate(o.key)...)
		if p := o.light; p != nil && !isSet(o.cfg.Driver, outputNone) && (p.Admit.IsSet() || p.Deny.IsSet() || p.Fault.IsSet() || p.Emergency.IsSet()) {
			add("%s: patterns without a driver play nowhere", o.key)
		}
	}
	if l.Relay.UnlockTime < 0 {
		add("relay.unlock_time must not be negative")
	}
	if l.Relay.WalkAfter != 0 && l.Relay.Driver != outputSim {
		add("relay.walk_after is for the simulated turnstile (driver = \"sim\")")
	}
	errs = append(errs, l.Sensor.validate("sensor")...)
	errs = append(errs, l.Emergency.Input.validate("emergency.input")...)

	// The turnstile: everything else hangs on the relay.
	if l.hasTurnstile() {
		tc := l.turnstileConfig()
		tc.EnsureDefaults()
		if err := tc.Validate(); err != nil {
			add("%s", gate.ErrorMessage(err))
		}
	} else {
		for _, part := range []struct {
			name string
			set  bool
		}{
			{"confirm = \"passage\"", l.Confirm == "passage"},
			{"queue", l.Queue || l.MaxQueue != 0},
			{"passage_timeout", l.PassageTimeout != 0},
			{"relay.unlock_time", l.Relay.UnlockTime != 0},
			{"a passage sensor", isSet(l.Sensor.Driver, inputNone)},
			{"lights", slices.ContainsFunc(l.lights(), func(o laneOutput) bool { return isSet(o.cfg.Driver, outputNone) })},
			{"emergency settings", l.Emergency.Mode != "" || isSet(l.Emergency.Input.Driver, inputNone)},
		} {
			if part.set {
				add("%s needs a turnstile: set [lanes.relay] driver", part.name)
			}
		}
	}
	if l.Relay.Driver != outputSim {
		drivers := map[string]string{"sensor": l.Sensor.Driver, "emergency.input": l.Emergency.Input.Driver}
		for _, o := range l.lights() {
			drivers[o.key] = o.cfg.Driver
		}
		for name, driver := range drivers {
			if driver == "sim" {
				add("%s: driver \"sim\" is a part of the simulated turnstile: set relay.driver = \"sim\" too", name)
			}
		}
	}
	slices.Sort(errs)
	return errs
}

func (s *ScannerConfig) validate() []string {
	var errs []string
	add := func(format string, args ...any) { errs = append(errs, fmt.Sprintf("scanner."+format, args...)) }
	note := func(err error) { errs = append(errs, "scanner: "+gate.ErrorMessage(err)) }
	switch s.Driver {
	case "", scannerNone:
		if !reflect.DeepEqual(*s, ScannerConfig{Driver: s.Driver}) {
			add("driver is not set (usbhid or serial): the other scanner keys do nothing without it")
		}
		return errs
	case scannerUSBHID:
		if err := s.match().Validate(); err != nil {
			note(err)
		}
		switch s.Protocol {
		case "", "keyboard", "pos":
		default:
			add("protocol must be keyboard or pos, not %q", s.Protocol)
		}
		if s.Interface < 0 || s.Interface > 255 {
			add("interface must be between 0 and 255")
		}
		if s.Device != "" || s.Baud != 0 || s.Parity != "" {
			add("device, baud and parity are for driver \"serial\"")
		}
		if _, err := s.reportDecoder(zerolog.Nop()); err != nil {
			note(err)
		}
	case scannerSerial:
		if s.Device == "" {
			add("driver serial needs a device such as /dev/ttyACM0 (or its /dev/serial/by-id link)")
		}
		if s.Baud < 0 || s.Baud > 4_000_000 {
			add("baud %d is out of range", s.Baud)
		}
		switch s.Parity {
		case "", "none", "odd", "even":
		default:
			add("parity must be none, odd or even, not %q", s.Parity)
		}
		if !s.USB.IsZero() || s.Serial != "" || s.Port != "" || s.Protocol != "" || s.Interface != 0 {
			add("usb, serial, port, protocol and interface are for driver \"usbhid\"")
		}
		if _, err := s.streamDecoder(zerolog.Nop()); err != nil {
			note(err)
		}
	default:
		add("driver must be none, usbhid or serial, not %q", s.Driver)
	}
	return errs
}

func (o *OutputConfig) validate(name string) []string {
	var errs []string
	add := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(name+"."+format, args...)) }
	note := func(err error) { errs = append(errs, name+": "+gate.ErrorMessage(err)) }
	channel := func(board string) {
		if o.Channel < 1 || o.Channel > 8 {
			add("channel must be 1 to 8 on %s", board)
		}
	}
	foreign := func(driver string, keys ...string) {
		set := map[string]bool{"board": o.Board != "", "port": o.Port != "", "device": o.Device != "", "baud": o.Baud != 0,
			"channels": o.Channels != 0, "channel": o.Channel != 0, "chip": o.Chip != "", "line": o.Line != 0, "active_low": o.ActiveLow}
		for _, k := range keys {
			delete(set, k)
		}
		var extra []string
		for k, v := range set {
			if v {
				extra = append(extra, k)
			}
		}
		slices.Sort(extra)
		if len(extra) > 0 {
			add("%s: not a setting of driver %q", strings.Join(extra, ", "), driver)
		}
	}
	switch o.Driver {
	case "", outputNone:
		foreign("none")
	case outputSim:
		foreign(outputSim)
	case outputUSBRelay:
		channel("a USBRelay board")
		if err := (usbrelay.Config{Board: o.Board, Port: o.Port}).Validate(); err != nil {
			note(err)
		}
		foreign(outputUSBRelay, "board", "port", "channel")
	case outputLCUS:
		channel("an LCUS board")
		if o.Device == "" {
			add("driver lcus needs a device such as /dev/ttyUSB0 (or its /dev/serial/by-id link)")
		} else if err := (serialrelay.Config{Device: o.Device, Baud: o.Baud, Channels: o.Channels}).Validate(); err != nil {
			note(err)
		}
		if o.Channels != 0 && o.Channel > o.Channels {
			add("channel %d is beyond the board's %d channels", o.Channel, o.Channels)
		}
		foreign(outputLCUS, "device", "baud", "channels", "channel")
	case outputGPIO:
		if o.Chip == "" {
			add("driver gpio needs a chip such as gpiochip0")
		}
		if o.Line < 0 {
			add("line must not be negative")
		}
		foreign(outputGPIO, "chip", "line", "active_low")
	default:
		add("driver must be none, sim, usbrelay, lcus or gpio, not %q", o.Driver)
	}
	return errs
}

func (in *InputConfig) validate(name string) []string {
	var errs []string
	add := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(name+"."+format, args...)) }
	switch in.Driver {
	case "", inputNone, inputSim:
		if *in != (InputConfig{Driver: in.Driver}) {
			add("chip, line, active_low, bias and debounce are for driver \"gpio\"")
		}
	case inputGPIO:
		if in.Chip == "" {
			add("driver gpio needs a chip such as gpiochip0")
		}
		if in.Line < 0 {
			add("line must not be negative")
		}
		if in.Debounce < 0 || time.Duration(in.Debounce) > time.Second {
			add("debounce must be between 0 and 1s")
		}
	default:
		add("driver must be none, sim or gpio, not %q", in.Driver)
	}
	return errs
}

// validateLanes checks what no single lane can: devices shared between
// lanes. A relay board may serve several lanes (a channel each), but a
// channel, a GPIO line or a scanner belongs to one lane; one emergency input
// may be named by several lanes (it releases them all anyway).
func validateLanes(lanes []LaneConfig) []string {
	var errs []string
	add := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	owner := map[string]string{} // an output channel or line → "lane id relay"
	type named struct {
		who, key string
		m        usbdev.Match // a board: Serial is its report serial
	}
	var boards, scanners []named
	lcusBaud := map[string]int{}
	inputs := map[string]InputConfig{}    // chip/line → the input
	serialScanners := map[string]string{} // device → lane
	claim := func(key, who string) {
		if prev, ok := owner[key]; ok {
			add("%s and %s both use %s", prev, who, key)
			return
		}
		owner[key] = who
	}
	for i := range lanes {
		l := &lanes[i]
		for _, out := range l.outputs() {
			o, who := out.cfg, fmt.Sprintf("lane %s %s", l.ID, out.key)
			switch o.Driver {
			case outputUSBRelay:
				claim(fmt.Sprintf("usbrelay board %s channel %d", usbBoardKey(o), o.Channel), who)
				boards = append(boards, named{who, usbBoardKey(o), usbdev.Match{Serial: o.Board, Port: o.Port}})
			case outputLCUS:
				claim(fmt.Sprintf("lcus %s channel %d", o.Device, o.Channel), who)
				baud := o.Baud
				if baud == 0 {
					baud = serialrelay.DefaultBaud
				}
				if prev, ok := lcusBaud[o.Device]; ok && prev != baud {
					add("%s sets baud %d for %s, another lane %d", who, baud, o.Device, prev)
				}
				lcusBaud[o.Device] = baud
			case outputGPIO:
				claim(fmt.Sprintf("gpio %s line %d", o.Chip, o.Line), who)
			}
		}
		if s := l.Sensor; s.Driver == inputGPIO {
			claim(fmt.Sprintf("gpio %s line %d", s.Chip, s.Line), fmt.Sprintf("lane %s sensor", l.ID))
		}
		if in := l.Emergency.Input; in.Driver == inputGPIO {
			key := fmt.Sprintf("gpio %s line %d", in.Chip, in.Line)
			if prev, ok := inputs[key]; ok {
				if prev != in {
					add("lane %s emergency.input: %s is configured differently by another lane", l.ID, key)
				}
			} else {
				inputs[key] = in
				if who, used := owner[key]; used {
					add("%s and lane %s emergency.input both use %s", who, l.ID, key)
				}
				owner[key] = fmt.Sprintf("lane %s emergency.input", l.ID)
			}
		}
		switch s := &l.Scanner; s.Driver {
		case scannerSerial:
			claim("scanner "+s.deviceKey(), fmt.Sprintf("lane %s scanner", l.ID))
			serialScanners[s.Device] = l.ID
		case scannerUSBHID:
			scanners = append(scanners, named{fmt.Sprintf("lane %s scanner", l.ID), s.deviceKey(), s.match()})
		}
	}
	for device := range lcusBaud {
		if lane, ok := serialScanners[device]; ok {
			add("lane %s reads a scanner on %s, which also drives an lcus relay board: a port is one or the other", lane, device)
		}
	}
	// Two names that could pick the same device would give it two drivers
	// (or lane 1 the scanner of lane 2): each must rule the other out.
	for i, a := range boards {
		for _, b := range boards[i+1:] {
			if a.key != b.key && mayMatchSame(a.m, b.m) {
				add("%s (usbrelay board %s) and %s (board %s) can be the same board: name every board by its serial (board), the same way in every lane",
					a.who, a.key, b.who, b.key)
			}
		}
	}
	for i, a := range scanners {
		for _, b := range scanners[i+1:] {
			if mayMatchSame(a.m, b.m) {
				add("%s (%s) and %s (%s) can be the same device: give each scanner its serial or its port", a.who, a.key, b.who, b.key)
			}
		}
	}
	slices.Sort(errs)
	return errs
}

// mayMatchSame reports whether one device could match both a and b: no
// field set in both tells them apart.
func mayMatchSame(a, b usbdev.Match) bool {
	differ := func(x, y string) bool { return x != "" && y != "" && x != y }
	return !(!a.ID.IsZero() && !b.ID.IsZero() && a.ID != b.ID) && !differ(a.Serial, b.Serial) && !differ(a.Port, b.Port)
}

// usbBoardKey names a USBRelay board as the config does.
func usbBoardKey(o *OutputConfig) string {
	switch {
	case o.Board != "" && o.Port != "":
		return o.Board + "@" + o.Port
	case o.Board != "":
		return o.Board
	case o.Port != "":
		return "port " + o.Port
	}
	return "(the only one)"
}

func (s *ScannerConfig) hasDevice() bool {
	return s.Driver == scannerUSBHID || s.Driver == scannerSerial
}

// deviceKey names the scanner's device as the config does.
func (s *ScannerConfig) deviceKey() string {
	if s.Driver == scannerSerial {
		return s.Device
	}
	return s.match().String()
}

// describe says what the lane's hardware is, for check-config and logs.
func (l *LaneConfig) describe() string {
	var parts []string
	switch l.Scanner.Driver {
	case scannerUSBHID:
		p := l.Scanner.Protocol
		if p == "" {
			p = "keyboard"
		}
		parts = append(parts, fmt.Sprintf("scanner usbhid %s (%s)", l.Scanner.match(), p))
	case scannerSerial:
		parts = append(parts, "scanner serial "+l.Scanner.Device)
	}
	if l.hasTurnstile() {
		tc := l.turnstileConfig()
		tc.EnsureDefaults()
		parts = append(parts, fmt.Sprintf("relay %s, unlock %v, confirm %s", l.Relay.describe(), tc.UnlockTime, tc.Confirm))
	}
	if isSet(l.Sensor.Driver, inputNone) {
		parts = append(parts, "sensor "+l.Sensor.describe())
	}
	for _, o := range l.lights() {
		if isSet(o.cfg.Driver, outputNone) {
			parts = append(parts, o.name+" "+o.cfg.describe())
		}
	}
	if isSet(l.Emergency.Input.Driver, inputNone) {
		parts = append(parts, "emergency input "+l.Emergency.Input.describe())
	}
	if len(parts) == 0 {
		return "scans over the API only"
	}
	return strings.Join(parts, "; ")
}

func (o *OutputConfig) describe() string {
	switch o.Driver {
	case outputUSBRelay:
		return fmt.Sprintf("usbrelay %s/%d", usbBoardKey(o), o.Channel)
	case outputLCUS:
		return fmt.Sprintf("lcus %s/%d", o.Device, o.Channel)
	case outputGPIO:
		return fmt.Sprintf("gpio %s/%d", o.Chip, o.Line)
	}
	return o.Driver
}

func (in *InputConfig) describe() string {
	if in.Driver == inputGPIO {
		return fmt.Sprintf("gpio %s/%d", in.Chip, in.Line)
	}
	return in.Driver
}

// laneKeyHint points a config written with the device keys of earlier
// releases (type, vid, pid) at the ones admit reads now.
func laneKeyHint(k toml.Key) string {
	if len(k) < 3 || k[0] != "lanes" {
		return ""
	}
	switch k[len(k)-1] {
	case "type":
		return " (devices are chosen with driver: usbhid or serial for a scanner; sim, usbrelay, lcus or gpio for an output; sim or gpio for an input)"
	case "vid", "pid":
		return " (name a USB scanner with usb = \"vid:pid\", as admit devices prints it)"
	}
	return ""
}
