package main

// This file validates the [[lanes]] sections: each lane on its own
// (LaneConfig.validate), then what no single lane can check, devices shared
// between lanes (validateLanes). Every problem is one message, so
// check-config lists them all at once.

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/internal/usbdev"
	"github.com/admitgate/admit/turnstile/serialrelay"
	"github.com/admitgate/admit/turnstile/usbrelay"
)

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
