package index

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/admitgate/admit/gate"
	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// Restore copies the backup in dir into dataDir, which must hold no store
// (no db/; the caller, which knows what else may lie there, checks that
// it is otherwise empty) and no file the backup holds. Nothing must have
// the data directory open. Every file is checked against the manifest's
// size and SHA-256 as it is copied, into a folder of its own inside
// dataDir that is moved into place only once all of it is there and
// synced: a damaged or incomplete backup, or a full disk, leaves dataDir as
// it was. A backup of a newer store format than this admit reads is
// refused (restore it with a newer admit).
func Restore(fs vfs.FS, dir, dataDir string) (*Manifest, error) {
	m, err := ReadManifest(fs, dir)
	if err != nil {
		return nil, err
	}
	if m.Format > StoreFormat {
		return nil, gate.Errorf(gate.EINVALID, "%s holds a store of admit format %d; this admit reads up to %d: restore it with a newer admit",
			dir, m.Format, StoreFormat)
	}
	if Inside(dataDir, dir) || Inside(dir, dataDir) {
		return nil, gate.Errorf(gate.EINVALID, "the backup %s and the data directory %s must not hold each other", dir, dataDir)
	}
	if err := fs.MkdirAll(dataDir, 0o750); err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	tops := map[string]bool{}
	for _, bf := range m.Files {
		tops[strings.SplitN(bf.Path, "/", 2)[0]] = true
	}
	tops["db"] = true
	for top := range tops {
		if _, err := fs.Stat(fs.PathJoin(dataDir, top)); err == nil {
			return nil, gate.Errorf(gate.ECONFLICT, "%s already holds %s: restore only into an empty data directory", dataDir, top)
		} else if !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("restore: %w", err)
		}
	}
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	stage := fs.PathJoin(dataDir, ".restore-"+hex.EncodeToString(rnd[:]))
	defer func() { _ = fs.RemoveAll(stage) }()
	dirs := map[string]bool{}
	for _, bf := range m.Files {
		to := fs.PathJoin(stage, filepath.FromSlash(bf.Path))
		parent := fs.PathDir(to)
		if !dirs[parent] {
			if err := fs.MkdirAll(parent, 0o750); err != nil {
				return nil, diskError("restore", err)
			}
			dirs[parent] = true
		}
		got, err := copyFile(fs, fs.PathJoin(dir, filepath.FromSlash(bf.Path)), to)
		if errors.Is(err, os.ErrNotExist) {
			return nil, gate.Errorf(gate.EINVALID, "the backup %s lacks %s, which its manifest lists", dir, bf.Path)
		}
		if err != nil {
			return nil, diskError("restore: "+bf.Path, err)
		}
		if got.Size != bf.Size || got.SHA256 != bf.SHA256 {
			return nil, gate.Errorf(gate.EINVALID, "the backup %s is damaged: %s is not what its manifest says (%d bytes, SHA-256 %.12s…; the manifest: %d bytes, %.12s…)",
				dir, bf.Path, got.Size, got.SHA256, bf.Size, bf.SHA256)
		}
	}
	for d := range dirs {
		if err := syncDir(fs, d); err != nil {
			return nil, diskError("restore", err)
		}
	}
	if err := forgetVenueSince(fs, fs.PathJoin(stage, "db")); err != nil {
		return nil, err
	}
	// Into place, the store last: a restore cut short here leaves no store,
	// only files a second restore refuses by name.
	var moved []string
	for top := range tops {
		if top == "db" {
			continue
		}
		if err := fs.Rename(fs.PathJoin(stage, top), fs.PathJoin(dataDir, top)); err != nil {
			return nil, fmt.Errorf("restore: %w", err)
		}
		moved = append(moved, top)
	}
	if err := fs.Rename(fs.PathJoin(stage, "db"), fs.PathJoin(dataDir, "db")); err != nil {
		for _, top := range moved {
			_ = fs.RemoveAll(fs.PathJoin(dataDir, top))
		}
		return nil, fmt.Errorf("restore: %w", err)
	}
	if err := syncDir(fs, dataDir); err != nil {
		return nil, diskError("restore", err)
	}
	return m, nil
}

// forgetVenueSince deletes, from the restored store at dir, when the store
// first joined a venue (vsince, venue.go). The hub holds this appliance's
// writes made after the backup, which the restored journal does not hold:
// with vsince kept they would be taken for phantom claims and released at
// the hub, undoing admissions that happened. Without it the store joins the
// venue anew at its next start, and learns those writes as anyone's. A
// store that never joined a venue is left untouched.
func forgetVenueSince(fs vfs.FS, dir string) error {
	db, err := pebble.Open(dir, &pebble.Options{FS: fs, Logger: quietPebble{}})
	if err != nil {
		return fmt.Errorf("restore: open the restored store: %w", err)
	}
	_, closer, err := db.Get(metaVenueSince)
	switch {
	case errors.Is(err, pebble.ErrNotFound):
		err = nil
	case err == nil:
		_ = closer.Close()
		err = db.Delete(metaVenueSince, pebble.Sync)
	}
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return diskError("restore: forget when the store joined its venue", err)
	}
	return nil
}
