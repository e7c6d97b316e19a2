package index

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// A backup is a directory laid out as the data directory it restores to:
// db/ (a Pebble checkpoint), bloom.snapshot, the further files of the data
// directory the caller names (BackupOptions.Also), and the manifest,
// backup.json (backup_manifest.go), written last.
//
// It is consistent while the store runs: Pebble's checkpoint holds every
// commit made before it, which is every admission answered before the
// backup began (each is committed with Sync before it is answered), and the
// backup waits for the journal writer to have written every refusal
// numbered before it began, so the backup's journal has no hole below that
// number. The bloom snapshot is taken with imports and admin changes held
// off (adminMu), so it reflects the checkpoint's tickets and generation and
// the restored store loads it instead of rebuilding the filter. The
// further files are copied before the checkpoint: what they record (an
// export's position in the journal) is then never ahead of the journal
// they are restored with, so an export resends a few entries rather than
// skipping any.
//
// The checkpoint's tables are hard links to the store's; the backup
// replaces them with copies, so a block the disk damages in the store is
// not damaged in the backup too (a corrupt store is what a backup is
// restored for).

// BackupOptions are what a backup records and copies besides the store.
type BackupOptions struct {
	// Admit is the admit version the manifest records.
	Admit string
	// Also names further files and folders of the data directory to copy
	// (the door devices, the exports' positions). Missing ones, and names
	// starting with a dot inside them (temporary files), are skipped.
	Also []string
}

// StoreEntry reports whether name, an entry of the data directory, belongs
// to the store itself (Backup copies it its own way, or it is temporary).
func StoreEntry(name string) bool {
	return name == "db" || name == "tmp" || strings.HasPrefix(name, bloomFile)
}

// Backup writes a consistent copy of the store into dir, which must be
// absent or empty and outside the data directory, while the store keeps
// serving: scans never wait for it, and imports and admin changes wait only
// for the checkpoint (milliseconds; a backup waits for an import in
// progress, within ctx). One backup runs at a time (ECONFLICT). On error
// what it wrote into dir is removed.
func (ix *Index) Backup(ctx context.Context, dir string, o BackupOptions) (m *Manifest, err error) {
	start := time.Now()
	if err := ix.checkBackupDir(dir); err != nil {
		return nil, err
	}
	if !ix.backupMu.TryLock() {
		return nil, gate.Errorf(gate.ECONFLICT, "another backup is running")
	}
	defer ix.backupMu.Unlock()
	// Every decision numbered from here on is after the backup began.
	began := ix.seq.Load()
	created, err := ix.makeBackupDir(dir)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			ix.removeBackup(dir, created)
		}
	}()
	for _, name := range o.Also {
		if err := ix.copyAlso(ctx, dir, name); err != nil {
			return nil, err
		}
	}
	snap, err := ix.checkpoint(ctx, dir, began)
	if err != nil {
		return nil, err
	}
	m, err = ix.finishBackup(ctx, dir, snap)
	if err != nil {
		return nil, err
	}
	m.Admit = o.Admit
	if err := writeManifest(ix.fs, dir, m); err != nil {
		return nil, diskError("backup: write the manifest", err)
	}
	ix.log.Info().Str("dir", dir).Uint64("last_seq", m.LastSeq).Uint64("began_seq", began).Int("files", len(m.Files)).
		Int64("bytes", m.Bytes()).Int64("took_ms", time.Since(start).Milliseconds()).Msg("backup written")
	return m, nil
}

// StoreID is the store's id, in hex: random, made when the store was
// created, kept by its backups and restores.
func (ix *Index) StoreID() string { return hex.EncodeToString(ix.storeID[:]) }

// checkBackupDir refuses a backup directory inside the data directory, or
// one that holds anything.
func (ix *Index) checkBackupDir(dir string) error {
	if dir == "" {
		return gate.Errorf(gate.EINVALID, "a backup needs a directory")
	}
	if Inside(dir, ix.dir) {
		return gate.Errorf(gate.EINVALID, "the backup directory %s is inside the data directory %s: back up to a directory of its own", dir, ix.dir)
	}
	names, err := ix.fs.List(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("backup: %w", err)
	}
	if len(names) > 0 {
		return gate.Errorf(gate.ECONFLICT, "the backup directory %s is not empty: back up into a new or empty directory", dir)
	}
	return nil
}

// Inside reports whether path is dir or inside it, by their absolute,
// cleaned names (symbolic links are the caller's to resolve).
func Inside(path, dir string) bool {
	p, err1 := filepath.Abs(path)
	d, err2 := filepath.Abs(dir)
	if err1 != nil || err2 != nil {
		return false
	}
	return p == d || strings.HasPrefix(p, d+string(filepath.Separator))
}

