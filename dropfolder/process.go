package dropfolder

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/internal/atomicfile"
)

// Report is what <name>.report.json beside a done or failed file holds.
type Report struct {
	File      string             `json:"file"`     // the name the file was dropped as
	Provider  string             `json:"provider"` // the folder's provider
	Source    string             `json:"source"`   // the import's source: the name and its claim
	ClaimedAt time.Time          `json:"claimed_at"`
	At        time.Time          `json:"finished_at"`
	Outcome   string             `json:"outcome"`  // "done" or "failed"
	MovedTo   string             `json:"moved_to"` // where the file went, relative to the folder
	Result    *gate.ImportResult `json:"result,omitempty"`
	Error     *ReportError       `json:"error,omitempty"`
	// Recovered is set when admit stopped while the file was being
	// imported, and the import was found applied at the next start: Result
	// then comes from the import record and lists no rejected lines.
	Recovered bool `json:"recovered,omitempty"`
	// Note says what else happened to the file: renamed in processing/, or
	// taken out of it, while it was imported.
	Note string `json:"note,omitempty"`
}

// ReportError is why a file failed, as the API would show it.
type ReportError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// notClaimed handles a file that could not be claimed: one that went away
// is forgotten; one that stays is logged once (what) and tried again on the
// next pass.
func (f *folder) notClaimed(log *zerolog.Logger, name string, s *sighting, err error, what string) {
	if errors.Is(err, fs.ErrNotExist) {
		delete(f.seen, name)
		log.Info().Msg("the file went away before it was imported")
		return
	}
	if s != nil && !s.warned {
		s.warned = true
		log.Error().Err(err).Msg(what)
	}
}

// claimAndImport moves a settled file into processing/ (so no other pass
// and no restart takes it again), imports it, and files it with its report.
func (w *Watcher) claimAndImport(ctx context.Context, f *folder, name string) {
	log := f.log.With().Str("file", name).Logger()
	from := filepath.Join(f.Dir, name)
	s := f.seen[name]
	if r, err := os.Open(from); err != nil {
		f.notClaimed(&log, name, s, err, "cannot read the file; it stays until it can be read")
		return
	} else {
		r.Close()
	}
	now := w.opts.Now()
	claim, to, err := claimPath(f.Dir, name, now)
	if err == nil {
		err = os.Rename(from, to)
	}
	if err != nil {
		f.notClaimed(&log, name, s, err, "cannot move the file to processing; it stays")
		return
	}
	delete(f.seen, name)
	if err := syncDirs(f.Dir, filepath.Join(f.Dir, processingDir)); err != nil {
		log.Warn().Err(err).Msg("sync after the claim")
	}
	w.importClaimed(ctx, f, claim, name, now, s)
}

// claimPath returns a free claim for name in processing/.
func claimPath(dir, name string, now time.Time) (claim, path string, err error) {
	for n := 1; n <= maxTries; n++ {
		claim = newClaim(now, n)
		path = filepath.Join(dir, processingDir, claimName(claim, name))
		ok, err := free(path)
		if err != nil {
			return "", "", err
		}
		if ok {
			return claim, path, nil
		}
	}
	return "", "", fmt.Errorf("dropfolder: no free claim for %s", name)
}

