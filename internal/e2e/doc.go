// Package e2e holds the product's own end-to-end tests: the admit binary,
// built as users build it, run as `admit serve` from a configuration whose
// lanes name devices on the emulated USB bus (internal/usbemu), and driven
// the way a venue drives it: a barcode typed on the scanner, the relay
// board's channels watched, the API asked what happened.
//
// The tests live in this package of their own because the emulated bus
// re-executes the whole test binary under libumockdev (TestMain calls
// usbemu.Main); the daemon, a child process, inherits the emulation
// through LD_PRELOAD and UMOCKDEV_DIR. Run them without make:
//
//	go test -race -run TestAdmitServeOnEmulatedUSB ./internal/e2e/
//
// ADMIT_TEST_LOG=1 copies the daemon's log to the test's output.
package e2e
