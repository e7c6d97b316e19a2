package main

// This file validates the [[lanes]] sections: each lane on its own
// (LaneConfig.validate), then what no single lane can check, devices shared
// between lanes (validateLanes). Every problem is one issue naming its key,
// so check-config lists them all at once, each at its line.

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/internal/usbdev"
	"github.com/admitgate/admit/turnstile"
	"github.com/admitgate/admit/turnstile/serialrelay"
	"github.com/admitgate/admit/turnstile/usbrelay"
)

// issue is one problem of a part of the configuration, its key relative
// to the part ("relay.channel" in a lane); the caller places it.
type issue struct{ key, msg string }

func issuef(key, format string, args ...any) issue {
	return issue{key: key, msg: fmt.Sprintf(format, args...)}
}

// under places issues of a sub-table: under("relay", {"channel", ...}) is
// {"relay.channel", ...}.
func under(table string, issues []issue) []issue {
	for i := range issues {
		switch {
		case table == "":
		case issues[i].key == "":
			issues[i].key = table
		default:
			issues[i].key = table + "." + issues[i].key
		}
	}
	return issues
}

// validate returns what is wrong with the lane, one issue per problem.
func (l *LaneConfig) validate() []issue {
	var errs []issue
	add := func(key, format string, args ...any) { errs = append(errs, issuef(key, format, args...)) }
	if msg := idProblem(l.ID); msg != "" {
		add("id", "%s", msg)
	}
	switch l.Direction {
	case "", "in", "out":
	default:
		add("direction", "%q is not a direction; use in or out", l.Direction)
	}
	for i, e := range l.Events {
		if msg := idProblem(e); msg != "" {
			add(indexPath("events", i), "%s", msg)
		}
	}
	if l.Events != nil && len(l.Events) == 0 {
		add("events", "is an empty list, which would admit nothing; omit the key to admit every event open now")
	}
	switch l.Confirm {
	case "", "none":
	case "passage":
		if !isSet(l.Sensor.Driver, inputNone) {
			add("confirm", "\"passage\" needs a passage sensor: add [lanes.sensor] with its driver, or use confirm = \"none\"")
		}
	default:
		add("confirm", "%q is not a confirmation; use none or passage", l.Confirm)
	}
	if l.MaxQueue < 0 || l.MaxQueue > 100 {
		add("max_queue", "%d is out of range; use 1 to 100 (unset: 3)", l.MaxQueue)
	}
	switch l.Emergency.Mode {
	case "", "open", "hold":
	default:
		add("emergency.mode", "%q is not an emergency mode; use open or hold", l.Emergency.Mode)
	}

	errs = append(errs, under("scanner", l.Scanner.validate())...)
	for _, o := range l.outputs() {
		errs = append(errs, under(o.key, o.cfg.validate())...)
		if p := o.light; p != nil && !isSet(o.cfg.Driver, outputNone) && (p.Admit.IsSet() || p.Deny.IsSet() || p.Fault.IsSet() || p.Emergency.IsSet()) {
			add(o.key, "has patterns but no driver, so they play nowhere; set its driver, or remove the patterns")
		}
	}
	if l.Relay.UnlockTime < 0 {
		add("relay.unlock_time", "must not be negative; write a duration such as \"5s\" (unset: 5s)")
	}
	if l.Relay.WalkAfter != 0 && l.Relay.Driver != outputSim {
		add("relay.walk_after", "is for the simulated turnstile; set relay.driver = \"sim\", or remove it")
	}
	errs = append(errs, under("sensor", l.Sensor.validate())...)
	errs = append(errs, under("emergency.input", l.Emergency.Input.validate())...)

	// The turnstile: everything else hangs on the relay.
	if l.hasTurnstile() {
		tc := l.turnstileConfig()
		tc.EnsureDefaults()
		if tc.UnlockTime > turnstile.MaxUnlockTime {
			add("relay.unlock_time", "%s is too long; use at most %s (unset: 5s)", tc.UnlockTime, turnstile.MaxUnlockTime)
		}
		switch p := time.Duration(l.PassageTimeout); {
		case p == 0:
		case p < tc.UnlockTime:
			add("passage_timeout", "%s is shorter than the unlock time (%s, relay.unlock_time); use at least that (unset: unlock_time + 3s)", p, tc.UnlockTime)
		case p > turnstile.MaxUnlockTime+time.Minute:
			add("passage_timeout", "%s is too long; use at most %s", p, turnstile.MaxUnlockTime+time.Minute)
		}
		// What the turnstile still refuses once its keys pass the checks
		// above: said in its words.
		turnstileKeys := []string{"relay.unlock_time", "passage_timeout", "max_queue", "emergency.mode", "confirm"}
		if err := tc.Validate(); err != nil && !slices.ContainsFunc(errs, func(i issue) bool { return slices.Contains(turnstileKeys, i.key) }) {
			msg := gate.ErrorMessage(err)
			add(guessKey(msg, "relay.unlock_time:unlock time", "passage_timeout:passage timeout", "max_queue:max queue",
				"emergency.mode:emergency", "confirm:confirm"), "%s", msg)
		}
	} else {
		for _, part := range []struct {
			key, name string
			set       bool
		}{
			{"confirm", "confirm = \"passage\"", l.Confirm == "passage"},
			{"queue", "queue", l.Queue},
			{"max_queue", "max_queue", l.MaxQueue != 0},
			{"passage_timeout", "passage_timeout", l.PassageTimeout != 0},
			{"relay.unlock_time", "relay.unlock_time", l.Relay.UnlockTime != 0},
			{"sensor", "a passage sensor", isSet(l.Sensor.Driver, inputNone)},
			{"emergency", "an emergency mode or input", l.Emergency.Mode != "" || isSet(l.Emergency.Input.Driver, inputNone)},
		} {
			if part.set {
				add(part.key, "%s needs a turnstile; set the driver of [lanes.relay]", part.name)
			}
		}
		for _, o := range l.lights() {
			if isSet(o.cfg.Driver, outputNone) {
				add(o.key, "a light or buzzer needs a turnstile; set the driver of [lanes.relay]")
			}
		}
	}
	if l.Relay.Driver != outputSim {
		drivers := []struct{ key, driver string }{{"sensor", l.Sensor.Driver}, {"emergency.input", l.Emergency.Input.Driver}}
		for _, o := range l.lights() {
			drivers = append(drivers, struct{ key, driver string }{o.key, o.cfg.Driver})
		}
		for _, d := range drivers {
			if d.driver == "sim" {
				add(d.key+".driver", "\"sim\" is a part of the simulated turnstile; set relay.driver = \"sim\" too")
			}
		}
	}
	return errs
}

