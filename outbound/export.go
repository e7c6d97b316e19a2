package outbound

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/internal/defaults"
)

// Format is the layout of an export's files.
type Format string

// The export formats.
const (
	// FormatSecutix is the SecuTix reseller layout (';', the eleven
	// columns admit's own SecuTix import reads) with TICKET_STATE
	// CONTROLLED: one line per use. Annulments are not written (see doc.go).
	FormatSecutix Format = "secutix"
	// FormatCSV is a ',' file with a header: one Record per row.
	FormatCSV Format = "csv"
	// FormatJSONL is one Record as a JSON object per line.
	FormatJSONL Format = "jsonl"
)

// ext is the file name extension of the format's files.
func (f Format) ext() string {
	if f == FormatJSONL {
		return ".jsonl"
	}
	return ".csv"
}

// Defaults of an Export.
const (
	DefaultExportInterval = 15 * time.Minute
	DefaultMaxLagEntries  = 100_000
)

// Export is one scheduled export: a folder that receives a file of the uses
// since the previous file, every Interval.
type Export struct {
	// Name identifies the export (its state file, its status); letters,
	// digits, '_' and '-'; required.
	Name string
	// Dir is the folder the files are written into; created if missing;
	// required.
	Dir string
	// Format is the files' layout. Default FormatSecutix.
	Format Format
	// Interval is the time between exports, aligned to the clock (15m:
	// at :00, :15, :30 and :45). Default 15 minutes.
	Interval time.Duration
	// Prefix begins every file name. Default Name.
	Prefix string
	// Provider and Event, when set, keep only the uses of that provider's
	// tickets or for that event.
	Provider, Event string
	// WriteEmpty writes a file (a header, no rows) at an interval with no
	// use; by default such an interval writes nothing.
	WriteEmpty bool
	// MaxLag and MaxLagEntries bound how far the export may be behind the
	// journal before the lag alert. Defaults 2×Interval and 100,000.
	MaxLag        time.Duration
	MaxLagEntries uint64
}

func (e Export) withDefaults() Export {
	defaults.Set(&e.Format, FormatSecutix)
	defaults.Set(&e.Interval, DefaultExportInterval)
	defaults.Set(&e.Prefix, e.Name)
	defaults.Set(&e.MaxLag, 2*e.Interval)
	defaults.Set(&e.MaxLagEntries, DefaultMaxLagEntries)
	return e
}

func (e Export) validate() error {
	if err := checkName("name", e.Name); err != nil {
		return err
	}
	if err := checkName("prefix", e.Prefix); err != nil {
		return err
	}
	if e.Dir == "" {
		return errors.New("dir is empty")
	}
	switch e.Format {
	case FormatSecutix, FormatCSV, FormatJSONL:
	default:
		return fmt.Errorf("format must be secutix, csv or jsonl, not %q", e.Format)
	}
	return checkFilters(e.Provider, e.Event)
}

// checkName accepts 1 to 64 letters, digits, '_' and '-': safe in a file
// name and a metric label.
func checkName(key, s string) error {
	if s == "" {
		return fmt.Errorf("%s is empty", key)
	}
	if len(s) > 64 {
		return fmt.Errorf("%s %q is longer than 64 characters", key, s)
	}
	for _, c := range []byte(s) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '-':
		default:
			return fmt.Errorf("%s %q may hold only letters, digits, '_' and '-'", key, s)
		}
	}
	return nil
}

func checkFilters(provider, event string) error {
	if provider != "" {
		if err := gate.CheckID("provider", provider); err != nil {
			return err
		}
	}
	if event != "" {
		if err := gate.CheckID("event", event); err != nil {
			return err
		}
	}
	return nil
}

// Limits of one export file: the journal entries it covers (its uses are
// held in memory while it is written) and the page read at a time. An export
// that is further behind writes several files at once.
const (
	maxFileEntries = 50_000
	exportPage     = 10_000
)

// Exporter runs one Export. Its methods are safe for concurrent use.
type Exporter struct {
	s     *Service
	cfg   Export
	state positions
	log   zerolog.Logger
	t     tracker

	mu         sync.Mutex // serialises Export
	recovered  bool
	after      uint64    // the last journal sequence exported
	number     uint64    // the last file's number
	fileTo     uint64    // the last journal sequence the last file covers
	lastFileAt time.Time // when the last file was written
	maxEntries int       // maxFileEntries; tests lower it
}

func newExporter(s *Service, cfg Export) *Exporter {
	e := &Exporter{s: s, cfg: cfg, maxEntries: maxFileEntries,
		state: stateFile{path: filepath.Join(s.opts.StateDir, "export-"+cfg.Name+".json")}}
	e.log = s.log.With().Str("export", cfg.Name).Logger()
	e.t = tracker{s: s, log: e.log, maxLag: cfg.MaxLag, maxLagEntries: cfg.MaxLagEntries,
		st: gate.DeliveryStatus{Kind: "export", Name: cfg.Name, Target: cfg.Dir, Format: string(cfg.Format)}}
	return e
}

// Config returns the export's configuration, defaults applied.
func (e *Exporter) Config() Export { return e.cfg }

// Status returns the export's state.
func (e *Exporter) Status() gate.DeliveryStatus { return e.t.status() }

