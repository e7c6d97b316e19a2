package importfile

import (
	"time"

	"github.com/admitgate/admit/internal/defaults"
)

// DefaultMaxLineBytes is the longest line (or quoted CSV record) a source
// reads when Options.MaxLineBytes is 0.
const DefaultMaxLineBytes = 64 << 10

// Options tune a Source. A nil *Options means the defaults.
type Options struct {
	// MaxLineBytes is the longest physical line, or CSV record with quoted
	// line breaks, that is read; a longer one is rejected too_long and
	// skipped without being held in memory whole. Default DefaultMaxLineBytes.
	MaxLineBytes int
	// Location is the time zone of dates written without one (SecuTix
	// writes the venue's local time). Default time.Local.
	Location *time.Location
}

// withDefaults returns a copy of o (nil allowed) with every zero field set.
func (o *Options) withDefaults() Options {
	var v Options
	if o != nil {
		v = *o
	}
	defaults.Set(&v.MaxLineBytes, DefaultMaxLineBytes)
	if v.Location == nil {
		v.Location = time.Local
	}
	return v
}
