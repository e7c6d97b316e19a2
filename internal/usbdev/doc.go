// Package usbdev is admit's shared gousb plumbing: one libusb context for
// the process ([Bus]), finding and opening a device by what a config names
// ([Match]: VID:PID, USB serial number, port path), claiming a HID
// interface from the kernel's usbhid driver ([Claim]), HID feature reports
// ([GetFeatureReport], [SetFeatureReport]), and the listing behind
// `admit devices` ([List]).
//
// # Naming a device
//
// A config names a device by any of:
//
//	usb = "0c2e:0b61"   # vendor:product, as lsusb prints them
//	serial = "17011B0C29" # the USB serial number: follows the device to any socket
//	port = "1-2"        # the port path (bus-port[.port...]): pins a socket
//
// Every named field must agree. Two identical scanners without serial
// numbers need their ports; Open refuses to guess (gate.ECONFLICT) rather
// than give lane 1 the scanner of lane 2. The device address changes on
// every replug and is never used to name a device.
//
// # Safety
//
// Every device the Bus opens has its control timeout set: a device that
// stops answering fails a request instead of hanging the caller. Open never
// panics: gousb panics when libusb cannot start, and the Bus turns that
// into [ErrNoUSB].
//
// The sources and drivers built on this package (decode/usbhid,
// turnstile/usbrelay) reconnect with internal/usbdev/reconnect; the tests
// run against the emulated bus of internal/usbemu.
package usbdev
