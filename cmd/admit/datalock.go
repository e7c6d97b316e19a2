package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// dataLockFile is the file in the data directory whose lock says which
// admit holds the directory; it holds that process's pid.
const dataLockFile = "admit.pid"

// dataDirHeldError is the refusal of a data directory another admit holds.
type dataDirHeldError struct {
	Dir string
	Pid int // 0: the holder has not written its pid yet
}

func (e *dataDirHeldError) Error() string {
	if e.Pid == 0 {
		return "admit: another admit holds the data directory " + e.Dir
	}
	return fmt.Sprintf("admit: another admit (pid %d) holds the data directory %s", e.Pid, e.Dir)
}

// dataLock is the exclusive hold of one admit on its data directory. It is
// taken before the store opens: the store's own lock (Pebble's LOCK file)
// comes only after the store has cleared its temporary files, which a
// second daemon must not touch, and says no more than "resource
// temporarily unavailable". The kernel drops the lock when the process
// ends, however it ends.
type dataLock struct{ f *os.File }

// lockDataDir takes dir (creating it) for this process, or says which
// process holds it.
func lockDataDir(dir string) (*dataLock, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("admit: data directory: %w", err)
	}
	path := filepath.Join(dir, dataLockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("admit: data directory: %w", err)
	}
	// flock, not fcntl: a second open in the same process conflicts too,
	// so tests that embed two daemons see what two processes see.
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		b, _ := os.ReadFile(path)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			// A holder that has just taken the lock may not have written
			// its pid yet: then the error names no pid.
			pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
			return nil, &dataDirHeldError{Dir: dir, Pid: pid}
		}
		return nil, fmt.Errorf("admit: lock the data directory %s: %w", dir, err)
	}
	if err := f.Truncate(0); err == nil {
		_, err = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("admit: data directory: %w", err)
		}
	}
	return &dataLock{f: f}, nil
}

// Close releases the directory. The pid file stays: its content means
// nothing without the lock.
func (l *dataLock) Close() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}
