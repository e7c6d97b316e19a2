package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/rs/zerolog"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/httpapi"
	"github.com/admitgate/admit/index"
)

// admit backup and admit restore, and POST /v1/backup's side in the daemon.
// A backup is a directory laid out as the data directory it restores to
// (index/backup.go): the store, the bloom snapshot, and every other entry
// of the data directory (the door devices, the exports' positions) but the
// lock file, temporary files and names starting with a dot.

// backupExtras lists the entries of the data directory a backup copies
// besides the store.
func backupExtras(dataDir string) ([]string, error) {
	entries, err := os.ReadDir(dataDir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		n := e.Name()
		if index.StoreEntry(n) || n == dataLockFile || strings.HasPrefix(n, ".") || n == index.ManifestFile {
			continue
		}
		out = append(out, n)
	}
	return out, nil
}

// resolvePath returns path absolute, with the symbolic links of the part of
// it that exists resolved, so that two names of one place compare equal.
func resolvePath(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	rest := ""
	for p := abs; ; p = filepath.Dir(p) {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			return filepath.Join(r, rest), nil
		}
		if p == filepath.Dir(p) {
			return abs, nil
		}
		rest = filepath.Join(filepath.Base(p), rest)
	}
}

// checkBackupTarget returns dir resolved, refusing it inside dataDir.
func checkBackupTarget(dir, dataDir string) (string, error) {
	d, err := resolvePath(dir)
	if err != nil {
		return "", gate.Errorf(gate.EINVALID, "the backup directory %q: %v", dir, err)
	}
	data, err := resolvePath(dataDir)
	if err != nil {
		return "", err
	}
	if index.Inside(d, data) {
		return "", gate.Errorf(gate.EINVALID, "the backup directory %s is inside the data directory %s: back up to a directory of its own", dir, dataDir)
	}
	return d, nil
}

// backupResponse is what POST /v1/backup and admit backup report.
func backupResponse(dir string, m *index.Manifest, took time.Duration) httpapi.BackupResponse {
	return httpapi.BackupResponse{Dir: dir, StoreID: m.StoreID, StoreFormat: m.Format, LastSeq: m.LastSeq, Tickets: m.Tickets,
		Files: len(m.Files), Bytes: m.Bytes(), CreatedAt: m.CreatedAt, TookMs: took.Milliseconds()}
}

// backupStore backs the open store ix of dataDir up into dir.
func backupStore(ctx context.Context, ix *index.Index, dataDir, dir string) (httpapi.BackupResponse, error) {
	start := time.Now()
	dir, err := checkBackupTarget(dir, dataDir)
	if err != nil {
		return httpapi.BackupResponse{}, err
	}
	also, err := backupExtras(dataDir)
	if err != nil {
		return httpapi.BackupResponse{}, fmt.Errorf("backup: %w", err)
	}
	m, err := ix.Backup(ctx, dir, index.BackupOptions{Admit: buildInfo().Version, Also: also})
	if err != nil {
		return httpapi.BackupResponse{}, err
	}
	return backupResponse(dir, m, time.Since(start)), nil
}

// backup is POST /v1/backup (httpapi.Config.Backup).
func (d *Daemon) backup(ctx context.Context, dir string) (httpapi.BackupResponse, error) {
	ix := d.store.get()
	if ix == nil {
		return httpapi.BackupResponse{}, gate.Errorf(gate.EUNAVAILABLE, errStoreNotOpen)
	}
	return backupStore(ctx, ix, d.cfg.DataDir, dir)
}

// parseOneArg parses flags that may come before or after the one
// positional argument (admit restore BACKUP -data-dir D) and returns it;
// none or more than one is a usage error that says wrong.
func parseOneArg(fs *flag.FlagSet, args []string, wrong string) (string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return "", err
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(pos) != 1 {
		return "", usageError(fs, errors.New(wrong))
	}
	return pos[0], nil
}

// dataDirFlags are the flags that name a stopped appliance's data
// directory: -data-dir, or the data_dir of -config.
type dataDirFlags struct {
	dataDir, config string
}

