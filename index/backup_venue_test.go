package index

import (
	"context"
	"testing"
	"time"
)

// A restored store forgets when it joined its venue (vsince): the hub holds
// this appliance's writes made after the backup, which the restored
// journal does not, and they must be learned as anyone's, not released as
// phantom claims. At its next UseVenue the store joins anew, from then. A
// store outside a venue restores as it was.
func TestRestoreForgetsWhenTheStoreJoinedItsVenue(t *testing.T) {
	ctx := context.Background()
	ix, fs := openMem(t)
	if _, err := ix.Backup(ctx, "backups/single", BackupOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := ix.UseVenue(claimerOf("test")); err != nil {
		t.Fatal(err)
	}
	joined := ix.venue.Load().since
	if since, err := ix.getU64(metaVenueSince); err != nil || since == 0 {
		t.Fatalf("vsince after UseVenue: %d, %v", since, err)
	}
	if _, err := ix.Backup(ctx, "backups/venue", BackupOptions{}); err != nil {
		t.Fatal(err)
	}

	for _, b := range []string{"single", "venue"} {
		if _, err := Restore(fs, "backups/"+b, "restored-"+b); err != nil {
			t.Fatal(err)
		}
		back, err := Open("restored-"+b, testOptions(fs))
		if err != nil {
			t.Fatal(err)
		}
		if since, err := back.getU64(metaVenueSince); err != nil || since != 0 {
			t.Errorf("%s: the restored store still says when it joined a venue: %d, %v", b, since, err)
		}
		if b == "venue" {
			time.Sleep(time.Millisecond) // the clock moves past the first join, even a coarse one
			if err := back.UseVenue(claimerOf("test")); err != nil {
				t.Fatal(err)
			}
			if again := back.venue.Load().since; !again.After(joined) {
				t.Errorf("joined again at %v, not after the first join %v", again, joined)
			}
		}
		if err := back.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
