package dropfolder

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/rs/zerolog"

	"github.com/admitgate/admit/gate"
)

// watchedFile is a claimed file as its import reads it. A writer that
// paused for longer than the settle time and then went on, or a file
// replaced after it settled, would have half a file imported and reported
// done: watchedFile compares the file with what settled and with what the
// import began with, and at the end of the read fails the read when it
// changed, so the import fails and changes nothing.
type watchedFile struct {
	f       *os.File
	opened  fs.FileInfo // the file when the import began
	settled *sighting   // the file when it had settled; nil after a restart
	read    int64
	changed string // why the read failed at its end, or ""
}

func (w *watchedFile) Read(p []byte) (int, error) {
	n, err := w.f.Read(p)
	w.read += int64(n)
	if err == io.EOF {
		if why := w.change(true); why != "" {
			w.changed = why
			// A conflict, not a fault: the import service logs it as such.
			return n, gate.Errorf(gate.ECONFLICT, "the file changed while it was imported: %s", why)
		}
	}
	return n, err
}

// change says how the file differs from what the import began with, or
// from what settled, or "" when it does not; atEnd says that the read
// reached its end, so every byte should have been read.
func (w *watchedFile) change(atEnd bool) string {
	now, err := w.f.Stat()
	if err != nil {
		return fmt.Sprintf("it could not be examined again: %v", err)
	}
	switch s := w.settled; {
	case now.Size() != w.opened.Size():
		return fmt.Sprintf("it went from %d to %d bytes after it was claimed", w.opened.Size(), now.Size())
	case !now.ModTime().Equal(w.opened.ModTime()):
		return "it was written to after it was claimed"
	case atEnd && w.read != now.Size():
		return fmt.Sprintf("%d of its %d bytes were read", w.read, now.Size())
	case s != nil && s.file != nil && !os.SameFile(s.file, w.opened):
		return "it was replaced by another file after it had settled"
	case s != nil && (s.size != w.opened.Size() || !s.mtime.Equal(w.opened.ModTime())):
		return fmt.Sprintf("it changed after it had settled (%d bytes then, %d when claimed)", s.size, w.opened.Size())
	}
	return ""
}

// maxRequeues bounds how often a file that changes under its import goes
// back to settle before it is filed as failed.
const maxRequeues = 3

// requeue puts a claimed file that changed under its import (which changed
// nothing) back into the folder under its name, or a free one, to settle
// again and be imported whole. It returns false when the file came back too
// often, or cannot be put back: it is then filed as failed.
func (w *Watcher) requeue(f *folder, log *zerolog.Logger, claimed, name, why string) bool {
	f.requeued[name]++
	if f.requeued[name] > maxRequeues {
		delete(f.requeued, name)
		return false
	}
	back, err := freeName(f.Dir, name, w.opts.Now())
	if err == nil {
		err = os.Rename(claimed, filepath.Join(f.Dir, back))
	}
	if err == nil {
		err = syncDirs(f.Dir, filepath.Dir(claimed))
	}
	if err != nil {
		log.Error().Err(err).Str("why", why).Msg("the file changed while it was imported and cannot be put back to settle")
		return false
	}
	log.Warn().Str("why", why).Str("back_as", back).
		Msg("the file changed while it was imported; nothing was imported; it is imported whole once it settles again")
	return true
}

// locate returns where the claimed file opened as info is in processing/
// now: at claimed, or under the name someone renamed it to there; "" when
// it left processing/. With info nil (it could not be opened) it is at
// claimed or nowhere.
func locate(claimed string, info fs.FileInfo) string {
	if info == nil {
		if exists(claimed) {
			return claimed
		}
		return ""
	}
	if cur, err := os.Lstat(claimed); err == nil && os.SameFile(cur, info) {
		return claimed
	}
	dir := filepath.Dir(claimed)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return ""
	}
	for _, e := range entries {
		if !e.Type().IsRegular() || strings.HasSuffix(e.Name(), reportSuffix) {
			continue
		}
		if cur, err := e.Info(); err == nil && os.SameFile(cur, info) {
			return filepath.Join(dir, e.Name())
		}
	}
	return ""
}
