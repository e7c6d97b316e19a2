package index

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"slices"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/admitgate/admit/gate"
	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/objstorage/objstorageprovider"
	"github.com/cockroachdb/pebble/v2/sstable"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// Load applies an import as one atomic step. It reads src once, streaming:
// each line is checked on its own (barcode, state, events known) and added
// to a sorter that spills sorted runs to temporary files, so memory stays
// bounded for any file size. Then, holding the lock that serializes
// ticket-record writers, it merges the sorted lines with an iterator over the
// stored tickets to classify each one (added, updated, unchanged, or
// rejected: another provider's barcode, a conflicting duplicate) and writes
// the new records, the import record and the counters into one Pebble batch
// (small imports) or into SSTables that are ingested together. Either way the
// whole import becomes visible at once, also across a crash. New barcodes
// are added to the bloom filter before the write. Scans keep being answered
// throughout; a scan of a ticket the import updates waits only for the
// ingest itself.
func (ix *Index) Load(ctx context.Context, req gate.ImportRequest, src gate.LineSource) (gate.ImportResult, error) {
	if err := req.Validate(); err != nil {
		return gate.ImportResult{}, err
	}
	onErr, _ := gate.ParseOnError(string(req.OnError))
	events := ix.events.Load()
	if req.Event != "" {
		if _, ok := events.Get(req.Event); !ok {
			return gate.ImportResult{}, gate.Errorf(gate.EINVALID, "import: no event %q; create it first", req.Event)
		}
	}
	if err := ix.enter(); err != nil {
		return gate.ImportResult{}, err
	}
	defer ix.exit()

	l := &loader{ix: ix, req: req, events: events, res: gate.ImportResult{DryRun: req.DryRun, Errors: []gate.LineError{}}}
	l.pace = &pacer{ix: ix}
	l.tmp = ix.fs.PathJoin(ix.opts.TempDir, fmt.Sprintf("import-%d", importDirs.Add(1)))
	if err := ix.fs.MkdirAll(l.tmp, 0o755); err != nil {
		return gate.ImportResult{}, fmt.Errorf("index: import: temp dir: %w", err)
	}
	defer func() { _ = ix.fs.RemoveAll(l.tmp) }()
	l.sort = &sorter{fs: ix.fs, dir: l.tmp, limit: ix.opts.ImportSpillBytes, pace: l.pace}
	defer l.sort.cleanup()

	start := time.Now()
	l.added = newCounters()
	l.arena = make([]byte, 0, 4<<20)
	if !req.DryRun {
		// The new barcodes go into a copy of the filter, published just
		// before the import is written.
		cur := ix.filter.Load()
		l.filter = &filter{f: cur.f.Copy(), capacity: cur.capacity}
		l.feed = startFeeder(l.filter, l.pace)
	}
	err := l.read(ctx, src)
	if l.feed != nil {
		l.feed.stop()
		l.feed = nil
	}
	if err != nil {
		return gate.ImportResult{}, err
	}
	l.timings = append(l.timings, time.Since(start))
	if err := ix.lockAdmin(ctx); err != nil {
		return gate.ImportResult{}, err
	}
	defer ix.unlockAdmin()
	start = time.Now()
	if err := l.classify(ctx); err != nil {
		l.abort()
		return gate.ImportResult{}, err
	}
	res := l.res
	if res.Rejected > 0 && onErr == gate.OnErrorReject {
		l.abort()
		return res, gate.Errorf(gate.EREJECTED, "import rejected: %d of %d lines are bad (first: %s); nothing was changed",
			res.Rejected, res.Lines, firstError(res.Errors))
	}
	if req.DryRun {
		l.abort()
		return res, nil
	}
	l.timings = append(l.timings, time.Since(start))
	if err := l.apply(ctx); err != nil {
		return gate.ImportResult{}, err
	}
	return l.res, nil
}

func firstError(es []gate.LineError) string {
	if len(es) == 0 {
		return "none"
	}
	return es[0].Error()
}

// importDirs numbers the temporary folders of imports in this process.
var importDirs atomic.Uint64

