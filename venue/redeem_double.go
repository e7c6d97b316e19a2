package venue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/admitgate/admit/gate"
)

// Double entries. An offline admission whose replay finds the entries
// already spent at the hub is recorded in [BucketDoubleEntries] under
// [DoubleEntryKey]: the redemption key, the replaying appliance and the
// journal sequence of its offline scan. The key names the offline scan, so
// the record is created once (KV Create) however often the replay runs, and
// a ticket several appliances let in offline has one record each.

// DoubleEntryVersion is the version of [DoubleEntry] this package writes.
const DoubleEntryVersion = 1

// DoubleEntry is the value of one key of [BucketDoubleEntries].
type DoubleEntry struct {
	V      int    `json:"v"` // DoubleEntryVersion
	Event  string `json:"event"`
	Ticket string `json:"ticket"` // the venue-wide ticket id
	// Hub is the admission the hub held when the replay came (another
	// appliance's); Offline the admission replayed, made while its
	// appliance could not reach the hub.
	Hub     gate.Movement `json:"hub"`
	Offline gate.Movement `json:"offline"`
	// Reason is the offline admission's: ok (an entry) or reentry.
	Reason     gate.Reason `json:"reason"`
	RecordedAt time.Time   `json:"recorded_at"`
}

// DoubleEntryKey is the key of the double entry that appliance's offline
// scan seq made on (event, ticket).
func DoubleEntryKey(event, ticket, appliance string, seq uint64) string {
	return RedemptionKey(event, ticket) + "." + appliance + "." + strconv.FormatUint(seq, 10)
}

var doubleEntryFields = []string{"v", "event", "ticket", "hub", "offline", "reason", "recorded_at"}

// DecodeDoubleEntry decodes a double entry strictly (a *DecodeError).
func DecodeDoubleEntry(key string, rev uint64, data []byte) (*DoubleEntry, error) {
	fail := func(err error) (*DoubleEntry, error) {
		return nil, &DecodeError{Bucket: BucketDoubleEntries, Key: key, Rev: rev, Err: err}
	}
	if _, err := requireFields("", data, doubleEntryFields); err != nil {
		return fail(err)
	}
	var d DoubleEntry
	if err := strictUnmarshal(data, &d); err != nil {
		return fail(err)
	}
	if d.V != DoubleEntryVersion {
		return fail(fmt.Errorf("version %d, wanted %d", d.V, DoubleEntryVersion))
	}
	if k := DoubleEntryKey(d.Event, d.Ticket, d.Offline.Appliance, d.Offline.Seq); k != key {
		return fail(fmt.Errorf("the double entry of event %q ticket %q belongs under key %s", d.Event, d.Ticket, k))
	}
	return &d, nil
}

// RecordDoubleEntry records d at the hub once (gate.Claimer): a second call
// for the same offline scan finds it there and succeeds.
func (r *Redeemer) RecordDoubleEntry(ctx context.Context, d *gate.DoubleEntry) error {
	rec := DoubleEntry{V: DoubleEntryVersion, Event: d.Event, Ticket: d.Ticket, Hub: d.Hub, Offline: d.Offline,
		Reason: d.Reason, RecordedAt: d.RecordedAt}
	if err := CheckApplianceID(d.Offline.Appliance); err != nil {
		return fmt.Errorf("venue: double entry: %w", err)
	}
	data, err := json.Marshal(&rec)
	if err != nil {
		return fmt.Errorf("venue: double entry: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, r.cfg.ClaimTimeout)
	defer cancel()
	kv, err := r.doublesBucket(ctx)
	if err != nil {
		return r.readError(err)
	}
	key := DoubleEntryKey(d.Event, d.Ticket, d.Offline.Appliance, d.Offline.Seq)
	_, err = kv.Create(ctx, key, data)
	if err != nil && !isLost(err) {
		return r.readError(fmt.Errorf("venue: double entry %s: %w", key, classify(err)))
	}
	if err == nil {
		r.doublesHere.Add(1)
	}
	return nil
}

// doublesBucket binds the double entries' bucket once the link is up.
func (r *Redeemer) doublesBucket(ctx context.Context) (jetstream.KeyValue, error) {
	if kv := r.doubles.Load(); kv != nil {
		return *kv, nil
	}
	if _, err := r.link.ready(); err != nil {
		return nil, err
	}
	kv, err := r.link.js.KeyValue(ctx, BucketDoubleEntries)
	if err != nil {
		return nil, fmt.Errorf("venue: %s: %w", BucketDoubleEntries, classify(err))
	}
	r.doubles.Store(&kv)
	return kv, nil
}

// DoubleEntries lists every double entry recorded at the hub, venue-wide,
// oldest record first. A value that does not decode is an error naming it.
func (r *Redeemer) DoubleEntries(ctx context.Context) ([]DoubleEntry, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, r.link.stepTimeout())
		defer cancel()
	}
	kv, err := r.doublesBucket(ctx)
	if err != nil {
		return nil, err
	}
	w, err := kv.WatchAll(ctx, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, fmt.Errorf("venue: double entries: %w", classify(err))
	}
	defer w.Stop()
	out := []DoubleEntry{}
	for {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("venue: double entries: %w", classify(ctx.Err()))
		case e, ok := <-w.Updates():
			if !ok {
				return nil, errors.New("venue: double entries: the watch ended")
			}
			if e == nil { // every value delivered
				slices.SortFunc(out, func(a, b DoubleEntry) int { return a.RecordedAt.Compare(b.RecordedAt) })
				return out, nil
			}
			d, err := DecodeDoubleEntry(e.Key(), e.Revision(), e.Value())
			if err != nil {
				return nil, err
			}
			out = append(out, *d)
		}
	}
}
