package dropfolder

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/admitgate/admit/gate"
)

// Folder is one watched directory: files dropped into it are imported for
// one provider with these settings.
type Folder struct {
	Dir       string       // the directory files are dropped into; created when missing
	Provider  string       // required: the provider every file belongs to
	Event     string       // the event for every line; "" takes it from the file
	PriceType string       // the price type for every line; "" takes it from the file
	Format    gate.Format  // gate.FormatAuto detects it per file
	OnError   gate.OnError // "" rejects a file with any bad line; gate.OnErrorSkip loads the good lines
}

// Validate checks the folder's settings.
func (f Folder) Validate() error {
	if f.Dir == "" {
		return gate.Errorf(gate.EINVALID, "a folder needs a dir")
	}
	req := f.request("", "")
	if err := req.Validate(); err != nil {
		return gate.Errorf(gate.EINVALID, "folder %s: %s", f.Dir, gate.ErrorMessage(err))
	}
	return nil
}

// request is the import request for a file of this folder.
func (f Folder) request(name, claim string) gate.ImportRequest {
	return gate.ImportRequest{
		Provider:  f.Provider,
		Event:     f.Event,
		PriceType: f.PriceType,
		Format:    f.Format,
		OnError:   f.OnError,
		Source:    source(name, claim),
		By:        "drop:" + f.Provider,
	}
}

// source names a claimed file in its import record. The claim makes it
// unique, so after a restart the record of an import that was under way can
// be told from one of an earlier delivery of the same file.
func source(name, claim string) string {
	return fmt.Sprintf("%s (drop %s)", name, claim)
}

// Subdirectories of a folder.
const (
	processingDir = "processing" // claimed files while they are imported
	doneDir       = "done"       // imported files and their reports
	failedDir     = "failed"     // refused files and their reports
)

// claimLayout is the time part of a claim: sortable, no path separators.
const claimLayout = "20060102T150405.000000000Z"

// claimName returns the name a file gets in processing/: its claim (the
// time, and a number that makes it unique), '_', the name it came with.
func claimName(claim, name string) string { return claim + "_" + name }

// splitClaim undoes claimName.
func splitClaim(s string) (claim, name string, ok bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == '_' {
			return s[:i], s[i+1:], i > 0 && i < len(s)-1
		}
	}
	return "", "", false
}

func newClaim(now time.Time, n int) string {
	c := now.UTC().Format(claimLayout)
	if n > 1 {
		c += fmt.Sprintf("-%d", n)
	}
	return c
}

// clean returns the folder with its directory cleaned.
func (f Folder) clean() Folder {
	f.Dir = filepath.Clean(f.Dir)
	return f
}