// loader is the state of one import.
type loader struct {
	ix     *Index
	req    gate.ImportRequest
	events *gate.EventSet
	res    gate.ImportResult
	tmp    string
	sort   *sorter
	valid  int // lines handed to the sorter

	timings []time.Duration // read, classify, write, filter save

	arena []byte  // sort payloads are carved from it
	feed  *feeder // adds barcodes to filter in the background
	pace  *pacer  // shares the CPU with scans

	// Filled by classify.
	id       uint64
	nextKey  uint64
	sink     sink
	filter   *filter // the filter to publish, with the new barcodes
	added    *counters
	updates  []counterUpdate
	stripes  []int
	provider func()
}

// counterUpdate is a stored ticket whose report contribution an import
// changes; it is applied under the ticket's stripe with its redemptions.
type counterUpdate struct {
	key           uint64
	before, after gate.Ticket
}

func (l *loader) reject(e gate.LineError) {
	l.res.Rejected++
	if len(l.res.Errors) < gate.MaxReportedErrors {
		l.res.Errors = append(l.res.Errors, e)
	}
}

// read consumes the source, checks each line and sorts the good ones. The
// source is read (and so parsed) by a goroutine of its own, a batch of lines
// ahead, so that parsing and the work here use both cores.
func (l *loader) read(ctx context.Context, src gate.LineSource) error {
	lines := startReader(src, l.pace)
	defer lines.stop()
	clk := l.pace.clock()
	for n := 0; ; n++ {
		if n%4096 == 0 {
			if err := l.interrupted(ctx); err != nil {
				return err
			}
		}
		line, err := lines.next(clk)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("index: import: read line %d: %w", l.res.Lines+1, err)
		}
		l.res.Lines++
		if line.Reject != nil {
			e := *line.Reject
			if e.Line == 0 {
				e.Line = line.Line
			}
			l.reject(e)
			continue
		}
		t := line.Ticket
		if e := l.prepare(&t); e != nil {
			e.Line = line.Line
			l.reject(*e)
			continue
		}
		rec := ticketRec{Upstream: t.State, T: t}
		n := len(l.arena)
		l.arena = encodeTicket(l.arena, &rec)
		payload := l.arena[n:len(l.arena):len(l.arena)]
		if cap(l.arena)-len(l.arena) < 4096 {
			l.arena = make([]byte, 0, 4<<20)
		}
		if err := l.sort.add(t.Barcode, line.Line, payload); err != nil {
			return err
		}
		l.valid++
		if !l.req.DryRun {
			// Counted as added; classify takes back what is not.
			l.added.ticket(&t, nil, 1)
			// Every valid line's barcode goes into the copy of the filter,
			// even one that turns out rejected or already stored: an extra
			// key is at worst a false positive. Once the store would outgrow
			// the filter, classify builds a larger one instead.
			if l.feed != nil {
				if uint64(l.ix.tickets.Load())+uint64(l.valid) > l.filter.capacity {
					l.feed.stop()
					l.feed = nil
				} else {
					l.feed.add(t.Barcode)
				}
			}
		}
		clk.tick()
	}
	l.res.Format = src.Format()
	l.res.Digest = src.Digest()
	return nil
}

// lineReader calls a LineSource's Next in its own goroutine and hands the
// lines over in batches. The source is used by that goroutine only until
// stop returns.
type lineReader struct {
	batches chan lineBatch
	free    chan []gate.ImportLine
	quit    chan struct{}
	done    chan struct{}
	cur     lineBatch
	i       int
}

// lineBatch is lines read in order, then err (io.EOF at the end) if not nil.
type lineBatch struct {
	lines []gate.ImportLine
	err   error
}

const readBatch = 256

func startReader(src gate.LineSource, p *pacer) *lineReader {
	r := &lineReader{batches: make(chan lineBatch, 8), free: make(chan []gate.ImportLine, 10),
		quit: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(r.done)
		defer close(r.batches)
		clk := p.clock()
		batch := make([]gate.ImportLine, 0, readBatch)
		for {
			line, err := src.Next()
			if err != nil {
				r.batches <- lineBatch{batch, err}
				return
			}
			batch = append(batch, line)
			clk.tick()
			if len(batch) < readBatch {
				continue
			}
			select {
			case r.batches <- lineBatch{lines: batch}:
			case <-r.quit:
				return
			}
			select {
			case batch = <-r.free:
			default:
				batch = make([]gate.ImportLine, 0, readBatch)
			}
			select {
			case <-r.quit:
				return
			default:
			}
		}
	}()
	return r
}

