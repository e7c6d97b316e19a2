// Package decode turns the bytes a barcode scanner sends into barcodes
// ([gate.Read] values). It is pure: bytes in, reads out; it imports no USB,
// serial or cgo package. The scanner sources (decode/usbhid,
// decode/serialscan) read the devices and feed it.
//
// # Why read bytes ourselves
//
// A scanner in keyboard ("wedge") mode types barcodes into whatever has the
// focus, through the host's keyboard layout and Caps Lock. Reading its boot
// keyboard reports directly makes admit immune to both, to scanners that
// send no Enter, and to double reads: the hardware troubles door staff
// complain about most.
//
// # Decoders
//
//   - [Keyboard] decodes 8-byte boot keyboard reports. Only key-down edges
//     count: a key held across reports counts once, roll-over reports are
//     read in order, the all-zero report releases every key. Characters come
//     from the configured [Layouts] (us, uk, de, fr, es) as Windows' layouts
//     of those names type them: Shift, AltGr, dead keys (de ^ and ´, fr ^
//     and ¨, es ` ´ ^ ¨ ~), Ctrl+letter and Ctrl+] (GS) for control
//     characters, ALT+numpad codes for anything else. A key that types
//     nothing makes the read malformed, with its position; so does Enter or
//     Tab with Ctrl, Alt, AltGr or GUI, a shortcut that neither types nor
//     ends a read on the host.
//   - [POS] decodes HID POS reports (usage page 0x8C): the AIM identifier
//     and data of each report, continued over as many reports as the
//     scanner flags. A continuation that names another AIM identifier
//     begins another barcode: the read it would have continued is
//     malformed (incomplete).
//   - [Serial] frames a serial byte stream: lines ended by CR, LF or CRLF,
//     or STX data ETX.
//
// The HID decoders implement [ReportDecoder], the serial one
// [StreamDecoder]: Feed bytes as they arrive, and call Expire when Deadline
// passes ([Pump] does that, and the flush when a scanner goes away, for the
// sources). A read ends at a terminator (Enter, Tab, CR, LF; CR LF is one),
// at the configured suffix, at ETX or the last POS report, or after the
// inter-character timeout for scanners that send no suffix. One [Config]
// style serves all three.
//
// # From raw read to barcode
//
// Every decoder finishes a read the same way: the terminator, the
// configured suffix and prefix, and the AIM symbology identifier ([AIM],
// ISO/IEC 15424, "]" + code + modifier) are removed; the identifier names
// the [Symbology]; the scanner's allowed symbologies are enforced; check
// digits are validated (EAN-8, EAN-13, UPC-A, UPC-E through its UPC-A
// expansion and ITF-14 by default, Code 39 mod 43 and Interleaved 2 of 5
// mod 10 when configured or when the AIM modifier says the scanner sent
// one). GS1 forms keep their GS separators. A read that fails any step is
// delivered, not dropped: Read.Malformed says why (an unmapped key and its
// position, which check digit failed, which symbology was refused, an
// incomplete or over-long read) and Read.Text holds what was read, so the
// lane journals it and tells the guest.
//
// The same barcode from the same scanner within Config.DedupWindow (1 s by
// default) of its last sighting is delivered once ([Dedup] does the same
// for reads from elsewhere), so a phone held under a presentation scanner
// opens the turnstile once instead of showing "already used".
//
// # Encoders and recordings
//
// [KeyboardReports] and [POSReports] produce the reports a scanner sends
// for a text: the emulated scanner of the USB tests and the round-trip tests
// use them. Package decodetest records a real scanner's reports as text and
// replays them, so a scanner met in the field becomes a test fixture.
//
// # Scanner settings that matter
//
// The scanner's country keyboard must match Config.Layout, and its own
// "Caps Lock on" compensation must be off (admit holds no Caps Lock, so a
// scanner that inverts case for it types the wrong case). ALT+numpad codes
// follow Windows: ALT+0nnn is Windows-1252, ALT+nnn up to 255 the OEM code
// page, and above 255 a Unicode code point.
//
// # Cost
//
// Decoders allocate their buffers once. Feeding a report allocates nothing;
// a completed read allocates its text. Reads are capped at
// Config.MaxLen (4 KiB by default); a longer one is malformed and its rest
// dropped, so no input grows memory without bound.
package decode
