package gate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// ChangeKind names what a change to the barcode sets or the catalog does.
// The values are part of the API and of a venue's changes stream.
type ChangeKind string

// Change kinds: one for each admin method that changes the sets or the
// catalog, and the operator's skip of a venue change that cannot be applied.
const (
	ChangePutProvider  ChangeKind = "put_provider"
	ChangePutEvent     ChangeKind = "put_event"
	ChangeImport       ChangeKind = "import"
	ChangeWithdraw     ChangeKind = "withdraw"
	ChangeCancel       ChangeKind = "cancel"
	ChangeInvalidate   ChangeKind = "invalidate"
	ChangeBlock        ChangeKind = "block"
	ChangeUnblock      ChangeKind = "unblock"
	ChangeReissue      ChangeKind = "reissue"
	ChangeUpdateEvents ChangeKind = "update_events"
	// ChangeSkip records that an operator skipped the venue change at its
	// Position on this appliance (it could not be applied here: its file
	// is lost, it does not decode); Detail says why. It is never published.
	ChangeSkip ChangeKind = "skip"
)

var changeKinds = []ChangeKind{ChangePutProvider, ChangePutEvent, ChangeImport, ChangeWithdraw, ChangeCancel,
	ChangeInvalidate, ChangeBlock, ChangeUnblock, ChangeReissue, ChangeUpdateEvents, ChangeSkip}

// Valid reports whether k is a known kind.
func (k ChangeKind) Valid() bool { return slices.Contains(changeKinds, k) }

// IsTicketChange reports whether k changes one ticket's state (cancel,
// invalidate, block, unblock).
func (k ChangeKind) IsTicketChange() bool {
	return k == ChangeCancel || k == ChangeInvalidate || k == ChangeBlock || k == ChangeUnblock
}

// Change is one change to the barcode sets or the catalog, as an appliance
// records it (GET /v1/changes) and as a venue's changes stream carries it:
// what was asked, by whom, when, with the fields of its kind.
//
// On a single appliance every admin method that succeeds records one. In a
// venue a change is published to the hub first and every appliance applies
// it from the stream in the stream's order; Position is its place there, the
// same on every appliance, and it is committed with the change's effect.
type Change struct {
	// Seq numbers the changes in this appliance's record, from 1, in the
	// order they were applied here; 0 until recorded.
	Seq uint64 `json:"seq"`
	// ID identifies the change everywhere: 32 hex digits made where it was
	// asked (a venue's stream drops a second copy with the same ID).
	ID   string     `json:"id"`
	Kind ChangeKind `json:"kind"`
	// By is who asked: a token's name, "drop:<provider>", an operator.
	By string    `json:"by"`
	At time.Time `json:"at"` // when it was asked
	// Appliance is the venue appliance that took the request; "" on a
	// single appliance.
	Appliance string `json:"appliance,omitempty"`
	// Position is the change's sequence in the venue's changes stream; 0
	// on a single appliance.
	Position uint64 `json:"position,omitempty"`

	Provider *Provider `json:"provider,omitempty"` // put_provider
	Event    *Event    `json:"event,omitempty"`    // put_event
	// Barcode is the ticket of cancel, invalidate, block, unblock,
	// update_events, and the old barcode of reissue.
	Barcode    string   `json:"barcode,omitempty"`
	NewBarcode string   `json:"new_barcode,omitempty"` // reissue
	Add        []string `json:"add,omitempty"`         // update_events
	Remove     []string `json:"remove,omitempty"`      // update_events
	// ImportID is the import a withdrawal withdraws, or the id an applied
	// import was given.
	ImportID uint64        `json:"import_id,omitempty"`
	Import   *ImportChange `json:"import,omitempty"` // import
	Detail   string        `json:"detail,omitempty"` // skip: why
}

