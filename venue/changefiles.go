package venue

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Import files travel through the hub's object store [BucketFiles], named
// by the hex SHA-256 of their content: the admin's upload is spooled to a
// local file while it is hashed (never held in memory), stored once, and
// every appliance fetches it to a file of its own, checking the hash,
// before importing it.

// DefaultMinFetchRate is the slowest a file may come from the hub (bytes a
// second) before a fetch is given up and tried again: a fetch's deadline
// is a minute plus its size at this rate.
const DefaultMinFetchRate = 4 << 20

// FileError is an import file the hub cannot give as its change names it:
// missing from the file store, or whose content does not hash to its name
// or has another size. An applier stops at it until an operator acts.
type FileError struct {
	File    string // the hex SHA-256 the change names
	Missing bool   // not in the file store
	Err     error
}

func (e *FileError) Error() string {
	if e.Missing {
		return fmt.Sprintf("venue: import file %s is not in the hub's file store %s (restore it there, then retry)", e.File, BucketFiles)
	}
	return fmt.Sprintf("venue: import file %s from the hub is damaged: %v", e.File, e.Err)
}

func (e *FileError) Unwrap() error { return e.Err }

// spool copies r into a new file in dir while hashing it, and returns the
// file, the hex SHA-256 and the size. A read error of r (a body over its
// limit) is returned as it is, and the file removed.
func spool(dir string, r io.Reader) (path, sum string, size int64, err error) {
	f, err := os.CreateTemp(dir, "venue-upload-*")
	if err != nil {
		return "", "", 0, fmt.Errorf("venue: spool the import file: %w", err)
	}
	path = f.Name()
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("venue: spool the import file: %w", cerr)
		}
		if err != nil {
			_ = os.Remove(path)
		}
	}()
	h := sha256.New()
	size, err = io.Copy(io.MultiWriter(f, h), &markedReader{r: r})
	if err != nil {
		var re *readError
		if errors.As(err, &re) {
			return "", "", 0, re.err
		}
		return "", "", 0, fmt.Errorf("venue: spool the import file: %w", err)
	}
	return path, hex.EncodeToString(h.Sum(nil)), size, nil
}

// markedReader marks the errors of the reader being spooled, so they are told
// apart from the spool file's.
type markedReader struct{ r io.Reader }

type readError struct{ err error }

func (e *readError) Error() string { return e.err.Error() }

func (r *markedReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF {
		err = &readError{err}
	}
	return n, err
}

// files binds the file store.
func (l *Link) files(ctx context.Context) (jetstream.ObjectStore, error) {
	ctx, cancel := context.WithTimeout(ctx, l.stepTimeout())
	defer cancel()
	obs, err := l.js.ObjectStore(ctx, BucketFiles)
	if err != nil {
		return nil, fmt.Errorf("venue: %s: %w", BucketFiles, classify(err))
	}
	return obs, nil
}

// putFile stores the spooled file at path under sum, unless the store has
// it already (a file sent twice is stored once).
func (l *Link) putFile(ctx context.Context, path, sum string, size int64) error {
	obs, err := l.files(ctx)
	if err != nil {
		return err
	}
	ictx, cancel := context.WithTimeout(ctx, l.stepTimeout())
	info, err := obs.GetInfo(ictx, sum)
	cancel()
	switch {
	case err == nil && !info.Deleted && int64(info.Size) == size:
		return nil
	case err != nil && !errors.Is(err, jetstream.ErrObjectNotFound):
		return fmt.Errorf("venue: file %s: %w", sum, classify(err))
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("venue: put file %s: %w", sum, err)
	}
	defer f.Close()
	// Each chunk's publish is bounded by the client's timeout; the whole
	// by ctx.
	if _, err := obs.Put(ctx, jetstream.ObjectMeta{Name: sum, Description: "admit import file"}, f); err != nil {
		return fmt.Errorf("venue: put file %s: %w", sum, classify(err))
	}
	return nil
}

// fetchFile copies the file named sum from the store into a new file in
// dir, checking its SHA-256 and size; the caller removes the file. A file
// the store does not have, or one that does not hash to its name, is a
// *FileError; anything else (the hub away, too slow) an error to retry.
func (l *Link) fetchFile(ctx context.Context, dir, sum string, size int64, minRate int64) (string, error) {
	obs, err := l.files(ctx)
	if err != nil {
		return "", err
	}
	// The object store bounds a whole fetch by its context's deadline.
	d := time.Minute
	if size > 0 && minRate > 0 {
		d += time.Duration(size/minRate) * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	res, err := obs.Get(ctx, sum)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return "", &FileError{File: sum, Missing: true, Err: err}
	}
	if err != nil {
		return "", fmt.Errorf("venue: fetch file %s: %w", sum, classify(err))
	}
	defer res.Close()
	f, err := os.CreateTemp(dir, "venue-fetch-*")
	if err != nil {
		return "", fmt.Errorf("venue: fetch file %s: %w", sum, err)
	}
	path := f.Name()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), res)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	fail := func(err error) (string, error) {
		_ = os.Remove(path)
		return "", err
	}
	switch {
	case errors.Is(err, jetstream.ErrDigestMismatch):
		return fail(&FileError{File: sum, Err: fmt.Errorf("its chunks do not match the digest the store holds: %w", err)})
	case err != nil:
		return fail(fmt.Errorf("venue: fetch file %s: %w", sum, classify(err)))
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != sum {
		return fail(&FileError{File: sum, Err: fmt.Errorf("its content hashes to %s", got)})
	}
	if size > 0 && n != size {
		return fail(&FileError{File: sum, Err: fmt.Errorf("%d bytes, the change says %d", n, size)})
	}
	return path, nil
}

// tempDir is dir, or the system's temporary folder.
func tempDir(dir string) string {
	if dir == "" {
		return os.TempDir()
	}
	return filepath.Clean(dir)
}

// removeLeftovers removes the files a process killed mid-way left in dir
// (a spool or a fetch of its own, pattern "venue-upload-*" or
// "venue-fetch-*"). Only a folder of the appliance's own is cleaned: the
// system's temporary folder is shared.
func removeLeftovers(dir, pattern string, log func(n int)) {
	if dir == "" {
		return
	}
	names, _ := filepath.Glob(filepath.Join(dir, pattern))
	for _, n := range names {
		_ = os.Remove(n)
	}
	if len(names) > 0 {
		log(len(names))
	}
}
