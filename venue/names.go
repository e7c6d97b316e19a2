package venue

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// The hub's buckets and stream. Their names are fixed: every appliance and
// every hub of a venue uses the same ones (docs/venue.md).
const (
	// BucketRedemptions is the KV bucket of redemptions, one key per
	// (event, ticket) (see [RedemptionKey]); the compare-and-set of the
	// redeem-once claim.
	BucketRedemptions = "admit_redemptions"
	// BucketAppliances is the KV bucket of presence: one key per appliance
	// id, refreshed every heartbeat, expiring after [PresenceTTL].
	BucketAppliances = "admit_appliances"
	// BucketDoubleEntries is the KV bucket of double entries, keyed like the
	// redemptions, each created once.
	BucketDoubleEntries = "admit_double_entries"
	// StreamChanges is the stream of changes to sets and catalog; an
	// appliance publishes on [ChangeSubject] of its own id.
	StreamChanges = "admit_changes"
	// BucketFiles is the object store of import files, named by the hex
	// SHA-256 of their content.
	BucketFiles = "admit_files"
	// Account is the hub's account that holds the venue's JetStream assets
	// and every appliance's user.
	Account = "ADMIT"
)

// ChangesSubjects is the subject filter of [StreamChanges].
const ChangesSubjects = "admit.changes.>"

// ChangeSubject is the subject appliance id publishes its changes on; the
// hub lets it publish there (and below) only.
func ChangeSubject(id string) string { return "admit.changes." + id }

// kvStream is the JetStream stream behind a KV bucket; objStream the one
// behind an object store.
func kvStream(bucket string) string  { return "KV_" + bucket }
func objStream(bucket string) string { return "OBJ_" + bucket }

// RedemptionKey is the key of (event, ticket) in [BucketRedemptions]:
// "r." and the lowercase hex of the first 16 bytes of SHA-256(event, 0x00,
// ticket). ticket is the venue-wide ticket id (the barcode of the ticket's
// origin), never a local store key.
func RedemptionKey(event, ticket string) string {
	h := sha256.New()
	h.Write([]byte(event))
	h.Write([]byte{0})
	h.Write([]byte(ticket))
	var sum [sha256.Size]byte
	return "r." + hex.EncodeToString(h.Sum(sum[:0])[:16])
}

// MaxApplianceIDLen is the longest appliance id.
const MaxApplianceIDLen = 64

// CheckApplianceID reports whether id can name an appliance in a venue: 1 to
// 64 of a-z A-Z 0-9 _ -. The id is a token of the appliance's subjects, its
// presence key and its hub user, so it may hold no dot, wildcard or space.
// "admin" is the hub's administrator and cannot be an appliance.
func CheckApplianceID(id string) error {
	if id == "" {
		return fmt.Errorf("appliance id is empty")
	}
	if len(id) > MaxApplianceIDLen {
		return fmt.Errorf("appliance id %q is longer than %d characters", id, MaxApplianceIDLen)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '-':
		default:
			return fmt.Errorf("appliance id %q may hold only letters, digits, _ and -", id)
		}
	}
	if id == DefaultAdminUser {
		return fmt.Errorf("appliance id %q is the hub's administrator user", id)
	}
	return nil
}

// inboxPrefix is appliance id's reply subject prefix: each appliance
// subscribes only to its own inboxes, so none reads another's replies.
func inboxPrefix(id string) string { return "_INBOX_" + id }
