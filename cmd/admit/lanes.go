package main

// This file is the whole of the lane wiring: the [[lanes]] sections of the
// config, their validation, and what the API is told about each lane. The
// scanner, relay, sensor, lights and emergency settings are read and checked
// here so a config written today keeps working when the turnstile and USB
// drivers are wired to them; until then a lane is served through the API
// (POST /v1/scan), and a "sim" relay is the simulated turnstile.

import (
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/httpapi"
)

// LaneConfig is one lane: a turnstile or door with its scanner and relay.
type LaneConfig struct {
	ID        string   `toml:"id"`
	Name      string   `toml:"name"`
	Direction string   `toml:"direction"` // in (default) or out
	Events    []string `toml:"events"`    // the events it admits; omitted: every event open now

	Confirm        string   `toml:"confirm"`         // none (default) or passage
	PassageTimeout Duration `toml:"passage_timeout"` // default unlock_time + 3s
	Queue          bool     `toml:"queue"`           // queue admissions instead of lane_busy
	MaxQueue       int      `toml:"max_queue"`       // default 3

	Scanner   ScannerConfig   `toml:"scanner"`
	Relay     RelayConfig     `toml:"relay"`
	Sensor    InputConfig     `toml:"sensor"` // the passage sensor
	Lights    LightsConfig    `toml:"lights"`
	Emergency EmergencyConfig `toml:"emergency"`
}

// ScannerConfig is the lane's fixed scanner.
type ScannerConfig struct {
	Type        string   `toml:"type"`     // none (default), usb, serial
	VID         string   `toml:"vid"`      // usb: vendor id, 4 hex digits
	PID         string   `toml:"pid"`      // usb: product id
	Serial      string   `toml:"serial"`   // usb: serial number
	Port        string   `toml:"port"`     // usb: port path such as "1-2"
	Protocol    string   `toml:"protocol"` // usb: keyboard (default) or pos
	Device      string   `toml:"device"`   // serial: /dev/ttyACM0
	Baud        int      `toml:"baud"`     // serial: default 9600
	Framing     string   `toml:"framing"`  // serial: cr (default), lf, crlf, stx-etx
	Layout      string   `toml:"layout"`   // keyboard layout: us (default), uk, de, fr, es
	Prefix      string   `toml:"prefix"`   // stripped from every read
	Suffix      string   `toml:"suffix"`   // ends a read and is stripped
	Timeout     Duration `toml:"timeout"`  // inter-character timeout, default 50ms
	AIM         bool     `toml:"aim"`      // the scanner sends AIM identifiers
	Symbologies []string `toml:"symbologies"`
	CheckDigits []string `toml:"check_digits"`
	DedupWindow Duration `toml:"dedup_window"` // default 1s
}

// RelayConfig is the lane's unlock output.
type RelayConfig struct {
	Type       string   `toml:"type"`    // none (default), sim, usb, serial, gpio
	Serial     string   `toml:"serial"`  // usb: the board's serial
	Device     string   `toml:"device"`  // serial: /dev/ttyUSB0
	Chip       string   `toml:"chip"`    // gpio: gpiochip0
	Line       int      `toml:"line"`    // gpio: line offset
	Channel    int      `toml:"channel"` // usb, serial: 1-based relay channel
	ActiveLow  bool     `toml:"active_low"`
	UnlockTime Duration `toml:"unlock_time"` // default 5s
}

// OutputConfig is a light or buzzer output.
type OutputConfig struct {
	Type      string `toml:"type"` // none (default), sim, usb, serial, gpio
	Serial    string `toml:"serial"`
	Device    string `toml:"device"`
	Chip      string `toml:"chip"`
	Line      int    `toml:"line"`
	Channel   int    `toml:"channel"`
	ActiveLow bool   `toml:"active_low"`
}

// InputConfig is a passage sensor or an emergency input.
type InputConfig struct {
	Type      string   `toml:"type"` // none (default), sim, gpio
	Chip      string   `toml:"chip"`
	Line      int      `toml:"line"`
	ActiveLow bool     `toml:"active_low"`
	Debounce  Duration `toml:"debounce"` // default 10ms
}

