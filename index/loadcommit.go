package index

import (
	"fmt"
	"time"

	"github.com/admitgate/admit/gate"
)

// commit writes a classified import atomically: its records, its import
// record and the meta values (in one batch or one ingest), after the
// provider it names if that is new; then publishes what the index keeps in
// memory (the filter before the records are visible, the ticket key and
// import counters, the report counters) and saves the bloom snapshot.
func (l *loader) commit() error {
	ix := l.ix
	rec := l.record()
	gen := ix.bloomGen
	if l.res.Added > 0 {
		gen = nextBloomGen(gen)
	}
	tickets := ix.tickets.Load() + int64(l.res.Added)
	// A venue import's id is its stream position, which may lie beyond
	// the next local one.
	nextImport := max(ix.nextImport, l.id+1)
	meta := []kv{
		{importKey(l.id), encodeImport(&rec)},
		{metaBloomGen, u64(gen)},
		{metaNextImport, u64(nextImport)},
		{metaNextKey, u64(l.nextKey)},
		{metaTickets, u64(uint64(tickets))},
	}
	if err := l.createProvider(); err != nil {
		return err
	}
	// The import's change is numbered and written with it (changes.go).
	ix.chg.mu.Lock()
	c := l.change()
	if err := ix.chg.check(c); err != nil {
		ix.chg.mu.Unlock()
		l.abort()
		return err
	}
	c.Seq = ix.chg.last.Load() + 1
	meta = append(meta, changeKVs(c, true)...)
	rebuilt, err := l.write(meta)
	if err != nil {
		ix.chg.mu.Unlock()
		return err
	}
	ix.chg.committed(c.Seq, c.Position, c.At)
	ix.chg.mu.Unlock()
	ix.nextImport = nextImport
	ix.nextKey = l.nextKey
	ix.bloomGen = gen
	ix.tickets.Store(tickets)
	if !rebuilt { // a rebuild counted the new tickets already
		ix.ctrs().add(l.counts)
	}
	ix.ctrs().imports.Add(1)
	start := time.Now()
	if l.res.Added > 0 {
		if err := ix.saveFilter(); err != nil {
			ix.log.Warn().Err(err).Msg("bloom snapshot not saved; the next open rebuilds it")
		}
	}
	l.timings = append(l.timings, time.Since(start))
	l.res.ID = l.id
	l.res.Applied = true
	ix.log.Info().Uint64("import", l.id).Str("provider", l.req.Provider).Int("lines", l.res.Lines).
		Int("added", l.res.Added).Int("updated", l.res.Updated).Int("unchanged", l.res.Unchanged).
		Int("rejected", l.res.Rejected).Durs("read_classify_commit_save_ms", l.timings).Msg("import applied")
	return nil
}

// record is the import record the import writes.
func (l *loader) record() gate.ImportRecord {
	rec := gate.ImportRecord{
		ID: l.id, Provider: l.req.Provider, Event: l.req.Event, Format: l.res.Format, Source: l.req.Source, By: l.req.By,
		At: time.Now().UTC(), Lines: l.res.Lines, Added: l.res.Added, Updated: l.res.Updated, Unchanged: l.res.Unchanged,
		Rejected: l.res.Rejected, Digest: l.res.Digest,
	}
	if rec.Format == "" {
		rec.Format = l.req.Format
	}
	return rec
}

// createProvider creates the import's provider if it is new, on its own
// commit before the import: a provider without tickets is harmless if the
// import then fails.
func (l *loader) createProvider() error {
	ix := l.ix
	pb := ix.db.NewBatch()
	publish := ix.ensureProvider(pb, l.req.Provider)
	if pb.Empty() {
		_ = pb.Close()
		return nil
	}
	if err := ix.apply(pb); err != nil {
		l.abort()
		ix.fault(err)
		return fmt.Errorf("index: import: create provider: %w", err)
	}
	publish()
	return nil
}

// write finishes the sink with the meta values, publishes the filter and
// commits, holding the stripes of the stored tickets whose report counts
// change while they are counted again with their redemptions. When that
// count fails after the commit, the report counters are rebuilt from the
// store instead (rebuilt).
func (l *loader) write(meta []kv) (rebuilt bool, err error) {
	ix := l.ix
	if err := l.sink.finish(meta); err != nil {
		l.abort()
		return false, fmt.Errorf("index: import: %w", err)
	}
	if l.filter != nil {
		ix.filter.Store(l.filter) // before the records are visible: never a false unknown
	}
	if err := l.sink.prepare(); err != nil {
		l.abort()
		return false, fmt.Errorf("index: import: %w", err)
	}
	ix.lockStripes(l.stripes)
	start := time.Now()
	err = l.sink.commit()
	ix.recVersion.Add(1)
	l.timings = append(l.timings, time.Since(start))
	if err == nil {
		err = l.countUpdates()
	}
	ix.unlockStripes(l.stripes)
	if err == nil {
		return false, nil
	}
	if !l.sink.committed() {
		ix.fault(err)
		return false, fmt.Errorf("index: import: write: %w", err)
	}
	// The import is in; the counters are not.
	ix.log.Error().Err(err).Msg("import applied but its counters could not be read; rebuilding them")
	c, rerr := ix.rebuildCounters()
	if rerr != nil {
		return false, nil // the counters stay short of this import until the next rebuild
	}
	c.imports.Store(ix.ctrs().imports.Load())
	ix.counters.Store(c)
	return true, nil
}

// countUpdates counts again the stored tickets the import changed, with
// their redemptions; their stripes are held.
func (l *loader) countUpdates() error {
	for _, u := range l.updates {
		rs, err := l.ix.getRedemptions(nil, u.key)
		if err != nil {
			return err
		}
		l.ix.ctrs().changed(&u.before, rs, &u.after, rs)
	}
	return nil
}
