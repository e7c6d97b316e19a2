package index

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/admitgate/admit/gate"
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
//
// The import is recorded as a change in the same write (see changes.go); a
// venue's import (req.Change set) gets its stream position as its id and
// commits that position with it, or alone when the import is refused for
// a reason of its own (a bad request, rejected lines).
func (ix *Index) Load(ctx context.Context, req gate.ImportRequest, src gate.LineSource) (gate.ImportResult, error) {
	if err := ix.checkImportChange(&req); err != nil {
		return gate.ImportResult{}, err
	}
	res, err := ix.loadImport(ctx, req, src)
	if err != nil && req.Change != nil && gate.IsChangeRefusal(err) {
		if perr := ix.skipPosition(req.Change); perr != nil {
			err = fmt.Errorf("%w (and the import's refusal %v)", perr, err)
		}
	}
	return res, ix.writeError(err)
}

func (ix *Index) loadImport(ctx context.Context, req gate.ImportRequest, src gate.LineSource) (gate.ImportResult, error) {
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

	l := &loader{ix: ix, req: req, events: events, res: gate.ImportResult{DryRun: req.DryRun, Errors: []gate.LineError{}},
		asked: time.Now().UTC()}
	l.pace = &pacer{ix: ix}
	l.tmp = ix.fs.PathJoin(ix.opts.TempDir, fmt.Sprintf("import-%d", importDirs.Add(1)))
	if err := ix.fs.MkdirAll(l.tmp, 0o755); err != nil {
		return gate.ImportResult{}, fmt.Errorf("index: import: temp dir: %w", err)
	}
	defer func() { _ = ix.fs.RemoveAll(l.tmp) }()
	l.sort = &sorter{fs: ix.fs, dir: l.tmp, limit: ix.opts.ImportSpillBytes, pace: l.pace}
	defer l.sort.cleanup()

	start := time.Now()
	l.counts = newCounters()
	l.arena = make([]byte, 0, 4<<20)
	if !req.DryRun {
		// The new barcodes go into a copy of the filter, published just
		// before the import is written.
		cur := ix.filter.Load()
		l.filter = &filter{f: cur.f.Copy(), capacity: cur.capacity}
		l.feed = startFeeder(l.filter, l.pace)
	}
	err := l.read(ctx, src)
	l.stopFeed()
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
	if err := l.commit(); err != nil {
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
	asked   time.Time       // when the import was asked for: its change's time

	arena []byte  // sort payloads are carved from it
	feed  *feeder // adds barcodes to filter in the background
	pace  *pacer  // shares the CPU with scans

	// What the new tickets add to the report counters (read counts every
	// valid line; classify takes back the lines that add no ticket).
	counts *counters
	filter *filter // the filter to publish, with the new barcodes

	// Filled by classify.
	id      uint64
	nextKey uint64
	sink    sink
	updates []counterUpdate
	stripes []int // of the stored tickets in updates, in locking order
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
		rec := ticketRec{Upstream: t.State, T: t, CustomerKey: line.CustomerKey}
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
			l.counts.ticket(&t, nil, 1)
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

// interrupted reports a cancelled context, or a write fault: the store is
// waiting for this import to end before it can reopen.
func (l *loader) interrupted(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("index: import: %w", err)
	}
	if l.ix.closed.Load() {
		return ErrClosed
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

func (l *loader) abort() {
	if l.sink != nil {
		l.sink.abort()
		l.sink = nil
	}
}
