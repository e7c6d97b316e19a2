// Package serialrelay drives LCUS serial relay boards: the common CH340
// USB-serial boards (LCUS-1, -2, -4, -8; /dev/ttyUSB*) whose relays switch
// on 4-byte frames, A0 <relay> <state> <checksum> ([NewFrame]), at 9600 baud.
//
// The boards answer nothing, so unlike the USBRelay HID boards
// (turnstile/usbrelay) there is no read-back: a switch is done when its
// frame is written and drained to the device, and a write that fails is a
// relay fault for the lane. Frames to one board are serialised (lanes can
// share a board, one turnstile.Channel each) and never interleave.
//
// [Board.Run] keeps the port open: it opens every relay on (re)connect, and
// reads the port, which the boards never write to, so that the hang-up of
// an unplugged board shows at once; it reopens the port with backoff until
// the board is back, and opens every relay on shutdown. Name the port by its
// /dev/serial/by-id link (see admit devices): ttyUSB0 may come back as
// ttyUSB1.
//
// Tests run over pseudo-terminal pairs (internal/usbemu.SerialDevice):
//
//	go test -race -run TestUnplugAndReplug ./turnstile/serialrelay/
package serialrelay
