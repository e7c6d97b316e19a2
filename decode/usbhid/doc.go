// Package usbhid reads USB HID barcode scanners: keyboard-wedge scanners
// (boot keyboard reports) and HID POS scanners (usage page 0x8C), with
// gousb over libusb, and turns their reports into gate.Read values through
// a decode decoder.
//
// A [Source] is one scanner. It finds the device its [Config] names (VID:PID,
// USB serial, port path; see internal/usbdev), detaches the kernel's usbhid
// driver (which would otherwise type the barcodes into a console) and
// claims the HID interface, asks a boot keyboard for boot reports, and reads
// the interrupt IN endpoint, each read bounded by a deadline: the read
// timeout, or sooner when the decoder has a read pending that must end on
// its inter-character timeout. Reads go out on a channel the lane consumes.
//
// A scanner that is unplugged, reset or failing ends the session at once:
// Connected turns false (the lane shows it), a half-scanned barcode is
// flushed out as a malformed read, and the source looks for the scanner
// again with backoff (internal/usbdev/reconnect), sleeping between
// attempts, until it is back. Run never returns because a device vanished;
// only its context ends it.
//
// The read loop sits behind [ReportReader], which *gousb.InEndpoint
// implements, so it is tested with fakes; the whole source is tested against
// the emulated scanners of internal/usbemu:
//
//	go test -race -run TestUnplugShowsAtOnceAndReplugResumes ./decode/usbhid/
//
// Wiring (cmd/admit), one source per scanner, all on one usbdev.Bus:
//
//	dec, _ := decode.NewKeyboard(decodeCfg, log)         // decode.NewPOS for protocol "pos"
//	src, _ := usbhid.New(bus, cfg, dec, log)
//	reads := make(chan gate.Read, 16)
//	go src.Run(ctx, reads)                                // until shutdown
//	go lane.Run(ctx, reads)                               // src is the lane's turnstile.ScannerLink
package usbhid
