package gate

import "fmt"

// Reason is why a scan was admitted or refused. The list is closed: every
// decision carries exactly one of these, and the wire names (String) are part
// of the API.
type Reason uint8

// Reasons. The zero value is not a reason; a Decision always has one of these.
const (
	// Admitted.
	ReasonOK      Reason = iota + 1 // an entry counted against the event's entries
	ReasonReentry                   // back in after an exit, for an event that allows re-entry
	ReasonExit                      // out through an exit lane

	// Refused.
	ReasonMalformed   // not a barcode: empty, too long, control characters, bad UTF-8, bad check digit
	ReasonUnknown     // no ticket has this barcode
	ReasonAlreadyUsed // every entry of the ticket for this event is spent
	ReasonCancelled   // the ticket was cancelled
	ReasonInvalidated // the ticketing system invalidated the ticket
	ReasonRevoked     // replaced by a reissued barcode
	ReasonBlocked     // blocked by an admin
	ReasonWrongEvent  // the ticket is for no event this lane admits
	ReasonNotYetValid // the ticket's event has not opened yet
	ReasonExpired     // the ticket's event has closed
	ReasonLaneBusy    // the lane still holds an admission nobody has passed on
	ReasonError       // a fault (storage, relay): fail closed

	// Appended after the first list, so stored and journaled reasons keep
	// their numbers.
	ReasonStaleCode // a rotating code drawn too far from now, or whose one-time codes do not match its time: a screenshot
	ReasonOffline   // the venue's hub did not answer and the lane's offline policy is to refuse
	ReasonRule      // the event's or the lane's entry rule is false (Detail says which part)
	ReasonZoneFull  // the zone the lane leads into is at its capacity
	ReasonStaleData // this appliance's copy of the venue's data is older than the lane's max_lag allows
	ReasonOverride  // admitted: a supervisor let a refused guest through (Decision.Override says who, why, what)

	reasonEnd
)

var reasonNames = [...]string{
	ReasonOK:          "ok",
	ReasonReentry:     "reentry",
	ReasonExit:        "exit",
	ReasonMalformed:   "malformed",
	ReasonUnknown:     "unknown",
	ReasonAlreadyUsed: "already_used",
	ReasonCancelled:   "cancelled",
	ReasonInvalidated: "invalidated",
	ReasonRevoked:     "revoked",
	ReasonBlocked:     "blocked",
	ReasonWrongEvent:  "wrong_event",
	ReasonNotYetValid: "not_yet_valid",
	ReasonExpired:     "expired",
	ReasonLaneBusy:    "lane_busy",
	ReasonError:       "error",
	ReasonStaleCode:   "stale_code",
	ReasonOffline:     "offline",
	ReasonRule:        "rule",
	ReasonZoneFull:    "zone_full",
	ReasonStaleData:   "stale_data",
	ReasonOverride:    "override",
}

// Reasons lists every reason in declaration order.
func Reasons() []Reason {
	rs := make([]Reason, 0, reasonEnd-1)
	for r := ReasonOK; r < reasonEnd; r++ {
		rs = append(rs, r)
	}
	return rs
}

// String returns the wire name ("already_used").
func (r Reason) String() string {
	if r > 0 && r < reasonEnd {
		return reasonNames[r]
	}
	return fmt.Sprintf("reason(%d)", uint8(r))
}

// Valid reports whether r is one of the declared reasons.
func (r Reason) Valid() bool { return r > 0 && r < reasonEnd }

// Admits reports whether the reason lets the person through.
func (r Reason) Admits() bool {
	return r == ReasonOK || r == ReasonReentry || r == ReasonExit || r == ReasonOverride
}

// ParseReason returns the reason with the given wire name.
func ParseReason(s string) (Reason, error) {
	for r := ReasonOK; r < reasonEnd; r++ {
		if reasonNames[r] == s {
			return r, nil
		}
	}
	return 0, Errorf(EINVALID, "unknown reason %q", s)
}

