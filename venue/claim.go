package venue

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// ErrLost is a claim another write beat: the key's revision at the hub is
// not the one the claim was made at. The *LostError carries the value that
// won.
var ErrLost = errors.New("venue: claim lost")

// LostError is a lost claim with the key's current state at the hub.
type LostError struct {
	Key string
	// Current is the key's value at the hub now, Rev its revision: the
	// winner is Current.Claim. Current is nil and Rev 0 when the key does
	// not exist (an Update at a revision the key never had), or when it
	// could not be read (Err says why).
	Current *Record
	Rev     uint64
	Err     error
}

func (e *LostError) Error() string {
	switch {
	case e.Err != nil:
		return fmt.Sprintf("venue: claim %s lost; the winner could not be read: %v", e.Key, e.Err)
	case e.Current == nil:
		return fmt.Sprintf("venue: claim %s lost: the key does not exist at the hub", e.Key)
	}
	c := e.Current.Claim
	return fmt.Sprintf("venue: claim %s lost to appliance %s (seq %d at %s, revision %d)", e.Key, c.Appliance, c.Seq,
		c.At.Format(time.RFC3339Nano), e.Rev)
}

// Is makes a *LostError match ErrLost.
func (e *LostError) Is(target error) bool { return target == ErrLost }

// Unwrap returns the error that kept the winner from being read.
func (e *LostError) Unwrap() error { return e.Err }

// Entry is one revision of a redemption key.
type Entry struct {
	Key    string
	Rev    uint64    // 0: the key has no value
	At     time.Time // the hub's time of the write
	Record *Record   // nil when Rev is 0 or Err is set
	// Err is a value that does not decode (a *DecodeError) or a key the hub
	// deleted (redemption keys are never deleted), delivered by Watch
	// instead of being skipped.
	Err error
}

// Claim writes rec under key at the hub if the key is still at knownRev:
// KV Create when knownRev is 0 (nobody has written the key), Update at
// knownRev otherwise. It returns the new revision once the hub has
// acknowledged the write (replicated and synced to disk on a quorum).
//
// A claim another write beat returns a *LostError (errors.Is ErrLost) with
// the key's current value and revision. A claim the hub did not acknowledge
// within ctx's deadline (ClaimTimeout when ctx has none), or made while the
// link is not up, returns an error wrapping ErrOffline within that
// deadline: the write may still have landed (rec.Claim recognises it). A
// refused link returns ErrRefused. key must be rec's key.
func (l *Link) Claim(ctx context.Context, key string, rec *Record, knownRev uint64) (uint64, error) {
	if k := rec.Key(); k != key {
		return 0, fmt.Errorf("venue: claim: key %s, the record's is %s", key, k)
	}
	data, err := MarshalRecord(rec)
	if err != nil {
		return 0, err
	}
	b, err := l.ready()
	if err != nil {
		return 0, err
	}
	ctx, cancel := l.bound(ctx)
	defer cancel()
	start := time.Now()
	var rev uint64
	if knownRev == 0 {
		rev, err = b.redemptions.Create(ctx, key, data)
	} else {
		rev, err = b.redemptions.Update(ctx, key, data, knownRev)
	}
	if err == nil {
		l.mu.Lock()
		l.lastClaim = time.Since(start)
		l.mu.Unlock()
		return rev, nil
	}
	if !isLost(err) {
		return 0, fmt.Errorf("venue: claim %s: %w", key, classify(err))
	}
	gctx, gcancel := ctx, context.CancelFunc(func() {})
	if dl, _ := ctx.Deadline(); time.Until(dl) < l.cfg.ClaimTimeout/2 {
		// The winner is worth a second look even when the claim used up
		// its time: without it the caller cannot name the winner.
		gctx, gcancel = context.WithTimeout(context.Background(), l.cfg.ClaimTimeout)
	}
	defer gcancel()
	cur, gerr := l.get(gctx, b, key)
	return 0, &LostError{Key: key, Current: cur.Record, Rev: cur.Rev, Err: gerr}
}

// Get reads key's current value at the hub. A key without a value is an
// Entry with Rev 0 and no error; a value that does not decode is a
// *DecodeError. Errors as Claim's: ErrOffline, ErrRefused.
func (l *Link) Get(ctx context.Context, key string) (Entry, error) {
	b, err := l.ready()
	if err != nil {
		return Entry{Key: key}, err
	}
	ctx, cancel := l.bound(ctx)
	defer cancel()
	return l.get(ctx, b, key)
}

func (l *Link) get(ctx context.Context, b *buckets, key string) (Entry, error) {
	e, err := b.redemptions.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return Entry{Key: key}, nil
	}
	if err != nil {
		return Entry{Key: key}, fmt.Errorf("venue: get %s: %w", key, classify(err))
	}
	rec, err := DecodeRecord(key, e.Revision(), e.Value())
	if err != nil {
		return Entry{Key: key, Rev: e.Revision(), At: e.Created()}, err
	}
	return Entry{Key: key, Rev: e.Revision(), At: e.Created(), Record: rec}, nil
}

// bound gives ctx the claim timeout when it has no deadline.
func (l *Link) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, l.cfg.ClaimTimeout)
}

// isLost reports whether err is a compare-and-set conflict: nats.go's
// ErrKeyExists (Create) or ErrKeyRevisionMismatch (Update), or the
// server's wrong-last-sequence codes themselves (10071; 10164 on
// replicated streams), whichever the versions in use report.
func isLost(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		return true
	}
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant)
}

// classify marks the errors that mean "the hub did not answer" with
// ErrOffline.
func classify(err error) error {
	if isOffline(err) {
		return fmt.Errorf("%w: %w", ErrOffline, err)
	}
	return err
}

func isOffline(err error) bool {
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, nats.ErrTimeout),
		errors.Is(err, nats.ErrNoResponders), errors.Is(err, jetstream.ErrNoStreamResponse),
		errors.Is(err, nats.ErrReconnectBufExceeded), errors.Is(err, nats.ErrConnectionClosed),
		errors.Is(err, nats.ErrConnectionReconnecting), errors.Is(err, nats.ErrDisconnected),
		errors.Is(err, nats.ErrConnectionDraining), errors.Is(err, nats.ErrStaleConnection):
		return true
	}
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		// 503 and 10008 (cluster not available) are a hub without quorum:
		// offline for the appliance, as a silent one is.
		return apiErr.Code == 503 || apiErr.ErrorCode == jsErrClusterNotAvailable ||
			strings.Contains(apiErr.Description, "no suitable peers")
	}
	return false
}

// jsErrClusterNotAvailable is the server's "JetStream system temporarily
// unavailable" (no quorum), which nats.go does not name.
const jsErrClusterNotAvailable jetstream.ErrorCode = 10008