// next returns the next line, or the source's error (io.EOF at the end).
func (r *lineReader) next(clk *paceClock) (gate.ImportLine, error) {
	for r.i >= len(r.cur.lines) {
		if r.cur.err != nil {
			return gate.ImportLine{}, r.cur.err
		}
		if r.cur.lines != nil {
			clear(r.cur.lines)
			select {
			case r.free <- r.cur.lines[:0]:
			default:
			}
		}
		b, ok := <-r.batches
		if !ok {
			return gate.ImportLine{}, io.ErrUnexpectedEOF // the reader was stopped
		}
		r.cur, r.i = b, 0
		clk.reset() // the wait was not work
	}
	r.i++
	return r.cur.lines[r.i-1], nil
}

// stop ends the reading goroutine and waits for it, so the source is no
// longer used.
func (r *lineReader) stop() {
	close(r.quit)
	for range r.batches { // unblock a pending send
	}
	<-r.done
}

// feeder adds barcodes to a filter that nobody reads yet, in its own
// goroutine (a bloom add is ten cache misses; beside parsing or merging it
// is nearly free on the second core). Barcodes travel in batches.
type feeder struct {
	f     *filter
	batch []string
	ch    chan []string
	done  chan struct{}
}

func startFeeder(f *filter, p *pacer) *feeder {
	fd := &feeder{f: f, batch: make([]string, 0, 1024), ch: make(chan []string, 8), done: make(chan struct{})}
	go func() {
		defer close(fd.done)
		clk := p.clock()
		for b := range fd.ch {
			clk.reset()
			for _, bc := range b {
				fd.f.f.AddString(bc)
				clk.tick()
			}
		}
	}()
	return fd
}

func (fd *feeder) add(barcode string) {
	fd.batch = append(fd.batch, barcode)
	if len(fd.batch) == cap(fd.batch) {
		fd.ch <- fd.batch
		fd.batch = make([]string, 0, 1024)
	}
}

// stop waits until every barcode given is in the filter.
func (fd *feeder) stop() {
	if len(fd.batch) > 0 {
		fd.ch <- fd.batch
	}
	close(fd.ch)
	<-fd.done
}

// interrupted reports a cancelled context, or a write fault: the store is
// waiting for this import to end before it can reopen.
func (l *loader) interrupted(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("index: import: %w", err)
	}
	if l.ix.faulted.Load() {
		return errFaulted
	}
	return nil
}

// prepare maps a parsed ticket onto the request and checks what does not
// need the store. It returns the line's rejection, or nil.
func (l *loader) prepare(t *gate.Ticket) *gate.LineError {
	readable := t.Barcode
	if !utf8.ValidString(readable) {
		readable = ""
	}
	rej := func(r gate.RejectReason, format string, args ...any) *gate.LineError {
		return &gate.LineError{Barcode: readable, Reason: r, Detail: fmt.Sprintf(format, args...)}
	}
	if err := gate.CheckBarcode(t.Barcode); err != nil {
		var be *gate.BarcodeError
		if errors.As(err, &be) {
			return rej(gate.RejectFor(be), "%s", detail(err))
		}
		return rej(gate.RejectBadField, "%s", detail(err))
	}
	if t.Provider == "" {
		t.Provider = l.req.Provider
	} else if t.Provider != l.req.Provider {
		return rej(gate.RejectOtherProvider, "the line names provider %q; this import is for %q", t.Provider, l.req.Provider)
	}
	if l.req.Event != "" {
		t.Events = []string{l.req.Event}
	}
	if l.req.PriceType != "" && t.PriceType.Code != l.req.PriceType {
		t.PriceType = gate.Code{Code: l.req.PriceType}
	}
	switch t.State {
	case 0:
		t.State = gate.StateValid
	case gate.StateValid, gate.StateCancelled, gate.StateInvalidated:
	default:
		return rej(gate.RejectBadState, "a file cannot set state %s", t.State)
	}
	if len(t.Events) == 0 && t.Period.IsZero() {
		return rej(gate.RejectMissingEvent, "no event in the request or on the line")
	}
	for _, e := range t.Events {
		if err := gate.CheckID("event", e); err != nil {
			return rej(gate.RejectBadEventID, "%s", detail(err))
		}
		if _, ok := l.events.Get(e); !ok {
			return rej(gate.RejectUnknownEvent, "no event %q on this appliance", e)
		}
	}
	if len(t.Events) > 1 {
		t.Events = slices.Compact(slices.Sorted(slices.Values(t.Events)))
	}
	t.ReplacedBy, t.Replaces, t.ImportID = "", "", 0
	return nil
}

