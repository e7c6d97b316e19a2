package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/rs/zerolog"

	"github.com/admitgate/admit/internal/usbdev"
)

// DevicesOutput is what `admit devices -json` prints.
type DevicesOutput struct {
	Devices  []usbdev.Candidate `json:"devices"`
	Warnings []string           `json:"warnings,omitempty"`
}

// devices lists the attached scanners and relay boards with a config
// snippet for each, in the keys [[lanes]] reads (see lanes.go).
func (m *Main) devices(ctx context.Context, args []string) error {
	fs := m.flags("devices", "Usage: admit devices [-json] [-skip-relay-serials]\n\n"+
		"List the attached devices that look like barcode scanners (HID keyboard or POS, serial) or relay\n"+
		"boards (USBRelay HID, LCUS serial), with a config snippet to paste under a [[lanes]] section.")
	asJSON := fs.Bool("json", false, "print JSON")
	skip := fs.Bool("skip-relay-serials", false, "do not open USBRelay boards to read their serial (fails anyway while admit serve drives them)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return &exitError{code: 2, err: fmt.Errorf("devices takes no arguments, got %q", fs.Args())}
	}
	bus := usbdev.NewBus(0, zerolog.Nop())
	defer bus.Close()
	cands, err := usbdev.List(ctx, bus, &usbdev.ListOptions{SkipRelaySerials: *skip})
	out := DevicesOutput{Devices: cands, Warnings: listWarnings(err)}
	if out.Devices == nil {
		out.Devices = []usbdev.Candidate{}
	}
	if *asJSON {
		enc := json.NewEncoder(m.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	printDevices(m.Stdout, m.Stderr, out)
	return nil
}

// listWarnings turns List's error (it lists what it can) into lines for
// the user: no USB at all is expected on some machines, not a failure.
func listWarnings(err error) []string {
	if err == nil {
		return nil
	}
	var out []string
	var walk func(error)
	walk = func(e error) {
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, x := range j.Unwrap() {
				walk(x)
			}
			return
		}
		if errors.Is(e, usbdev.ErrNoUSB) {
			out = append(out, "USB is not available on this machine ("+e.Error()+"); only serial ports are listed")
			return
		}
		out = append(out, e.Error())
	}
	walk(err)
	return out
}

// printDevices prints the list for people: one block per device with its
// snippet, warnings on stderr.
func printDevices(w, errw io.Writer, out DevicesOutput) {
	for _, msg := range out.Warnings {
		fmt.Fprintln(errw, "admit devices: warning:", msg)
	}
	if len(out.Devices) == 0 {
		fmt.Fprintln(w, "no devices found (scanners: HID keyboard or POS, /dev/ttyACM*, /dev/ttyUSB*; relay boards: USBRelay 16c0:05df, LCUS)")
		return
	}
	for i, c := range out.Devices {
		if i > 0 {
			fmt.Fprintln(w)
		}
		name := strings.TrimSpace(c.Info.Manufacturer + " " + c.Info.Product)
		if name == "" {
			name = "(no name)"
		}
		fmt.Fprintf(w, "%s  %s  %s\n", c.Kind, c.Info.ID, name)
		var facts []string
		if c.Info.Port != "" {
			facts = append(facts, "port "+c.Info.Port)
		}
		if c.Info.Serial != "" {
			facts = append(facts, "serial "+c.Info.Serial)
		}
		if c.Path != "" {
			facts = append(facts, "path "+c.Path)
		}
		if c.RelaySerial != "" {
			facts = append(facts, "board "+c.RelaySerial)
		}
		if c.Channels > 0 {
			facts = append(facts, fmt.Sprintf("%d relays", c.Channels))
		}
		if len(facts) > 0 {
			fmt.Fprintf(w, "  %s\n", strings.Join(facts, ", "))
		}
		if c.Note != "" {
			fmt.Fprintf(w, "  note: %s\n", c.Note)
		}
		for _, line := range strings.Split(strings.TrimRight(c.Config, "\n"), "\n") {
			fmt.Fprintf(w, "    %s\n", line)
		}
	}
}
