package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.bug.st/serial/enumerator"

	"github.com/admitgate/admit/decode"
	"github.com/admitgate/admit/internal/usbdev"
	"github.com/admitgate/admit/turnstile"
)

const laneToken = "[[tokens]]\nname = \"ops\"\nrole = \"admin\"\nsecret = \"0123456789abcdef\"\n"

// parseLanes parses and validates a config made of a token and src.
func parseLanes(src string) (*Config, error) {
	c, err := ParseConfig(strings.NewReader(laneToken + src))
	if err != nil {
		return nil, err
	}
	return c, c.Validate()
}

// Every lane section, as users write it: what parses, what it maps to, and
// what is refused with which message.
func TestLaneConfig(t *testing.T) {
	tests := []struct {
		name, src string
		want      string             // a substring of the error; "" for a valid config
		check     func(*Config) bool // for valid configs
	}{
		// Scanners.
		{name: "usbhid scanner with its decoder", src: `[[lanes]]
id = "a"
[lanes.scanner]
driver = "usbhid"
usb = "0c2e:0b61"
serial = "17011B0C29"
port = "1-2.3"
protocol = "pos"
layout = "de"
prefix = "X"
suffix = "Y"
terminators = "enter,tab"
timeout = "80ms"
aim = true
symbologies = "ean13,qr"
check_digits = "ean13,itf"
dedup_window = "2s"
max_len = 512
source = "usb:north"
`, check: func(c *Config) bool {
			s := c.Lanes[0].Scanner
			return s.USB == (usbdev.ID{Vendor: 0x0c2e, Product: 0x0b61}) && s.Serial == "17011B0C29" && s.Port == "1-2.3" &&
				s.Protocol == "pos" && s.Layout == "de" && s.Prefix == "X" && s.Suffix == "Y" &&
				s.Terminators == decode.TermEnter|decode.TermTab && s.Timeout == 80*time.Millisecond && s.AIM &&
				s.Symbologies == decode.NewSymbologySet(decode.EAN13, decode.QR) && s.DedupWindow == 2*time.Second &&
				s.MaxLen == 512 && s.source() == "usb:north" && c.Lanes[0].hardware() && !c.Lanes[0].hasTurnstile()
		}},
		{name: "usbhid source name", src: "[[lanes]]\nid = \"a\"\n[lanes.scanner]\ndriver = \"usbhid\"\nusb = \"0c2e:0b61\"\nport = \"1-2\"\n",
			check: func(c *Config) bool { return c.Lanes[0].Scanner.source() == "usb:0c2e:0b61:1-2" }},
		{name: "serial scanner", src: "[[lanes]]\nid = \"a\"\n[lanes.scanner]\ndriver = \"serial\"\ndevice = \"/dev/ttyACM0\"\nbaud = 115200\nparity = \"even\"\nframing = \"stx-etx\"\n",
			check: func(c *Config) bool {
				s := c.Lanes[0].Scanner
				return s.Device == "/dev/ttyACM0" && s.Baud == 115200 && s.Framing == decode.FramingSTXETX && s.source() == "serial:/dev/ttyACM0"
			}},
		{name: "old key type", src: "[[lanes]]\nid = \"a\"\n[lanes.scanner]\ntype = \"usb\"\n", want: `line 8: lanes[0].scanner.type: unknown key; devices are chosen with driver`},
		{name: "old keys vid, pid", src: "[[lanes]]\nid = \"a\"\n[lanes.scanner]\ndriver = \"usbhid\"\nvid = \"0c2e\"\n", want: `line 9: lanes[0].scanner.vid: unknown key; name a USB scanner with usb = "vid:pid"`},
		{name: "unknown scanner driver", src: "[[lanes]]\nid = \"a\"\n[lanes.scanner]\ndriver = \"usb\"\n", want: `scanner.driver: "usb" is not a scanner driver; use none, usbhid or serial`},
		{name: "usbhid without a device", src: "[[lanes]]\nid = \"a\"\n[lanes.scanner]\ndriver = \"usbhid\"\n", want: "needs usb (vendor:product), serial or port"},
		{name: "bad usb id", src: "[[lanes]]\nid = \"a\"\n[lanes.scanner]\ndriver = \"usbhid\"\nusb = \"xyz\"\n", want: "want vendor:product in hexadecimal"},
		{name: "bad port", src: "[[lanes]]\nid = \"a\"\n[lanes.scanner]\ndriver = \"usbhid\"\nport = \"usb2\"\n", want: "port"},
		{name: "bad protocol", src: "[[lanes]]\nid = \"a\"\n[lanes.scanner]\ndriver = \"usbhid\"\nusb = \"0c2e:0b61\"\nprotocol = \"wedge\"\n", want: `scanner.protocol: "wedge" is not a protocol; use keyboard or pos`},
		{name: "usbhid with serial keys", src: "[[lanes]]\nid = \"a\"\n[lanes.scanner]\ndriver = \"usbhid\"\nusb = \"0c2e:0b61\"\nbaud = 9600\n", want: `scanner.baud: is for driver "serial", not "usbhid"`},
		{name: "serial without device", src: "[[lanes]]\nid = \"a\"\n[lanes.scanner]\ndriver = \"serial\"\n", want: "scanner.device: is missing; driver serial needs one such as /dev/ttyACM0"},
		{name: "serial parity", src: "[[lanes]]\nid = \"a\"\n[lanes.scanner]\ndriver = \"serial\"\ndevice = \"/dev/ttyACM0\"\nparity = \"mark\"\n", want: `scanner.parity: "mark" is not a parity; use none, odd or even`},
		{name: "serial with usb keys", src: "[[lanes]]\nid = \"a\"\n[lanes.scanner]\ndriver = \"serial\"\ndevice = \"/dev/ttyACM0\"\nusb = \"0c2e:0b61\"\n", want: `scanner.usb: is for driver "usbhid", not "serial"`},
		{name: "keys without a driver", src: "[[lanes]]\nid = \"a\"\n[lanes.scanner]\nlayout = \"de\"\n", want: "scanner.driver: is not set, so the other scanner keys do nothing"},
		{name: "bad layout", src: "[[lanes]]\nid = \"a\"\n[lanes.scanner]\ndriver = \"usbhid\"\nusb = \"0c2e:0b61\"\nlayout = \"dvorak\"\n", want: "unknown keyboard layout \"dvorak\""},
		{name: "bad symbology", src: "[[lanes]]\nid = \"a\"\n[lanes.scanner]\ndriver = \"usbhid\"\nusb = \"0c2e:0b61\"\naim = true\nsymbologies = \"qrcode\"\n", want: "qrcode"},
		{name: "symbologies need aim", src: "[[lanes]]\nid = \"a\"\n[lanes.scanner]\ndriver = \"usbhid\"\nusb = \"0c2e:0b61\"\nsymbologies = \"qr\"\n", want: "needs AIM identifiers"},
		{name: "bad terminator", src: "[[lanes]]\nid = \"a\"\n[lanes.scanner]\ndriver = \"usbhid\"\nusb = \"0c2e:0b61\"\nterminators = \"semicolon\"\n", want: "unknown terminator"},
		{name: "suffix holds a terminator", src: "[[lanes]]\nid = \"a\"\n[lanes.scanner]\ndriver = \"serial\"\ndevice = \"/dev/ttyACM0\"\nsuffix = \"\\r\"\n", want: "holds a terminator"},

		// Relays and turnstiles.
		{name: "usbrelay turnstile", src: `[[lanes]]
id = "a"
confirm = "passage"
passage_timeout = "9s"
queue = true
max_queue = 5
[lanes.relay]
driver = "usbrelay"
board = "BITFT"
channel = 2
unlock_time = "4s"
[lanes.sensor]
driver = "gpio"
chip = "gpiochip0"
line = 17
active_low = true
bias = "pull-up"
debounce = "10ms"
[lanes.emergency]
mode = "hold"
`, check: func(c *Config) bool {
			tc := c.Lanes[0].turnstileConfig()
			return tc.UnlockTime == 4*time.Second && tc.PassageTimeout == 9*time.Second && tc.Confirm == turnstile.ConfirmPassage &&
				tc.Queue && tc.MaxQueue == 5 && tc.Emergency == turnstile.EmergencyHold && c.Lanes[0].Relay.Board == "BITFT" &&
				c.Lanes[0].Sensor.Bias == "pull-up" && time.Duration(c.Lanes[0].Sensor.Debounce) == 10*time.Millisecond
		}},
		{name: "simulated lane with patterns", src: `[[lanes]]
id = "a"
[lanes.relay]
driver = "sim"
walk_after = "-1s"
[lanes.sensor]
driver = "sim"
[lanes.lights.red]
driver = "sim"
deny = "on:2s"
fault = "on:250ms off:250ms repeat"
[lanes.emergency.input]
driver = "sim"
`, check: func(c *Config) bool {
			tc := c.Lanes[0].turnstileConfig()
			return tc.Signals.Red.Deny.String() == "on:2s" && tc.Signals.Red.Fault.Repeat && !tc.Signals.Green.Admit.IsSet() &&
				time.Duration(c.Lanes[0].Relay.WalkAfter) == -time.Second
		}},
		{name: "lcus and gpio", src: "[[lanes]]\nid = \"a\"\n[lanes.relay]\ndriver = \"lcus\"\ndevice = \"/dev/ttyUSB0\"\nchannel = 2\nchannels = 4\nbaud = 9600\n[lanes.lights.green]\ndriver = \"gpio\"\nchip = \"gpiochip0\"\nline = 5\nactive_low = true\n",
			check: func(c *Config) bool { return c.Lanes[0].Relay.Channels == 4 && c.Lanes[0].Lights.Green.ActiveLow }},
		{name: "unknown relay driver", src: "[[lanes]]\nid = \"a\"\n[lanes.relay]\ndriver = \"usb\"\n", want: `relay.driver: "usb" is not an output driver; use none, sim, usbrelay, lcus or gpio`},
		{name: "usbrelay channel", src: "[[lanes]]\nid = \"a\"\n[lanes.relay]\ndriver = \"usbrelay\"\nchannel = 9\n", want: "relay.channel: 9 is not a relay of a USBRelay board; use 1 to 8"},
		{name: "usbrelay board serial", src: "[[lanes]]\nid = \"a\"\n[lanes.relay]\ndriver = \"usbrelay\"\nboard = \"TOOLONG\"\nchannel = 1\n", want: "5-character serials"},
		{name: "usbrelay with gpio keys", src: "[[lanes]]\nid = \"a\"\n[lanes.relay]\ndriver = \"usbrelay\"\nchannel = 1\nchip = \"gpiochip0\"\n", want: `relay.chip: is not a setting of driver "usbrelay"`},
		{name: "lcus without device", src: "[[lanes]]\nid = \"a\"\n[lanes.relay]\ndriver = \"lcus\"\nchannel = 1\n", want: "relay.device: is missing; driver lcus needs one such as /dev/ttyUSB0"},
		{name: "lcus channel beyond board", src: "[[lanes]]\nid = \"a\"\n[lanes.relay]\ndriver = \"lcus\"\ndevice = \"/dev/ttyUSB0\"\nchannel = 3\nchannels = 2\n", want: "beyond the board's 2 channels"},
		{name: "gpio without chip", src: "[[lanes]]\nid = \"a\"\n[lanes.relay]\ndriver = \"gpio\"\n", want: "relay.chip: is missing; driver gpio needs one such as gpiochip0"},
		{name: "unlock time too long", src: "[[lanes]]\nid = \"a\"\n[lanes.relay]\ndriver = \"sim\"\nunlock_time = \"10m\"\n", want: "relay.unlock_time: 10m0s is too long; use at most 5m0s"},
		{name: "passage timeout short", src: "[[lanes]]\nid = \"a\"\npassage_timeout = \"1s\"\n[lanes.relay]\ndriver = \"sim\"\nunlock_time = \"3s\"\n", want: "shorter than the unlock time"},
		{name: "passage without sensor", src: "[[lanes]]\nid = \"a\"\nconfirm = \"passage\"\n[lanes.relay]\ndriver = \"sim\"\n", want: "needs a passage sensor"},
		{name: "confirm mode", src: "[[lanes]]\nid = \"a\"\nconfirm = \"later\"\n[lanes.relay]\ndriver = \"sim\"\n", want: `confirm: "later" is not a confirmation; use none or passage`},
		{name: "walk_after off the sim", src: "[[lanes]]\nid = \"a\"\n[lanes.relay]\ndriver = \"gpio\"\nchip = \"gpiochip0\"\nwalk_after = \"1s\"\n", want: "relay.walk_after: is for the simulated turnstile"},
		{name: "sim part without sim relay", src: "[[lanes]]\nid = \"a\"\n[lanes.relay]\ndriver = \"gpio\"\nchip = \"gpiochip0\"\n[lanes.lights.green]\ndriver = \"sim\"\n", want: `lights.green.driver: "sim" is a part of the simulated turnstile`},
		{name: "sensor needs a turnstile", src: "[[lanes]]\nid = \"a\"\n[lanes.sensor]\ndriver = \"gpio\"\nchip = \"gpiochip0\"\n", want: "a passage sensor needs a turnstile"},
		{name: "queue needs a turnstile", src: "[[lanes]]\nid = \"a\"\nqueue = true\n", want: "queue needs a turnstile"},
		{name: "emergency needs a turnstile", src: "[[lanes]]\nid = \"a\"\n[lanes.emergency]\nmode = \"hold\"\n", want: "emergency: an emergency mode or input needs a turnstile"},
		{name: "bad pattern", src: "[[lanes]]\nid = \"a\"\n[lanes.relay]\ndriver = \"sim\"\n[lanes.lights.red]\ndriver = \"sim\"\ndeny = \"blink\"\n", want: `line 11: lanes[0].lights.red.deny: pattern "blink"`},
		{name: "pattern without driver", src: "[[lanes]]\nid = \"a\"\n[lanes.relay]\ndriver = \"sim\"\n[lanes.lights.red]\ndeny = \"on\"\n", want: "lights.red: has patterns but no driver, so they play nowhere"},
		{name: "emergency mode", src: "[[lanes]]\nid = \"a\"\n[lanes.relay]\ndriver = \"sim\"\n[lanes.emergency]\nmode = \"panic\"\n", want: `emergency.mode: "panic" is not an emergency mode; use open or hold`},
		{name: "sensor driver", src: "[[lanes]]\nid = \"a\"\n[lanes.relay]\ndriver = \"sim\"\n[lanes.sensor]\ndriver = \"usbrelay\"\n", want: `sensor.driver: "usbrelay" is not an input driver; use none, sim or gpio`},
		{name: "sim sensor with gpio keys", src: "[[lanes]]\nid = \"a\"\n[lanes.relay]\ndriver = \"sim\"\n[lanes.sensor]\ndriver = \"sim\"\nline = 4\n", want: `sensor.line: is for driver "gpio"`},
		{name: "debounce", src: "[[lanes]]\nid = \"a\"\n[lanes.relay]\ndriver = \"sim\"\n[lanes.sensor]\ndriver = \"gpio\"\nchip = \"c\"\ndebounce = \"2s\"\n", want: "sensor.debounce: 2s is out of range; use 0 to 1s"},

		// Devices shared between lanes.
		{name: "two lanes on one board", src: "[[lanes]]\nid = \"a\"\n[lanes.relay]\ndriver = \"usbrelay\"\nboard = \"QWERT\"\nchannel = 1\n" +
			"[[lanes]]\nid = \"b\"\n[lanes.relay]\ndriver = \"usbrelay\"\nboard = \"QWERT\"\nchannel = 2\n" +
			"[[lanes]]\nid = \"c\"\n[lanes.relay]\ndriver = \"lcus\"\ndevice = \"/dev/ttyUSB0\"\nchannel = 1\n" +
			"[[lanes]]\nid = \"d\"\n[lanes.relay]\ndriver = \"lcus\"\ndevice = \"/dev/ttyUSB0\"\nchannel = 2\n",
			check: func(c *Config) bool { return len(c.Lanes) == 4 }},
		{name: "one channel, two lanes", src: "[[lanes]]\nid = \"a\"\n[lanes.relay]\ndriver = \"usbrelay\"\nboard = \"QWERT\"\nchannel = 1\n" +
			"[[lanes]]\nid = \"b\"\n[lanes.relay]\ndriver = \"sim\"\n[lanes.lights.red]\ndriver = \"usbrelay\"\nboard = \"QWERT\"\nchannel = 1\n",
			want: "lanes[1].lights.red.channel: usbrelay board QWERT channel 1 is also used by lanes[0].relay (lane a)"},
		{name: "one scanner, two lanes", src: "[[lanes]]\nid = \"a\"\n[lanes.scanner]\ndriver = \"usbhid\"\nusb = \"0c2e:0b61\"\n" +
			"[[lanes]]\nid = \"b\"\n[lanes.scanner]\ndriver = \"usbhid\"\nusb = \"0c2e:0b61\"\n", want: "lanes[1].scanner: 0c2e:0b61 can be the same device as 0c2e:0b61 of lanes[0].scanner (lane a)"},
		{name: "scanner without port beside one with", src: "[[lanes]]\nid = \"a\"\n[lanes.scanner]\ndriver = \"usbhid\"\nusb = \"0c2e:0b61\"\n" +
			"[[lanes]]\nid = \"b\"\n[lanes.scanner]\ndriver = \"usbhid\"\nusb = \"0c2e:0b61\"\nport = \"1-3\"\n", want: "give each scanner its serial or its port"},
		{name: "two scanners told apart", src: "[[lanes]]\nid = \"a\"\n[lanes.scanner]\ndriver = \"usbhid\"\nusb = \"0c2e:0b61\"\nport = \"1-2\"\n" +
			"[[lanes]]\nid = \"b\"\n[lanes.scanner]\ndriver = \"usbhid\"\nusb = \"0c2e:0b61\"\nport = \"1-3\"\n" +
			"[[lanes]]\nid = \"c\"\n[lanes.scanner]\ndriver = \"usbhid\"\nusb = \"05e0:1200\"\n",
			check: func(c *Config) bool { return len(c.Lanes) == 3 }},
		{name: "unnamed board beside named", src: "[[lanes]]\nid = \"a\"\n[lanes.relay]\ndriver = \"usbrelay\"\nchannel = 1\n" +
			"[[lanes]]\nid = \"b\"\n[lanes.relay]\ndriver = \"usbrelay\"\nboard = \"QWERT\"\nchannel = 1\n", want: "lanes[1].relay: usbrelay board QWERT can be the same board as (the only one) of lanes[0].relay (lane a)"},
		{name: "board named two ways", src: "[[lanes]]\nid = \"a\"\n[lanes.relay]\ndriver = \"usbrelay\"\nboard = \"QWERT\"\nport = \"1-1\"\nchannel = 1\n" +
			"[[lanes]]\nid = \"b\"\n[lanes.relay]\ndriver = \"usbrelay\"\nboard = \"QWERT\"\nchannel = 2\n", want: "can be the same board as QWERT@1-1 of lanes[0].relay (lane a); name every board by its serial (board), the same way in every lane"},
		{name: "lcus baud differs", src: "[[lanes]]\nid = \"a\"\n[lanes.relay]\ndriver = \"lcus\"\ndevice = \"/dev/ttyUSB0\"\nchannel = 1\n" +
			"[[lanes]]\nid = \"b\"\n[lanes.relay]\ndriver = \"lcus\"\ndevice = \"/dev/ttyUSB0\"\nchannel = 2\nbaud = 4800\n", want: "lanes[1].relay.baud: is 4800 for /dev/ttyUSB0, but lanes[0].relay (lane a) uses 9600"},
		{name: "gpio line twice", src: "[[lanes]]\nid = \"a\"\n[lanes.relay]\ndriver = \"gpio\"\nchip = \"gpiochip0\"\nline = 17\n[lanes.sensor]\ndriver = \"gpio\"\nchip = \"gpiochip0\"\nline = 17\n",
			want: "lanes[0].sensor.line: gpio gpiochip0 line 17 is also used by lanes[0].relay (lane a)"},
		{name: "shared emergency input", src: "[[lanes]]\nid = \"a\"\n[lanes.relay]\ndriver = \"sim\"\n[lanes.emergency.input]\ndriver = \"gpio\"\nchip = \"gpiochip0\"\nline = 27\n" +
			"[[lanes]]\nid = \"b\"\n[lanes.relay]\ndriver = \"sim\"\n[lanes.emergency.input]\ndriver = \"gpio\"\nchip = \"gpiochip0\"\nline = 27\n",
			check: func(c *Config) bool { return len(c.Lanes) == 2 }},
		{name: "emergency input two ways", src: "[[lanes]]\nid = \"a\"\n[lanes.relay]\ndriver = \"sim\"\n[lanes.emergency.input]\ndriver = \"gpio\"\nchip = \"gpiochip0\"\nline = 27\n" +
			"[[lanes]]\nid = \"b\"\n[lanes.relay]\ndriver = \"sim\"\n[lanes.emergency.input]\ndriver = \"gpio\"\nchip = \"gpiochip0\"\nline = 27\nactive_low = true\n",
			want: "configured differently by another lane"},
		{name: "scanner port drives a board", src: "[[lanes]]\nid = \"a\"\n[lanes.scanner]\ndriver = \"serial\"\ndevice = \"/dev/ttyUSB0\"\n" +
			"[[lanes]]\nid = \"b\"\n[lanes.relay]\ndriver = \"lcus\"\ndevice = \"/dev/ttyUSB0\"\nchannel = 1\n", want: "lanes[0].scanner.device: /dev/ttyUSB0 also drives the lcus relay board of lanes[1].relay (lane b); a port is a scanner or a relay board, not both"},
		{name: "duplicate lane", src: "[[lanes]]\nid = \"a\"\n[[lanes]]\nid = \"a\"\n", want: `lanes[1].id: "a" is also lanes[0]'s id; each lane needs its own`},
		{name: "lane direction", src: "[[lanes]]\nid = \"a\"\ndirection = \"up\"\n", want: `lanes[0].direction: "up" is not a direction; use in or out`},
		{name: `lanes[0].id: "a b" holds ' '`, src: "[[lanes]]\nid = \"a b\"\n", want: `lanes[0].id: "a b" holds ' '`},
		{name: "empty events", src: "[[lanes]]\nid = \"a\"\nevents = []\n", want: "lanes[0].events: is an empty list"},
		{name: "unknown lane key", src: "[[lanes]]\nid = \"a\"\n[lanes.relay]\ndriver = \"sim\"\nchanel = 2\n", want: "line 9: lanes[0].relay.chanel: unknown key; did you mean channel?"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseLanes(tt.src)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if !tt.check(c) {
					t.Fatalf("parsed as %+v", c.Lanes)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v\nwant it to say %q", err, tt.want)
			}
		})
	}
}