// classify merges the sorted lines with the stored tickets, counting and
// writing (into the sink, unless this is a dry run or will be rejected).
func (l *loader) classify(ctx context.Context) error {
	ix := l.ix
	l.id = ix.nextImport
	l.nextKey = ix.nextKey
	write := !l.req.DryRun
	growFilter := false
	if write {
		if l.valid <= ix.opts.ImportBatchLines {
			l.sink = &batchSink{b: ix.db.NewBatch(), ix: ix}
		} else {
			l.sink = newPipeSink(&sstSink{ix: ix, dir: l.tmp}, l.pace)
		}
		// When the store outgrows the filter, a larger one is rebuilt from
		// the stored barcodes now, and the new ones are added as they are
		// classified. Nothing is published before the write.
		want := uint64(ix.tickets.Load()) + uint64(l.valid)
		if want > l.filter.capacity {
			f, err := ix.rebuildFilter(ix.capacityFor(want), nil, l.pace)
			if err != nil {
				return fmt.Errorf("index: import: resize bloom filter: %w", err)
			}
			l.filter = f
			growFilter = true
			l.feed = startFeeder(f, l.pace)
			defer func() {
				if l.feed != nil {
					l.feed.stop()
					l.feed = nil
				}
			}()
		}
	}

	m, err := l.sort.iterate()
	if err != nil {
		return err
	}
	defer m.close()
	it, err := ix.db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixTicket}, UpperBound: []byte{prefixTicket + 1}})
	if err != nil {
		return ix.readFault("tickets", err)
	}
	defer it.Close()

	clk := l.pace.clock()
	var (
		prev        sortItem
		prevOutcome gate.RejectReason // "" when the previous barcode was accepted
		havePrev    bool
		key         []byte
		enc         []byte
		stripes     = map[int]bool{}
	)
	for n := 0; ; n++ {
		if n%4096 == 0 {
			if err := l.interrupted(ctx); err != nil {
				return err
			}
		}
		item, ok, err := m.next()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		clk.tick()
		if havePrev && item.barcode == prev.barcode {
			l.notAdded(item)
			switch {
			case prevOutcome != "":
				l.reject(gate.LineError{Line: item.line, Barcode: item.barcode, Reason: prevOutcome, Detail: "same barcode as line " + fmt.Sprint(prev.line)})
			case bytes.Equal(item.payload, prev.payload):
				l.res.Unchanged++
			default:
				l.reject(gate.LineError{Line: item.line, Barcode: item.barcode, Reason: gate.RejectConflictingDup,
					Detail: fmt.Sprintf("line %d has the same barcode with other content", prev.line)})
			}
			continue
		}
		prev, havePrev, prevOutcome = item, true, ""
		key = appendTicketKey(key[:0], item.barcode)
		if it.SeekGE(key) && bytes.Equal(it.Key(), key) {
			in, err := decodeTicket(item.barcode, item.payload)
			if err != nil {
				return fmt.Errorf("index: import: line %d: %w", item.line, err)
			}
			l.notAddedDecoded(&in.T)
			old, err := decodeTicket(item.barcode, it.Value())
			if err != nil {
				return fmt.Errorf("index: import: stored ticket %q: %w", item.barcode, err)
			}
			if old.T.Provider != in.T.Provider {
				prevOutcome = gate.RejectOtherProvider
				l.reject(gate.LineError{Line: item.line, Barcode: item.barcode, Reason: gate.RejectOtherProvider,
					Detail: fmt.Sprintf("the barcode belongs to provider %q", old.T.Provider)})
				continue
			}
			if old.T.State == gate.StateRevoked {
				l.res.Unchanged++ // a revoked barcode stays revoked whatever a file says
				continue
			}
			merged := mergeImported(old, in)
			enc = encodeTicket(enc[:0], &merged)
			if bytes.Equal(enc, it.Value()) {
				l.res.Unchanged++
				continue
			}
			l.res.Updated++
			if write {
				if err := l.sink.set(key, enc); err != nil {
					return err
				}
				if countsDiffer(&old.T, &merged.T) {
					l.updates = append(l.updates, counterUpdate{key: old.Key, before: old.T, after: merged.T})
					stripes[ix.stripeIndex(old.Key)] = true
				}
			}
			continue
		} else if err := it.Error(); err != nil {
			return ix.readFault("tickets", err)
		}
		l.res.Added++
		if !write {
			continue
		}
		enc = newTicketRecord(enc[:0], item.payload, l.nextKey, l.id)
		l.nextKey++
		if err := l.sink.set(key, enc); err != nil {
			return err
		}
		if growFilter {
			l.feed.add(item.barcode)
		}
	}
	if l.feed != nil {
		l.feed.stop()
		l.feed = nil
	}
	for s := range stripes {
		l.stripes = append(l.stripes, s)
	}
	sortInts(l.stripes)
	return nil
}

