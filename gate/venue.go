package gate

import (
	"context"
	"strconv"
	"time"
)

// A venue is several appliances that keep one redeem-once between them
// through a hub (package venue implements the link; only cmd/admit wires
// it). The index keeps deciding every scan from its own store; what a venue
// adds is the claim: after Decide says Write (an admission, a re-entry or an
// exit), and before the local durable commit, the write is claimed at the
// hub with a compare-and-set on the (event, ticket) key. Only a claim the
// hub acknowledged is committed and answered. The types below are that
// protocol as the index sees it, so the index and the link meet in gate and
// never import each other.

// OfflinePolicy is what a lane does with an admission when the venue's hub
// does not answer its claim in time (or the link is down).
type OfflinePolicy uint8

const (
	// OfflineDeny refuses with ReasonOffline: the lane fails closed. It is
	// the zero value, so a lane that says nothing denies.
	OfflineDeny OfflinePolicy = iota
	// OfflineAdmit admits by the appliance's own state: the admission is
	// committed marked Offline, and replayed at the hub once it answers; a
	// replay that finds the entries spent elsewhere is a double entry.
	OfflineAdmit
)

var offlinePolicyNames = [...]string{OfflineDeny: "deny", OfflineAdmit: "admit"}

// String returns "deny" or "admit".
func (p OfflinePolicy) String() string {
	if int(p) < len(offlinePolicyNames) {
		return offlinePolicyNames[p]
	}
	return "offline_policy(" + strconv.Itoa(int(p)) + ")"
}

// ParseOfflinePolicy reads "deny" or "admit"; "" is deny (fail closed).
func ParseOfflinePolicy(s string) (OfflinePolicy, error) {
	switch s {
	case "", "deny":
		return OfflineDeny, nil
	case "admit":
		return OfflineAdmit, nil
	}
	return OfflineDeny, Errorf(EINVALID, "offline policy %q: deny or admit", s)
}