// The snippets admit devices prints for serial devices paste into a lane as
// they are (the USB ones are proven on the emulated bus, internal/e2e).
func TestDeviceSnippetsAreConfig(t *testing.T) {
	ports := []*enumerator.PortDetails{
		{Name: "/dev/ttyACM0", IsUSB: true, VID: "0c2e", PID: "0b6a", SerialNumber: "S-ACM", Manufacturer: "Honeywell", Product: "Xenon"},
		{Name: "/dev/ttyUSB0", IsUSB: true, VID: "1a86", PID: "7523"},
	}
	bus := usbdev.NewBus(0, testLogger())
	defer bus.Close()
	cands, _ := usbdev.List(context.Background(), bus, &usbdev.ListOptions{
		SerialPorts: func() ([]*enumerator.PortDetails, error) { return ports, nil }, ByIDDir: t.TempDir()})
	var snippets []string
	for _, c := range cands {
		if c.Kind != usbdev.KindSerial {
			continue // whatever USB this machine has
		}
		// A USB-serial adapter may be a scanner or an LCUS board: the
		// snippet offers both, "# or" between them.
		snippets = append(snippets, strings.Split(c.Config, "# or\n")...)
	}
	if len(snippets) != 3 {
		t.Fatalf("snippets %q", snippets)
	}
	for _, s := range snippets {
		src := "[[lanes]]\nid = \"pasted\"\n" + s
		if strings.Contains(s, "[lanes.scanner]") && !strings.Contains(s, "[lanes.relay]") {
			src += "[lanes.relay]\ndriver = \"sim\"\n"
		}
		c, err := parseLanes(src)
		if err != nil {
			t.Errorf("snippet\n%s\ndoes not paste: %v", s, err)
			continue
		}
		if l := c.Lanes[0]; l.Scanner.Driver != scannerSerial && l.Relay.Driver != outputLCUS {
			t.Errorf("snippet\n%s\nparsed as %+v", s, l)
		}
	}

	// The listing itself, for people.
	var out, errw bytes.Buffer
	printDevices(&out, &errw, DevicesOutput{Devices: cands, Warnings: []string{"usbdev: something"}})
	for _, want := range []string{"serial  0c2e:0b6a  Honeywell Xenon", "path /dev/ttyACM0", `    driver = "serial"`, `    driver = "lcus"`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("listing lacks %q:\n%s", want, out.String())
		}
	}
	if !strings.Contains(errw.String(), "warning: usbdev: something") {
		t.Errorf("warnings: %q", errw.String())
	}
	out.Reset()
	printDevices(&out, &errw, DevicesOutput{})
	if !strings.Contains(out.String(), "no devices found") {
		t.Errorf("empty listing: %q", out.String())
	}
}