func (f *dataDirFlags) set(fs *flag.FlagSet) {
	fs.StringVar(&f.dataDir, "data-dir", "", "the data directory of a stopped appliance")
	fs.StringVar(&f.config, "config", "", "read data_dir from this configuration file (-data-dir overrides it)")
}

// resolve returns the data directory ("" when neither flag is given).
func (f *dataDirFlags) resolve(ctx context.Context) (string, error) {
	if f.dataDir != "" || f.config == "" {
		return f.dataDir, nil
	}
	c, err := readConfigFile(ctx, f.config)
	if err != nil {
		return "", err
	}
	return c.DataDir, nil
}

const backupUsage = `Usage: admit backup [flags] DIR

Write a consistent copy of the store into DIR (absent or empty, outside the
data directory): the store, the bloom filter's snapshot, the door devices,
the exports' positions and backup.json, the manifest with every file's
SHA-256. Restore it with admit restore.

By default the running appliance writes it (ADMIT_URL, ADMIT_TOKEN of an
admin), while it serves: DIR is a path on the appliance, writable by the
user admit runs as. With -data-dir (or -config) admit backs up a stopped
appliance's data directory itself.`

// backupCmd is admit backup.
func (m *Main) backupCmd(ctx context.Context, args []string) error {
	var cf clientFlags
	var df dataDirFlags
	fs := m.flags("backup", backupUsage)
	m.clientFlagSet(fs, &cf)
	df.set(fs)
	target, err := parseOneArg(fs, args, "backup takes one directory")
	if err != nil {
		return err
	}
	dataDir, err := df.resolve(ctx)
	if err != nil {
		return err
	}
	var res httpapi.BackupResponse
	if dataDir != "" {
		if res, err = offlineBackup(ctx, dataDir, target, m.Stderr); err != nil {
			return err
		}
	} else {
		dir, err := filepath.Abs(target)
		if err != nil {
			return err
		}
		body := strings.NewReader(fmt.Sprintf(`{"dir":%q}`, dir))
		if _, err := cf.call(ctx, "POST", "/v1/backup", body, &res); err != nil {
			return err
		}
	}
	fmt.Fprintf(m.Stdout, "backup of store %s written to %s: %d files, %s, format %d, journal up to %d, %d tickets, in %s\n",
		res.StoreID, res.Dir, res.Files, byteSize(res.Bytes), res.StoreFormat, res.LastSeq, res.Tickets,
		(time.Duration(res.TookMs) * time.Millisecond).String())
	return nil
}

// byteSize writes n in the largest unit it fills.
func byteSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// storeToolOptions are the store's options for the tools that open a
// stopped appliance's store: no warm-up (the daemon does it at its start),
// no guest waiting on a commit (a slow disk is waited for), warnings only,
// on stderr.
func storeToolOptions(stderr io.Writer) *index.Options {
	log := zerolog.New(zerolog.ConsoleWriter{Out: stderr, TimeFormat: "15:04:05.000"}).Level(zerolog.WarnLevel).With().Timestamp().Logger()
	return &index.Options{Logger: log, DisableWALWarmup: true, DisableCacheWarmup: true, CommitTimeout: time.Minute}
}

// offlineBackup backs up the store of a stopped appliance.
func offlineBackup(ctx context.Context, dataDir, dir string, stderr io.Writer) (httpapi.BackupResponse, error) {
	if _, err := os.Stat(filepath.Join(dataDir, "db")); err != nil {
		return httpapi.BackupResponse{}, fmt.Errorf("backup: no store in %s: %w", dataDir, err)
	}
	lock, err := lockDataDir(dataDir)
	if err != nil {
		return httpapi.BackupResponse{}, stopFirst(err, "back it up with admit backup DIR (no -data-dir): the running appliance writes it")
	}
	defer lock.Close()
	ix, err := index.Open(dataDir, storeToolOptions(stderr))
	if err != nil {
		return httpapi.BackupResponse{}, err
	}
	res, err := backupStore(ctx, ix, dataDir, dir)
	if cerr := ix.Close(); err == nil && cerr != nil {
		err = cerr
	}
	return res, err
}