// makeBackupDir creates dir; it reports whether it did (or found it empty).
func (ix *Index) makeBackupDir(dir string) (bool, error) {
	_, err := ix.fs.Stat(dir)
	created := errors.Is(err, os.ErrNotExist)
	if err := ix.fs.MkdirAll(dir, 0o750); err != nil {
		return false, diskError("backup: create "+dir, err)
	}
	return created, nil
}

// removeBackup removes what a failed backup wrote: dir when it made it,
// else what it put inside.
func (ix *Index) removeBackup(dir string, created bool) {
	if created {
		_ = ix.fs.RemoveAll(dir)
		return
	}
	names, _ := ix.fs.List(dir)
	for _, n := range names {
		_ = ix.fs.RemoveAll(ix.fs.PathJoin(dir, n))
	}
}

// copyAlso copies the data directory's entry name (a file or a folder) into
// dir.
func (ix *Index) copyAlso(ctx context.Context, dir, name string) error {
	if !cleanRelative(name) || strings.Contains(name, "/") || StoreEntry(name) || name == ManifestFile {
		return fmt.Errorf("backup: %q is not a file of the data directory a backup copies", name)
	}
	var cp func(rel string) error
	cp = func(rel string) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		src := ix.fs.PathJoin(ix.dir, rel)
		st, err := ix.fs.Stat(src)
		if errors.Is(err, os.ErrNotExist) {
			return nil // gone (a temporary file renamed) or never there
		}
		if err != nil {
			return fmt.Errorf("backup: %w", err)
		}
		dst := ix.fs.PathJoin(dir, rel)
		if !st.IsDir() {
			if _, err := copyFile(ix.fs, src, dst); err != nil && !errors.Is(err, os.ErrNotExist) {
				return diskError("backup: copy "+rel, err)
			}
			return nil
		}
		if err := ix.fs.MkdirAll(dst, 0o750); err != nil {
			return diskError("backup: "+rel, err)
		}
		names, err := ix.fs.List(src)
		if err != nil {
			return fmt.Errorf("backup: %w", err)
		}
		for _, n := range names {
			if strings.HasPrefix(n, ".") {
				continue
			}
			if err := cp(rel + "/" + n); err != nil {
				return err
			}
		}
		return syncDir(ix.fs, dst)
	}
	return cp(name)
}

// storeSnapshot is what the checkpoint step saw of the store.
type storeSnapshot struct {
	at     time.Time
	gen    uint64
	filter *filter
}

// checkpoint waits until the journal holds every entry up to began, then,
// with imports and admin changes held off, makes Pebble's checkpoint in
// dir/db and takes the bloom filter.
func (ix *Index) checkpoint(ctx context.Context, dir string, began uint64) (storeSnapshot, error) {
	if err := ix.enter(); err != nil {
		return storeSnapshot{}, err
	}
	defer ix.exit()
	for pause := 100 * time.Microsecond; ix.wm.get() < began; pause = min(2*pause, 10*time.Millisecond) {
		select {
		case <-ctx.Done():
			return storeSnapshot{}, fmt.Errorf("backup: waiting for the journal writer: %w", ctx.Err())
		case <-ix.stop:
			return storeSnapshot{}, ErrClosed
		case <-time.After(pause):
		}
	}
	if err := ix.lockAdmin(ctx); err != nil {
		return storeSnapshot{}, fmt.Errorf("backup: %w", err)
	}
	defer ix.unlockAdmin()
	snap := storeSnapshot{at: time.Now(), gen: ix.bloomGen}
	if err := ix.db.Checkpoint(ix.fs.PathJoin(dir, "db"), pebble.WithFlushedWAL()); err != nil {
		return storeSnapshot{}, diskError("backup: checkpoint", err)
	}
	// Taken after the checkpoint: a barcode is added to the filter before
	// its record is written, so this filter holds every barcode the
	// checkpoint does.
	snap.filter = ix.filter.Load()
	return snap, nil
}