// importClaimed imports processing/<claim>_<name> and files it. settled is
// the file as it was when it settled (nil after a restart): a file that
// changed since, or changes while it is imported, is not imported from half
// its bytes (see watchedFile).
func (w *Watcher) importClaimed(ctx context.Context, f *folder, claim, name string, claimedAt time.Time, settled *sighting) {
	log := f.log.With().Str("file", name).Str("claim", claim).Logger()
	path := filepath.Join(f.Dir, processingDir, claimName(claim, name))
	req := f.request(name, claim)
	rep := Report{File: name, Provider: f.Provider, Source: req.Source, ClaimedAt: claimedAt}

	res, opened, changed, err := w.importFile(ctx, &log, req, path, name, settled)
	if err != nil && ctx.Err() != nil {
		log.Warn().Err(err).Msg("stopped during the import; the next start finishes it")
		return
	}
	claimed := locate(path, opened)
	switch {
	case changed == "":
		delete(f.requeued, name)
	case !res.Applied && claimed != "" && w.requeue(f, &log, claimed, name, changed):
		return
	case !res.Applied:
		err = gate.Errorf(gate.ECONFLICT, "the file kept changing while it was imported (%s), so nothing was imported: "+
			"write files under a temporary name (.part, .tmp) and rename them when complete, or raise settle; "+
			"then move it back into the folder", changed)
	default:
		err = gate.Errorf(gate.ECONFLICT, "the file changed after import %d had read it (%s): its last line may have "+
			"been cut. Check import %d (withdraw it if so), then move the complete file back into the folder; "+
			"write files under a temporary name (.part, .tmp) and rename them when complete", res.ID, changed, res.ID)
	}
	if claimed != path {
		rep.Note = "the file was renamed in processing/ to " + filepath.Base(claimed) + " while it was imported"
		if claimed == "" {
			rep.Note = "the file was taken out of processing/ while it was imported: only this report is filed"
		}
		log.Warn().Str("now", claimed).Msg(rep.Note)
	}
	rep.Outcome = doneDir
	if err != nil {
		rep.Outcome = failedDir
		rep.Error = &ReportError{Code: gate.ErrorCode(err), Message: gate.ErrorMessage(err)}
	}
	if res.Applied || res.Lines > 0 || len(res.Errors) > 0 {
		rep.Result = &res
	}
	ev := log.Info()
	if err != nil {
		ev = log.Warn().Err(err)
	}
	ev.Str("outcome", rep.Outcome).Uint64("import", res.ID).Int("lines", res.Lines).Int("added", res.Added).
		Int("updated", res.Updated).Int("unchanged", res.Unchanged).Int("rejected", res.Rejected).Msg("imported")
	if err := w.finish(f, claimed, name, &rep); err != nil {
		log.Error().Err(err).Msg("cannot file the imported file; the next start finishes it")
		f.recovered = false
	}
}

// importFile imports the claimed file at path, read through a watchedFile.
// opened is the file as the import began (nil when it could not be opened),
// changed says how it changed since it settled or since the import began
// ("" when it did not).
func (w *Watcher) importFile(ctx context.Context, log *zerolog.Logger, req gate.ImportRequest, path, name string,
	settled *sighting) (res gate.ImportResult, opened fs.FileInfo, changed string, err error) {
	file, err := os.Open(path)
	if err == nil {
		if opened, err = file.Stat(); err != nil {
			file.Close()
		}
	}
	if err != nil {
		var pe *fs.PathError
		msg := err.Error()
		if errors.As(err, &pe) {
			msg = pe.Err.Error()
		}
		return res, nil, "", gate.Errorf(gate.EINVALID, "cannot read %s: %s", name, msg)
	}
	defer file.Close()
	log.Info().Msg("importing")
	wf := &watchedFile{f: file, opened: opened, settled: settled}
	res, err = w.importer.Import(ctx, req, wf)
	if changed = wf.changed; changed == "" {
		changed = wf.change(false) // after the import had read it all
	}
	return res, opened, changed, err
}

// finish files the claimed file at claimed (its path in processing/): its
// report is written in processing/ first (the proof the import is over),
// then the file and the report move to done/ or failed/. Each step survives
// a crash: recover picks up after any of them. With claimed "" (the file
// left processing/ during its import) only the report is filed.
func (w *Watcher) finish(f *folder, claimed, name string, rep *Report) error {
	proc := filepath.Join(f.Dir, processingDir)
	outDir := filepath.Join(f.Dir, rep.Outcome)
	now := w.opts.Now()
	rep.At = now
	target, err := freeName(outDir, name, now)
	if err != nil {
		return fmt.Errorf("dropfolder: %w", err)
	}
	rep.MovedTo = filepath.Join(rep.Outcome, target)
	if claimed == "" {
		rep.MovedTo = ""
	}
	data, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return fmt.Errorf("dropfolder: report: %w", err)
	}
	if claimed == "" {
		if err := atomicfile.Write(filepath.Join(outDir, target+reportSuffix), append(data, '\n'), 0o600); err != nil {
			return fmt.Errorf("dropfolder: write report: %w", err)
		}
		return syncDirs(outDir)
	}
	if err := atomicfile.Write(claimed+reportSuffix, append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("dropfolder: write report: %w", err)
	}
	if err := atomicfile.SyncDir(proc); err != nil {
		return fmt.Errorf("dropfolder: %w", err)
	}
	return moveOut(f.Dir, claimed, rep.MovedTo)
}

// moveOut moves a claimed file (when still there), then its report, to
// movedTo (relative to the folder).
func moveOut(dir, claimed, movedTo string) error {
	to := filepath.Join(dir, movedTo)
	if err := os.Rename(claimed, to); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("dropfolder: %w", err)
	}
	if err := os.Rename(claimed+reportSuffix, to+reportSuffix); err != nil {
		return fmt.Errorf("dropfolder: %w", err)
	}
	return syncDirs(filepath.Dir(claimed), filepath.Dir(to))
}