// notAdded takes back the counting of a line that did not add a ticket.
func (l *loader) notAdded(item sortItem) {
	if l.req.DryRun {
		return
	}
	if in, err := decodeTicket(item.barcode, item.payload); err == nil {
		l.notAddedDecoded(&in.T)
	}
}

func (l *loader) notAddedDecoded(t *gate.Ticket) {
	if !l.req.DryRun {
		l.added.ticket(t, nil, -1)
	}
}

// mergeImported applies an import line to a stored ticket: the fields come
// from the line; the key, admin action and reissue links stay. When the
// upstream state changes it applies, clearing an admin's cancel or
// invalidation (an admin's block stays).
func mergeImported(old, in ticketRec) ticketRec {
	r := old
	if in.Upstream != old.Upstream {
		r.Upstream = in.Upstream
		if r.Admin == adminCancelled || r.Admin == adminInvalidated {
			r.Admin = adminNone
		}
	}
	t := in.T
	t.Barcode = old.T.Barcode
	t.ReplacedBy = old.T.ReplacedBy
	t.Replaces = old.T.Replaces
	t.ImportID = old.T.ImportID
	r.T = t
	r.fixState()
	return r
}

// countsDiffer reports whether a change alters what a ticket counts in reports.
func countsDiffer(a, b *gate.Ticket) bool {
	return a.State != b.State || a.UsedUpstream != b.UsedUpstream || a.Provider != b.Provider ||
		a.PriceType != b.PriceType || a.Period != b.Period || !slices.Equal(a.Events, b.Events)
}

func (l *loader) abort() {
	if l.sink != nil {
		l.sink.abort()
		l.sink = nil
	}
}

