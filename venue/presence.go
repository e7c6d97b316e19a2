package venue

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Presence is the value of an appliance's key in [BucketAppliances].
type Presence struct {
	ID        string    `json:"id"`
	Instance  string    `json:"instance"` // random per process start: tells a restart from a second box with the same id
	Lanes     []string  `json:"lanes"`
	Version   string    `json:"version"`
	Started   time.Time `json:"started"`
	Heartbeat time.Time `json:"heartbeat"` // the appliance's clock at its last heartbeat
}

var presenceFields = []string{"id", "instance", "lanes", "version", "started", "heartbeat"}

// decodePresence decodes a presence value strictly.
func decodePresence(key string, rev uint64, data []byte) (*Presence, error) {
	fail := func(err error) (*Presence, error) {
		return nil, &DecodeError{Bucket: BucketAppliances, Key: key, Rev: rev, Err: err}
	}
	if _, err := requireFields("", data, presenceFields); err != nil {
		return fail(err)
	}
	var p Presence
	if err := strictUnmarshal(data, &p); err != nil {
		return fail(err)
	}
	if p.ID != key {
		return fail(fmt.Errorf("id %q under key %q", p.ID, key))
	}
	if p.Instance == "" {
		return fail(errors.New("instance is empty"))
	}
	return &p, nil
}

func (l *Link) presence() []byte {
	b, _ := json.Marshal(Presence{ID: l.cfg.Appliance, Instance: l.instance, Lanes: l.lanes(), Version: l.cfg.Version,
		Started: l.started.UTC(), Heartbeat: time.Now().UTC()})
	return b
}

func (l *Link) lanes() []string {
	if l.cfg.Lanes == nil {
		return []string{}
	}
	return l.cfg.Lanes
}

// registerPresence makes this process the holder of its appliance id's
// presence key: created when there is none; updated when it is this
// instance's; when another instance holds it, taken over only if that one
// stops refreshing it within two heartbeats (a restart after a crash), and
// refused (a *RefusedError) when it refreshes it (a second box with the
// same id).
func (l *Link) registerPresence(ctx context.Context, kv jetstream.KeyValue) error {
	id := l.cfg.Appliance
	for range 5 {
		e, err := kv.Get(ctx, id)
		var rev uint64
		takeover := false
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
			rev, err = kv.Create(ctx, id, l.presence())
		case err != nil:
			return fmt.Errorf("venue: presence: %w", err)
		case l.holds(id, e):
			rev, err = kv.Update(ctx, id, l.presence(), e.Revision())
		default:
			// Another instance holds the id: is it alive?
			live, werr := l.watchHolder(ctx, kv, e)
			if werr != nil {
				return werr
			}
			if live != nil {
				return &RefusedError{Reason: fmt.Sprintf("appliance id %s is already used by a live appliance (last heard %s ago)",
					id, max(time.Since(live.Created()), 0).Round(time.Second))}
			}
			rev, err = kv.Update(ctx, id, l.presence(), e.Revision())
			takeover = true
		}
		if isLost(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("venue: presence: %w", err)
		}
		if takeover {
			l.log.Warn().Str("appliance", id).Msg("took over the presence of an instance that stopped heartbeating (a restart)")
		}
		l.setPresenceRev(rev)
		return nil
	}
	return errors.New("venue: presence: the key kept changing under us")
}

// holds reports whether the presence entry e is this instance's.
func (l *Link) holds(id string, e jetstream.KeyValueEntry) bool {
	p, err := decodePresence(id, e.Revision(), e.Value())
	return err == nil && p.Instance == l.instance
}

// watchHolder watches the presence key held by entry e for two heartbeats
// and a second. It returns the newer entry when another instance refreshed
// it (alive), nil when nobody did (stale) or the key expired.
func (l *Link) watchHolder(ctx context.Context, kv jetstream.KeyValue, e jetstream.KeyValueEntry) (jetstream.KeyValueEntry, error) {
	id := l.cfg.Appliance
	deadline := time.Now().Add(2*l.cfg.Heartbeat + time.Second)
	poll := min(l.cfg.Heartbeat/4, 250*time.Millisecond)
	for time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: presence: %w", ErrOffline, ctx.Err())
		case <-time.After(poll):
		}
		cur, err := kv.Get(ctx, id)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("venue: presence: %w", err)
		}
		if cur.Revision() != e.Revision() {
			if p, err := decodePresence(id, cur.Revision(), cur.Value()); err == nil && p.Instance == l.instance {
				return nil, nil
			}
			return cur, nil
		}
	}
	return nil, nil
}

// refreshPresence is the heartbeat: an update at the revision this instance
// wrote last; if the key changed or expired meanwhile, registration again.
func (l *Link) refreshPresence(ctx context.Context, kv jetstream.KeyValue) error {
	l.mu.Lock()
	rev := l.presenceRev
	l.mu.Unlock()
	next, err := kv.Update(ctx, l.cfg.Appliance, l.presence(), rev)
	if err == nil {
		l.setPresenceRev(next)
		return nil
	}
	if !isLost(err) {
		return fmt.Errorf("venue: heartbeat: %w", classify(err))
	}
	return l.registerPresence(ctx, kv)
}

func (l *Link) setPresenceRev(rev uint64) {
	l.mu.Lock()
	l.presenceRev = rev
	l.mu.Unlock()
}

// Appliance is one appliance the hub has seen recently (its presence key
// lives PresenceTTL after its last heartbeat).
type Appliance struct {
	Presence
	LastHeard time.Time `json:"last_heard"` // the hub's time of the last heartbeat
	Rev       uint64    `json:"revision"`
	// Err is set when the presence value does not decode; Presence holds
	// only the id then.
	Err error `json:"-"`
}

// Appliances lists the appliances whose presence keys live at the hub, by
// id.
func (l *Link) Appliances(ctx context.Context) ([]Appliance, error) {
	b, err := l.ready()
	if err != nil {
		return nil, err
	}
	ctx, cancel := l.bound(ctx)
	defer cancel()
	w, err := b.appliances.WatchAll(ctx, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, fmt.Errorf("venue: appliances: %w", classify(err))
	}
	defer w.Stop()
	var out []Appliance
	for {
		select {
		case e, ok := <-w.Updates():
			if !ok {
				return nil, fmt.Errorf("venue: appliances: %w", ErrOffline)
			}
			if e == nil {
				slices.SortFunc(out, func(a, b Appliance) int { return cmp.Compare(a.ID, b.ID) })
				return out, nil
			}
			a := Appliance{LastHeard: e.Created(), Rev: e.Revision()}
			if p, err := decodePresence(e.Key(), e.Revision(), e.Value()); err != nil {
				a.ID, a.Err = e.Key(), err
			} else {
				a.Presence = *p
			}
			out = append(out, a)
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: appliances: %w", ErrOffline, ctx.Err())
		}
	}
}