// MarshalText implements encoding.TextMarshaler.
// The zero Reason marshals as "" (no decision yet).
func (r Reason) MarshalText() ([]byte, error) {
	if r == 0 {
		return []byte{}, nil
	}
	if !r.Valid() {
		return nil, fmt.Errorf("gate: invalid reason %d", uint8(r))
	}
	return []byte(reasonNames[r]), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (r *Reason) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*r = 0
		return nil
	}
	v, err := ParseReason(string(b))
	if err != nil {
		return err
	}
	*r = v
	return nil
}

// State is a ticket's standing, set by imports and admin actions. Only a
// valid ticket can be admitted.
type State uint8

// Ticket states.
const (
	StateValid       State = iota + 1 // may be admitted
	StateCancelled                    // refunded or cancelled upstream
	StateInvalidated                  // invalidated by the ticketing system
	StateRevoked                      // replaced by a reissued barcode (see Ticket.ReplacedBy)
	StateBlocked                      // blocked by an admin; Unblock makes it valid again

	stateEnd
)

var stateNames = [...]string{
	StateValid:       "valid",
	StateCancelled:   "cancelled",
	StateInvalidated: "invalidated",
	StateRevoked:     "revoked",
	StateBlocked:     "blocked",
}

// String returns the wire name ("valid").
func (s State) String() string {
	if s > 0 && s < stateEnd {
		return stateNames[s]
	}
	return fmt.Sprintf("state(%d)", uint8(s))
}

// Valid reports whether s is one of the declared states.
func (s State) Valid() bool { return s > 0 && s < stateEnd }

// Reason returns the refusal reason a ticket in this state gets, or 0 for a
// valid ticket.
func (s State) Reason() Reason {
	switch s {
	case StateValid:
		return 0
	case StateCancelled:
		return ReasonCancelled
	case StateInvalidated:
		return ReasonInvalidated
	case StateRevoked:
		return ReasonRevoked
	case StateBlocked:
		return ReasonBlocked
	}
	return ReasonError
}

// ParseState returns the state with the given wire name.
func ParseState(s string) (State, error) {
	for st := StateValid; st < stateEnd; st++ {
		if stateNames[st] == s {
			return st, nil
		}
	}
	return 0, Errorf(EINVALID, "unknown ticket state %q", s)
}

// MarshalText implements encoding.TextMarshaler.
// The zero State marshals as "".
func (s State) MarshalText() ([]byte, error) {
	if s == 0 {
		return []byte{}, nil
	}
	if !s.Valid() {
		return nil, fmt.Errorf("gate: invalid state %d", uint8(s))
	}
	return []byte(stateNames[s]), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *State) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*s = 0
		return nil
	}
	v, err := ParseState(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Direction is which way a scan goes through a lane.
type Direction uint8

// Directions.
const (
	In  Direction = iota + 1 // entering the venue
	Out                      // leaving it
)

// String returns "in" or "out".
func (d Direction) String() string {
	switch d {
	case In:
		return "in"
	case Out:
		return "out"
	}
	return fmt.Sprintf("direction(%d)", uint8(d))
}

// ParseDirection returns the direction named "in" or "out".
func ParseDirection(s string) (Direction, error) {
	switch s {
	case "in":
		return In, nil
	case "out":
		return Out, nil
	}
	return 0, Errorf(EINVALID, "direction must be \"in\" or \"out\", not %q", s)
}

// MarshalText implements encoding.TextMarshaler.
// The zero Direction marshals as "".
func (d Direction) MarshalText() ([]byte, error) {
	if d == 0 {
		return []byte{}, nil
	}
	if d != In && d != Out {
		return nil, fmt.Errorf("gate: invalid direction %d", uint8(d))
	}
	return []byte(d.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Direction) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*d = 0
		return nil
	}
	v, err := ParseDirection(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}
