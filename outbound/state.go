package outbound

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/admitgate/admit/internal/atomicfile"
)

// state is what a target keeps in its state file: its position in the
// journal and, for an export, the file it is about to publish.
type state struct {
	// After is the last journal sequence delivered: the next delivery starts
	// at After+1.
	After uint64 `json:"after"`
	// Number is the last export file's number, and FileTo the last journal
	// sequence it covers (exports only). The next file covers FileTo+1 on,
	// also the entries after it passed over without a file (no use in
	// them), so the files' ranges follow each other without a gap.
	Number uint64 `json:"number,omitempty"`
	FileTo uint64 `json:"file_to,omitempty"`
	// At is when the position last moved.
	At time.Time `json:"at,omitzero"`
	// Pending is an export file written and synced under its temporary name
	// but perhaps not yet renamed (exports only): see Exporter.recover.
	Pending *pendingFile `json:"pending,omitempty"`
}

// pendingFile is an export file between its fsync and its rename.
type pendingFile struct {
	Number uint64 `json:"number"`
	To     uint64 `json:"to"`   // the last journal sequence it covers
	Name   string `json:"name"` // its final name
	Temp   string `json:"temp"` // its temporary name, in the same folder
}

// positions keeps a target's state. stateFile is the one implementation
// today; in a venue a second one will keep the state at the hub (saved with
// compare-and-set on its revision, so a deposed appliance cannot move it),
// so that whichever appliance is elected resumes it (see doc.go).
type positions interface {
	load() (state, error)
	save(st state) error
}

var _ positions = stateFile{}

// stateFile is a target's state, kept in one small JSON file replaced
// atomically.
type stateFile struct {
	path string
}

// load reads the state; a missing file is the zero state (nothing delivered).
func (f stateFile) load() (state, error) {
	var st state
	b, err := os.ReadFile(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("outbound: read state: %w", err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("outbound: state file %s is damaged (move it away to start over from the folder's newest file): %w", f.path, err)
	}
	return st, nil
}

// save replaces the state durably: when it returns nil, a crash leaves the
// new state; when it fails, the old one.
func (f stateFile) save(st state) error {
	b, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("outbound: encode state: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(f.path), 0o755); err != nil {
		return fmt.Errorf("outbound: save state: %w", err)
	}
	if err := atomicfile.Write(f.path, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("outbound: save state: %w", err)
	}
	return nil
}
