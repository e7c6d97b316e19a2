package gate

import "time"

// NonceWindow is how long a repeated nonce returns the first decision instead
// of deciding again.
const NonceWindow = 15 * time.Minute

// MaxNonceLen is the longest nonce accepted, in bytes.
const MaxNonceLen = 128

// Scan is one presentation of a barcode at a lane.
type Scan struct {
	Barcode   string
	Lane      string
	Direction Direction
	At        time.Time // when it was scanned; the decision uses this clock

	// LaneEvents are the events the lane is configured for. Nil means every
	// event whose window is open at At (see Lane.Events).
	LaneEvents []string
	// Zones is the lane's move for a scan in (Lane.Inward): a scan out
	// makes the reverse move. Zero for a lane without zones.
	Zones Move
	// LaneRule is the lane's entry rule (Lane.Rule), nil for none.
	LaneRule Rule

	// Offline is the lane's offline policy: what an admission becomes when
	// the venue's hub does not answer its claim. Outside a venue it is not
	// read.
	Offline OfflinePolicy

	// Nonce, when set, makes the scan idempotent: the same nonce within
	// NonceWindow gets the first decision again and redeems nothing.
	Nonce string

	// Source says where the scan came from ("http:door-3", "usb:0c2e:0b61"),
	// for the journal.
	Source string

	// Deny, when set, is a refusal decided before the store: malformed by the
	// decoder (wrong check digit, refused symbology) or lane_busy by the lane.
	// The index journals it with Detail and looks nothing up.
	Deny   Reason
	Detail string
}

// TicketInfo is what a decision tells about a known ticket.
type TicketInfo struct {
	Provider      string `json:"provider"`
	PriceType     string `json:"price_type"`
	PriceTypeName string `json:"price_type_name"`
	Product       string `json:"product"`
	ProductName   string `json:"product_name,omitempty"`
	State         State  `json:"state"`
}

// Info returns the decision's view of the ticket.
func (t *Ticket) Info() *TicketInfo {
	return &TicketInfo{
		Provider:      t.Provider,
		PriceType:     t.PriceType.Code,
		PriceTypeName: t.PriceType.Name,
		Product:       t.Product.Code,
		ProductName:   t.Product.Name,
		State:         t.State,
	}
}

// Decision is the answer to a scan. A refusal is a decision, not an error.
type Decision struct {
	Admit     bool        `json:"admit"`
	Reason    Reason      `json:"reason"`
	Seq       uint64      `json:"seq"` // journal sequence; 0 for a check that redeems nothing
	Barcode   string      `json:"barcode"`
	Lane      string      `json:"lane"`
	Direction Direction   `json:"direction"`
	At        time.Time   `json:"at"`
	Event     string      `json:"event,omitempty"`      // the event admitted to or refused for
	Ticket    *TicketInfo `json:"ticket,omitempty"`     // when the ticket is known
	FirstUsed *Movement   `json:"first_used,omitempty"` // when already used: the first admission
	Detail    string      `json:"detail,omitempty"`     // malformed or error detail, safe to show
	Replayed  bool        `json:"replayed,omitempty"`   // a repeated nonce: the first decision again
	// Offline marks a decision made while the venue's hub did not answer:
	// an admission by the lane's offline policy, replayed at the hub later,
	// or a refusal because of it.
	Offline bool `json:"offline,omitempty"`
	// Override, on an admission, says a supervisor let a refused guest
	// through: who, why, and what had been refused.
	Override *Override `json:"override,omitempty"`
}

// Override is a supervisor's decision to let a refused guest through.
type Override struct {
	By         string `json:"by"`                    // the supervisor: a token's or a card's name
	Why        string `json:"why"`                   // the reason given
	Refused    Reason `json:"refused"`               // what had been refused
	RefusedSeq uint64 `json:"refused_seq,omitempty"` // the refusal's journal entry
}

// Refusal returns the refusal of s for reason r, with the scan's identity filled in.
func (s *Scan) Refusal(r Reason, detail string) Decision {
	return Decision{Reason: r, Barcode: s.Barcode, Lane: s.Lane, Direction: s.Direction, At: s.At, Detail: detail}
}

// Read is one barcode read by a scanner, as decode delivers it to a lane.
type Read struct {
	Text      string    // the barcode, with AIM identifier, prefix and suffix removed
	Symbology string    // "ean13", "code128", "qr", ... or "" when the scanner does not say
	Source    string    // the scanner ("usb:0c2e:0b61:1-1", "serial:/dev/ttyACM0")
	At        time.Time // when the read completed
	// Malformed, when set, says why the bytes are not a barcode (an unmapped
	// key, a wrong check digit, a refused symbology); Text holds what was read.
	Malformed string
}