// stopFirst adds what to do to the refusal of a data directory another
// admit holds.
func stopFirst(err error, what string) error {
	var held *dataDirHeldError
	if errors.As(err, &held) {
		return fmt.Errorf("%w: %s", err, what)
	}
	return err
}

const restoreUsage = `Usage: admit restore BACKUP -data-dir DIR

Bring a backup (made by admit backup) back into the data directory of a
stopped appliance. The data directory must be empty or absent: a store is
never overwritten (move the old directory away first). Every file is
checked against the backup's manifest before the store is put in place,
and the restored store is opened once to check it. Run it as the user
admit runs as (sudo -u admit), or as root into a directory that user owns.`

// restoreCmd is admit restore.
func (m *Main) restoreCmd(ctx context.Context, args []string) error {
	var df dataDirFlags
	fs := m.flags("restore", restoreUsage)
	df.set(fs)
	backupDir, err := parseOneArg(fs, args, "restore takes one backup directory")
	if err != nil {
		return err
	}
	dataDir, err := df.resolve(ctx)
	if err != nil {
		return err
	}
	if dataDir == "" {
		return usageError(fs, errors.New("restore needs -data-dir (or -config)"))
	}
	if _, err := index.ReadManifest(vfs.Default, backupDir); err != nil {
		return err
	}
	owner, ownerErr := os.Stat(dataDir)
	if err := checkRestoreTarget(dataDir); err != nil {
		return err
	}
	lock, err := lockDataDir(dataDir)
	if err != nil {
		return stopFirst(err, "stop it before restoring")
	}
	defer lock.Close()
	if err := checkRestoreTarget(dataDir); err != nil { // under the lock
		return err
	}
	man, err := index.Restore(vfs.Default, backupDir, dataDir)
	if err != nil {
		return err
	}
	ix, err := index.Open(dataDir, storeToolOptions(m.Stderr))
	if err != nil {
		return fmt.Errorf("restore: the restored store does not open: %w", err)
	}
	st := ix.Stats()
	got := ix.StoreID()
	if err := ix.Close(); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if got != man.StoreID || st.LastSeq != man.LastSeq {
		return fmt.Errorf("restore: the restored store is %s with its journal up to %d; the backup says %s up to %d", got, st.LastSeq, man.StoreID, man.LastSeq)
	}
	if ownerErr == nil {
		if err := chownLike(dataDir, owner); err != nil {
			return fmt.Errorf("restore: %w", err)
		}
	} else if _, err := user.Lookup("admit"); err == nil && os.Geteuid() == 0 {
		fmt.Fprintf(m.Stderr, "the restored files belong to root: chown -R admit:admit %s before starting admit as user admit\n", dataDir)
	}
	fmt.Fprintf(m.Stdout, "restored store %s into %s: format %d, journal up to %d, %d tickets, backed up %s by admit %s\n",
		man.StoreID, dataDir, man.Format, man.LastSeq, st.Tickets, man.CreatedAt.Format(time.RFC3339), man.Admit)
	return nil
}

// checkRestoreTarget refuses a data directory that holds anything but the
// lock file.
func checkRestoreTarget(dataDir string) error {
	entries, err := os.ReadDir(dataDir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var names []string
	for _, e := range entries {
		if e.Name() != dataLockFile {
			names = append(names, e.Name())
		}
	}
	if len(names) > 0 {
		slices.Sort(names)
		if len(names) > 5 {
			names = append(names[:5], "…")
		}
		return gate.Errorf(gate.ECONFLICT, "%s is not empty (%s): restore only into an empty or absent data directory; move it away first",
			dataDir, strings.Join(names, ", "))
	}
	return nil
}

// chownLike gives everything under dir the owner of like (the data
// directory as it was before the restore), when run as root: a restore by
// root into admit's directory leaves files admit can write.
func chownLike(dir string, like os.FileInfo) error {
	st, ok := like.Sys().(*syscall.Stat_t)
	if !ok || os.Geteuid() != 0 || (st.Uid == 0 && st.Gid == 0) {
		return nil
	}
	return filepath.WalkDir(dir, func(p string, _ os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, int(st.Uid), int(st.Gid))
	})
}
