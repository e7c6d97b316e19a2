package httpapi

import (
	"context"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/admitgate/admit/gate"
)

// VenueControl is the appliance's part in a venue (package venue, adapted by
// cmd/admit): its link to the hub, how far it has learned and applied what
// the venue did, and the operator's ways past bad input at the hub. Nil in
// Config: the appliance is not in a venue and the /v1/venue routes answer
// 404.
type VenueControl interface {
	// Appliance is this appliance's id in the venue.
	Appliance() string
	// Status is the venue as this appliance sees it now. It may ask the
	// hub (the appliances it has seen, the stream's leader), within a
	// bound: a hub that does not answer is said in the status, not an error.
	Status(ctx context.Context) VenueStatus
	// DoubleEntries lists the venue's double entries, oldest first.
	// EUNAVAILABLE when the hub does not answer.
	DoubleEntries(ctx context.Context) ([]VenueDoubleEntry, error)
	// SkipRedemption moves learning past the hub's redemption at revision
	// rev, a value that does not decode; ECONFLICT unless learning stopped
	// at exactly that revision.
	SkipRedemption(ctx context.Context, rev uint64, by string) error
	// RetryChanges makes a stopped applier try the change it stopped at
	// again; ECONFLICT when it is not stopped.
	RetryChanges(ctx context.Context, by string) error
	// SkipChange gives up, on this appliance only, the change at pos the
	// applier stopped at; ECONFLICT-like when it did not stop there.
	SkipChange(ctx context.Context, pos uint64, by string) error
}

// VenueStatus is the answer to GET /v1/venue.
type VenueStatus struct {
	Appliance string    `json:"appliance"` // this appliance's venue id
	At        time.Time `json:"at"`        // when the status was taken
	Link      VenueLink `json:"link"`
	Hub       VenueHub  `json:"hub"`
	// Appliances are every appliance the hub has shown this one since it
	// started (this one included), up or down.
	Appliances  []VenueAppliance  `json:"appliances"`
	Redemptions VenueRedemptions  `json:"redemptions"`
	Offline     VenueOffline      `json:"offline"`
	Doubles     VenueDoubleCounts `json:"double_entries"`
	Changes     VenueChanges      `json:"changes"`
}

// VenueLink is this appliance's connection to the hub.
type VenueLink struct {
	// State is connecting, checking, up, refused or closed; only up
	// claims at the hub (HubReachable).
	State        string    `json:"state"`
	HubReachable bool      `json:"hub_reachable"`
	Since        time.Time `json:"since"`
	Server       string    `json:"server,omitempty"` // the node connected to, without credentials
	RTTMs        float64   `json:"rtt_ms"`
	LastClaimMs  float64   `json:"last_claim_ms"` // the last claim's round trip
	Reconnects   uint64    `json:"reconnects"`
	LastError    string    `json:"last_error,omitempty"`
	LastErrorAt  time.Time `json:"last_error_at,omitzero"`
	// Refused says why the hub refused this appliance (wrong bucket
	// settings, its id held by a live appliance): the lanes fail closed.
	Refused string `json:"refused,omitempty"`
}

// VenueHub is the hub's health as this appliance can tell it.
type VenueHub struct {
	// Reachable is false when the hub did not answer the status's
	// questions (Error says why); the rest is then unknown.
	Reachable bool `json:"reachable"`
	// Leader is the hub node that leads the redemptions (the node whose
	// loss stalls claims for an election); Replicas the others, each with
	// whether it is current.
	Leader   string            `json:"leader,omitempty"`
	Replicas []VenueHubReplica `json:"replicas,omitempty"`
	Error    string            `json:"error,omitempty"`
}

// VenueHubReplica is one follower of the redemptions' stream.
type VenueHubReplica struct {
	Name    string `json:"name"`
	Current bool   `json:"current"`
	Lag     uint64 `json:"lag"`
}

