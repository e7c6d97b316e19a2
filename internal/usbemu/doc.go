// Package usbemu is admit's emulated USB bus: HID barcode scanners and
// "USBRelay" HID relay boards that the real gousb/libusb code talks to in
// tests, on machines (CI included) that have no USB at all.
//
// # How it works
//
// libumockdev builds a fake /sys and /dev (a testbed) and its preload
// library, libumockdev-preload.so.0, redirects a program's libc calls into
// it. The harness, harness.py (python3 with python3-gi and
// gir1.2-umockdev-1.0), creates the testbed, adds the devices described in
// testdata/*.umockdev (recorded from real ones) and attaches to each device
// node an ioctl handler that plays the kernel: it answers every usbdevfs
// ioctl libusb sends. It pretends usbhid is bound (GETDRIVER; the
// USBDEVFS_IOCTL disconnect/connect and DISCONNECT_CLAIM requests detach and
// re-attach it), refuses a claim with EBUSY while the driver is bound,
// answers control transfers (descriptors, strings, HID class requests, the
// relay boards' SET_REPORT/GET_REPORT), completes interrupt-IN URBs with the
// reports a test queued, and logs every request. Each device node is a FIFO
// the harness keeps full while nothing is ready to reap, so libusb's poll()
// sleeps as it would on a real usbfs node instead of spinning.
//
// Go's own file access does not go through libc, so a test cannot call into
// the testbed directly; libusb (through cgo) does. The harness is therefore
// the parent process: [Main], called from a package's TestMain, starts it,
// and it re-executes the test binary under LD_PRELOAD with UMOCKDEV_DIR set,
// passing the exit status through. The two talk over a Unix socket the test
// binary inherits ($ADMIT_USBEMU_FD): one JSON request a line, one JSON
// answer a line. A plain `go test -race ./...` therefore runs these tests;
// so does `make test`.
//
// # Using it
//
//	func TestMain(m *testing.M) { usbemu.Main(m) }
//
//	func TestScan(t *testing.T) {
//		bus := usbemu.Start(t)                        // empty bus; cleaned up after t
//		scanner, _ := bus.AddScanner(usbemu.ScannerOptions{Serial: "S1"})
//		relay, _ := bus.AddRelay(usbemu.RelayOptions{Serial: "QWERT"})
//		// ... open them with gousb (or the adapters built on it) ...
//		scanner.Type("us", "4006381333931", 0)        // keyboard reports and Enter, as scanned
//		st, _ := relay.State()                        // st.RelayState: bit n-1 = relay n closed
//		reqs, _ := relay.Requests()                   // every SET_REPORT/GET_REPORT, in order
//		scanner.Unplug(); scanner.Plug()              // hot-plug, with a new device address
//		_, _, _ = st, reqs, relay
//	}
//
// Run one test without make:
//
//	go test -race -run TestUnplugAndReplug ./internal/usbemu/
//
// Set ADMIT_USBEMU_DEBUG=1 to see every ioctl and log entry on stderr, and
// ADMIT_USBEMU_PYTHON to use another interpreter.
//
// # When it cannot run
//
// The harness needs the Debian packages umockdev, libumockdev0,
// gir1.2-umockdev-1.0 and python3-gi (scripts/deps.sh test installs them).
// Without them the tests that call [Start] skip with that reason, except
// under CI (CI set in the environment), where [Main] fails instead: CI
// must run them.
package usbemu