// admit devices and check-config as users run them: devices lists what this
// machine has (nothing, here) and exits 0 without USB; check-config
// describes each lane's hardware without looking for it.
func TestDevicesAndCheckConfigCommands(t *testing.T) {
	run := func(args ...string) (string, string, int) {
		var out, errb bytes.Buffer
		m := &Main{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }}
		code := exitCode(m.Run(t.Context(), args), &errb)
		return out.String(), errb.String(), code
	}
	if out, errs, code := run("devices"); code != 0 || out == "" {
		t.Errorf("admit devices: exit %d\n%s%s", code, out, errs)
	}
	if out, errs, code := run("devices", "-json"); code != 0 || !strings.Contains(out, `"devices": [`) {
		t.Errorf("admit devices -json: exit %d\n%s%s", code, out, errs)
	}
	if _, errs, code := run("devices", "extra"); code != 2 || !strings.Contains(errs, "no arguments") {
		t.Errorf("admit devices extra: exit %d %s", code, errs)
	}

	dir := t.TempDir()
	path := filepath.Join(dir, "admit.toml")
	src := laneToken + "[[lanes]]\nid = \"n1\"\n[lanes.scanner]\ndriver = \"usbhid\"\nusb = \"0c2e:0b61\"\n[lanes.relay]\ndriver = \"usbrelay\"\nboard = \"QWERT\"\nchannel = 1\n" +
		"[[lanes]]\nid = \"door\"\n"
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errs, code := run("check-config", path)
	for _, want := range []string{"2 lanes", "lane n1: scanner usbhid 0c2e:0b61 (keyboard); relay usbrelay QWERT/1, unlock 5s, confirm none",
		"lane door: scans over the API only", "devices are not looked for now"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("check-config: exit %d, want %q in\n%s%s", code, want, out, errs)
		}
	}
}