// apply writes the import: the records, the import record and the meta
// values, atomically; then publishes the filter and the counters.
func (l *loader) apply(ctx context.Context) error {
	ix := l.ix
	now := time.Now().UTC()
	rec := gate.ImportRecord{
		ID: l.id, Provider: l.req.Provider, Event: l.req.Event, Format: l.res.Format, Source: l.req.Source, By: l.req.By,
		At: now, Lines: l.res.Lines, Added: l.res.Added, Updated: l.res.Updated, Unchanged: l.res.Unchanged,
		Rejected: l.res.Rejected, Digest: l.res.Digest,
	}
	if rec.Format == "" {
		rec.Format = l.req.Format
	}
	gen := ix.bloomGen
	if l.res.Added > 0 {
		gen++
	}
	tickets := ix.tickets.Load() + int64(l.res.Added)
	meta := []kv{
		{importKey(l.id), encodeImport(&rec)},
		{metaBloomGen, u64(gen)},
		{metaNextImport, u64(l.id + 1)},
		{metaNextKey, u64(l.nextKey)},
		{metaTickets, u64(uint64(tickets))},
	}
	// A provider seen for the first time is created first, on its own: a
	// provider without tickets is harmless if the import then fails.
	pb := ix.db.NewBatch()
	l.provider = ix.ensureProvider(pb, l.req.Provider)
	if !pb.Empty() {
		if err := ix.apply(pb); err != nil {
			_ = pb.Close()
			l.abort()
			ix.fault(err)
			return fmt.Errorf("index: import: create provider: %w", err)
		}
		l.provider()
	}
	_ = pb.Close()
	if err := l.sink.finish(meta); err != nil {
		l.abort()
		return fmt.Errorf("index: import: %w", err)
	}
	if l.filter != nil {
		ix.filter.Store(l.filter) // before the records are visible: never a false unknown
	}
	if err := l.sink.prepare(); err != nil {
		l.abort()
		return fmt.Errorf("index: import: %w", err)
	}
	for _, s := range l.stripes {
		ix.stripes[s].Lock()
	}
	start := time.Now()
	err := l.sink.commit()
	ix.recVersion.Add(1)
	l.timings = append(l.timings, time.Since(start))
	if err == nil {
		for _, u := range l.updates {
			rs, rerr := ix.getRedemptions(nil, u.key)
			if rerr != nil {
				// The import is in; the counters are not. Rebuild them
				// after the stripes are released.
				err = rerr
				break
			}
			ix.ctrs().changed(&u.before, rs, &u.after, rs)
		}
	}
	for _, s := range l.stripes {
		ix.stripes[s].Unlock()
	}
	if err != nil {
		if l.sink.committed() {
			ix.log.Error().Err(err).Msg("import applied but its counters could not be read; rebuilding them")
			if c, rerr := ix.rebuildCounters(); rerr == nil {
				c.imports.Store(ix.ctrs().imports.Load())
				ix.counters.Store(c)
			}
		} else {
			ix.fault(err)
			return fmt.Errorf("index: import: write: %w", err)
		}
	}
	ix.nextImport = l.id + 1
	ix.nextKey = l.nextKey
	ix.bloomGen = gen
	ix.tickets.Store(tickets)
	ix.ctrs().mu.Lock()
	for k, v := range l.added.rows {
		r := ix.ctrs().rows[k]
		if r == nil {
			r = &rowCounts{}
			ix.ctrs().rows[k] = r
		}
		r.name, r.sold, r.used, r.inside, r.cancelled = v.name, r.sold+v.sold, r.used+v.used, r.inside+v.inside, r.cancelled+v.cancelled
	}
	for k, v := range l.added.periods {
		r := ix.ctrs().periods[k]
		if r == nil {
			r = &rowCounts{}
			ix.ctrs().periods[k] = r
		}
		r.name, r.sold, r.used, r.cancelled = v.name, r.sold+v.sold, r.used+v.used, r.cancelled+v.cancelled
	}
	ix.ctrs().mu.Unlock()
	ix.ctrs().imports.Add(1)
	start = time.Now()
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
		Int("rejected", l.res.Rejected).Durs("read_classify_commit_save", l.timings).Msg("import applied")
	return nil
}

type kv struct{ k, v []byte }

// sink receives an import's records in key order (tickets), then the
// remaining keys (all sorting before the tickets) at finish, and writes them
// atomically at commit.
type sink interface {
	set(k, v []byte) error
	finish(rest []kv) error
	prepare() error // before the stripes are taken
	commit() error
	committed() bool
	abort()
}

type batchSink struct {
	b    *pebble.Batch
	ix   *Index
	done bool
}

func (s *batchSink) set(k, v []byte) error { return s.b.Set(k, v, nil) }
func (s *batchSink) finish(rest []kv) error {
	for _, x := range rest {
		if err := s.b.Set(x.k, x.v, nil); err != nil {
			return err
		}
	}
	return nil
}
func (s *batchSink) prepare() error { return nil }

func (s *batchSink) commit() error {
	err := s.ix.apply(s.b)
	if err == nil {
		s.done = true
	}
	_ = s.b.Close()
	s.b = nil
	return err
}
func (s *batchSink) committed() bool { return s.done }
func (s *batchSink) abort() {
	if s.b != nil {
		_ = s.b.Close()
		s.b = nil
	}
}

