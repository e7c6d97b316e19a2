package index

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/cockroachdb/pebble/v2"
)

// The record of changes. Every admin method that changes the sets or the
// catalog and succeeds records one gate.Change (kind, fields, who, when, a
// random id) under xcr<seq>, in the same batch or ingest as its effect, so
// the record and the store never disagree, across a crash too.
//
// In a venue the changes come from the hub's stream (package venue's
// applier calls ApplyChange, or Load with ImportRequest.Change); the
// change's stream position is committed under xcp in that same write, so a
// change is applied exactly once whatever happens between two of them. A
// change refused for a reason of its own (an unknown ticket, a state that
// forbids it: the same on every appliance) commits its position alone.
//
// Change numbers are given out under chg.mu, held until the change's commit
// is done, so they are committed in order and a reader that continues from
// the last number it saw misses nothing. Lock order: the admin lock, then
// catMu, then chg.mu, then the stripes.

// changeState is the record of changes and the venue position in memory.
type changeState struct {
	mu    sync.Mutex
	last  atomic.Uint64 // the last change number committed
	pos   atomic.Uint64 // the venue position applied
	posAt atomic.Int64  // the time of the change at pos, Unix ns (0: none)
}

// check refuses a change whose venue position is already applied.
func (cs *changeState) check(c *gate.Change) error {
	if c.Position != 0 && c.Position <= cs.pos.Load() {
		return fmt.Errorf("index: change %s at position %d: %w (this store is at %d)", c.ID, c.Position,
			gate.ErrChangeApplied, cs.pos.Load())
	}
	return nil
}

// committed publishes a change (or a position alone, seq 0) once its
// commit is done.
func (cs *changeState) committed(seq, pos uint64, at time.Time) {
	if seq != 0 {
		cs.last.Store(seq)
	}
	if pos != 0 {
		cs.posAt.Store(at.UnixNano())
		cs.pos.Store(pos)
	}
}

// positionVersion is the version of the position value.
const positionVersion = 1

func encodePosition(pos uint64, at time.Time) []byte {
	e := encoder{}
	e.byte(positionVersion)
	e.uvarint(pos)
	e.time(at)
	return e.b
}

func decodePosition(b []byte) (uint64, time.Time, error) {
	d := decoder{b: b}
	d.version(positionVersion)
	pos, at := d.uvarint(), d.time()
	return pos, at, d.finish()
}

// changeKey is the key of change seq: under cr, or under xcr for an
// import's (keys.go).
func changeKey(seq uint64, imp bool) []byte {
	p := prefixChange
	if imp {
		p = prefixImportChange
	}
	k := make([]byte, len(p)+8)
	copy(k, p)
	copy(k[len(p):], u64(seq))
	return k
}

// changeKVs are the keys a change writes with its effect: its record and,
// for a venue change, the position; imp for an import's (the x range).
func changeKVs(c *gate.Change, imp bool) []kv {
	out := []kv{{changeKey(c.Seq, imp), encodeChange(c)}}
	if c.Position != 0 {
		k := metaChangePos
		if imp {
			k = metaImportChangePos
		}
		out = append(out, kv{k, encodePosition(c.Position, c.At)})
	}
	return out
}

// loadChanges reads the last change number and the venue position: the
// higher of the two ranges' (imports keep theirs apart).
func (ix *Index) loadChanges() error {
	var last, pos uint64
	var at time.Time
	for _, imp := range []bool{false, true} {
		l, err := ix.lastChange(imp)
		if err != nil {
			return fmt.Errorf("index: changes: %w", err)
		}
		last = max(last, l)
		k := metaChangePos
		if imp {
			k = metaImportChangePos
		}
		v, closer, err := ix.db.Get(k)
		if errors.Is(err, pebble.ErrNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("index: change position: %w", err)
		}
		p, a, err := decodePosition(v)
		closer.Close()
		if err != nil {
			return fmt.Errorf("index: change position %s: %w", k, err)
		}
		if p > pos {
			pos, at = p, a
		}
	}
	ix.chg.last.Store(last)
	ix.chg.pos.Store(pos)
	ix.chg.posAt.Store(0)
	if !at.IsZero() {
		ix.chg.posAt.Store(at.UnixNano())
	}
	return nil
}