// MarshalText implements encoding.TextMarshaler.
func (p OfflinePolicy) MarshalText() ([]byte, error) {
	if int(p) >= len(offlinePolicyNames) {
		return nil, Errorf(EINVALID, "offline policy %d", uint8(p))
	}
	return []byte(offlinePolicyNames[p]), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (p *OfflinePolicy) UnmarshalText(b []byte) error {
	v, err := ParseOfflinePolicy(string(b))
	if err != nil {
		return err
	}
	*p = v
	return nil
}

// ClaimRef names one write at the hub: the appliance that made it, the
// journal sequence of its scan there (0 for a write no scan made: the
// release of a claim nobody was answered for), and the scan's time. With
// them an appliance recognises its own writes: a claim that timed out but
// landed, or one that landed for a guest it refused.
type ClaimRef struct {
	Appliance string
	Seq       uint64
	At        time.Time
}

// Same reports whether r and o name the same write (times compared as
// instants: one may have come through the hub's JSON).
func (r ClaimRef) Same(o ClaimRef) bool {
	return r.Appliance == o.Appliance && r.Seq == o.Seq && r.At.Equal(o.At)
}

// HubRedemption is one redemption as the hub holds it: a ticket's state at
// one event, venue-wide, and the write that produced it.
type HubRedemption struct {
	Event string
	// Ticket is the venue-wide ticket id: the barcode of the ticket's
	// origin (the first barcode of a chain of reissues), never a store's
	// own key.
	Ticket string
	// Redemption is the state after the write; its Revision is the hub's
	// revision of it.
	Redemption Redemption
	// Prev is the state before the write; nil for the key's first write.
	Prev *Redemption
	By   ClaimRef
}

// Claim is a write of a redemption the index asks the hub to make: a
// compare-and-set at KnownRev.
type Claim struct {
	Event  string
	Ticket string // the venue-wide ticket id
	// KnownRev is the hub revision the write was decided from: 0 when this
	// appliance never saw the key (the hub creates it, and refuses when it
	// exists), else the revision the key must still be at.
	KnownRev   uint64
	Redemption Redemption  // the state after the write (its Revision is not sent)
	Prev       *Redemption // the state it replaces; nil when KnownRev is 0
	By         ClaimRef    // this appliance, the scan's journal sequence and time
}

// ClaimOutcome is how a claim ended.
type ClaimOutcome uint8

const (
	// ClaimWon: the hub acknowledged the write (replicated and on disk);
	// ClaimResult.Revision is its revision.
	ClaimWon ClaimOutcome = iota + 1
	// ClaimLost: another write came first; ClaimResult.Current is the
	// key's state now (nil when the key has no value).
	ClaimLost
	// ClaimOffline: no answer in time, or the link is down. The write may
	// still land; the lane's offline policy decides.
	ClaimOffline
	// ClaimFailed: the venue is wrong (its buckets' settings, a value that
	// does not decode, a refused appliance id); scans that need the hub
	// fail closed with ReasonError, whatever the lane's policy.
	ClaimFailed
)

var claimOutcomeNames = [...]string{ClaimWon: "won", ClaimLost: "lost", ClaimOffline: "offline", ClaimFailed: "failed"}

// String returns "won", "lost", "offline" or "failed".
func (o ClaimOutcome) String() string {
	if o >= ClaimWon && int(o) < len(claimOutcomeNames) {
		return claimOutcomeNames[o]
	}
	return "claim_outcome(" + strconv.Itoa(int(o)) + ")"
}

// ClaimResult is the hub's answer to a claim.
type ClaimResult struct {
	Outcome  ClaimOutcome
	Revision uint64         // ClaimWon: the new revision
	Current  *HubRedemption // ClaimLost: the write that won (nil: the key has no value)
	// Detail says why, for ClaimOffline and ClaimFailed: words for people,
	// no secrets.
	Detail string
}

// Claimer is the venue's hub as the index uses it (package venue
// implements it). The index calls it holding the ticket's lock, so a
// Claimer must answer within its claim timeout whatever ctx allows, and
// must not call back into the index.
type Claimer interface {
	// Appliance is this appliance's venue id; the index's movements carry
	// the same one.
	Appliance() string
	// Claim makes the write c describes if the key is still at
	// c.KnownRev.
	Claim(ctx context.Context, c *Claim) ClaimResult
	// Current reads the hub's state of (event, ticket): nil when the key
	// has no value. An error with code EUNAVAILABLE means the hub did not
	// answer; any other means the venue is wrong (fail closed).
	Current(ctx context.Context, event, ticket string) (*HubRedemption, error)
	// RecordDoubleEntry records d at the hub, once however often it is
	// called for the same offline scan (d.Offline's appliance and seq).
	// Errors as Current's.
	RecordDoubleEntry(ctx context.Context, d *DoubleEntry) error
}

// DoubleEntry is an admission made offline that its replay found already
// spent at the hub by another appliance: two people went in on one entry.
// Both admissions stand (the people are inside); the venue reports it.
type DoubleEntry struct {
	Event  string
	Ticket string // the venue-wide ticket id
	// Hub is the admission the hub already held when the replay came: the
	// first one for an event of one entry, the movement that put the
	// ticket inside for a re-entry.
	Hub Movement
	// Offline is the replayed admission, made while this appliance could
	// not reach the hub; Reason says whether it was an entry (ok) or a
	// re-entry.
	Offline    Movement
	Reason     Reason
	RecordedAt time.Time
}

// ReplayStatus is what a round of offline replay did and left.
type ReplayStatus struct {
	Replayed      int  // offline writes the hub took in this round
	DoubleEntries int  // of them, admissions found already spent (recorded)
	Waiting       int  // offline writes still waiting
	Offline       bool // the round stopped because the hub did not answer
	// Behind is set when the round stopped because this appliance has not
	// yet learned every write the hub holds for a key it must replay; it
	// goes on once learning has caught up.
	Behind bool
}

// VenueStore is what the venue's link needs of the local store (the index
// implements it): learning what other appliances did, and replaying what
// this one did offline.
type VenueStore interface {
	// VenuePosition is the last hub revision learned: a watch of the
	// hub's redemptions goes on after it.
	VenuePosition() uint64
	// Learn applies a redemption the hub holds, in revision order:
	// idempotent (a revision not newer than the one stored is skipped),
	// its revision kept as the position in the same durable step. A write
	// of this appliance's own that no local admission stands for (a
	// phantom claim) is released at the hub instead. An error leaves the
	// position where it was: the same revision is learned again later.
	Learn(ctx context.Context, h *HubRedemption) error
	// SkipLearn moves the position past rev without applying it: an
	// operator's decision about a value the hub holds that does not
	// decode.
	SkipLearn(ctx context.Context, rev uint64) error
	// LearnPending applies the learned redemptions of tickets that were
	// not in the store when they were learned and are now; it returns how
	// many still wait for their ticket.
	LearnPending(ctx context.Context) (int, error)
	// ReplayOffline replays this appliance's offline writes at the hub,
	// in journal order, until none is left or one cannot go on now.
	ReplayOffline(ctx context.Context) (ReplayStatus, error)
	// OfflineWaiting is how many offline writes wait for their replay.
	OfflineWaiting() int
}
