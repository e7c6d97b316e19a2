package outbound

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/internal/atomicfile"
)

// publish writes rows as the file covering (from, end] and moves the
// position to end. The steps, so that a crash at any point neither loses
// nor repeats a use:
//
//  1. the file is written under a hidden temporary name and synced;
//  2. the state file records it as pending (its names and range);
//  3. it is renamed to its final name and the folder is synced;
//  4. the state file records the new position.
//
// After a crash between 1 and 2 the temporary file is deleted and written
// again; between 2 and 4, recover finishes the rename (the temporary file
// still there) or sees it done (the temporary name gone).
func (e *Exporter) publish(ctx context.Context, from, end uint64, rows []gate.JournalEntry) (string, int, error) {
	number := e.number + 1
	name := fileName(e.cfg.Prefix, number, e.fileTo+1, end, e.cfg.Format.ext())
	temp := "." + name + ".tmp"
	dir := e.cfg.Dir
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", 0, fmt.Errorf("outbound: export folder: %w", err)
	}
	tmpPath := filepath.Join(dir, temp)
	n, err := e.writeTemp(ctx, tmpPath, rows)
	if err != nil {
		_ = os.Remove(tmpPath)
		return "", 0, err
	}
	e.s.hook("export:temp-synced")
	prev := state{After: from, Number: e.number, FileTo: e.fileTo, At: e.lastFileAt}
	pending := prev
	pending.Pending = &pendingFile{Number: number, To: end, Name: name, Temp: temp}
	if err := e.state.save(pending); err != nil {
		_ = os.Remove(tmpPath)
		return "", 0, err
	}
	e.s.hook("export:intent-saved")
	if err := os.Rename(tmpPath, filepath.Join(dir, name)); err != nil {
		if serr := e.state.save(prev); serr != nil {
			e.recovered = false // recover decides from the folder
		} else {
			_ = os.Remove(tmpPath)
		}
		return "", 0, fmt.Errorf("outbound: publish %s: %w", name, err)
	}
	if err := atomicfile.SyncDir(dir); err != nil {
		e.recovered = false
		return "", 0, fmt.Errorf("outbound: publish %s: sync folder: %w", name, err)
	}
	e.s.hook("export:renamed")
	now := e.s.opts.Now()
	if err := e.state.save(state{After: end, Number: number, FileTo: end, At: now}); err != nil {
		// The file is out; recover will see its pending record and the
		// temporary name gone, and move on from it.
		e.recovered = false
		return "", 0, err
	}
	e.log.Info().Str("file", name).Int("rows", n).Uint64("from", e.fileTo+1).Uint64("to", end).Msg("exported")
	e.after, e.number, e.fileTo, e.lastFileAt = end, number, end, now
	return name, n, nil
}

// writeTemp writes the file and syncs it; n is the number of rows.
func (e *Exporter) writeTemp(ctx context.Context, path string, rows []gate.JournalEntry) (int, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return 0, fmt.Errorf("outbound: export file: %w", err)
	}
	bw := bufio.NewWriterSize(f, 64<<10)
	n, err := e.writeRows(ctx, bw, rows)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, fmt.Errorf("outbound: write export file: %w", err)
	}
	return n, nil
}

// recover finds the position: the state file, finished if it has a
// pending file, and the newest file in the folder (whichever is further).
// It deletes temporary files left by a crash.
func (e *Exporter) recover() error {
	st, err := e.state.load()
	if err != nil {
		return err
	}
	dir := e.cfg.Dir
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("outbound: export folder: %w", err)
	}
	if p := st.Pending; p != nil {
		tmp, final := filepath.Join(dir, p.Temp), filepath.Join(dir, p.Name)
		switch _, err := os.Lstat(tmp); {
		case err == nil:
			if err := os.Rename(tmp, final); err != nil {
				return fmt.Errorf("outbound: finish publishing %s: %w", p.Name, err)
			}
			if err := atomicfile.SyncDir(dir); err != nil {
				return fmt.Errorf("outbound: finish publishing %s: %w", p.Name, err)
			}
			e.log.Info().Str("file", p.Name).Msg("finished publishing a file an interrupted export wrote")
		case errors.Is(err, fs.ErrNotExist):
			if _, err := os.Lstat(final); errors.Is(err, fs.ErrNotExist) {
				e.log.Info().Str("file", p.Name).Msg("the last file was published and has been taken from the folder since")
			}
		default:
			return fmt.Errorf("outbound: finish publishing %s: %w", p.Name, err)
		}
		st = state{After: p.To, Number: p.Number, FileTo: p.To, At: e.s.opts.Now()}
		if err := e.state.save(st); err != nil {
			return err
		}
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("outbound: export folder: %w", err)
	}
	for _, de := range ents {
		n := de.Name()
		if strings.HasPrefix(n, "."+e.cfg.Prefix+"-") && strings.HasSuffix(n, ".tmp") {
			if err := os.Remove(filepath.Join(dir, n)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("outbound: remove %s: %w", n, err)
			}
			continue
		}
		num, _, to, ok := parseFileName(e.cfg.Prefix, e.cfg.Format.ext(), n)
		if !ok {
			continue
		}
		if to > st.After || num > st.Number || to > st.FileTo {
			e.log.Info().Str("file", n).Msg("resuming after a file newer than the state file")
			st.After, st.Number, st.FileTo = max(st.After, to), max(st.Number, num), max(st.FileTo, to)
		}
	}
	e.after, e.number, e.fileTo, e.lastFileAt = st.After, st.Number, st.FileTo, st.At
	e.recovered = true
	e.t.setPosition(st.After)
	return nil
}

// fileName is an export file's name: the prefix, the file's number and the
// journal range it covers ("north-000042-1001-1250.csv"). A file written
// with WriteEmpty when the journal has nothing new has from = to+1.
func fileName(prefix string, number, from, to uint64, ext string) string {
	return fmt.Sprintf("%s-%06d-%d-%d%s", prefix, number, from, to, ext)
}

// parseFileName reads a name fileName wrote.
func parseFileName(prefix, ext, name string) (number, from, to uint64, ok bool) {
	rest, ok := strings.CutPrefix(name, prefix+"-")
	if !ok {
		return 0, 0, 0, false
	}
	if rest, ok = strings.CutSuffix(rest, ext); !ok {
		return 0, 0, 0, false
	}
	parts := strings.Split(rest, "-")
	if len(parts) != 3 || len(parts[0]) < 6 {
		return 0, 0, 0, false
	}
	var v [3]uint64
	for i, p := range parts {
		if p == "" || p[0] == '+' {
			return 0, 0, 0, false
		}
		n, err := strconv.ParseUint(p, 10, 64)
		if err != nil {
			return 0, 0, 0, false
		}
		v[i] = n
	}
	if v[0] == 0 || v[1] == 0 || v[1]-1 > v[2] {
		return 0, 0, 0, false
	}
	return v[0], v[1], v[2], true
}