// lastChange is the number of the last change in one of the two ranges.
func (ix *Index) lastChange(imp bool) (uint64, error) {
	lo := changeKey(0, imp)[:len(changeKey(0, imp))-8]
	it, err := ix.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: prefixEnd(lo)})
	if err != nil {
		return 0, err
	}
	var last uint64
	if it.Last() {
		last, err = decodeU64(it.Key()[len(lo):])
	}
	if err == nil {
		err = it.Error()
	}
	if cerr := it.Close(); err == nil {
		err = cerr
	}
	return last, err
}

// newChange is a change asked of this appliance directly: a new random id,
// the time now.
func newChange(kind gate.ChangeKind, by string) *gate.Change {
	var id [16]byte
	_, _ = rand.Read(id[:])
	return &gate.Change{ID: hex.EncodeToString(id[:]), Kind: kind, By: by, At: time.Now().UTC()}
}

// commitChangeLocked commits what fill writes together with c's record
// (and position), numbering c. The caller holds chg.mu.
func (ix *Index) commitChangeLocked(c *gate.Change, fill func(b *pebble.Batch)) error {
	if err := ix.chg.check(c); err != nil {
		return err
	}
	c.Seq = ix.chg.last.Load() + 1
	err := ix.commit(func(b *pebble.Batch) {
		if fill != nil {
			fill(b)
		}
		for _, x := range changeKVs(c, false) {
			_ = b.Set(x.k, x.v, nil)
		}
	})
	if err != nil {
		c.Seq = 0
		return err
	}
	ix.chg.committed(c.Seq, c.Position, c.At)
	return nil
}

// commitChange is commitChangeLocked taking chg.mu.
func (ix *Index) commitChange(c *gate.Change, fill func(b *pebble.Batch)) error {
	ix.chg.mu.Lock()
	defer ix.chg.mu.Unlock()
	return ix.commitChangeLocked(c, fill)
}

// skipPosition commits c's venue position alone: c was refused for a
// reason of its own, which every appliance meets alike. A position already
// applied (a withdrawal that committed it before failing) is left alone.
func (ix *Index) skipPosition(c *gate.Change) error {
	if c.Position == 0 {
		return nil
	}
	if err := ix.enter(); err != nil {
		return err
	}
	defer ix.exit()
	ix.chg.mu.Lock()
	defer ix.chg.mu.Unlock()
	if c.Position <= ix.chg.pos.Load() {
		return nil
	}
	if err := ix.commit(func(b *pebble.Batch) { _ = b.Set(metaChangePos, encodePosition(c.Position, c.At), nil) }); err != nil {
		return fmt.Errorf("index: commit position %d: %w", c.Position, err)
	}
	ix.chg.committed(0, c.Position, c.At)
	return nil
}

// ChangePosition returns the venue position applied (0: none) and when the
// change at it was asked.
func (ix *Index) ChangePosition() (uint64, time.Time) {
	pos := ix.chg.pos.Load()
	var at time.Time
	if ns := ix.chg.posAt.Load(); ns != 0 {
		at = time.Unix(0, ns).UTC()
	}
	return pos, at
}

// Changes limits: DefaultChangesLimit when limit is 0 or less, at most
// MaxChangesLimit.
const (
	DefaultChangesLimit = 100
	MaxChangesLimit     = 1000
)

