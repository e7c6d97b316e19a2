package index

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// ManifestFile names a backup's manifest. It is written last: a directory
// without one is not a backup (one cut short), and Restore refuses it.
const ManifestFile = "backup.json"

// ManifestVersion is the version of the manifest this admit writes and the
// newest it reads.
const ManifestVersion = 1

// Manifest describes a backup: what it holds and each file's SHA-256, which
// Restore checks.
type Manifest struct {
	ManifestVersion int `json:"manifest_version"`
	// Admit is the version of the admit that made it.
	Admit string `json:"admit_version"`
	// StoreID is the store's id (hex); Format its format (StoreFormat).
	StoreID string `json:"store_id"`
	Format  uint64 `json:"store_format"`
	// LastSeq is the last journal entry the backup holds; every decision up
	// to the one numbered when the backup began is in it.
	LastSeq uint64 `json:"last_seq"`
	// Tickets is how many barcodes the store held.
	Tickets uint64 `json:"tickets"`
	// CreatedAt is when the store was copied (Pebble's checkpoint).
	CreatedAt time.Time `json:"created_at"`
	// Files are every file of the backup but the manifest, in order.
	Files []BackupFile `json:"files"`
}

// BackupFile is one file of a backup.
type BackupFile struct {
	// Path is the file's place in the backup directory, and in the data
	// directory it restores to, with slashes.
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Bytes is the size of the backup's files.
func (m *Manifest) Bytes() int64 {
	var n int64
	for _, f := range m.Files {
		n += f.Size
	}
	return n
}

// ReadManifest reads and checks the manifest of the backup in dir; it
// does not read the files (Restore checks them as it copies).
func ReadManifest(fs vfs.FS, dir string) (*Manifest, error) {
	f, err := fs.Open(fs.PathJoin(dir, ManifestFile))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, gate.Errorf(gate.EINVALID, "%s holds no %s: it is not a backup, or one that did not finish", dir, ManifestFile)
		}
		return nil, err
	}
	defer f.Close()
	var m Manifest
	dec := json.NewDecoder(io.LimitReader(f, 64<<20))
	if err := dec.Decode(&m); err != nil {
		return nil, gate.Errorf(gate.EINVALID, "%s: the manifest is damaged: %v", fs.PathJoin(dir, ManifestFile), err)
	}
	if m.ManifestVersion < 1 || m.ManifestVersion > ManifestVersion {
		return nil, gate.Errorf(gate.EINVALID, "%s: manifest version %d; this admit reads up to %d: restore it with a newer admit",
			dir, m.ManifestVersion, ManifestVersion)
	}
	seen := map[string]bool{}
	for _, bf := range m.Files {
		if _, herr := hex.DecodeString(bf.SHA256); herr != nil || len(bf.SHA256) != 2*sha256.Size ||
			!cleanRelative(bf.Path) || bf.Path == ManifestFile || seen[bf.Path] || bf.Size < 0 {
			return nil, gate.Errorf(gate.EINVALID, "%s: the manifest lists a bad file %q", dir, bf.Path)
		}
		seen[bf.Path] = true
	}
	if !slices.ContainsFunc(m.Files, func(bf BackupFile) bool { return strings.HasPrefix(bf.Path, "db/MANIFEST-") }) {
		return nil, gate.Errorf(gate.EINVALID, "%s: the manifest lists no store (db/MANIFEST-*)", dir)
	}
	return &m, nil
}

// writeManifest writes m into dir atomically.
func writeManifest(fs vfs.FS, dir string, m *Manifest) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(fs, dir, ManifestFile, append(b, '\n'))
}

// cleanRelative reports whether p is a clean relative slash path that stays
// inside its directory.
func cleanRelative(p string) bool {
	return p != "" && p != "." && path.Clean(p) == p && !path.IsAbs(p) && p != ".." && !strings.HasPrefix(p, "../") &&
		!strings.Contains(p, "\\")
}

// hashingWriter counts and hashes what passes through it.
type hashingWriter struct {
	h hash.Hash
	n int64
}

func (w *hashingWriter) Write(p []byte) (int, error) {
	w.h.Write(p)
	w.n += int64(len(p))
	return len(p), nil
}

func (w *hashingWriter) sum() string { return hex.EncodeToString(w.h.Sum(nil)) }

// copyFile copies src to dst (which it creates), synced, and returns the
// size and SHA-256 of what it copied.
func copyFile(fs vfs.FS, src, dst string) (BackupFile, error) {
	in, err := fs.Open(src)
	if err != nil {
		return BackupFile{}, err
	}
	defer in.Close()
	out, err := fs.Create(dst, vfs.WriteCategoryUnspecified)
	if err != nil {
		return BackupFile{}, err
	}
	hw := &hashingWriter{h: sha256.New()}
	// The hash first: a file system may scribble over what it was given
	// once written (Pebble's in-memory one does, under invariants).
	_, err = io.CopyBuffer(io.MultiWriter(hw, out), in, make([]byte, 256<<10))
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return BackupFile{}, err
	}
	return BackupFile{Size: hw.n, SHA256: hw.sum()}, nil
}

// hashFile returns the size and SHA-256 of a file.
func hashFile(fs vfs.FS, name string) (BackupFile, error) {
	f, err := fs.Open(name)
	if err != nil {
		return BackupFile{}, err
	}
	defer f.Close()
	hw := &hashingWriter{h: sha256.New()}
	if _, err := io.CopyBuffer(hw, f, make([]byte, 256<<10)); err != nil {
		return BackupFile{}, err
	}
	return BackupFile{Size: hw.n, SHA256: hw.sum()}, nil
}

// listFiles returns the files under dir (recursively), as slash paths
// relative to it, sorted.
func listFiles(fs vfs.FS, dir string) ([]string, error) {
	var out []string
	var walk func(rel string) error
	walk = func(rel string) error {
		names, err := fs.List(fs.PathJoin(dir, rel))
		if err != nil {
			return err
		}
		for _, n := range names {
			p := n
			if rel != "" {
				p = rel + "/" + n
			}
			st, err := fs.Stat(fs.PathJoin(dir, p))
			if err != nil {
				return err
			}
			if st.IsDir() {
				if err := walk(p); err != nil {
					return err
				}
				continue
			}
			out = append(out, p)
		}
		return nil
	}
	if err := walk(""); err != nil {
		return nil, err
	}
	slices.Sort(out)
	return out, nil
}

// syncDir makes a directory's entries durable.
func syncDir(fs vfs.FS, dir string) error {
	d, err := fs.OpenDir(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// diskError gives a full disk the code that says so.
func diskError(what string, err error) error {
	if errors.Is(err, syscall.ENOSPC) {
		return gate.Errorf(gate.ENOSPACE, "%s: the disk is full", what)
	}
	return fmt.Errorf("%s: %w", what, err)
}