// VenueAppliance is one appliance of the venue.
type VenueAppliance struct {
	ID string `json:"id"`
	// Up is true while its presence at the hub is fresh (it heartbeats
	// every few seconds); a stopped or cut-off appliance is down.
	Up   bool `json:"up"`
	This bool `json:"this,omitempty"` // this appliance
	// Stale says the hub did not answer now: Up is as it last showed it.
	Stale     bool      `json:"stale,omitempty"`
	LastHeard time.Time `json:"last_heard,omitzero"`
	Lanes     []string  `json:"lanes"`
	Version   string    `json:"version,omitempty"`
	Started   time.Time `json:"started,omitzero"`
}

// VenueRedemptions is how far this appliance has learned the venue's
// redemptions, and its claims.
type VenueRedemptions struct {
	Learned   uint64    `json:"learned"`  // the last hub revision learned here
	HubLast   uint64    `json:"hub_last"` // the hub's last revision, as of HubAt
	Lag       uint64    `json:"lag"`      // revisions not learned yet
	LearnedAt time.Time `json:"learned_at,omitzero"`
	HubAt     time.Time `json:"hub_at,omitzero"`
	// WaitingForTicket are learned redemptions whose tickets are not in
	// this appliance's store yet (their import has not arrived).
	WaitingForTicket int    `json:"waiting_for_ticket"`
	LearnError       string `json:"learn_error,omitempty"`
	// Failing says why scans that need the hub fail closed now (a refused
	// link, a hub value that does not decode): an operator must act.
	Failing   string    `json:"failing,omitempty"`
	FailingAt time.Time `json:"failing_at,omitzero"`
	Won       uint64    `json:"claims_won"`
	Lost      uint64    `json:"claims_lost"`
	Offline   uint64    `json:"claims_offline"`
	Failed    uint64    `json:"claims_failed"`
	Released  uint64    `json:"released"` // phantom claims taken back
}

// VenueOffline is this appliance's offline admissions.
type VenueOffline struct {
	Waiting     int    `json:"waiting"` // admissions (and exits, annulments) made offline, not replayed yet
	Replayed    uint64 `json:"replayed"`
	ReplayError string `json:"replay_error,omitempty"`
}

// VenueDoubleCounts counts the double entries.
type VenueDoubleCounts struct {
	Total int    `json:"total"` // recorded at the hub, venue-wide
	Here  uint64 `json:"here"`  // found by this appliance's replays since it started
}

// VenueChanges is how far this appliance has applied the venue's changes.
type VenueChanges struct {
	// State: catching_up (the lanes wait), current, behind, stopped (an
	// operator must act: retry or skip).
	State          string    `json:"state"`
	Applied        uint64    `json:"applied"`
	Last           uint64    `json:"last"`
	Behind         uint64    `json:"behind"`
	DataAgeSeconds float64   `json:"data_age_seconds"`
	OldestSeconds  float64   `json:"oldest_waiting_seconds"`
	AsOf           time.Time `json:"as_of,omitzero"`
	HubSeen        time.Time `json:"hub_seen,omitzero"`
	CatchUp        string    `json:"catch_up,omitempty"`
	Applying       string    `json:"applying,omitempty"`
	// Stopped is the change the applier stopped at.
	Stopped     *VenueStop `json:"stopped,omitempty"`
	LastError   string     `json:"last_error,omitempty"`
	LastErrorAt time.Time  `json:"last_error_at,omitzero"`
}

// VenueStop is a change the applier could not apply.
type VenueStop struct {
	Position uint64    `json:"position"`
	ChangeID string    `json:"change_id,omitempty"`
	Kind     string    `json:"kind,omitempty"`
	Error    string    `json:"error"`
	At       time.Time `json:"at"`
}

// VenueDoubleEntry is one double entry: an admission made offline that its
// replay found already spent at the hub by another appliance.
type VenueDoubleEntry struct {
	Event  string `json:"event"`
	Ticket string `json:"ticket"` // the venue-wide ticket id: the barcode of the ticket's origin
	// Hub is the admission the hub held; Offline the one replayed.
	Hub        gate.Movement `json:"hub"`
	Offline    gate.Movement `json:"offline"`
	Reason     gate.Reason   `json:"reason"` // the offline admission's: ok or reentry
	RecordedAt time.Time     `json:"recorded_at"`
}