// guessKey names the key a message from another package is about: the
// first of keys ("key:words") whose words the message holds; "" (the
// part itself) when none.
func guessKey(msg string, keys ...string) string {
	for _, k := range keys {
		key, words, _ := strings.Cut(k, ":")
		if words == "" {
			words = key
		}
		if strings.Contains(msg, words) {
			return key
		}
	}
	return ""
}

// decodeKeys are the scanner's decoder keys, as guessKey finds them in
// decode's messages: a message that starts with a key is about it first.
var decodeKeys = []string{"layout:keyboard layout", "symbologies:symbolog", "check_digits:check digit",
	"timeout:timeout", "terminators:terminator", "framing:framing", "max_len:max_len", "pos_report_id:report"}

func decodeKey(msg string) string {
	for _, k := range []string{"prefix", "suffix", "max_len"} {
		if strings.HasPrefix(msg, k+" ") {
			return k
		}
	}
	return guessKey(msg, decodeKeys...)
}

func (s *ScannerConfig) validate() []issue {
	var errs []issue
	add := func(key, format string, args ...any) { errs = append(errs, issuef(key, format, args...)) }
	note := func(key string, err error) { errs = append(errs, issue{key, gate.ErrorMessage(err)}) }
	switch s.Driver {
	case "", scannerNone:
		if !reflect.DeepEqual(*s, ScannerConfig{Driver: s.Driver}) {
			add("driver", "is not set, so the other scanner keys do nothing; set driver = \"usbhid\" or \"serial\"")
		}
		return errs
	case scannerUSBHID:
		if err := s.match().Validate(); err != nil {
			note(guessKey(gate.ErrorMessage(err), "port:port path", "usb:USB id"), err)
		}
		switch s.Protocol {
		case "", "keyboard", "pos":
		default:
			add("protocol", "%q is not a protocol; use keyboard or pos", s.Protocol)
		}
		if s.Interface < 0 || s.Interface > 255 {
			add("interface", "%d is out of range; use 0 to 255 (0: the first that fits)", s.Interface)
		}
		for _, k := range []struct {
			key string
			set bool
		}{{"device", s.Device != ""}, {"baud", s.Baud != 0}, {"parity", s.Parity != ""}} {
			if k.set {
				add(k.key, "is for driver \"serial\", not \"usbhid\"; remove it")
			}
		}
		if _, err := s.reportDecoder(zerolog.Nop()); err != nil {
			note(decodeKey(gate.ErrorMessage(err)), err)
		}
	case scannerSerial:
		if s.Device == "" {
			add("device", "is missing; driver serial needs one such as /dev/ttyACM0 (best its /dev/serial/by-id link)")
		}
		if s.Baud < 0 || s.Baud > 4_000_000 {
			add("baud", "%d is out of range; use up to 4000000 (unset: 9600)", s.Baud)
		}
		switch s.Parity {
		case "", "none", "odd", "even":
		default:
			add("parity", "%q is not a parity; use none, odd or even", s.Parity)
		}
		for _, k := range []struct {
			key string
			set bool
		}{{"usb", !s.USB.IsZero()}, {"serial", s.Serial != ""}, {"port", s.Port != ""}, {"protocol", s.Protocol != ""}, {"interface", s.Interface != 0}} {
			if k.set {
				add(k.key, "is for driver \"usbhid\", not \"serial\"; remove it")
			}
		}
		if _, err := s.streamDecoder(zerolog.Nop()); err != nil {
			note(decodeKey(gate.ErrorMessage(err)), err)
		}
	default:
		add("driver", "%q is not a scanner driver; use none, usbhid or serial", s.Driver)
	}
	return errs
}