// finishBackup makes the checkpoint's tables copies of their own, writes
// the bloom snapshot, reads what the backup holds from the checkpoint
// itself (so it is known to open) and lists every file with its hash.
func (ix *Index) finishBackup(ctx context.Context, dir string, snap storeSnapshot) (*Manifest, error) {
	held, err := readBackupStore(ix.fs, ix.fs.PathJoin(dir, "db"))
	if err != nil {
		return nil, fmt.Errorf("backup: the checkpoint does not open: %w", err)
	}
	if held.storeID != ix.storeID {
		return nil, fmt.Errorf("backup: the checkpoint holds store %x, not %x", held.storeID, ix.storeID)
	}
	m := &Manifest{ManifestVersion: ManifestVersion, StoreID: hex.EncodeToString(ix.storeID[:]), Format: held.format,
		LastSeq: held.lastSeq, Tickets: held.tickets, CreatedAt: snap.at.UTC().Truncate(time.Millisecond)}
	if held.gen == snap.gen {
		data, err := encodeSnapshot(snapshotHeader{Store: ix.storeID, Gen: snap.gen, Capacity: snap.filter.capacity}, snap.filter.f)
		if err != nil {
			return nil, fmt.Errorf("backup: bloom snapshot: %w", err)
		}
		if err := writeFileAtomic(ix.fs, dir, bloomFile, data); err != nil {
			return nil, diskError("backup: bloom snapshot", err)
		}
	} else {
		// Only a change made without adminMu can get here; a restore then
		// rebuilds the filter from the tickets.
		ix.log.Warn().Msg("backup: the bloom filter changed during the checkpoint; the restored store will rebuild it")
	}
	files, err := listFiles(ix.fs, dir)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	for _, p := range files {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if p == ManifestFile {
			continue
		}
		name := ix.fs.PathJoin(dir, filepath.FromSlash(p))
		var bf BackupFile
		if strings.HasPrefix(p, "db/") && strings.HasSuffix(p, ".sst") {
			bf, err = replaceWithCopy(ix.fs, name)
		} else {
			bf, err = hashFile(ix.fs, name)
		}
		if err != nil {
			return nil, diskError("backup: "+p, err)
		}
		bf.Path = p
		m.Files = append(m.Files, bf)
	}
	if err := syncDir(ix.fs, ix.fs.PathJoin(dir, "db")); err != nil {
		return nil, diskError("backup", err)
	}
	return m, nil
}

// replaceWithCopy replaces a hard-linked file with a copy of its own (a
// file the checkpoint had to copy, onto another file system, is only
// hashed).
func replaceWithCopy(fs vfs.FS, name string) (BackupFile, error) {
	if st, err := fs.Stat(name); err == nil {
		if sys, ok := st.Sys().(*syscall.Stat_t); ok && sys.Nlink == 1 {
			return hashFile(fs, name)
		}
	}
	tmp := name + ".copy"
	bf, err := copyFile(fs, name, tmp)
	if err != nil {
		_ = fs.Remove(tmp)
		return bf, err
	}
	return bf, fs.Rename(tmp, name)
}

// backupStore is what a store's database holds, read without opening the
// store.
type backupStore struct {
	storeID [storeIDLen]byte
	format  uint64
	gen     uint64
	tickets uint64
	lastSeq uint64
}

// readBackupStore opens the database in dir read-only and reads its store
// id, format, bloom generation, ticket count and last journal entry.
func readBackupStore(fs vfs.FS, dir string) (backupStore, error) {
	var bs backupStore
	db, err := pebble.Open(dir, &pebble.Options{FS: fs, ReadOnly: true, Logger: quietPebble{}})
	if err != nil {
		return bs, err
	}
	defer db.Close()
	v, closer, err := db.Get(metaStoreID)
	if err != nil {
		return bs, fmt.Errorf("store id: %w", err)
	}
	bs.storeID, err = decodeStoreID(v)
	closer.Close()
	if err != nil {
		return bs, err
	}
	if bs.format, err = readFormat(db); err != nil {
		return bs, err
	}
	for _, kv := range []struct {
		key []byte
		to  *uint64
	}{{metaBloomGen, &bs.gen}, {metaTickets, &bs.tickets}} {
		v, closer, err := db.Get(kv.key)
		if errors.Is(err, pebble.ErrNotFound) {
			continue
		}
		if err != nil {
			return bs, err
		}
		*kv.to, err = decodeU64(v)
		closer.Close()
		if err != nil {
			return bs, fmt.Errorf("meta %s: %w", kv.key, err)
		}
	}
	it, err := db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixJournal}, UpperBound: []byte{prefixJournal + 1}})
	if err != nil {
		return bs, err
	}
	if it.Last() {
		if k := it.Key(); len(k) == 9 && bytes.HasPrefix(k, []byte{prefixJournal}) {
			bs.lastSeq, _ = decodeU64(k[1:])
		}
	}
	return bs, it.Close()
}

// quietPebble drops Pebble's lines while a backup is read back.
type quietPebble struct{}

func (quietPebble) Infof(string, ...any)  {}
func (quietPebble) Errorf(string, ...any) {}
func (quietPebble) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf(format, args...))
}