// LightsConfig are the lane's signals.
type LightsConfig struct {
	Green  OutputConfig `toml:"green"`
	Red    OutputConfig `toml:"red"`
	Buzzer OutputConfig `toml:"buzzer"`
}

// EmergencyConfig is the lane's emergency release.
type EmergencyConfig struct {
	Input InputConfig `toml:"input"`
	Mode  string      `toml:"mode"` // open (default: unlock and stay unlocked) or hold
}

// Symbology names a scanner may be restricted to, and those whose check
// digit can be verified.
var (
	symbologies     = []string{"aztec", "code39", "code93", "code128", "datamatrix", "ean8", "ean13", "upca", "upce", "itf", "itf14", "pdf417", "qr"}
	checkDigitNames = []string{"ean8", "ean13", "upca", "upce", "itf14", "code39", "itf"}
	hex4            = regexp.MustCompile(`^[0-9a-fA-F]{4}$`)
)

func (l *LaneConfig) direction() gate.Direction {
	if l.Direction == "out" {
		return gate.Out
	}
	return gate.In
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
		if l.Sensor.Type == "" || l.Sensor.Type == "none" {
			add("confirm = \"passage\" needs a [lanes.sensor]")
		}
	default:
		add("confirm must be none or passage, not %q", l.Confirm)
	}
	if l.PassageTimeout < 0 || time.Duration(l.PassageTimeout) > 10*time.Minute {
		add("passage_timeout must be between 0 and 10m")
	}
	if l.MaxQueue < 0 || l.MaxQueue > 100 {
		add("max_queue must be between 0 and 100")
	}
	errs = append(errs, l.Scanner.validate()...)
	for _, msg := range l.Relay.output("relay").validate() {
		errs = append(errs, msg)
	}
	if l.Relay.UnlockTime < 0 || time.Duration(l.Relay.UnlockTime) > 5*time.Minute {
		add("relay.unlock_time must be between 0 and 5m")
	}
	if l.Relay.Type == "" || l.Relay.Type == "none" {
		if l.Confirm == "passage" {
			add("confirm = \"passage\" needs a relay")
		}
	}
	errs = append(errs, l.Sensor.validate("sensor")...)
	errs = append(errs, l.Lights.Green.validate("lights.green")...)
	errs = append(errs, l.Lights.Red.validate("lights.red")...)
	errs = append(errs, l.Lights.Buzzer.validate("lights.buzzer")...)
	errs = append(errs, l.Emergency.Input.validate("emergency.input")...)
	switch l.Emergency.Mode {
	case "", "open", "hold":
	default:
		add("emergency.mode must be open or hold, not %q", l.Emergency.Mode)
	}
	return errs
}

func (s *ScannerConfig) validate() []string {
	var errs []string
	add := func(format string, args ...any) { errs = append(errs, fmt.Sprintf("scanner."+format, args...)) }
	switch s.Type {
	case "", "none":
	case "usb":
		if s.VID == "" && s.Serial == "" && s.Port == "" {
			add("type usb needs vid and pid, a serial or a port")
		}
		if (s.VID == "") != (s.PID == "") {
			add("vid and pid go together")
		}
		if s.VID != "" && (!hex4.MatchString(s.VID) || !hex4.MatchString(s.PID)) {
			add("vid and pid are 4 hex digits such as \"0c2e\"")
		}
		switch s.Protocol {
		case "", "keyboard", "pos":
		default:
			add("protocol must be keyboard or pos, not %q", s.Protocol)
		}
	case "serial":
		if s.Device == "" {
			add("type serial needs a device such as /dev/ttyACM0")
		}
		switch s.Framing {
		case "", "cr", "lf", "crlf", "stx-etx":
		default:
			add("framing must be cr, lf, crlf or stx-etx, not %q", s.Framing)
		}
		if s.Baud < 0 || s.Baud > 4000000 {
			add("baud %d is out of range", s.Baud)
		}
	default:
		add("type must be none, usb or serial, not %q", s.Type)
	}
	switch s.Layout {
	case "", "us", "uk", "de", "fr", "es":
	default:
		add("layout must be us, uk, de, fr or es, not %q", s.Layout)
	}
	for _, sym := range s.Symbologies {
		if !slices.Contains(symbologies, sym) {
			add("symbologies: unknown %q (known: %v)", sym, symbologies)
		}
	}
	for _, sym := range s.CheckDigits {
		if !slices.Contains(checkDigitNames, sym) {
			add("check_digits: %q has no check digit admit verifies (known: %v)", sym, checkDigitNames)
		}
	}
	if s.Timeout < 0 || time.Duration(s.Timeout) > 10*time.Second {
		add("timeout must be between 0 and 10s")
	}
	if s.DedupWindow < 0 || time.Duration(s.DedupWindow) > time.Minute {
		add("dedup_window must be between 0 and 1m")
	}
	return errs
}

