// Package serialscan reads serial barcode scanners: scanners in USB-serial
// (CDC ACM, /dev/ttyACM*) mode and RS-232 scanners behind USB adapters
// (/dev/ttyUSB*), with go.bug.st/serial, and frames their byte stream into
// gate.Read values with a decode.Serial framer (CR/LF lines or STX/ETX).
//
// A [Source] is one scanner. It opens the port (8N1 at the configured
// speed), reads it with a timeout that follows the framer's deadline so an
// incomplete line ends on time, and sends the reads to the lane. A port
// that hangs up (the scanner unplugged) ends the session at once: the lane
// sees it disconnected, a half line is flushed out as a malformed read, and
// the source reopens the port with backoff until the scanner is back. Name
// the port by its /dev/serial/by-id link: ttyACM0 may come back as ttyACM1.
//
// Tests run over pseudo-terminal pairs (internal/usbemu.SerialDevice):
//
//	go test -race -run TestUnplugAndReplug ./decode/serialscan/
package serialscan
