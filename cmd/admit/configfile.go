package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Reading a configuration file and the secret files it names is bounded,
// at start, at SIGHUP and in check-config alike: a FIFO, a device, a huge
// file or a file on a hung mount is refused within configReadTimeout rather
// than holding the daemon (issue 21, item 6: "mkfifo admit.toml; kill -HUP"
// once blocked its signal loop for good).
const (
	maxConfigSize     = 4 << 20
	maxSecretSize     = 64 << 10
	configReadTimeout = 5 * time.Second
)

// ReadConfigFile parses the file at path and reads the secret files its
// tokens name, relative to the file's directory, each as readBounded reads
// it. It does not validate; checkServe does. A file that does not decode
// (or a secret file that cannot be read) is an error listing every such
// problem.
func ReadConfigFile(path string) (*Config, error) {
	c, err := readConfigFile(context.Background(), path)
	if err != nil {
		return nil, err
	}
	if err := c.src.decode.Err(); err != nil {
		return nil, err
	}
	return c, nil
}

// readConfigFile is ReadConfigFile, given up when ctx ends, but only a file
// that cannot be read at all is an error: what is wrong inside it stays
// with the Config, so that checkServe lists it with everything else.
func readConfigFile(ctx context.Context, path string) (*Config, error) {
	data, err := readBounded(ctx, path, maxConfigSize, configReadTimeout)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	c := parseConfig(data, path)
	if !c.src.broken {
		c.loadSecrets(ctx, filepath.Dir(path))
	}
	return c, nil
}

// readBounded reads the regular file at path, of at most limit bytes,
// within timeout, or until ctx ends. A file that is not regular (a FIFO, a device, a
// directory) is refused before it is read: it is opened without blocking,
// and only a regular file is read from. A read that does not return in time
// is abandoned, and its goroutine ends when the read does.
func readBounded(ctx context.Context, path string, limit int64, timeout time.Duration) ([]byte, error) {
	return readWithin(ctx, timeout, path, func() ([]byte, error) { return readRegular(path, limit) })
}

// readWithin returns what read returns, or an error once timeout has passed
// or ctx has ended; read then runs on to its end in its own goroutine.
func readWithin(ctx context.Context, timeout time.Duration, path string, read func() ([]byte, error)) ([]byte, error) {
	type result struct {
		data []byte
		err  error
	}
	done := make(chan result, 1)
	go func() {
		data, err := read()
		done <- result{data, err}
	}()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case r := <-done:
		return r.data, r.err
	case <-t.C:
		return nil, fmt.Errorf("%s: not read within %s (a file on a mount that does not answer?)", path, timeout)
	case <-ctx.Done():
		return nil, fmt.Errorf("%s: %w", path, ctx.Err())
	}
}

func readRegular(path string, limit int64) ([]byte, error) {
	// O_NONBLOCK: opening a FIFO for reading would wait for a writer.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file but %s", path, fileKind(fi.Mode()))
	}
	tooBig := fmt.Errorf("%s is over %s; is it the right file?", path, sizeWords(limit))
	if fi.Size() > limit {
		return nil, tooBig
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, tooBig
	}
	return data, nil
}

// fileKind names what a file that is not regular is.
func fileKind(m os.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&os.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&os.ModeSocket != 0:
		return "a socket"
	case m&os.ModeCharDevice != 0:
		return "a character device"
	case m&os.ModeDevice != 0:
		return "a device"
	}
	return "not a plain file (" + m.Type().String() + ")"
}

// sizeWords writes a byte limit for people.
func sizeWords(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + " MiB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.FormatInt(n>>10, 10) + " KiB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

// loadSecrets reads secret_file of every token and webhook that has one; a
// file that cannot be read is a problem of its key (secretProblem).
func (c *Config) loadSecrets(ctx context.Context, dir string) {
	for i := range c.Tokens {
		t := &c.Tokens[i]
		if t.SecretFile == "" {
			continue
		}
		key := indexPath("tokens", i) + ".secret_file"
		if t.Secret != "" {
			c.secretProblem(key, errors.New("is set beside secret; use one of them"))
			continue
		}
		p := t.SecretFile
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		b, err := readBounded(ctx, p, maxSecretSize, configReadTimeout)
		if err != nil {
			c.secretProblem(key, err)
			continue
		}
		t.Secret = strings.TrimRight(string(b), " \t\r\n")
	}
	c.loadWebhookSecrets(ctx, dir)
	c.loadEventKeys(ctx, dir)  // codes_wiring.go
	c.loadVenueFiles(ctx, dir) // venue_wiring.go
}
