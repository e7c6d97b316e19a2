package venue

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Watch delivers to fn every revision of the redemption keys after
// afterRev (the last revision the caller applied; 0: from the first), one at
// a time, in revision order, until ctx ends or fn returns an error (which
// Watch returns). It goes on across reconnections, hub restarts and leader
// changes, resuming after the last revision fn accepted, so a revision is
// neither skipped nor delivered twice to one Watch call.
//
// A value that does not decode, or a key deleted at the hub, is delivered
// with Entry.Err set (never skipped): fn decides, and an fn that returns an
// error stops the watch there so a later Watch from the same afterRev meets
// it again.
//
// The hub keeps the last RedemptionHistory revisions of each key: a watcher
// further behind than that receives a key's newer revisions only, which
// hold the whole state.
//
// Watch needs only the connection, not an up link: it learns while the
// link is refused too. It returns ErrClosed once the link is closed.
func (l *Link) Watch(ctx context.Context, afterRev uint64, fn func(Entry) error) error {
	last := afterRev
	wait := l.cfg.ReconnectWait
	prefix := "$KV." + BucketRedemptions + "."
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		if l.ctx.Err() != nil {
			return ErrClosed
		}
		delivered, err := l.watchOnce(ctx, prefix, &last, fn)
		var fnErr *watchFnError
		if errors.As(err, &fnErr) {
			return fnErr.err
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		if err != nil {
			l.log.Debug().Err(err).Uint64("after", last).Msg("redemption watch interrupted; resuming")
		}
		if delivered {
			wait = l.cfg.ReconnectWait
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-l.ctx.Done():
			return ErrClosed
		case <-time.After(wait):
		}
		wait = min(wait*2, l.cfg.MaxReconnectWait)
	}
}

type watchFnError struct{ err error }

func (e *watchFnError) Error() string { return e.err.Error() }

// watchOnce runs one ordered consumer from *last+1 until it fails.
func (l *Link) watchOnce(ctx context.Context, prefix string, last *uint64, fn func(Entry) error) (bool, error) {
	cfg := jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverAllPolicy, InactiveThreshold: 30 * time.Second}
	if *last > 0 {
		cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, *last+1
	}
	// Bounded by a few ping intervals, not the connect timeout: a request
	// sent into a link that then went silent is not failed when the
	// connection drops, and the watch would wait out the whole bound
	// before resuming on the new connection.
	cctx, cancel := context.WithTimeout(ctx, min(l.cfg.ConnectTimeout, max(2*l.cfg.PingInterval, time.Second)))
	cons, err := l.js.OrderedConsumer(cctx, kvStream(BucketRedemptions), cfg)
	cancel()
	if err != nil {
		return false, fmt.Errorf("venue: watch: %w", err)
	}
	it, err := cons.Messages(jetstream.PullHeartbeat(min(5*time.Second, 2*l.cfg.PingInterval)),
		jetstream.PullExpiry(max(10*time.Second, 4*l.cfg.PingInterval)))
	if err != nil {
		return false, fmt.Errorf("venue: watch: %w", err)
	}
	defer it.Stop()
	delivered := false
	for {
		msg, err := it.Next(jetstream.NextContext(ctx))
		if err != nil {
			return delivered, fmt.Errorf("venue: watch: %w", err)
		}
		md, err := msg.Metadata()
		if err != nil {
			return delivered, fmt.Errorf("venue: watch: %w", err)
		}
		rev := md.Sequence.Stream
		if rev <= *last {
			continue
		}
		e := Entry{Key: strings.TrimPrefix(msg.Subject(), prefix), Rev: rev, At: md.Timestamp}
		switch op := msg.Headers().Get("KV-Operation"); op {
		case "":
			e.Record, e.Err = DecodeRecord(e.Key, rev, msg.Data())
		default:
			e.Err = &DecodeError{Bucket: BucketRedemptions, Key: e.Key, Rev: rev,
				Err: fmt.Errorf("the key was deleted at the hub (%s); redemption keys are never deleted", op)}
		}
		if err := fn(e); err != nil {
			return delivered, &watchFnError{err: err}
		}
		*last, delivered = rev, true
	}
}
