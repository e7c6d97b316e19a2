package dropfolder

import (
	"context"
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/internal/defaults"
)

// ImportLister lists the applied imports; gate.Loader (the index) is one.
// With it, a file whose import was under way when admit stopped is finished
// from the store's record instead of being imported a second time.
type ImportLister interface {
	Imports(ctx context.Context) ([]gate.ImportRecord, error)
}

// Options tune a Watcher. A nil *Options means the defaults.
type Options struct {
	// Settle is how long a file's size and modification time must stay the
	// same before it is imported, since SFTP and mail deliveries write
	// slowly. Default 10s.
	Settle time.Duration
	// Poll is how often the folders are listed. fsnotify events wake the
	// watcher sooner. Default 2s.
	Poll time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Imports finds the record of an import interrupted by a restart. Nil
	// means such a file is imported again (harmless, as imports are
	// idempotent, but it leaves a second import record).
	Imports ImportLister
	// NoNotify turns off fsnotify; the folders are then only polled.
	NoNotify bool
}

func (o *Options) withDefaults() Options {
	var v Options
	if o != nil {
		v = *o
	}
	defaults.Set(&v.Settle, 10*time.Second)
	defaults.Set(&v.Poll, 2*time.Second)
	if v.Now == nil {
		v.Now = time.Now
	}
	return v
}
