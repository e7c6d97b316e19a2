package outbound

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/admitgate/admit/gate"
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
	if e.Format == "" {
		e.Format = FormatSecutix
	}
	if e.Interval <= 0 {
		e.Interval = DefaultExportInterval
	}
	if e.Prefix == "" {
		e.Prefix = e.Name
	}
	if e.MaxLag <= 0 {
		e.MaxLag = 2 * e.Interval
	}
	if e.MaxLagEntries == 0 {
		e.MaxLagEntries = DefaultMaxLagEntries
	}
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
	state stateFile
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
		st: Status{Kind: "export", Name: cfg.Name, Target: cfg.Dir, Format: string(cfg.Format)}}
	return e
}

// Config returns the export's configuration, defaults applied.
func (e *Exporter) Config() Export { return e.cfg }

// Status returns the export's state.
func (e *Exporter) Status() Status { return e.t.status() }

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

// publish writes rows as the file covering (from, end] and moves the
// position to end. The steps, so that a crash at any point neither loses
// nor repeats a use:
//
//  1. the file is written under a hidden temporary name and synced;
//  2. the state file records it as pending (its names and range);
//  3. it is renamed to its final name and the folder is synced;
//  4. the state file records the new position.
//
// After a crash between 1 and 2 the temporary file is deleted and written
// again; between 2 and 4, recover finishes the rename (the temporary file
// still there) or sees it done (the temporary name gone).
func (e *Exporter) publish(ctx context.Context, from, end uint64, rows []gate.JournalEntry) (string, int, error) {
	number := e.number + 1
	name := fileName(e.cfg.Prefix, number, e.fileTo+1, end, e.cfg.Format.ext())
	temp := "." + name + ".tmp"
	dir := e.cfg.Dir
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", 0, fmt.Errorf("outbound: export folder: %w", err)
	}
	tmpPath := filepath.Join(dir, temp)
	n, err := e.writeTemp(ctx, tmpPath, rows)
	if err != nil {
		_ = os.Remove(tmpPath)
		return "", 0, err
	}
	e.s.hook("export:temp-synced")
	prev := state{After: from, Number: e.number, FileTo: e.fileTo, At: e.lastFileAt}
	pending := prev
	pending.Pending = &pendingFile{Number: number, To: end, Name: name, Temp: temp}
	if err := e.state.save(pending); err != nil {
		_ = os.Remove(tmpPath)
		return "", 0, err
	}
	e.s.hook("export:intent-saved")
	if err := os.Rename(tmpPath, filepath.Join(dir, name)); err != nil {
		if serr := e.state.save(prev); serr != nil {
			e.recovered = false // recover decides from the folder
		} else {
			_ = os.Remove(tmpPath)
		}
		return "", 0, fmt.Errorf("outbound: publish %s: %w", name, err)
	}
	if err := syncDir(dir); err != nil {
		e.recovered = false
		return "", 0, fmt.Errorf("outbound: publish %s: sync folder: %w", name, err)
	}
	e.s.hook("export:renamed")
	now := e.s.opts.Now()
	if err := e.state.save(state{After: end, Number: number, FileTo: end, At: now}); err != nil {
		// The file is out; recover will see its pending record and the
		// temporary name gone, and move on from it.
		e.recovered = false
		return "", 0, err
	}
	e.log.Info().Str("file", name).Int("rows", n).Uint64("from", e.fileTo+1).Uint64("to", end).Msg("exported")
	e.after, e.number, e.fileTo, e.lastFileAt = end, number, end, now
	return name, n, nil
}

// writeTemp writes the file and syncs it; n is the number of rows.
func (e *Exporter) writeTemp(ctx context.Context, path string, rows []gate.JournalEntry) (int, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return 0, fmt.Errorf("outbound: export file: %w", err)
	}
	bw := bufio.NewWriterSize(f, 64<<10)
	n, err := e.writeRows(ctx, bw, rows)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, fmt.Errorf("outbound: write export file: %w", err)
	}
	return n, nil
}

