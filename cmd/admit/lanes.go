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
	"github.com/admitgate/admit/turnstile/sim"
)

// LaneConfig is one lane: a turnstile or door with its scanner and relay.
// docs/config.md documents every key.
type LaneConfig struct {
	ID        string   `toml:"id"`
	Name      string   `toml:"name"`
	Direction string   `toml:"direction"` // in (default) or out
	Events    []string `toml:"events"`    // the events it admits; omitted: every event open now

	// Zones and the entry rule (zones_wiring.go): the zones a scan in the
	// lane's direction moves between, and a JsonLogic rule.
	From string `toml:"from"` // default "outside" when to is set
	To   string `toml:"to"`
	Rule string `toml:"rule"`

	Confirm        string   `toml:"confirm"`         // none (default) or passage
	PassageTimeout Duration `toml:"passage_timeout"` // default relay.unlock_time + 3s
	Queue          bool     `toml:"queue"`           // queue admissions instead of lane_busy
	MaxQueue       int      `toml:"max_queue"`       // default 3

	// In a venue: offline, max_lag, on_max_lag (venue_wiring.go).
	LaneVenueConfig

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
	p := gate.Lane{ID: l.ID, Name: l.Name, Direction: l.direction(), Events: slices.Clone(l.Events)}
	p.From, p.To = l.move()
	p.Rule = l.compiledRule()
	p.Offline = l.offlinePolicy()
	return p
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
	c.From, c.To, c.Rule = "", "", "" // policy too
	c.LaneVenueConfig = LaneVenueConfig{}
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

// laneKeyHint points the device keys an older config may hold (type, vid,
// pid), which are unknown keys now, at the keys admit reads instead.
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
