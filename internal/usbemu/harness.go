package usbemu

import (
	"bufio"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"testing"
)

//go:embed harness.py
var harnessPy []byte

const (
	// envFD names the inherited control socket; set only under the harness.
	envFD = "ADMIT_USBEMU_FD"
	// envStatus names the file the harness writes its reason to when the
	// emulation cannot run here.
	envStatus = "ADMIT_USBEMU_STATUS"
	// exitUnavailable is the harness's exit status when it could not start.
	exitUnavailable = 77
)

// ErrUnavailable is returned, wrapped with the reason, when the emulated bus
// cannot run on this machine.
var ErrUnavailable = errors.New("usbemu: emulated USB unavailable")

var (
	ctlMu       sync.Mutex
	ctlConn     net.Conn
	ctlReader   *bufio.Reader
	unavailable error // why there is no harness, when there is none
)

// Main runs a package's tests on the emulated USB bus and exits. Call it
// from TestMain:
//
//	func TestMain(m *testing.M) { usbemu.Main(m) }
//
// When the test binary is not yet under the harness, Main starts the
// harness (python3 with libumockdev) and re-executes the test binary under
// it with LD_PRELOAD=libumockdev-preload.so.0 and UMOCKDEV_DIR set, passing
// its exit status through. When the harness cannot run (the Debian packages
// are missing) the tests run without it and [Start] skips the tests that
// need it, except under CI (CI set in the environment), where Main fails.
func Main(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if fd := os.Getenv(envFD); fd != "" {
		if err := connect(fd); err != nil {
			fmt.Fprintf(os.Stderr, "%v\n", err)
			return 1
		}
		return m.Run()
	}
	code, err := reexec()
	if err == nil {
		return code
	}
	if os.Getenv("CI") != "" {
		fmt.Fprintf(os.Stderr, "%v\nCI must run the emulated-USB tests: install the packages with scripts/deps.sh test\n", err)
		return 1
	}
	unavailable = err
	return m.Run()
}

func connect(fd string) error {
	n, err := strconv.Atoi(fd)
	if err != nil {
		return fmt.Errorf("usbemu: %s=%q: %w", envFD, fd, err)
	}
	f := os.NewFile(uintptr(n), "usbemu-control")
	c, err := net.FileConn(f)
	f.Close()
	if err != nil {
		return fmt.Errorf("usbemu: control socket: %w", err)
	}
	ctlConn = c
	ctlReader = bufio.NewReader(c)
	return nil
}

// python returns the interpreter that has python3-gi: $ADMIT_USBEMU_PYTHON,
// else Debian's, not one a version manager put first on PATH.
func python() string {
	if p := os.Getenv("ADMIT_USBEMU_PYTHON"); p != "" {
		return p
	}
	if _, err := os.Stat("/usr/bin/python3"); err == nil {
		return "/usr/bin/python3"
	}
	if p, err := exec.LookPath("python3"); err == nil {
		return p
	}
	return "python3"
}

// reexec runs this test binary again under the harness and returns its
// exit status, or an error wrapping ErrUnavailable when the harness could
// not start.
func reexec() (int, error) {
	dir, err := os.MkdirTemp("", "usbemu-")
	if err != nil {
		return 0, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	defer os.RemoveAll(dir)
	script := filepath.Join(dir, "harness.py")
	if err := os.WriteFile(script, harnessPy, 0o600); err != nil {
		return 0, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	self, err := os.Executable()
	if err != nil {
		return 0, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	status := filepath.Join(dir, "status")
	args := append([]string{script, "--", self}, os.Args[1:]...)
	cmd := exec.Command(python(), args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), envStatus+"="+status, "LD_PRELOAD="+preloadEnv())
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}

	// Pdeathsig fires when the thread that started the child exits: keep
	// it for the child's life.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("%w: %s: %v", ErrUnavailable, python(), err)
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT)
	go func() {
		for s := range sigs {
			cmd.Process.Signal(s)
		}
	}()
	err = cmd.Wait()
	signal.Stop(sigs)
	close(sigs)
	code := cmd.ProcessState.ExitCode()
	if err != nil && code < 0 {
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal()), nil
		}
		return 1, nil
	}
	if code == exitUnavailable {
		if reason, rerr := os.ReadFile(status); rerr == nil && len(reason) > 0 {
			return 0, fmt.Errorf("%w: %s", ErrUnavailable, reason)
		}
	}
	return code, nil
}

// Available reports whether the emulated bus is running, and why not.
func Available() error {
	if ctlConn != nil {
		return nil
	}
	if unavailable != nil {
		return unavailable
	}
	return fmt.Errorf("%w: the test binary is not running under the harness (call usbemu.Main from TestMain)", ErrUnavailable)
}

// call sends one request and decodes the answer into out (which may be nil).
func call(req map[string]any, out any) error {
	ctlMu.Lock()
	defer ctlMu.Unlock()
	if ctlConn == nil {
		return Available()
	}
	line, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("usbemu: %v: %w", req["op"], err)
	}
	if _, err := ctlConn.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("usbemu: %v: %w", req["op"], err)
	}
	answer, err := ctlReader.ReadBytes('\n')
	if err != nil {
		return fmt.Errorf("usbemu: %v: %w", req["op"], err)
	}
	var status struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal(answer, &status); err != nil {
		return fmt.Errorf("usbemu: %v: answer %q: %w", req["op"], answer, err)
	}
	if !status.OK {
		return fmt.Errorf("usbemu: %v: %s", req["op"], status.Error)
	}
	if out != nil {
		if err := json.Unmarshal(answer, out); err != nil {
			return fmt.Errorf("usbemu: %v: answer %q: %w", req["op"], answer, err)
		}
	}
	return nil
}

// preloadEnv returns LD_PRELOAD with libumockdev's preload library first:
// the harness itself runs under it, as libumockdev's uevent sender reads the
// testbed's sysfs through it.
func preloadEnv() string {
	if old := os.Getenv("LD_PRELOAD"); old != "" {
		return preloadLib + " " + old
	}
	return preloadLib
}

const preloadLib = "libumockdev-preload.so.0"