func syncDirs(dirs ...string) error {
	for _, d := range dirs {
		if err := atomicfile.SyncDir(d); err != nil {
			return fmt.Errorf("dropfolder: %w", err)
		}
	}
	return nil
}

// recover finishes what a stop left in processing/, oldest claim first:
//   - a report there means the import was over: the file and report move on;
//   - a file without a report was being imported: if the store has the
//     import's record (Options.Imports), it was applied and is filed as done
//     from the record; otherwise it is imported (again).
func (w *Watcher) recover(ctx context.Context, f *folder) error {
	proc := filepath.Join(f.Dir, processingDir)
	entries, err := os.ReadDir(proc)
	if err != nil {
		return fmt.Errorf("dropfolder: %w", err)
	}
	// Names are claim_name, and claims sort by time.
	var claimed []string
	for _, e := range entries {
		name := e.Name()
		switch {
		case strings.HasPrefix(name, ".") && strings.HasSuffix(name, ".tmp"):
			_ = os.Remove(filepath.Join(proc, name)) // a report write cut short
		case strings.HasSuffix(name, reportSuffix):
			if err := w.recoverReport(f, name); err != nil {
				// The import is over (its report was written), so its file
				// must not be imported again: both stay for a person to see.
				f.log.Error().Err(err).Str("report", name).Msg("cannot file a finished import; left in processing")
			}
		case !e.IsDir():
			claimed = append(claimed, name)
		}
	}
	var records []gate.ImportRecord
	if len(claimed) > 0 && w.opts.Imports != nil {
		if records, err = w.opts.Imports.Imports(ctx); err != nil {
			return fmt.Errorf("dropfolder: list imports: %w", err)
		}
	}
	for _, c := range claimed {
		if !exists(filepath.Join(proc, c)) || exists(filepath.Join(proc, c+reportSuffix)) {
			continue // filed above with its report, or its report could not be read
		}
		claim, name, ok := splitClaim(c)
		if !ok {
			f.log.Warn().Str("file", c).Msg("a file in processing/ that admit did not put there; left alone")
			continue
		}
		claimedAt, _ := time.Parse(claimLayout, strings.SplitN(claim, "-", 2)[0])
		if rec, ok := findRecord(records, f.Provider, source(name, claim)); ok {
			f.log.Info().Str("file", name).Uint64("import", rec.ID).Msg("the import a stop interrupted was applied; filing it")
			rep := Report{File: name, Provider: f.Provider, Source: rec.Source, ClaimedAt: claimedAt, Outcome: doneDir,
				Recovered: true, Result: &gate.ImportResult{ID: rec.ID, Applied: true, Format: rec.Format, Lines: rec.Lines,
					Added: rec.Added, Updated: rec.Updated, Unchanged: rec.Unchanged, Rejected: rec.Rejected, Digest: rec.Digest}}
			if err := w.finish(f, filepath.Join(proc, c), name, &rep); err != nil {
				return err
			}
			continue
		}
		f.log.Info().Str("file", name).Msg("importing a file a stop interrupted")
		w.importClaimed(ctx, f, claim, name, claimedAt, nil)
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return nil
}

// recoverReport moves on a report left in processing/ (and its file, when
// it did not move yet).
func (w *Watcher) recoverReport(f *folder, reportName string) error {
	proc := filepath.Join(f.Dir, processingDir)
	data, err := os.ReadFile(filepath.Join(proc, reportName))
	if err != nil {
		return fmt.Errorf("dropfolder: %w", err)
	}
	var rep Report
	if err := json.Unmarshal(data, &rep); err != nil || rep.MovedTo == "" ||
		!(strings.HasPrefix(rep.MovedTo, doneDir+string(filepath.Separator)) || strings.HasPrefix(rep.MovedTo, failedDir+string(filepath.Separator))) {
		return fmt.Errorf("dropfolder: report %s is damaged", reportName)
	}
	claimed := filepath.Join(proc, strings.TrimSuffix(reportName, reportSuffix))
	f.log.Info().Str("file", rep.File).Str("moved_to", rep.MovedTo).Msg("filing a file a stop left in processing")
	return moveOut(f.Dir, claimed, rep.MovedTo)
}

func findRecord(records []gate.ImportRecord, provider, source string) (gate.ImportRecord, bool) {
	for _, r := range records {
		if r.Provider == provider && r.Source == source {
			return r, true
		}
	}
	return gate.ImportRecord{}, false
}