// ImportChange is an import's part of a Change: the request's parameters,
// the file it loads and, once applied, what it did.
type ImportChange struct {
	Provider  string  `json:"provider"`
	Event     string  `json:"event,omitempty"`
	PriceType string  `json:"price_type,omitempty"`
	Format    Format  `json:"format,omitempty"`
	OnError   OnError `json:"on_error,omitempty"`
	Source    string  `json:"source,omitempty"`
	// File is the hex SHA-256 of the file: in a venue, its name in the
	// hub's file store, fetched and checked by every appliance.
	File string `json:"file"`
	Size int64  `json:"size,omitempty"` // bytes; 0 when unknown

	// What the import did where it was applied (0 in the stream).
	Lines     int `json:"lines,omitempty"`
	Added     int `json:"added,omitempty"`
	Updated   int `json:"updated,omitempty"`
	Unchanged int `json:"unchanged,omitempty"`
	Rejected  int `json:"rejected,omitempty"`
}

// Request returns the import request the change asks for (never a dry
// run), with c as its Change.
func (c *Change) Request() ImportRequest {
	ic := c.Import
	if ic == nil {
		return ImportRequest{By: c.By, Change: c}
	}
	return ImportRequest{Provider: ic.Provider, Event: ic.Event, PriceType: ic.PriceType, Format: ic.Format,
		OnError: ic.OnError, Source: ic.Source, By: c.By, Change: c}
}

// ImportChangeOf returns the import part of a change for req and the file
// of hex SHA-256 file and size bytes.
func ImportChangeOf(req ImportRequest, file string, size int64) *ImportChange {
	return &ImportChange{Provider: req.Provider, Event: req.Event, PriceType: req.PriceType, Format: req.Format,
		OnError: req.OnError, Source: req.Source, File: file, Size: size}
}

// MaxChangeIDLen is the longest change id.
const MaxChangeIDLen = 64

// Validate checks that c is a well-formed change of its kind: an id, a
// known kind, who and when, and the fields its kind needs. It does not
// check the fields against the store (that is applying it).
func (c *Change) Validate() error {
	if c.ID == "" || len(c.ID) > MaxChangeIDLen {
		return Errorf(EINVALID, "change id must be 1 to %d characters", MaxChangeIDLen)
	}
	for i := 0; i < len(c.ID); i++ {
		if b := c.ID[i]; !(b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b == '-' || b == '_') {
			return Errorf(EINVALID, "change id %q may hold only letters, digits, - and _", c.ID)
		}
	}
	if !c.Kind.Valid() {
		return Errorf(EINVALID, "unknown change kind %q", c.Kind)
	}
	if c.At.IsZero() {
		return Errorf(EINVALID, "change %s has no time", c.ID)
	}
	need := func(ok bool, what string) error {
		if !ok {
			return Errorf(EINVALID, "a %s change needs %s", c.Kind, what)
		}
		return nil
	}
	switch c.Kind {
	case ChangePutProvider:
		return need(c.Provider != nil, "a provider")
	case ChangePutEvent:
		return need(c.Event != nil, "an event")
	case ChangeImport:
		if err := need(c.Import != nil, "an import"); err != nil {
			return err
		}
		return need(c.Import.Provider != "", "a provider")
	case ChangeWithdraw:
		return need(c.ImportID != 0, "an import id")
	case ChangeCancel, ChangeInvalidate, ChangeBlock, ChangeUnblock:
		return need(c.Barcode != "", "a barcode")
	case ChangeReissue:
		return need(c.Barcode != "" && c.NewBarcode != "", "the old and the new barcode")
	case ChangeUpdateEvents:
		return need(c.Barcode != "" && len(c.Add)+len(c.Remove) > 0, "a barcode and events to add or remove")
	case ChangeSkip:
		return need(c.Position != 0, "the position it skips")
	}
	return nil
}

// String names the change for logs: "cancel 9836… by anna".
func (c *Change) String() string {
	s := string(c.Kind)
	switch {
	case c.Barcode != "":
		s += " " + c.Barcode
	case c.Provider != nil:
		s += " " + c.Provider.ID
	case c.Event != nil:
		s += " " + c.Event.ID
	case c.Import != nil:
		s += " " + c.Import.Provider
	case c.ImportID != 0:
		s += fmt.Sprintf(" %d", c.ImportID)
	}
	if c.Position != 0 {
		s += fmt.Sprintf(" @%d", c.Position)
	}
	return s + " by " + c.By
}

