// Package usbrelay drives "USBRelay" HID relay boards (VID 16c0, PID 05df:
// the dcttech/ucreatefun boards sold as USBRelay1/2/4/8) for the turnstile
// lanes.
//
// # Protocol
//
// The board is a HID device with one 8-byte feature report on interface 0.
// SET_REPORT (bmRequestType 0x21, bRequest 0x09, wValue 0x0300) with FF n
// closes relay n, FD n opens it, FC opens them all. GET_REPORT (0xA1, 0x01,
// 0x0300) returns the board's 5-character serial in bytes 0-4 and the
// closed relays as a bitmask in byte 7. Every board has the same USB id and
// no USB serial number: boards are told apart by that report serial.
//
// # Safety
//
// Every switch is read back with GET_REPORT and a board that reads back
// another state than commanded is a fault ([ErrMismatch]): the lane then
// treats the relay as failed instead of believing it opened the gate. Every
// request is bounded by a control timeout, so a board that stops answering
// fails the request instead of hanging the lane. Requests to a board are
// serialised, so several lanes can share one board, one turnstile.Channel each.
//
// [Board.Run] keeps the board connected: it claims it from usbhid, opens
// every relay (a replugged board starts safe), reads its state every probe
// interval so an unplugged board shows at once, and looks for it again with
// backoff until it is back. On shutdown it opens every relay and gives the
// board back; [Board.Halt] does the same on demand.
//
// Wiring (cmd/admit): one Board per physical board, on the shared
// usbdev.Bus, added to the lanes' turnstile.Set (a turnstile.RelayBoard,
// which the Set runs before the lanes and halts after them); each lane
// gets board.Channel(n) as its turnstile.Output.
//
//	board, _ := usbrelay.New(bus, usbrelay.Config{Board: "QWERT"}, log)
//	set.AddBoard(board)
//	parts.Lock = board.Channel(1)
//
// Tests run against the emulated boards of internal/usbemu:
//
//	go test -race -run TestFaultyBoards ./turnstile/usbrelay/
package usbrelay
