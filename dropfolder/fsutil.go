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

// free reports whether nothing is at path. An error other than "not found"
// (a name too long, no permission) is returned, so that no name is used, and
// nothing overwritten, on a doubt.
func free(path string) (bool, error) {
	_, err := os.Lstat(path)
	switch {
	case err == nil:
		return false, nil
	case errors.Is(err, fs.ErrNotExist):
		return true, nil
	}
	return false, err
}

// exists reports whether something is, or may be, at path.
func exists(path string) bool {
	ok, err := free(path)
	return !ok || err != nil
}

// maxTries bounds the search for a free name.
const maxTries = 1000

// freeName returns name, or when name or its report is taken in dir, name
// with a timestamp before its extension (and a number if that is taken too).
func freeName(dir, name string, now time.Time) (string, error) {
	ext := filepath.Ext(name)
	if ext == name {
		ext = "" // a name like ".csv" has no base
	}
	base := strings.TrimSuffix(name, ext)
	stamp := now.UTC().Format("20060102-150405")
	for i := 0; i < maxTries; i++ {
		n := name
		switch {
		case i == 1:
			n = fmt.Sprintf("%s_%s%s", base, stamp, ext)
		case i > 1:
			n = fmt.Sprintf("%s_%s-%d%s", base, stamp, i, ext)
		}
		fileFree, err := free(filepath.Join(dir, n))
		if err != nil {
			return "", err
		}
		reportFree, err := free(filepath.Join(dir, n+reportSuffix))
		if err != nil {
			return "", err
		}
		if fileFree && reportFree {
			return n, nil
		}
	}
	return "", fmt.Errorf("no free name for %s in %s", name, dir)
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