// sstSink writes SSTables of at most ImportTableBytes each and ingests them
// all in one DB.Ingest, which Pebble applies as one atomic version edit.
type sstSink struct {
	ix    *Index
	dir   string
	w     *sstable.Writer
	size  int
	files []string
	done  bool
}

func (s *sstSink) open() error {
	name := s.ix.fs.PathJoin(s.dir, fmt.Sprintf("ingest-%04d.sst", len(s.files)))
	f, err := s.ix.fs.Create(name, vfs.WriteCategoryUnspecified)
	if err != nil {
		return err
	}
	// Start writeback every 1 MiB: a large file's dirty pages would
	// otherwise be flushed inside the next WAL fdatasync (ext4 orders data
	// before the journal commit) and stall the scans waiting on it.
	f = vfs.NewSyncingFile(f, vfs.SyncingFileOptions{BytesPerSync: 1 << 20})
	s.w = sstable.NewWriter(objstorageprovider.NewFileWritable(f), s.ix.pebbleOptions().MakeWriterOptions(0, s.ix.db.TableFormat()))
	s.files = append(s.files, name)
	s.size = 0
	return nil
}

func (s *sstSink) set(k, v []byte) error {
	if s.w == nil {
		if err := s.open(); err != nil {
			return err
		}
	}
	if err := s.w.Set(k, v); err != nil {
		return err
	}
	s.size += len(k) + len(v)
	if s.size >= s.ix.opts.ImportTableBytes {
		err := s.w.Close()
		s.w = nil
		return err
	}
	return nil
}

func (s *sstSink) finish(rest []kv) error {
	if s.w != nil {
		if err := s.w.Close(); err != nil {
			s.w = nil
			return err
		}
		s.w = nil
	}
	slices.SortFunc(rest, func(a, b kv) int { return bytes.Compare(a.k, b.k) })
	if err := s.open(); err != nil {
		return err
	}
	for _, x := range rest {
		if err := s.w.Set(x.k, x.v); err != nil {
			return err
		}
	}
	err := s.w.Close()
	s.w = nil
	return err
}

// prepare flushes the memtable, so that the ingest does not overlap it
// (a recent admin change of a ticket would): an overlapping ingest makes
// Pebble flush inside the commit pipeline, and every scan's commit waits.
// Flush itself runs beside the commits.
func (s *sstSink) prepare() error { return s.ix.db.Flush() }

func (s *sstSink) commit() (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("index: pebble: %v", r)
		}
	}()
	err = s.ix.db.Ingest(context.Background(), s.files)
	if err == nil {
		s.done = true
	}
	return err
}

func (s *sstSink) committed() bool { return s.done }

func (s *sstSink) abort() {
	if s.w != nil {
		_ = s.w.Close()
		s.w = nil
	}
	for _, f := range s.files {
		_ = s.ix.fs.Remove(f)
	}
}

// stripeIndex spreads ticket keys over the lock stripes by Fibonacci
// hashing: the top bits of the key times 2^64/φ, so keys in any arithmetic
// progression (the tickets of one import, scanned in a row) land on
// distinct stripes. Bits 32 and up of the product, as before, put keys 27
// apart (the bench fixture's tickets) on 53 stripes per 64: a first use at
// 64 lanes found its stripe held by another admission one time in five.
func (ix *Index) stripeIndex(key uint64) int {
	return stripeOf(key, len(ix.stripes))
}

// stripeOf is stripeIndex for n stripes, a power of two.
func stripeOf(key uint64, n int) int {
	h := key * 0x9E3779B97F4A7C15
	return int(h >> (64 - bits.TrailingZeros(uint(n))))
}

// resetTempDir empties the temporary folder: an import killed mid-way
// leaves its runs and SSTables there, and they were never part of the store.
func (ix *Index) resetTempDir() error {
	if err := ix.fs.RemoveAll(ix.opts.TempDir); err != nil {
		return err
	}
	return ix.fs.MkdirAll(ix.opts.TempDir, 0o755)
}

func sortInts(s []int) { slices.Sort(s) }
