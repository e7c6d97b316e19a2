package gate

import (
	"context"
	"crypto/sha256"
	"time"
	"unicode/utf8"
)

// OverrideWindow is how long after a refusal a supervisor may still let the
// refused guest through: later, the guest scans again.
const OverrideWindow = 5 * time.Minute

// MaxOverrideReason is the longest reason an override may give, in bytes.
const MaxOverrideReason = 256

// OverrideRequest is a supervisor's decision to let through the guest a lane
// refused last: who (a supervisor token's or card's name), why, and where.
type OverrideRequest struct {
	Lane   string
	By     string
	Why    string
	At     time.Time // now; zero: the validator's clock
	Source string    // for the journal: "http:<token>", or the card's scanner
}

// Validate checks the lane, the name and the reason.
func (r *OverrideRequest) Validate() error {
	if err := CheckID("lane", r.Lane); err != nil {
		return err
	}
	if r.By == "" {
		return Errorf(EINVALID, "an override names its supervisor")
	}
	if r.Why == "" {
		return Errorf(EINVALID, "an override needs a reason (field \"reason\"): it is kept in the journal")
	}
	if len(r.Why) > MaxOverrideReason || !utf8.ValidString(r.Why) {
		return Errorf(EINVALID, "an override's reason must be valid UTF-8 of at most %d bytes", MaxOverrideReason)
	}
	return nil
}

// Overrider forces the last refused decision of a lane (the index, and a
// turnstile lane, which then opens its relay). The override is an
// admission with reason override and Decision.Override saying who, why and
// what was refused; it redeems the ticket as an entry would, and counts in
// its zone. ECONFLICT when the lane's last decision is not a refusal that
// can be overridden (an admission, lane_busy, error, one already
// overridden, one older than OverrideWindow), or when the zone is full and
// its configuration does not let an override pass zone_full.
type Overrider interface {
	Override(ctx context.Context, req OverrideRequest) (Decision, error)
}

// Overridable reports whether a refusal for reason r may be overridden. A
// lane that was busy or faulted (lane_busy, error) refused nobody: the guest
// scans again.
func (r Reason) Overridable() bool {
	return r.Valid() && !r.Admits() && r != ReasonLaneBusy && r != ReasonError
}

// SupervisorCard is a barcode that, scanned at a lane, overrides the lane's
// last refusal in its holder's name. Only its SHA-256 is kept.
type SupervisorCard struct {
	Name  string
	Hash  [sha256.Size]byte
	Lanes []string // the lanes it may override at; empty: every lane
	// Why is the reason journaled for its overrides; default "supervisor
	// card scanned at the lane".
	Why string
}

// CardHash is the SHA-256 of a barcode, as a SupervisorCard keeps it.
func CardHash(barcode string) [sha256.Size]byte { return sha256.Sum256([]byte(barcode)) }

// Force is a supervisor's override of refused, a decision of scan in.Scan
// (the refused scan, at in.Scan.At now): an admission with reason override.
// With redeem, a known ticket (in.Ticket not nil) entering is redeemed as an
// entry for the refused decision's event (or the first event of the lane it
// admits to): one more admission, inside, the entry time kept. Without
// redeem, or for an unknown barcode, an exit or an event the ticket is not
// for, nothing is redeemed and only the passage is recorded.
func Force(in Input, refused *Decision, o Override, redeem bool) Outcome {
	s := in.Scan
	d := Decision{Admit: true, Reason: ReasonOverride, Seq: in.Seq, Barcode: refused.Barcode, Lane: refused.Lane,
		Direction: refused.Direction, At: s.At, Event: refused.Event, Override: &o}
	o.Refused, o.RefusedSeq = refused.Reason, refused.Seq
	d.Override = &o
	t := in.Ticket
	if t == nil {
		return Outcome{Decision: d}
	}
	d.Ticket = t.Info()
	if !redeem || refused.Direction == Out {
		return Outcome{Decision: d}
	}
	event := refused.Event
	if event == "" || !t.admitsID(event, in.Events) {
		event = ""
		if c := EventsFor(s.LaneEvents, t, in.Events); len(c) > 0 {
			event = c[0].ID
		}
	}
	if event == "" {
		return Outcome{Decision: d}
	}
	d.Event = event
	move := Movement{At: s.At, Lane: refused.Lane, Seq: in.Seq, Appliance: in.Appliance}
	r := findRedemption(in.Redemptions, event)
	r.admit(move)
	return Outcome{Decision: d, Write: true, Redemption: r}
}

// admitsID reports whether the ticket is for the event with id.
func (t *Ticket) admitsID(id string, events *EventSet) bool {
	e, ok := events.Get(id)
	return ok && t.AdmitsTo(e)
}

// OverrideLister lists the overrides of an event (the index implements
// it): their journal entries, oldest first, annulled ones marked so.
type OverrideLister interface {
	Overrides(ctx context.Context, event string) ([]JournalEntry, error)
}
