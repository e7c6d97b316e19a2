package usbemu

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// SerialDevice emulates a USB serial device (a CDC ACM scanner, a CH340
// relay board) with a pseudo-terminal pair: the program under test opens
// Path, a stable link like /dev/serial/by-id/... to the pty's slave end,
// and the test plays the device on the master end. Unplugging closes the
// master (the program's reads and writes fail at once, as on a vanished
// ttyACM) and removes the link; Plug makes a new pty behind the same link,
// as a replugged device comes back under the same by-id name. It needs no
// harness: ptys work everywhere Go tests run. Safe for concurrent use.
type SerialDevice struct {
	Path string // the link the program opens

	mu     sync.Mutex
	master *os.File
}

// NewSerialDevice plugs in a serial device whose link is dir/name.
func NewSerialDevice(dir, name string) (*SerialDevice, error) {
	d := &SerialDevice{Path: filepath.Join(dir, name)}
	if err := d.Plug(); err != nil {
		return nil, err
	}
	return d, nil
}

// openPTY opens a new pseudo-terminal pair and returns the master and the
// slave's path.
func openPTY() (*os.File, string, error) {
	fd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, "", fmt.Errorf("usbemu: open /dev/ptmx: %w", err)
	}
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		unix.Close(fd)
		return nil, "", fmt.Errorf("usbemu: unlock pty: %w", err)
	}
	n, err := unix.IoctlGetUint32(fd, unix.TIOCGPTN)
	if err != nil {
		unix.Close(fd)
		return nil, "", fmt.Errorf("usbemu: pty number: %w", err)
	}
	return os.NewFile(uintptr(fd), "ptmx"), "/dev/pts/" + strconv.Itoa(int(n)), nil
}

// Plug connects the device: a new pty behind Path.
func (d *SerialDevice) Plug() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.master != nil {
		return fmt.Errorf("usbemu: %s is plugged in already", d.Path)
	}
	master, slave, err := openPTY()
	if err != nil {
		return err
	}
	tmp := d.Path + ".new"
	os.Remove(tmp)
	if err := os.Symlink(slave, tmp); err != nil {
		master.Close()
		return fmt.Errorf("usbemu: link %s: %w", d.Path, err)
	}
	if err := os.Rename(tmp, d.Path); err != nil {
		master.Close()
		return fmt.Errorf("usbemu: link %s: %w", d.Path, err)
	}
	d.master = master
	return nil
}

// Unplug disconnects the device: its link goes, and the program's open
// port hangs up.
func (d *SerialDevice) Unplug() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.master == nil {
		return nil
	}
	os.Remove(d.Path)
	err := d.master.Close()
	d.master = nil
	return err
}

func (d *SerialDevice) file() (*os.File, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.master == nil {
		return nil, fmt.Errorf("usbemu: %s is unplugged", d.Path)
	}
	return d.master, nil
}

// Send writes what the device sends to the program.
func (d *SerialDevice) Send(p []byte) error {
	f, err := d.file()
	if err != nil {
		return err
	}
	_, err = f.Write(p)
	return err
}

// Receive reads exactly n bytes the program wrote to the device, waiting
// at most timeout.
func (d *SerialDevice) Receive(n int, timeout time.Duration) ([]byte, error) {
	f, err := d.file()
	if err != nil {
		return nil, err
	}
	buf := make([]byte, n)
	deadline := time.Now().Add(timeout)
	got := 0
	for got < n {
		left := time.Until(deadline)
		if left <= 0 {
			return buf[:got], fmt.Errorf("usbemu: %s: %d of %d bytes within %v", d.Path, got, n, timeout)
		}
		fds := []unix.PollFd{{Fd: int32(f.Fd()), Events: unix.POLLIN}}
		if _, err := unix.Poll(fds, int(left.Milliseconds())+1); err != nil && !errors.Is(err, unix.EINTR) {
			return buf[:got], err
		}
		if fds[0].Revents&unix.POLLIN == 0 {
			continue
		}
		m, err := unix.Read(int(f.Fd()), buf[got:])
		if err != nil && !errors.Is(err, unix.EAGAIN) && !errors.Is(err, unix.EINTR) {
			return buf[:got], fmt.Errorf("usbemu: %s: %w", d.Path, err)
		}
		if m > 0 {
			got += m
		}
	}
	return buf, nil
}

// Close unplugs the device for good.
func (d *SerialDevice) Close() error { return d.Unplug() }