func (o *OutputConfig) validate() []issue {
	var errs []issue
	add := func(key, format string, args ...any) { errs = append(errs, issuef(key, format, args...)) }
	note := func(key string, err error) { errs = append(errs, issue{key, gate.ErrorMessage(err)}) }
	channel := func(board string) {
		if o.Channel < 1 || o.Channel > 8 {
			if o.Channel == 0 {
				add("channel", "is missing; %s needs the relay's number, 1 to 8", board)
			} else {
				add("channel", "%d is not a relay of %s; use 1 to 8", o.Channel, board)
			}
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
		for _, k := range extra {
			add(k, "is not a setting of driver %q; remove it", driver)
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
			note(guessKey(gate.ErrorMessage(err), "board:board", "port:port"), err)
		}
		foreign(outputUSBRelay, "board", "port", "channel")
	case outputLCUS:
		channel("an LCUS board")
		if o.Device == "" {
			add("device", "is missing; driver lcus needs one such as /dev/ttyUSB0 (best its /dev/serial/by-id link)")
		} else if err := (serialrelay.Config{Device: o.Device, Baud: o.Baud, Channels: o.Channels}).Validate(); err != nil {
			note(guessKey(gate.ErrorMessage(err), "channels:channels", "baud:baud"), err)
		}
		if o.Channels != 0 && o.Channel > o.Channels {
			add("channel", "%d is beyond the board's %d channels (channels)", o.Channel, o.Channels)
		}
		foreign(outputLCUS, "device", "baud", "channels", "channel")
	case outputGPIO:
		if o.Chip == "" {
			add("chip", "is missing; driver gpio needs one such as gpiochip0")
		}
		if o.Line < 0 {
			add("line", "%d is negative; a line offset is 0 or more", o.Line)
		}
		foreign(outputGPIO, "chip", "line", "active_low")
	default:
		add("driver", "%q is not an output driver; use none, sim, usbrelay, lcus or gpio", o.Driver)
	}
	return errs
}

func (in *InputConfig) validate() []issue {
	var errs []issue
	add := func(key, format string, args ...any) { errs = append(errs, issuef(key, format, args...)) }
	switch in.Driver {
	case "", inputNone, inputSim:
		for _, k := range []struct {
			key string
			set bool
		}{{"chip", in.Chip != ""}, {"line", in.Line != 0}, {"active_low", in.ActiveLow}, {"bias", in.Bias != ""}, {"debounce", in.Debounce != 0}} {
			if k.set {
				add(k.key, "is for driver \"gpio\"; remove it, or set driver = \"gpio\"")
			}
		}
	case inputGPIO:
		if in.Chip == "" {
			add("chip", "is missing; driver gpio needs one such as gpiochip0")
		}
		if in.Line < 0 {
			add("line", "%d is negative; a line offset is 0 or more", in.Line)
		}
		if in.Debounce < 0 || time.Duration(in.Debounce) > time.Second {
			add("debounce", "%v is out of range; use 0 to 1s, such as \"10ms\"", time.Duration(in.Debounce))
		}
	default:
		add("driver", "%q is not an input driver; use none, sim or gpio", in.Driver)
	}
	return errs
}

// validateLanes checks what no single lane can: devices shared between
// lanes. A relay board may serve several lanes (a channel each), but a
// channel, a GPIO line or a scanner belongs to one lane; one emergency input
// may be named by several lanes (it releases them all anyway). Each issue
// is placed at the later of the two lanes, with its key from the top
// ("lanes[2].relay.channel"), and names the earlier one.
func validateLanes(lanes []LaneConfig) []issue {
	var errs []issue
	add := func(key, format string, args ...any) { errs = append(errs, issuef(key, format, args...)) }
	type owner struct{ who, key string } // "lanes[0].relay (lane a)", "lanes[0].relay"
	owners := map[string]owner{}         // an output channel or line
	type named struct {
		who, key, at string
		m            usbdev.Match // a board: Serial is its report serial
	}
	var boards, scanners []named
	type baud struct {
		who  string
		baud int
	}
	lcusBaud := map[string]baud{}
	inputs := map[string]InputConfig{}    // chip/line → the input
	serialScanners := map[string]string{} // device → the scanner's key
	claim := func(what string, o owner, at string) {
		if prev, ok := owners[what]; ok {
			add(at, "%s is also used by %s; a channel or line belongs to one output", what, prev.who)
			return
		}
		owners[what] = o
	}
	for i := range lanes {
		l := &lanes[i]
		lane := indexPath("lanes", i)
		for _, out := range l.outputs() {
			o, self := out.cfg, owner{fmt.Sprintf("%s.%s (lane %s)", lane, out.key, l.ID), lane + "." + out.key}
			switch o.Driver {
			case outputUSBRelay:
				claim(fmt.Sprintf("usbrelay board %s channel %d", usbBoardKey(o), o.Channel), self, self.key+".channel")
				boards = append(boards, named{self.who, usbBoardKey(o), self.key, usbdev.Match{Serial: o.Board, Port: o.Port}})
			case outputLCUS:
				claim(fmt.Sprintf("lcus %s channel %d", o.Device, o.Channel), self, self.key+".channel")
				b := o.Baud
				if b == 0 {
					b = serialrelay.DefaultBaud
				}
				if prev, ok := lcusBaud[o.Device]; ok && prev.baud != b {
					add(self.key+".baud", "is %d for %s, but %s uses %d; one board has one baud rate", b, o.Device, prev.who, prev.baud)
				} else if !ok {
					lcusBaud[o.Device] = baud{self.who, b}
				}
			case outputGPIO:
				claim(fmt.Sprintf("gpio %s line %d", o.Chip, o.Line), self, self.key+".line")
			}
		}
		if s := l.Sensor; s.Driver == inputGPIO {
			claim(fmt.Sprintf("gpio %s line %d", s.Chip, s.Line), owner{fmt.Sprintf("%s.sensor (lane %s)", lane, l.ID), lane + ".sensor"}, lane+".sensor.line")
		}
		if in := l.Emergency.Input; in.Driver == inputGPIO {
			what := fmt.Sprintf("gpio %s line %d", in.Chip, in.Line)
			at := lane + ".emergency.input"
			if prev, ok := inputs[what]; ok {
				if prev != in {
					add(at, "%s is configured differently by another lane; an emergency input shared by lanes is written the same in each", what)
				}
			} else {
				inputs[what] = in
				if o, used := owners[what]; used {
					add(at+".line", "%s is also used by %s; a line belongs to one output or input", what, o.who)
				}
				owners[what] = owner{fmt.Sprintf("%s (lane %s)", at, l.ID), at}
			}
		}
		switch s := &l.Scanner; s.Driver {
		case scannerSerial:
			claim("scanner "+s.deviceKey(), owner{fmt.Sprintf("%s.scanner (lane %s)", lane, l.ID), lane + ".scanner"}, lane+".scanner.device")
			serialScanners[s.Device] = lane + ".scanner.device"
		case scannerUSBHID:
			scanners = append(scanners, named{fmt.Sprintf("%s.scanner (lane %s)", lane, l.ID), s.deviceKey(), lane + ".scanner", s.match()})
		}
	}
	for device, b := range lcusBaud {
		if at, ok := serialScanners[device]; ok {
			add(at, "%s also drives the lcus relay board of %s; a port is a scanner or a relay board, not both", device, b.who)
		}
	}
	// Two names that could pick the same device would give it two drivers
	// (or lane 1 the scanner of lane 2): each must rule the other out.
	// Each is said once, against the first earlier one it meets.
	for j, b := range boards {
		for _, a := range boards[:j] {
			if a.key != b.key && mayMatchSame(a.m, b.m) {
				add(b.at, "usbrelay board %s can be the same board as %s of %s; name every board by its serial (board), the same way in every lane",
					b.key, a.key, a.who)
				break
			}
		}
	}
	for j, b := range scanners {
		for _, a := range scanners[:j] {
			if mayMatchSame(a.m, b.m) {
				add(b.at, "%s can be the same device as %s of %s; give each scanner its serial or its port", b.key, a.key, a.who)
				break
			}
		}
	}
	slices.SortFunc(errs, func(a, b issue) int { return strings.Compare(a.key+a.msg, b.key+b.msg) })
	return errs
}

// mayMatchSame reports whether one device could match both a and b: no
// field set in both tells them apart.
func mayMatchSame(a, b usbdev.Match) bool {
	differ := func(x, y string) bool { return x != "" && y != "" && x != y }
	return !(!a.ID.IsZero() && !b.ID.IsZero() && a.ID != b.ID) && !differ(a.Serial, b.Serial) && !differ(a.Port, b.Port)
}