// Run exports every interval until ctx ends. The first export is at once
// when the last file is older than an interval (or there is none); a failed
// export is retried with backoff, at most an interval later.
func (e *Exporter) Run(ctx context.Context) {
	every := e.cfg.Interval
	observeEvery := min(5*time.Second, every)
	var next time.Time
	failures := 0
	for ctx.Err() == nil {
		now := e.s.opts.Now()
		if next.IsZero() {
			next = e.firstRun(now)
		}
		if !now.Before(next) {
			next = alignedNext(now, every)
			if e.s.active() {
				if _, err := e.Export(ctx); err != nil && ctx.Err() == nil {
					failures++
					next = now.Add(backoff(failures-1, time.Second, every))
					e.t.failed(err, next)
				} else {
					failures = 0
				}
			}
		}
		e.t.observe(ctx)
		if !sleep(ctx, min(next.Sub(e.s.opts.Now()), observeEvery)) {
			return
		}
	}
}

// firstRun is when Run exports first: at once when the last file is older
// than an interval, else at the next aligned time.
func (e *Exporter) firstRun(now time.Time) time.Time {
	e.mu.Lock()
	if !e.recovered {
		if err := e.recover(); err != nil {
			e.mu.Unlock()
			return now // Export tries again and reports it
		}
	}
	last := e.lastFileAt
	e.mu.Unlock()
	if last.IsZero() || now.Sub(last) >= e.cfg.Interval {
		return now
	}
	return alignedNext(now, e.cfg.Interval)
}

// alignedNext is the first multiple of every (since the Unix epoch) after now.
func alignedNext(now time.Time, every time.Duration) time.Time {
	t := now.Truncate(every).Add(every)
	if !t.After(now) {
		t = now.Add(every)
	}
	return t
}

// Export writes the files of every use journaled since the last file, now,
// and returns their names: one file (of at most 50,000 journal entries;
// more files when the export is further behind), none when nothing was used
// since (unless WriteEmpty). When it fails nothing was published and the
// position is unchanged.
func (e *Exporter) Export(ctx context.Context) ([]string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.recovered {
		if err := e.recover(); err != nil {
			return nil, err
		}
	}
	var names []string
	for first := true; ; first = false {
		name, more, err := e.exportOne(ctx, first && e.cfg.WriteEmpty)
		if err != nil {
			return names, err
		}
		if name != "" {
			names = append(names, name)
		}
		if !more {
			return names, nil
		}
	}
}

// exportOne writes the file of the next journal entries beyond the
// position. more reports that entries remain for another file.
func (e *Exporter) exportOne(ctx context.Context, writeEmpty bool) (name string, more bool, err error) {
	from := e.after
	end := from
	var rows []gate.JournalEntry
	read := 0
	for read < e.maxEntries {
		limit := min(exportPage, e.maxEntries-read)
		es, err := e.s.opts.Journal.Entries(ctx, end, limit)
		if err != nil {
			return "", false, fmt.Errorf("outbound: read the journal after %d: %w", end, err)
		}
		for _, je := range es {
			if je.Seq != end+1 {
				return "", false, fmt.Errorf("outbound: the journal skipped from %d to %d", end, je.Seq)
			}
			if e.wanted(&je) {
				rows = append(rows, je)
			}
			end = je.Seq
		}
		read += len(es)
		if len(es) < limit {
			break
		}
	}
	more = read >= e.maxEntries
	rows, late := settle(rows, from)
	if late > 0 && e.cfg.Format == FormatSecutix {
		e.log.Warn().Int("annulments", late).Uint64("from", from+1).Uint64("to", end).
			Msg("uses already exported as CONTROLLED were annulled; a SecuTix file cannot take CONTROLLED back: correct those tickets in SecuTix")
		rows = slices.DeleteFunc(rows, func(je gate.JournalEntry) bool { return je.Kind != gate.KindDecision })
	}
	if len(rows) == 0 && !writeEmpty {
		if end > from {
			// Nothing to write: move on without a file, so the next
			// export does not read these entries again.
			if err := e.state.save(state{After: end, Number: e.number, FileTo: e.fileTo, At: e.lastFileAt}); err != nil {
				return "", false, err
			}
			e.after = end
			e.t.setPosition(end)
		}
		return "", more, nil
	}
	name, n, err := e.publish(ctx, from, end, rows)
	if err != nil {
		return "", false, err
	}
	e.t.delivered(end, n, name)
	return name, more, nil
}

// wanted reports whether a journal entry belongs in the export: a use (an
// admission with reason ok) or the annulment of one, of the export's
// provider and event.
func (e *Exporter) wanted(je *gate.JournalEntry) bool {
	d := &je.Decision
	switch je.Kind {
	case gate.KindDecision:
		if !d.Admit || d.Reason != gate.ReasonOK {
			return false
		}
	case gate.KindAnnulment:
		if d.Reason != gate.ReasonOK {
			return false
		}
	default:
		return false
	}
	if e.cfg.Provider != "" && (d.Ticket == nil || d.Ticket.Provider != e.cfg.Provider) {
		return false
	}
	return e.cfg.Event == "" || d.Event == e.cfg.Event
}

// settle drops the uses annulled within the same file together with their
// annulments, so a file never reports a use it also takes back. It decides
// from the annulment entries alone (never from a use's Annulled mark, which
// a later annulment sets), so the rows are a function of the file's range.
// late counts the annulments kept: those of uses in earlier files.
func settle(rows []gate.JournalEntry, from uint64) ([]gate.JournalEntry, int) {
	undone := map[uint64]bool{}
	for i := range rows {
		if rows[i].Kind == gate.KindAnnulment && rows[i].Decision.Seq > from {
			undone[rows[i].Decision.Seq] = true
		}
	}
	out := rows[:0]
	late := 0
	for _, r := range rows {
		switch {
		case r.Kind == gate.KindDecision && undone[r.Seq]:
			continue
		case r.Kind == gate.KindAnnulment && r.Decision.Seq > from:
			continue
		case r.Kind == gate.KindAnnulment:
			late++
		}
		out = append(out, r)
	}
	return out, late
}
