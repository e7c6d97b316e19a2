package index

import (
	"bytes"
	"context"
	"fmt"
	"slices"

	"github.com/admitgate/admit/gate"
	"github.com/cockroachdb/pebble/v2"
)

// classify merges an import's sorted lines with the stored tickets, holding
// the lock that serializes ticket-record writers. Each line is one of:
//   - a repeat of the line before it (same barcode): unchanged when it says
//     the same, else rejected as a conflicting duplicate (or with the first
//     line's rejection);
//   - a stored ticket: rejected when another provider's, unchanged when
//     revoked or when the merged record is the stored one, else updated;
//   - a new ticket, which gets the next ticket key.
//
// Unless this is a dry run, the records to write go into the sink, and the
// stored tickets whose report counts change are kept for commit (with their
// stripes). Nothing is visible before commit.
func (l *loader) classify(ctx context.Context) error {
	ix := l.ix
	l.id = l.importID()
	l.nextKey = ix.nextKey
	mg := &merge{stripes: stripeSet{}}
	if !l.req.DryRun {
		grow, err := l.openSink()
		if err != nil {
			return err
		}
		mg.growFilter = grow
		defer l.stopFeed()
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
		if err := l.classifyLine(mg, it, item); err != nil {
			return err
		}
	}
	l.stopFeed()
	l.stripes = mg.stripes.sorted()
	return nil
}

// merge is the state of classify's walk through the sorted lines.
type merge struct {
	prev        sortItem
	prevOutcome gate.RejectReason // "" when the previous barcode was accepted
	havePrev    bool
	key, enc    []byte    // the line's ticket key and encoded record, reused
	stripes     stripeSet // of the stored tickets whose counts change
	growFilter  bool      // new barcodes go to the feeder (a larger filter was built)
}

// openSink chooses how the import will be written and, when the store would
// outgrow the bloom filter, builds a larger one from the stored barcodes
// now; the new ones are then added as they are classified (grow is true).
// Nothing is published before commit.
func (l *loader) openSink() (grow bool, err error) {
	ix := l.ix
	if l.valid <= ix.opts.ImportBatchLines {
		l.sink = &batchSink{b: ix.db.NewBatch(), ix: ix}
	} else {
		l.sink = newPipeSink(&sstSink{ix: ix, dir: l.tmp}, l.pace)
	}
	want := uint64(ix.tickets.Load()) + uint64(l.valid)
	if want <= l.filter.capacity {
		return false, nil
	}
	f, err := ix.rebuildFilter(ix.capacityFor(want), nil, l.pace)
	if err != nil {
		return false, fmt.Errorf("index: import: resize bloom filter: %w", err)
	}
	l.filter = f
	l.feed = startFeeder(f, l.pace)
	return true, nil
}

// stopFeed waits until the feeder, if any, has added every barcode given.
func (l *loader) stopFeed() {
	if l.feed != nil {
		l.feed.stop()
		l.feed = nil
	}
}

// classifyLine classifies one sorted line; it seeks it in the iterator
// over the stored tickets.
func (l *loader) classifyLine(mg *merge, it *pebble.Iterator, item sortItem) error {
	if mg.havePrev && item.barcode == mg.prev.barcode {
		l.repeated(mg, item)
		return nil
	}
	mg.prev, mg.havePrev, mg.prevOutcome = item, true, ""
	mg.key = appendTicketKey(mg.key[:0], item.barcode)
	if it.SeekGE(mg.key) && bytes.Equal(it.Key(), mg.key) {
		return l.stored(mg, item, it.Value())
	}
	if err := it.Error(); err != nil {
		return l.ix.readFault("tickets", err)
	}
	return l.fresh(mg, item)
}

// repeated classifies a line whose barcode the line before it had.
func (l *loader) repeated(mg *merge, item sortItem) {
	l.notAdded(item)
	switch {
	case mg.prevOutcome != "":
		l.reject(gate.LineError{Line: item.line, Barcode: item.barcode, Reason: mg.prevOutcome,
			Detail: "same barcode as line " + fmt.Sprint(mg.prev.line)})
	case bytes.Equal(item.payload, mg.prev.payload):
		l.res.Unchanged++
	default:
		l.reject(gate.LineError{Line: item.line, Barcode: item.barcode, Reason: gate.RejectConflictingDup,
			Detail: fmt.Sprintf("line %d has the same barcode with other content", mg.prev.line)})
	}
}

// stored classifies a line whose barcode is stored, with the record value.
func (l *loader) stored(mg *merge, item sortItem, value []byte) error {
	in, err := decodeTicket(item.barcode, item.payload)
	if err != nil {
		return fmt.Errorf("index: import: line %d: %w", item.line, err)
	}
	l.notAddedDecoded(&in.T)
	old, err := decodeTicket(item.barcode, value)
	if err != nil {
		return fmt.Errorf("index: import: stored ticket %q: %w", item.barcode, err)
	}
	if old.T.Provider != in.T.Provider {
		mg.prevOutcome = gate.RejectOtherProvider
		l.reject(gate.LineError{Line: item.line, Barcode: item.barcode, Reason: gate.RejectOtherProvider,
			Detail: fmt.Sprintf("the barcode belongs to provider %q", old.T.Provider)})
		return nil
	}
	if old.T.State == gate.StateRevoked {
		l.res.Unchanged++ // a revoked barcode stays revoked whatever a file says
		return nil
	}
	merged := mergeImported(old, in)
	mg.enc = encodeTicket(mg.enc[:0], &merged)
	if bytes.Equal(mg.enc, value) {
		l.res.Unchanged++
		return nil
	}
	l.res.Updated++
	if l.req.DryRun {
		return nil
	}
	if err := l.sink.set(mg.key, mg.enc); err != nil {
		return err
	}
	if countsDiffer(&old.T, &merged.T) {
		l.updates = append(l.updates, counterUpdate{key: old.Key, before: old.T, after: merged.T})
		mg.stripes.add(l.ix, old.Key)
	}
	return nil
}

// fresh classifies a line whose barcode is new: it gets the next ticket key.
func (l *loader) fresh(mg *merge, item sortItem) error {
	l.res.Added++
	if l.req.DryRun {
		return nil
	}
	mg.enc = newTicketRecord(mg.enc[:0], item.payload, l.nextKey, l.id)
	l.nextKey++
	if err := l.sink.set(mg.key, mg.enc); err != nil {
		return err
	}
	if mg.growFilter {
		l.feed.add(item.barcode)
	}
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
		l.counts.ticket(t, nil, -1)
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
	r.CustomerKey = in.CustomerKey
	r.fixState()
	return r
}

// countsDiffer reports whether a change alters what a ticket counts in reports.
func countsDiffer(a, b *gate.Ticket) bool {
	return a.State != b.State || a.UsedUpstream != b.UsedUpstream || a.Provider != b.Provider ||
		a.PriceType != b.PriceType || a.Period != b.Period || !slices.Equal(a.Events, b.Events)
}
