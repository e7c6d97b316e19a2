package usbdev

import (
	"fmt"

	"github.com/google/gousb"
)

// HID class requests (HID 1.11, 7.2) and report types.
const (
	hidGetReport      = 0x01
	hidSetReport      = 0x09
	reportTypeFeature = 0x03
	// request types: class, interface recipient
	hidIn  = 0xA1
	hidOut = 0x21
)

// Claim detaches the kernel driver (usbhid) from interface intf of the
// active configuration, as gousb's auto-detach does, and claims it. release
// gives the interface back and lets the kernel driver bind again. An
// interface the kernel will not give up (EBUSY, EPERM) is an error that
// says so.
func Claim(d *Device, intf int) (iface *gousb.Interface, release func(), err error) {
	if err := d.SetAutoDetach(true); err != nil {
		return nil, nil, fmt.Errorf("usbdev: %s: auto-detach: %w", d.Info.Port, err)
	}
	cfgNum, err := d.ActiveConfigNum()
	if err != nil {
		return nil, nil, fmt.Errorf("usbdev: %s: active configuration: %w", d.Info.Port, err)
	}
	cfg, err := d.Config(cfgNum)
	if err != nil {
		return nil, nil, fmt.Errorf("usbdev: %s: detach the kernel driver and select configuration %d: %w%s", d.Info.Port, cfgNum, err, permissionHint(err))
	}
	iface, err = cfg.Interface(intf, 0)
	if err != nil {
		cfg.Close()
		return nil, nil, fmt.Errorf("usbdev: %s: claim interface %d: %w", d.Info.Port, intf, err)
	}
	return iface, func() {
		iface.Close()
		cfg.Close()
	}, nil
}

// GetFeatureReport reads feature report id of interface intf into buf
// (HID GET_REPORT) and returns its length. The interface must be claimed.
func GetFeatureReport(d *Device, intf int, id byte, buf []byte) (int, error) {
	n, err := d.Control(hidIn, hidGetReport, reportTypeFeature<<8|uint16(id), uint16(intf), buf)
	if err != nil {
		return 0, fmt.Errorf("usbdev: %s: GET_REPORT feature %d: %w", d.Info.Port, id, err)
	}
	return n, nil
}

// SetFeatureReport sends feature report id to interface intf (HID
// SET_REPORT). The interface must be claimed.
func SetFeatureReport(d *Device, intf int, id byte, report []byte) error {
	n, err := d.Control(hidOut, hidSetReport, reportTypeFeature<<8|uint16(id), uint16(intf), report)
	if err != nil {
		return fmt.Errorf("usbdev: %s: SET_REPORT feature %d: %w", d.Info.Port, id, err)
	}
	if n != len(report) {
		return fmt.Errorf("usbdev: %s: SET_REPORT feature %d: sent %d of %d bytes", d.Info.Port, id, n, len(report))
	}
	return nil
}