// recover finds the position: the state file, finished if it has a
// pending file, and the newest file in the folder (whichever is further).
// It deletes temporary files left by a crash.
func (e *Exporter) recover() error {
	st, err := e.state.load()
	if err != nil {
		return err
	}
	dir := e.cfg.Dir
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("outbound: export folder: %w", err)
	}
	if p := st.Pending; p != nil {
		tmp, final := filepath.Join(dir, p.Temp), filepath.Join(dir, p.Name)
		switch _, err := os.Lstat(tmp); {
		case err == nil:
			if err := os.Rename(tmp, final); err != nil {
				return fmt.Errorf("outbound: finish publishing %s: %w", p.Name, err)
			}
			if err := syncDir(dir); err != nil {
				return fmt.Errorf("outbound: finish publishing %s: %w", p.Name, err)
			}
			e.log.Info().Str("file", p.Name).Msg("finished publishing a file an interrupted export wrote")
		case errors.Is(err, fs.ErrNotExist):
			if _, err := os.Lstat(final); errors.Is(err, fs.ErrNotExist) {
				e.log.Info().Str("file", p.Name).Msg("the last file was published and has been taken from the folder since")
			}
		default:
			return fmt.Errorf("outbound: finish publishing %s: %w", p.Name, err)
		}
		st = state{After: p.To, Number: p.Number, FileTo: p.To, At: e.s.opts.Now()}
		if err := e.state.save(st); err != nil {
			return err
		}
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("outbound: export folder: %w", err)
	}
	for _, de := range ents {
		n := de.Name()
		if strings.HasPrefix(n, "."+e.cfg.Prefix+"-") && strings.HasSuffix(n, ".tmp") {
			if err := os.Remove(filepath.Join(dir, n)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("outbound: remove %s: %w", n, err)
			}
			continue
		}
		num, _, to, ok := parseFileName(e.cfg.Prefix, e.cfg.Format.ext(), n)
		if !ok {
			continue
		}
		if to > st.After || num > st.Number || to > st.FileTo {
			e.log.Info().Str("file", n).Msg("resuming after a file newer than the state file")
			st.After, st.Number, st.FileTo = max(st.After, to), max(st.Number, num), max(st.FileTo, to)
		}
	}
	e.after, e.number, e.fileTo, e.lastFileAt = st.After, st.Number, st.FileTo, st.At
	e.recovered = true
	e.t.setPosition(st.After)
	return nil
}

// fileName is an export file's name: the prefix, the file's number and the
// journal range it covers ("north-000042-1001-1250.csv"). A file written
// with WriteEmpty when the journal has nothing new has from = to+1.
func fileName(prefix string, number, from, to uint64, ext string) string {
	return fmt.Sprintf("%s-%06d-%d-%d%s", prefix, number, from, to, ext)
}

// parseFileName reads a name fileName wrote.
func parseFileName(prefix, ext, name string) (number, from, to uint64, ok bool) {
	rest, ok := strings.CutPrefix(name, prefix+"-")
	if !ok {
		return 0, 0, 0, false
	}
	if rest, ok = strings.CutSuffix(rest, ext); !ok {
		return 0, 0, 0, false
	}
	parts := strings.Split(rest, "-")
	if len(parts) != 3 || len(parts[0]) < 6 {
		return 0, 0, 0, false
	}
	var v [3]uint64
	for i, p := range parts {
		if p == "" || p[0] == '+' {
			return 0, 0, 0, false
		}
		n, err := strconv.ParseUint(p, 10, 64)
		if err != nil {
			return 0, 0, 0, false
		}
		v[i] = n
	}
	if v[0] == 0 || v[1] == 0 || v[1] > v[2]+1 {
		return 0, 0, 0, false
	}
	return v[0], v[1], v[2], true
}