// Changes returns up to limit recorded changes with Seq > after, in order.
func (ix *Index) Changes(ctx context.Context, after uint64, limit int) ([]gate.Change, error) {
	if limit <= 0 {
		limit = DefaultChangesLimit
	}
	limit = min(limit, MaxChangesLimit)
	if err := ix.enter(); err != nil {
		return nil, err
	}
	defer ix.exit()
	last := ix.chg.last.Load()
	out := []gate.Change{}
	if after >= last {
		return out, nil
	}
	// The two ranges (imports apart) are merged by number.
	var its [2]*pebble.Iterator
	for i, imp := range []bool{false, true} {
		it, err := ix.db.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: changeKey(after+1, imp), UpperBound: changeKey(last+1, imp)})
		if err != nil {
			return nil, ix.readFault("changes", err)
		}
		defer it.Close()
		it.First()
		its[i] = it
	}
	for len(out) < limit {
		var next *pebble.Iterator
		var seq uint64
		for _, it := range its {
			if !it.Valid() {
				continue
			}
			n, err := decodeU64(it.Key()[len(it.Key())-8:])
			if err != nil {
				return nil, fmt.Errorf("index: change key %x: %w", it.Key(), err)
			}
			if next == nil || n < seq {
				next, seq = it, n
			}
		}
		if next == nil {
			break
		}
		c, err := decodeChange(seq, next.Value())
		if err != nil {
			return nil, fmt.Errorf("index: change %d: %w", seq, err)
		}
		out = append(out, c)
		next.Next()
	}
	for _, it := range its {
		if err := it.Error(); err != nil {
			return nil, ix.readFault("changes", err)
		}
	}
	return out, nil
}

var _ gate.ChangeApplier = (*Index)(nil)

// ApplyChange applies a venue change at its position (see
// gate.ChangeApplier): the change's effect, its record and its position in
// one write. A refusal of the change itself (ENOTFOUND, ECONFLICT,
// EINVALID) commits the position alone and returns the refusal; a fault
// commits nothing. An import is applied by Load with ImportRequest.Change.
func (ix *Index) ApplyChange(ctx context.Context, c gate.Change) (gate.ChangeResult, error) {
	if c.Position == 0 {
		return gate.ChangeResult{}, errors.New("index: apply change: a venue change needs its position")
	}
	if c.Kind == gate.ChangeImport {
		return gate.ChangeResult{}, errors.New("index: apply change: an import is applied by Load with its file")
	}
	if err := ix.chg.check(&c); err != nil {
		return gate.ChangeResult{}, err
	}
	c.Seq = 0
	var res gate.ChangeResult
	err := c.Validate()
	if err == nil {
		res, err = ix.applyChange(ctx, &c)
	}
	if err != nil && gate.IsChangeRefusal(err) {
		if perr := ix.skipPosition(&c); perr != nil {
			return res, fmt.Errorf("%w (and its refusal %v)", perr, err)
		}
	}
	res.Change = c
	return res, err
}

func (ix *Index) applyChange(ctx context.Context, c *gate.Change) (res gate.ChangeResult, err error) {
	switch c.Kind {
	case gate.ChangePutProvider:
		res.Created, err = ix.putProvider(ctx, c, *c.Provider)
	case gate.ChangePutEvent:
		res.Created, err = ix.putEvent(ctx, c, *c.Event)
	case gate.ChangeWithdraw:
		res.Withdrawn, err = ix.withdraw(ctx, c)
	case gate.ChangeCancel, gate.ChangeInvalidate, gate.ChangeBlock, gate.ChangeUnblock, gate.ChangeUpdateEvents:
		res.Ticket, err = ix.ticketChange(ctx, c)
	case gate.ChangeReissue:
		res.Ticket, err = ix.reissue(ctx, c)
	case gate.ChangeSkip:
		err = ix.skipChange(c)
	default:
		err = gate.Errorf(gate.EINVALID, "change kind %q cannot be applied", c.Kind)
	}
	return res, err
}

// skipChange records an operator's skip of the venue change at c.Position:
// its position is committed with nothing but this record.
func (ix *Index) skipChange(c *gate.Change) error {
	if err := ix.enter(); err != nil {
		return err
	}
	defer ix.exit()
	if err := ix.commitChange(c, nil); err != nil {
		return fmt.Errorf("index: skip change at %d: %w", c.Position, err)
	}
	ix.log.Warn().Uint64("position", c.Position).Str("by", c.By).Str("why", c.Detail).Msg("venue change skipped by an operator")
	return nil
}