func (r *RelayConfig) output(name string) namedOutput {
	return namedOutput{name, OutputConfig{Type: r.Type, Serial: r.Serial, Device: r.Device, Chip: r.Chip, Line: r.Line,
		Channel: r.Channel, ActiveLow: r.ActiveLow}}
}

type namedOutput struct {
	name string
	OutputConfig
}

func (o namedOutput) validate() []string { return o.OutputConfig.validate(o.name) }

func (o *OutputConfig) validate(name string) []string {
	var errs []string
	add := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(name+"."+format, args...)) }
	switch o.Type {
	case "", "none", "sim":
	case "usb":
		if o.Channel < 1 || o.Channel > 8 {
			add("channel must be 1 to 8 for a usb relay board")
		}
	case "serial":
		if o.Device == "" {
			add("type serial needs a device such as /dev/ttyUSB0")
		}
		if o.Channel < 1 || o.Channel > 8 {
			add("channel must be 1 to 8 for a serial relay board")
		}
	case "gpio":
		if o.Chip == "" {
			add("type gpio needs a chip such as gpiochip0")
		}
		if o.Line < 0 {
			add("line must not be negative")
		}
	default:
		add("type must be none, sim, usb, serial or gpio, not %q", o.Type)
	}
	return errs
}

func (in *InputConfig) validate(name string) []string {
	var errs []string
	add := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(name+"."+format, args...)) }
	switch in.Type {
	case "", "none", "sim":
	case "gpio":
		if in.Chip == "" {
			add("type gpio needs a chip such as gpiochip0")
		}
		if in.Line < 0 {
			add("line must not be negative")
		}
	default:
		add("type must be none, sim or gpio, not %q", in.Type)
	}
	if in.Debounce < 0 || time.Duration(in.Debounce) > time.Second {
		add("debounce must be between 0 and 1s")
	}
	return errs
}

// hardware says whether the lane names a physical scanner or output.
func (l *LaneConfig) hardware() bool {
	physical := func(t string) bool { return t == "usb" || t == "serial" || t == "gpio" }
	return physical(l.Scanner.Type) || physical(l.Relay.Type) || physical(l.Sensor.Type) ||
		physical(l.Lights.Green.Type) || physical(l.Lights.Red.Type) || physical(l.Lights.Buzzer.Type) ||
		physical(l.Emergency.Input.Type)
}

// laneInfos is what the API is told about the configured lanes: their
// policy, and the state of their hardware. Until the turnstile and scanner
// drivers are wired, a lane with physical devices reports state
// "not_wired"; a lane with a simulated relay (the demo's) is ready.
func laneInfos(lanes []LaneConfig) ([]httpapi.LaneInfo, error) {
	out := make([]httpapi.LaneInfo, 0, len(lanes))
	for i := range lanes {
		l := &lanes[i]
		info := httpapi.LaneInfo{Lane: gate.Lane{ID: l.ID, Name: l.Name, Direction: l.direction(), Events: slices.Clone(l.Events)}}
		switch {
		case l.hardware():
			info.State = "not_wired"
			info.Fault = "scanner and relay drivers are not wired to this lane yet; scans come through the API"
		case l.Relay.Type == "sim":
			info.State, info.RelayOK, info.ScannerConnected = "idle", true, l.Scanner.Type == "" || l.Scanner.Type == "none"
		default:
			info.State = "idle"
		}
		out = append(out, info)
	}
	// The API checks ids and duplicates the same way at run time.
	seen := map[string]bool{}
	for _, l := range out {
		if seen[l.ID] {
			return nil, gate.Errorf(gate.EINVALID, "httpapi: lane %q is configured twice", l.ID)
		}
		seen[l.ID] = true
	}
	return out, nil
}
