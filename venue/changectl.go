package venue

import (
	"context"
	"fmt"
	"time"

	"github.com/admitgate/admit/gate"
)

// What the applier shares with others: the Publisher's waits for its own
// changes and its spooled files, and the operator's Retry and Skip.

// expect registers the Publisher's wait for change id; forget drops it.
func (a *Applier) expect(id string) <-chan applied {
	ch := make(chan applied, 1)
	a.mu.Lock()
	a.waiters[id] = ch
	a.mu.Unlock()
	return ch
}

func (a *Applier) forget(id string) {
	a.mu.Lock()
	delete(a.waiters, id)
	a.mu.Unlock()
}

func (a *Applier) deliver(id string, r applied) {
	a.mu.Lock()
	ch, ok := a.waiters[id]
	delete(a.waiters, id)
	a.mu.Unlock()
	if ok {
		ch <- r
	}
}

// failWaiters answers every wait with err.
func (a *Applier) failWaiters(err error) {
	a.mu.Lock()
	ws := a.waiters
	a.waiters = map[string]chan applied{}
	a.mu.Unlock()
	for _, ch := range ws {
		ch <- applied{err: err}
	}
}

// offer lends the applier the Publisher's spooled copy of file sum;
// withdraw takes it back (the applier then fetches the file from the hub).
func (a *Applier) offer(sum, path string) {
	a.mu.Lock()
	a.offered[sum] = path
	a.mu.Unlock()
}

func (a *Applier) withdraw(sum string) {
	a.mu.Lock()
	delete(a.offered, sum)
	a.mu.Unlock()
}

// Retry makes a stopped applier try the change it stopped at again (once
// its cause is fixed: the file restored at the hub). It does nothing to
// an applier that is not stopped.
func (a *Applier) Retry() {
	if st := a.stopped.Swap(nil); st != nil {
		a.log.Info().Uint64("position", st.Position).Msg("venue changes: retrying the change they stopped at")
	}
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// Skip gives up, on this appliance only, the change at pos the applier
// stopped at: the store records a skip (by, and the error as its detail)
// at that position, and the applier goes on with the next change. The
// other appliances are not touched: what the change did there is missing
// here. ENOTFOUND-like error when the applier is not stopped at pos.
func (a *Applier) Skip(ctx context.Context, pos uint64, by string) error {
	st := a.stopped.Load()
	if st == nil || st.Position != pos {
		return gate.Errorf(gate.ECONFLICT, "the venue changes are not stopped at position %d", pos)
	}
	c := gate.Change{ID: newChangeID(), Kind: gate.ChangeSkip, By: by, At: time.Now().UTC(), Appliance: a.link.Appliance(),
		Position: pos, Detail: st.Error}
	if _, err := a.cfg.Store.ApplyChange(ctx, c); err != nil {
		return fmt.Errorf("venue: skip change %d: %w", pos, err)
	}
	a.stopped.CompareAndSwap(st, nil)
	a.applied.Store(pos)
	select {
	case a.wake <- struct{}{}:
	default:
	}
	return nil
}
