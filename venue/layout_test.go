package venue_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/admitgate/admit/venue"
	"github.com/admitgate/admit/venue/hubtest"
)

// TestLayoutEnsure: init creates every bucket once with the venue's
// settings; a second run finds them; a link that may not create refuses a
// hub without them.
func TestLayoutEnsure(t *testing.T) {
	c := hubtest.StartCluster(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	cfg := c.LinkConfig("north")
	cfg.Layout.Create = false
	_, err := venue.Open(ctx, cfg, testLogger())
	if !errors.Is(err, venue.ErrRefused) || !strings.Contains(err.Error(), "admit hub init") {
		t.Fatalf("open against an empty hub without create: %v", err)
	}

	_, js := c.Admin()
	layout := venue.Layout{Replicas: 1, Create: true}
	assets, err := layout.Ensure(ctx, js)
	if err != nil {
		t.Fatal(err)
	}
	names := []string{}
	for _, a := range assets {
		if !a.Created {
			t.Errorf("%s not created", a.Name)
		}
		names = append(names, a.Name)
	}
	want := []string{venue.BucketRedemptions, venue.BucketAppliances, venue.BucketDoubleEntries, venue.StreamChanges, venue.BucketFiles}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Fatalf("assets %v, want %v", names, want)
	}
	assets, err = layout.Ensure(ctx, js)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range assets {
		if a.Created {
			t.Errorf("%s created twice", a.Name)
		}
	}
	st, err := js.Stream(ctx, venue.StreamChanges)
	if err != nil {
		t.Fatal(err)
	}
	if sc := st.CachedInfo().Config; sc.Duplicates != venue.ChangesDuplicates || sc.MaxAge != 0 || !sc.AllowDirect {
		t.Fatalf("changes stream %+v", sc)
	}
	openUp(t, c, "north")
}

// TestLayoutWrongSettings: buckets made with other settings are a clear
// error naming bucket, setting, found and wanted, and the link does not
// come up.
func TestLayoutWrongSettings(t *testing.T) {
	c := hubtest.StartCluster(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, js := c.Admin()
	if _, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: venue.BucketRedemptions, History: 1,
		Storage: jetstream.MemoryStorage}); err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: venue.StreamChanges, Subjects: []string{"admit.changes.>"},
		MaxAge: time.Hour}); err != nil {
		t.Fatal(err)
	}
	_, err := venue.Layout{Replicas: 1, Create: true}.Ensure(ctx, js)
	var se *venue.SettingError
	if !errors.As(err, &se) {
		t.Fatalf("ensure over wrong buckets: %v", err)
	}
	for _, want := range []string{
		"venue: admit_redemptions: storage is Memory, wanted File",
		"venue: admit_redemptions: history is 1, wanted 5",
		"venue: admit_changes: max age is 1h0m0s, wanted none",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	cfg := c.LinkConfig("north")
	_, err = venue.Open(ctx, cfg, testLogger())
	if !errors.Is(err, venue.ErrRefused) || !strings.Contains(err.Error(), "history is 1, wanted 5") {
		t.Fatalf("open over wrong buckets: %v", err)
	}
	// The same buckets are wrong for a hub of three replicas, too.
	_, err = venue.Layout{Replicas: 3}.Ensure(ctx, js)
	if !errors.As(err, &se) || !strings.Contains(err.Error(), "admit_redemptions: replicas is 1, wanted 3") {
		t.Fatalf("replicas: %v", err)
	}
}
