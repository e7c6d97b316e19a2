package venue

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// The venue's fixed bucket settings (docs/venue.md).
const (
	// RedemptionHistory is how many revisions of a redemption key the hub
	// keeps.
	RedemptionHistory = 5
	// PresenceTTL is how long a presence key lives after its last
	// heartbeat.
	PresenceTTL = 15 * time.Second
	// HeartbeatInterval is how often a link refreshes its presence key.
	HeartbeatInterval = 3 * time.Second
	// ChangesDuplicates is the changes stream's deduplication window: a
	// change published twice with one Nats-Msg-Id (its change id) within it
	// is stored once.
	ChangesDuplicates = 2 * time.Minute
)

// Layout is what the venue's buckets and stream must look like at a hub.
// Zero fields take the defaults stated beside them.
type Layout struct {
	// Replicas of every bucket and stream: 3 on a clustered hub (the
	// default), 1 on a one-node trial hub.
	Replicas int
	// Create makes what is missing (admit hub init, or the first appliance
	// when allowed); false: a missing bucket is an error.
	Create bool
	// ChangesMaxAge bounds how long the changes stream keeps a change; 0
	// (the default): for ever. A venue that bounds it brings new appliances
	// up from a snapshot (docs/venue.md).
	ChangesMaxAge time.Duration
}

func (l Layout) replicas() int {
	if l.Replicas == 0 {
		return 3
	}
	return l.Replicas
}

// Asset is one bucket or stream of the layout as Ensure found it.
type Asset struct {
	Name    string // the bucket or stream name, admit_redemptions
	Kind    string // "kv", "stream" or "object store"
	Created bool   // Ensure created it
}

// SettingError is a bucket or stream whose setting is not the layout's: the
// venue's guarantees rest on them (a bucket of one replica loses acknowledged
// claims with its node), so a link refuses to come up over one.
type SettingError struct {
	Bucket  string
	Setting string
	Found   string
	Wanted  string
}

func (e *SettingError) Error() string {
	return fmt.Sprintf("venue: %s: %s is %s, wanted %s", e.Bucket, e.Setting, e.Found, e.Wanted)
}

// ErrMissing is a bucket or stream the hub does not have while Layout.Create
// is false.
var ErrMissing = errors.New("missing at the hub")

// want is one asset's settings.
type want struct {
	name, kind, stream string
	cfg                jetstream.StreamConfig // the settings checked: replicas, storage, subjects, history, max age, retention, duplicates
}

func (l Layout) wants() []want {
	r := l.replicas()
	kv := func(bucket string, history int64, ttl time.Duration) want {
		return want{name: bucket, kind: "kv", stream: kvStream(bucket), cfg: jetstream.StreamConfig{
			Subjects: []string{"$KV." + bucket + ".>"}, Replicas: r, Storage: jetstream.FileStorage,
			MaxMsgsPerSubject: history, MaxAge: ttl, Retention: jetstream.LimitsPolicy}}
	}
	return []want{
		kv(BucketRedemptions, RedemptionHistory, 0),
		kv(BucketAppliances, 1, PresenceTTL),
		kv(BucketDoubleEntries, 1, 0),
		{name: StreamChanges, kind: "stream", stream: StreamChanges, cfg: jetstream.StreamConfig{
			Subjects: []string{ChangesSubjects}, Replicas: r, Storage: jetstream.FileStorage,
			MaxAge: l.ChangesMaxAge, Retention: jetstream.LimitsPolicy, Duplicates: ChangesDuplicates}},
		{name: BucketFiles, kind: "object store", stream: objStream(BucketFiles), cfg: jetstream.StreamConfig{
			Subjects: []string{"$O." + BucketFiles + ".C.>", "$O." + BucketFiles + ".M.>"}, Replicas: r,
			Storage: jetstream.FileStorage, Retention: jetstream.LimitsPolicy}},
	}
}

// Ensure checks every bucket and stream of the layout at the hub js talks
// to, creating the missing ones when l.Create is set. It returns what it
// found (or made); a missing asset (without Create) wraps [ErrMissing], a
// wrong setting is a *[SettingError] (several are joined).
func (l Layout) Ensure(ctx context.Context, js jetstream.JetStream) ([]Asset, error) {
	var assets []Asset
	var errs []error
	for _, w := range l.wants() {
		created, err := l.ensure(ctx, js, w)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		assets = append(assets, Asset{Name: w.name, Kind: w.kind, Created: created})
	}
	return assets, errors.Join(errs...)
}

func (l Layout) ensure(ctx context.Context, js jetstream.JetStream, w want) (bool, error) {
	st, err := js.Stream(ctx, w.stream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		if !l.Create {
			return false, fmt.Errorf("venue: %s %s: %w (run admit hub init)", w.kind, w.name, ErrMissing)
		}
		err = l.create(ctx, js, w)
		if err == nil {
			return true, nil
		}
		if !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) && !errors.Is(err, jetstream.ErrBucketExists) {
			return false, fmt.Errorf("venue: create %s %s: %w", w.kind, w.name, err)
		}
		// Another appliance made it first: check what it made.
		st, err = js.Stream(ctx, w.stream)
	}
	if err != nil {
		return false, fmt.Errorf("venue: %s %s: %w", w.kind, w.name, err)
	}
	return false, check(w, st.CachedInfo().Config)
}

func (l Layout) create(ctx context.Context, js jetstream.JetStream, w want) error {
	var err error
	switch w.kind {
	case "kv":
		_, err = js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: w.name, History: uint8(w.cfg.MaxMsgsPerSubject),
			TTL: w.cfg.MaxAge, Storage: w.cfg.Storage, Replicas: w.cfg.Replicas})
	case "object store":
		_, err = js.CreateObjectStore(ctx, jetstream.ObjectStoreConfig{Bucket: w.name, Storage: w.cfg.Storage,
			Replicas: w.cfg.Replicas})
	default:
		cfg := w.cfg
		cfg.Name = w.stream
		cfg.AllowDirect = true
		_, err = js.CreateStream(ctx, cfg)
	}
	return err
}

// check compares the settings the venue rests on.
func check(w want, got jetstream.StreamConfig) error {
	var errs []error
	mismatch := func(setting, found, wanted string) {
		if found != wanted {
			errs = append(errs, &SettingError{Bucket: w.name, Setting: setting, Found: found, Wanted: wanted})
		}
	}
	mismatch("replicas", fmt.Sprint(max(got.Replicas, 1)), fmt.Sprint(w.cfg.Replicas))
	mismatch("storage", got.Storage.String(), w.cfg.Storage.String())
	mismatch("retention", got.Retention.String(), w.cfg.Retention.String())
	gs, ws := slices.Clone(got.Subjects), slices.Clone(w.cfg.Subjects)
	slices.Sort(gs)
	slices.Sort(ws)
	mismatch("subjects", strings.Join(gs, ","), strings.Join(ws, ","))
	switch w.kind {
	case "kv":
		mismatch("history", fmt.Sprint(got.MaxMsgsPerSubject), fmt.Sprint(w.cfg.MaxMsgsPerSubject))
		mismatch("ttl", ageString(got.MaxAge), ageString(w.cfg.MaxAge))
	case "stream":
		mismatch("max age", ageString(got.MaxAge), ageString(w.cfg.MaxAge))
		mismatch("duplicate window", got.Duplicates.String(), w.cfg.Duplicates.String())
	}
	return errors.Join(errs...)
}

func ageString(d time.Duration) string {
	if d == 0 {
		return "none"
	}
	return d.String()
}
