package gate

import "time"

// ReportRow counts the tickets of one provider and price type for an event.
type ReportRow struct {
	Provider      string `json:"provider"`
	PriceType     string `json:"price_type"`
	PriceTypeName string `json:"price_type_name"`
	Sold          int    `json:"sold"`      // valid or blocked tickets for the event (used ones included)
	Used          int    `json:"used"`      // sold tickets admitted at least once, here or upstream
	Inside        int    `json:"inside"`    // admitted and not out again
	Cancelled     int    `json:"cancelled"` // cancelled or invalidated
	NoShow        int    `json:"no_show"`   // sold but never used
}

// MinuteCount is the movements of one minute.
type MinuteCount struct {
	Minute  time.Time `json:"minute"`
	Entries int       `json:"entries"` // ok and reentry admissions, annulled ones excluded
	Exits   int       `json:"exits"`
}

// Report is the state of one event: what was sold and used by provider and
// price type, the refusals, and the movements per minute.
type Report struct {
	Event   string         `json:"event"`
	At      time.Time      `json:"at"`
	Rows    []ReportRow    `json:"rows"` // sorted by provider, then price type
	Total   ReportRow      `json:"total"`
	Denials map[Reason]int `json:"denials"` // refusals for the event (or, unattributed, at its lanes) by reason
	Minutes []MinuteCount  `json:"minutes"` // oldest first, minutes without movement omitted
}

// LaneStatus is what an operator sees of one lane.
type LaneStatus struct {
	ID               string    `json:"id"`
	Name             string    `json:"name,omitempty"`
	Direction        Direction `json:"direction"`
	Events           []string  `json:"events"` // nil: open now
	ScannerConnected bool      `json:"scanner_connected"`
	RelayOK          bool      `json:"relay_ok"`
	State            string    `json:"state"`           // "idle", "unlocked", "faulted", "emergency", ...
	Fault            string    `json:"fault,omitempty"` // the current fault, if any
	Emergency        bool      `json:"emergency"`
	Last             *Decision `json:"last,omitempty"`
	Scans            uint64    `json:"scans"`
	Admits           uint64    `json:"admits"`
	// HasScanner and HasRelay say what the lane has by design: a door whose
	// scans come over the API only has neither, and then a scanner that is
	// not connected or a relay that is not OK is no fault.
	HasScanner bool `json:"has_scanner"`
	HasRelay   bool `json:"has_relay"`
	// Venue is what the venue does to the lane now; nil outside a venue.
	Venue *LaneVenue `json:"venue,omitempty"`
}

// LaneVenue is a lane's state in a venue.
type LaneVenue struct {
	// State: online (claims go to the hub), offline (the hub does not
	// answer: the lane's offline policy decides), stale_data (the data is
	// older than the lane's max_lag), catching_up (the appliance is
	// applying what it missed: admissions are refused), failing (the venue
	// is wrong: an operator must act; admissions are refused).
	State          string        `json:"state"`
	Offline        OfflinePolicy `json:"offline"`
	MaxLagSeconds  float64       `json:"max_lag_seconds"`
	OnMaxLag       string        `json:"on_max_lag,omitempty"` // refuse or warn, with a max_lag
	DataAgeSeconds float64       `json:"data_age_seconds"`
	Detail         string        `json:"detail,omitempty"`
}

// Lane venue states (LaneVenue.State).
const (
	LaneOnline     = "online"
	LaneOffline    = "offline"
	LaneStaleData  = "stale_data"
	LaneCatchingUp = "catching_up"
	LaneFailing    = "failing"
)
