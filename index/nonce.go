package index

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/cockroachdb/pebble/v2"
)

// A nonce makes a scan idempotent: the same nonce within gate.NonceWindow (by
// Scan.At) gets the first decision again and redeems nothing. The table
// remembers nonces in memory; each decision's nonce is also written beside
// its journal entry (nonce -> seq, at), so a restart keeps them.

type nonceEntry struct {
	at       time.Time
	done     chan struct{} // closed when decision is set
	decision gate.Decision
	failed   bool // the first scan failed with error: the nonce is free again
}

type nonceTable struct {
	mu    sync.Mutex
	m     map[string]*nonceEntry
	order []nonceRef // insertion order, for pruning
	head  int
}

type nonceRef struct {
	nonce string
	at    time.Time
}

func (t *nonceTable) init() { t.m = make(map[string]*nonceEntry) }

func (t *nonceTable) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.m)
}

func within(a, b time.Time) bool {
	d := a.Sub(b)
	if d < 0 {
		d = -d
	}
	return d < gate.NonceWindow
}

// claim returns the entry holding the first decision for nonce, or registers
// a new pending entry (first == true) that the caller must settle.
func (t *nonceTable) claim(nonce string, at time.Time) (e *nonceEntry, first bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e, ok := t.m[nonce]; ok && !e.failed && within(at, e.at) {
		return e, false
	}
	e = &nonceEntry{at: at, done: make(chan struct{})}
	t.m[nonce] = e
	t.order = append(t.order, nonceRef{nonce, at})
	t.prune(at)
	return e, true
}

// settle records the decision of a pending entry and wakes its waiters. A
// decision with reason error frees the nonce: a retry decides again.
func (t *nonceTable) settle(nonce string, e *nonceEntry, d gate.Decision) {
	t.mu.Lock()
	e.decision = d
	if d.Reason == gate.ReasonError {
		e.failed = true
		if t.m[nonce] == e {
			delete(t.m, nonce)
		}
	}
	t.mu.Unlock()
	close(e.done)
}

// put remembers a decision loaded from disk.
func (t *nonceTable) put(nonce string, d gate.Decision) {
	e := &nonceEntry{at: d.At, done: make(chan struct{}), decision: d}
	close(e.done)
	t.mu.Lock()
	t.m[nonce] = e
	t.order = append(t.order, nonceRef{nonce, d.At})
	t.mu.Unlock()
}

// prune forgets nonces older than the window before now, oldest first (by
// insertion, which follows scan time closely enough). t.mu is held.
func (t *nonceTable) prune(now time.Time) {
	for t.head < len(t.order) {
		r := t.order[t.head]
		if now.Sub(r.at) < gate.NonceWindow {
			break
		}
		if e, ok := t.m[r.nonce]; ok && e.at.Equal(r.at) {
			select {
			case <-e.done:
				delete(t.m, r.nonce)
			default: // still deciding: keep it
			}
		}
		t.order[t.head] = nonceRef{}
		t.head++
	}
	if t.head > 1024 && t.head*2 > len(t.order) {
		t.order = append([]nonceRef(nil), t.order[t.head:]...)
		t.head = 0
	}
}

// wait returns the first decision of a nonce, marked Replayed.
func (e *nonceEntry) wait(ctx context.Context, s *gate.Scan) gate.Decision {
	select {
	case <-e.done:
	case <-ctx.Done():
		return s.Refusal(gate.ReasonError, "the first scan with this nonce is still being decided")
	}
	if e.failed {
		return s.Refusal(gate.ReasonError, "the first scan with this nonce failed; retry")
	}
	d := e.decision
	d.Replayed = true
	return d
}

// nonceValue is the stored value of a nonce: the sequence of its first
// decision and the scan's time (big-endian Unix nanoseconds).
func nonceValue(seq uint64, at time.Time) []byte {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], seq)
	binary.BigEndian.PutUint64(b[8:], uint64(at.UnixNano()))
	return b[:]
}

// decodeNonce reads a nonce's stored value; ok is false when it is not one.
func decodeNonce(v []byte) (seq uint64, at time.Time, ok bool) {
	if len(v) != 16 {
		return 0, time.Time{}, false
	}
	return binary.BigEndian.Uint64(v[:8]), time.Unix(0, int64(binary.BigEndian.Uint64(v[8:]))), true
}

// loadNonces reads the nonces of the last window into memory and deletes
// older ones.
func (ix *Index) loadNonces(now time.Time) error {
	it, err := ix.db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixNonce}, UpperBound: []byte{prefixNonce + 1}})
	if err != nil {
		return err
	}
	type loaded struct {
		nonce string
		seq   uint64
	}
	var keep []loaded
	var stale [][]byte
	for it.First(); it.Valid(); it.Next() {
		seq, at, ok := decodeNonce(it.Value())
		if !ok || now.Sub(at) >= gate.NonceWindow {
			stale = append(stale, bytes.Clone(it.Key()))
			continue
		}
		keep = append(keep, loaded{string(it.Key()[1:]), seq})
	}
	if err := it.Close(); err != nil {
		return err
	}
	for _, l := range keep {
		se, ok, err := ix.entry(l.seq)
		if err != nil {
			return err
		}
		if !ok || se.Kind != gate.KindDecision || se.Decision.Reason == gate.ReasonError {
			continue
		}
		ix.nonces.put(l.nonce, se.Decision)
	}
	if len(stale) == 0 {
		return nil
	}
	b := ix.db.NewBatch()
	for _, k := range stale {
		_ = b.Delete(k, nil)
	}
	if err := ix.apply(b); err != nil {
		return fmt.Errorf("index: prune nonces: %w", err)
	}
	return nil
}

var errNonceTooLong = errors.New("nonce is longer than 128 bytes")