// DoubleEntriesResponse is the answer to GET /v1/venue/double-entries.
type DoubleEntriesResponse struct {
	DoubleEntries []VenueDoubleEntry `json:"double_entries"`
}

// VenueSkipRequest is the body of POST /v1/venue/redemptions/skip and
// POST /v1/venue/changes/skip.
type VenueSkipRequest struct {
	Revision uint64 `json:"revision,omitempty"` // redemptions/skip
	Position uint64 `json:"position,omitempty"` // changes/skip
}

// venueTimeout bounds what the venue routes ask of the hub.
const venueTimeout = 3 * time.Second

func (s *Server) venueControl() (VenueControl, error) {
	if s.cfg.Venue == nil {
		return nil, gate.Errorf(gate.ENOTFOUND, "this appliance is not in a venue (it has no [venue] in its configuration)")
	}
	return s.cfg.Venue, nil
}

func (s *Server) venue(ctx *fasthttp.RequestCtx, c *call) error {
	v, err := s.venueControl()
	if err != nil {
		return err
	}
	cctx, cancel := context.WithTimeout(s.inner, venueTimeout)
	defer cancel()
	st := v.Status(cctx)
	if st.Appliances == nil {
		st.Appliances = []VenueAppliance{}
	}
	return writeJSON(ctx, fasthttp.StatusOK, st)
}

func (s *Server) venueDoubleEntries(ctx *fasthttp.RequestCtx, c *call) error {
	v, err := s.venueControl()
	if err != nil {
		return err
	}
	cctx, cancel := context.WithTimeout(s.inner, venueTimeout)
	defer cancel()
	list, err := v.DoubleEntries(cctx)
	if err != nil {
		return err
	}
	if list == nil {
		list = []VenueDoubleEntry{}
	}
	return writeJSON(ctx, fasthttp.StatusOK, DoubleEntriesResponse{DoubleEntries: list})
}

func (s *Server) venueSkipRedemption(ctx *fasthttp.RequestCtx, c *call) error {
	v, err := s.venueControl()
	if err != nil {
		return err
	}
	var req VenueSkipRequest
	if err := s.readJSON(ctx, &req); err != nil {
		return err
	}
	if req.Revision == 0 || req.Position != 0 {
		return gate.Errorf(gate.EINVALID, "field \"revision\" is required: the hub revision learning stopped at (GET /v1/venue, redemptions.learn_error)")
	}
	cctx, cancel := context.WithTimeout(s.inner, venueTimeout)
	defer cancel()
	if err := v.SkipRedemption(cctx, req.Revision, c.by()); err != nil {
		return err
	}
	s.audit(c, "venue skip redemption").Uint64("revision", req.Revision).Msg("a hub value that does not decode skipped")
	return s.venue(ctx, c)
}

func (s *Server) venueRetryChanges(ctx *fasthttp.RequestCtx, c *call) error {
	v, err := s.venueControl()
	if err != nil {
		return err
	}
	if err := v.RetryChanges(s.inner, c.by()); err != nil {
		return err
	}
	s.audit(c, "venue retry changes").Msg("the stopped change tried again")
	return s.venue(ctx, c)
}

func (s *Server) venueSkipChange(ctx *fasthttp.RequestCtx, c *call) error {
	v, err := s.venueControl()
	if err != nil {
		return err
	}
	var req VenueSkipRequest
	if err := s.readJSON(ctx, &req); err != nil {
		return err
	}
	if req.Position == 0 || req.Revision != 0 {
		return gate.Errorf(gate.EINVALID, "field \"position\" is required: the change the applier stopped at (GET /v1/venue, changes.stopped.position)")
	}
	cctx, cancel := context.WithTimeout(s.inner, venueTimeout)
	defer cancel()
	if err := v.SkipChange(cctx, req.Position, c.by()); err != nil {
		return err
	}
	s.audit(c, "venue skip change").Uint64("position", req.Position).Msg("a change skipped on this appliance")
	return s.venue(ctx, c)
}
