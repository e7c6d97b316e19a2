package dropfolder

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/rs/zerolog"

	"github.com/admitgate/admit/gate"
)

// Watcher imports the files dropped into its folders. Run (or Sweep, one
// pass at a time) is called from one goroutine.
type Watcher struct {
	importer gate.Importer
	folders  []*folder
	opts     Options
	log      zerolog.Logger
}

// folder is a Folder and what the watcher knows about it.
type folder struct {
	Folder
	log       zerolog.Logger
	seen      map[string]*sighting // files in Dir, by name
	requeued  map[string]int       // files put back to settle again, by name
	recovered bool                 // processing/ has been dealt with since the start
}

// sighting is what was last seen of a file waiting to settle.
type sighting struct {
	size   int64
	mtime  time.Time
	file   fs.FileInfo // what was seen, for its identity (device and inode)
	since  time.Time   // when this size and mtime were first seen
	warned bool        // a problem with it was logged already
}

// New checks the folders and creates their directories (the folder and its
// processing, done and failed subdirectories). opts may be nil.
func New(importer gate.Importer, folders []Folder, logger zerolog.Logger, opts *Options) (*Watcher, error) {
	if importer == nil {
		return nil, errors.New("dropfolder: no importer")
	}
	w := &Watcher{importer: importer, opts: opts.withDefaults(),
		log: logger.With().Str("component", "dropfolder").Logger()}
	dirs := map[string]bool{}
	for _, f := range folders {
		if err := f.Validate(); err != nil {
			return nil, err
		}
		f = f.clean()
		if dirs[f.Dir] {
			return nil, gate.Errorf(gate.EINVALID, "folder %s is configured twice", f.Dir)
		}
		dirs[f.Dir] = true
		for _, d := range []string{f.Dir, filepath.Join(f.Dir, processingDir), filepath.Join(f.Dir, doneDir), filepath.Join(f.Dir, failedDir)} {
			if err := os.MkdirAll(d, 0o750); err != nil {
				return nil, fmt.Errorf("dropfolder: %w", err)
			}
		}
		w.folders = append(w.folders, &folder{Folder: f, seen: map[string]*sighting{}, requeued: map[string]int{},
			log: w.log.With().Str("folder", f.Dir).Str("provider", f.Provider).Logger()})
	}
	return w, nil
}

// Run watches the folders until ctx ends, then returns nil. It lists them
// every Options.Poll, sooner when fsnotify reports a change, and imports
// each file once it has settled. An import under way when ctx ends is left
// in processing/ and finished by the next start.
func (w *Watcher) Run(ctx context.Context) error {
	var events <-chan fsnotify.Event
	var errs <-chan error
	if !w.opts.NoNotify {
		if n, err := w.notifier(); err != nil {
			w.log.Warn().Err(err).Msg("no file notifications; polling only")
		} else {
			defer n.Close()
			events, errs = n.Events, n.Errors
		}
	}
	// A change wakes the watcher, but not more often than every minGap: a
	// file being written sends a stream of events.
	minGap := min(250*time.Millisecond, w.opts.Poll)
	var lastSweep time.Time
	timer := time.NewTimer(0)
	defer timer.Stop()
	wake := func(d time.Duration) {
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(d)
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev := <-events:
			if !ignored(filepath.Base(ev.Name)) {
				wake(max(0, minGap-time.Since(lastSweep)))
			}
			continue
		case err := <-errs:
			w.log.Warn().Err(err).Msg("file notifications")
			continue
		case <-timer.C:
		}
		w.Sweep(ctx)
		if ctx.Err() != nil {
			return nil
		}
		lastSweep = time.Now()
		wake(w.nextWake())
	}
}

// notifier watches the folders (not their subdirectories).
func (w *Watcher) notifier() (*fsnotify.Watcher, error) {
	n, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, err
	}
	for _, f := range w.folders {
		if err := n.Add(f.Dir); err != nil {
			n.Close()
			return nil, fmt.Errorf("watch %s: %w", f.Dir, err)
		}
	}
	return n, nil
}

// nextWake is how long to wait before the next pass: the poll interval, or
// less when a file is due to have settled sooner.
func (w *Watcher) nextWake() time.Duration {
	wait := w.opts.Poll
	now := w.opts.Now()
	for _, f := range w.folders {
		for _, s := range f.seen {
			// A file due already was dealt with by the last pass (or is
			// waiting for something else): it does not hurry the next one.
			if d := s.since.Add(w.opts.Settle).Sub(now); d > 0 && d < wait {
				wait = max(d, 10*time.Millisecond)
			}
		}
	}
	return wait
}

// Sweep makes one pass over every folder: it finishes what a restart
// interrupted (first), then imports, oldest first, the files that have
// settled. Problems are logged; a file is never lost.
func (w *Watcher) Sweep(ctx context.Context) {
	for _, f := range w.folders {
		if ctx.Err() != nil {
			return
		}
		if !f.recovered {
			if err := w.recover(ctx, f); err != nil {
				if ctx.Err() == nil {
					f.log.Error().Err(err).Msg("cannot finish the imports a restart interrupted; new files wait")
				}
				w.settled(f) // keep watching them settle
				continue
			}
			f.recovered = true
		}
		for _, name := range w.settled(f) {
			if ctx.Err() != nil {
				return
			}
			w.claimAndImport(ctx, f, name)
		}
	}
}

// settled lists the folder, updates what it saw, and returns the names of
// the files whose size and mtime have not changed for the settle time,
// oldest first.
func (w *Watcher) settled(f *folder) []string {
	entries, err := os.ReadDir(f.Dir)
	if err != nil {
		f.log.Error().Err(err).Msg("cannot list the folder")
		return nil
	}
	now := w.opts.Now()
	type ready struct {
		name  string
		mtime time.Time
	}
	var out []ready
	present := map[string]bool{}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || ignored(name) {
			continue
		}
		present[name] = true
		s := f.seen[name]
		if !e.Type().IsRegular() {
			if s == nil {
				f.seen[name] = &sighting{warned: true}
				f.log.Warn().Str("file", name).Msg("not a regular file; left alone")
			}
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue // it went away; the next pass will tell
		}
		if s == nil || s.size != info.Size() || !s.mtime.Equal(info.ModTime()) || (s.file != nil && !os.SameFile(s.file, info)) {
			f.seen[name] = &sighting{size: info.Size(), mtime: info.ModTime(), file: info, since: now}
			continue
		}
		if now.Sub(s.since) < w.opts.Settle {
			continue
		}
		out = append(out, ready{name, info.ModTime()})
	}
	for name := range f.seen {
		if !present[name] {
			delete(f.seen, name)
		}
	}
	slices.SortFunc(out, func(a, b ready) int {
		if c := a.mtime.Compare(b.mtime); c != 0 {
			return c
		}
		return strings.Compare(a.name, b.name)
	})
	names := make([]string, len(out))
	for i, r := range out {
		names[i] = r.name
	}
	return names
}
