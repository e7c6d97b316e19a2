package dropfolder

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// syncDir makes the entries of dir (renames, new files) durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// writeFileAtomic writes data to path through a temporary file in the same
// directory, synced and renamed, so path holds either nothing or all of it.
func writeFileAtomic(path string, data []byte) error {
	dir, base := filepath.Split(path)
	tmp, err := os.CreateTemp(dir, "."+base+".*.tmp")
	if err != nil {
		return err
	}
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		return err
	}
	return nil
}

// exists reports whether path exists (an error other than "not found"
// counts as existing, so nothing is overwritten on a doubt).
func exists(path string) bool {
	_, err := os.Lstat(path)
	return !errors.Is(err, fs.ErrNotExist)
}

// freeName returns name, or when name or its report is taken in dir, name
// with a timestamp before its extension (and a number if that is taken too).
func freeName(dir, name string, now time.Time) string {
	taken := func(n string) bool {
		return exists(filepath.Join(dir, n)) || exists(filepath.Join(dir, n+reportSuffix))
	}
	if !taken(name) {
		return name
	}
	ext := filepath.Ext(name)
	if ext == name {
		ext = "" // a name like ".csv" has no base
	}
	base := strings.TrimSuffix(name, ext)
	stamp := now.UTC().Format("20060102-150405")
	for i := 1; ; i++ {
		n := fmt.Sprintf("%s_%s%s", base, stamp, ext)
		if i > 1 {
			n = fmt.Sprintf("%s_%s-%d%s", base, stamp, i, ext)
		}
		if !taken(n) {
			return n
		}
	}
}

// reportSuffix ends the name of a file's report.
const reportSuffix = ".report.json"

// ignored reports a name the watcher leaves alone: hidden files, files
// still being transferred, and reports.
func ignored(name string) bool {
	if strings.HasPrefix(name, ".") {
		return true
	}
	lower := strings.ToLower(name)
	for _, suffix := range []string{".part", ".tmp", ".filepart", ".partial", reportSuffix} {
		if strings.HasSuffix(lower, suffix) {
			return true
		}
	}
	return false
}