// ChangeResult is what applying a change did, for the caller that asked for
// it: Created for put_provider and put_event, Ticket for the ticket
// changes, Import for an import, Withdrawn for a withdrawal; Change is the
// change as recorded (its Seq set).
type ChangeResult struct {
	Change    Change
	Created   bool
	Ticket    Ticket
	Import    ImportResult
	Withdrawn ImportRecord
}

// ChangeLog reads the record of changes.
type ChangeLog interface {
	// Changes returns up to limit changes with Seq > after, in order. A
	// reader that continues from the last Seq it saw misses nothing.
	Changes(ctx context.Context, after uint64, limit int) ([]Change, error)
}

// ErrChangeApplied is a venue change whose position this store has already
// applied: applying it again would apply it twice.
var ErrChangeApplied = errors.New("the change was already applied")

// ChangeApplier applies the changes of a venue's stream to a store, each
// exactly once: the change's Position is committed in the same atomic write
// as its effect. The index implements it; package venue's applier calls it.
type ChangeApplier interface {
	// ApplyChange applies c at c.Position (which must be above the stored
	// position; else ErrChangeApplied) and records it. A change the store
	// refuses for a reason of the change itself (ENOTFOUND, ECONFLICT,
	// EINVALID: the same on every appliance of a venue) has its position
	// committed all the same, with nothing else, and returns that error; a
	// fault (the disk, a closed store) commits nothing, so ChangePosition
	// tells the two apart. Imports are applied through an Importer with
	// ImportRequest.Change set, not here.
	ApplyChange(ctx context.Context, c Change) (ChangeResult, error)
	// ChangePosition returns the last position applied (0: none) and the
	// hub's time of that change.
	ChangePosition() (uint64, time.Time)
}

// IsChangeRefusal reports whether err refuses a change for a reason of the
// change itself, which every appliance of a venue meets alike: bad fields,
// an unknown ticket or import, a state that forbids it, a rejected import.
func IsChangeRefusal(err error) bool {
	switch ErrorCode(err) {
	case EINVALID, ENOTFOUND, ECONFLICT, EREJECTED:
		return true
	}
	return false
}

// LagPolicy is a lane's max_lag policy: what the lane does when this
// appliance's copy of the venue's data is older than MaxLag.
type LagPolicy struct {
	// MaxLag is the oldest the data may be; 0: no limit.
	MaxLag time.Duration
	// Refuse refuses scans with ReasonStaleData beyond MaxLag; false only
	// warns (the lane's status says so) and scans go on.
	Refuse bool
}

// LagVerdict is what a LagPolicy says of data of some age.
type LagVerdict int

// Verdicts of LagPolicy.Check.
const (
	LagOK     LagVerdict = iota // within MaxLag, or no limit
	LagWarn                     // older than MaxLag; the policy only warns
	LagRefuse                   // older than MaxLag; refuse with ReasonStaleData
)

// Check says what the policy does with data age old.
func (p LagPolicy) Check(age time.Duration) LagVerdict {
	if p.MaxLag <= 0 || age <= p.MaxLag {
		return LagOK
	}
	if p.Refuse {
		return LagRefuse
	}
	return LagWarn
}

// StaleDetail is the detail of a ReasonStaleData refusal (and of the
// warning): how old the data is against the lane's limit.
func StaleDetail(age, maxLag time.Duration) string {
	return fmt.Sprintf("this appliance's copy of the venue's data is %s old; the lane allows %s",
		age.Round(100*time.Millisecond), maxLag)
}

type byKey struct{}

// WithBy returns ctx carrying who asks for the changes made with it. The
// catalog's methods (PutProvider, PutEvent) take no by argument: they read
// it with ByFrom, so their changes say who asked too.
func WithBy(ctx context.Context, by string) context.Context {
	return context.WithValue(ctx, byKey{}, by)
}

// ByFrom returns who ctx says asks (WithBy), or "".
func ByFrom(ctx context.Context) string {
	by, _ := ctx.Value(byKey{}).(string)
	return by
}
