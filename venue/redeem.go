package venue

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/internal/defaults"
)

// Defaults of [RedeemerConfig].
const (
	DefaultRetryInterval  = time.Second
	DefaultStatusInterval = 2 * time.Second
)

// RedeemerConfig shapes a [Redeemer]. Zero fields take the defaults stated
// beside them.
type RedeemerConfig struct {
	// ClaimTimeout bounds every claim and read the store makes through the
	// Redeemer, whatever its context allows: past it the hub counts as not
	// answering and the lane's offline policy decides. Default the link's
	// LinkConfig.ClaimTimeout (DefaultClaimTimeout).
	ClaimTimeout time.Duration
	// RetryInterval is how often a watch that stopped (a store fault, a
	// value that does not decode), a replay that could not finish and the
	// learned writes waiting for their tickets are tried again. Default
	// DefaultRetryInterval.
	RetryInterval time.Duration
	// StatusInterval is how often the hub's last revision and the double
	// entries are counted for Status. Default DefaultStatusInterval.
	StatusInterval time.Duration
	// Logger receives the Redeemer's log lines (component=venue).
	Logger zerolog.Logger
}

// Redeemer is the venue's redeem-once for one appliance: it implements
// gate.Claimer over a [Link] (the index claims every write at the hub
// through it, under the ticket's lock), and, once started, runs what keeps
// the local store in step with the hub: the watch of the hub's redemptions
// from the learned position (gate.VenueStore.Learn), the replay of offline
// writes when the hub answers again (gate.VenueStore.ReplayOffline, which
// also releases phantom claims and records double entries), and the
// learned writes waiting for their tickets. Status reports it all.
//
// Wiring (cmd/admit): open the index and the link, then
//
//	red := venue.NewRedeemer(link, ix, venue.RedeemerConfig{Logger: log})
//	if err := ix.UseVenue(red); err != nil { ... }
//	red.Start()
//	...
//	red.Close() // before link.Close and ix.Close
type Redeemer struct {
	link  *Link
	store gate.VenueStore
	cfg   RedeemerConfig
	log   zerolog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	kick   chan struct{} // wakes the replay
	skip   chan struct{} // wakes the watch after an operator's skip
	start  sync.Once

	won, lost, offline, failed, released atomic.Uint64
	replayed, doublesHere                atomic.Uint64

	doubles atomic.Pointer[jetstream.KeyValue] // the double entries' bucket, once bound

	// afterClaim, when set, is called with a claim the hub acknowledged
	// before it is answered: tests fail the local commit there, or kill
	// the process (export_test.go).
	afterClaim func(*gate.Claim)

	mu         sync.Mutex
	bad        *DecodeError // a value the watch stopped at: scans that need the hub fail closed
	badAt      time.Time
	learnedAt  time.Time // the hub's time of the last write learned
	learnErr   string    // the last reason the watch stopped, "" once it runs again
	replayErr  string    // the last reason a replay stopped, "" once one finishes
	hubLast    uint64    // the hub's last redemption revision, as of hubAt
	hubAt      time.Time
	doubleSeen int // double entries at the hub, as of hubAt
	waitTicket int // learned writes waiting for their tickets
}

// NewRedeemer returns the Redeemer of link over store (the index). It makes
// claims at once; Start runs learning and replay.
func NewRedeemer(link *Link, store gate.VenueStore, cfg RedeemerConfig) *Redeemer {
	if cfg.ClaimTimeout <= 0 {
		cfg.ClaimTimeout = link.cfg.ClaimTimeout
	}
	defaults.Set(&cfg.RetryInterval, DefaultRetryInterval)
	defaults.Set(&cfg.StatusInterval, DefaultStatusInterval)
	r := &Redeemer{link: link, store: store, cfg: cfg, log: cfg.Logger.With().Str("component", "venue").Logger(),
		kick: make(chan struct{}, 1), skip: make(chan struct{}, 1)}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	return r
}

var _ gate.Claimer = (*Redeemer)(nil)

// Appliance is this appliance's venue id (gate.Claimer).
func (r *Redeemer) Appliance() string { return r.link.Appliance() }

// Claim makes the write c describes at the hub if the key is still at
// c.KnownRev (gate.Claimer), within the claim timeout.
func (r *Redeemer) Claim(ctx context.Context, c *gate.Claim) gate.ClaimResult {
	res := r.claim(ctx, c)
	switch res.Outcome {
	case gate.ClaimWon:
		r.won.Add(1)
		if c.By.Seq == 0 {
			r.released.Add(1)
		}
	case gate.ClaimLost:
		r.lost.Add(1)
	case gate.ClaimOffline:
		r.offline.Add(1)
	default:
		r.failed.Add(1)
	}
	return res
}

func (r *Redeemer) claim(ctx context.Context, c *gate.Claim) gate.ClaimResult {
	if why := r.failing(); why != "" {
		return gate.ClaimResult{Outcome: gate.ClaimFailed, Detail: why}
	}
	rec := &Record{V: RecordVersion, Event: c.Event, Ticket: c.Ticket, Redemption: c.Redemption,
		Claim: ClaimRef{Appliance: c.By.Appliance, Seq: c.By.Seq, At: c.By.At}}
	rec.Redemption.Revision = 0 // the hub's revision is the key's own, never in the value
	if c.Prev != nil {
		p := *c.Prev
		p.Revision = 0
		rec.Prev = &p
	}
	ctx, cancel := context.WithTimeout(ctx, r.cfg.ClaimTimeout)
	defer cancel()
	rev, err := r.link.Claim(ctx, rec.Key(), rec, c.KnownRev)
	if err == nil {
		if r.afterClaim != nil {
			r.afterClaim(c)
		}
		return gate.ClaimResult{Outcome: gate.ClaimWon, Revision: rev}
	}
	var lost *LostError
	if errors.As(err, &lost) {
		return r.lostTo(lost.Key, c.KnownRev)
	}
	return r.unanswered(err)
}

// lostTo reads the write that beat a claim made at knownRev on key. It reads
// at the leader (the link's read is a direct get, which a follower that
// has not caught up may answer), and, while the leader shows nothing newer
// than knownRev, again: a replicated stream refuses a write while another
// to the same key is in flight (10164), before that one is applied. When
// none appears within the claim timeout (the other write failed), the
// claim is lost to what the leader shows, and the index claims again.
func (r *Redeemer) lostTo(key string, knownRev uint64) gate.ClaimResult {
	ctx, cancel := context.WithTimeout(context.Background(), r.cfg.ClaimTimeout)
	defer cancel()
	pause := time.Millisecond
	var last *Entry
wait:
	for {
		e, err := r.readLeader(ctx, key)
		if err != nil {
			if last != nil && ctx.Err() != nil {
				break // waited out: lost to what the leader showed
			}
			return r.unanswered(err)
		}
		last = &e
		if e.Rev > knownRev {
			break
		}
		select {
		case <-ctx.Done():
			break wait
		case <-time.After(pause):
		}
		pause = min(2*pause, 20*time.Millisecond)
	}
	if last.Rev == 0 {
		return gate.ClaimResult{Outcome: gate.ClaimLost}
	}
	return gate.ClaimResult{Outcome: gate.ClaimLost, Current: hubOf(last.Record, last.Rev)}
}

// unanswered turns an error of the link into a claim's outcome: offline
// when the hub did not answer, failed (fail closed) for anything else.
func (r *Redeemer) unanswered(err error) gate.ClaimResult {
	var de *DecodeError
	switch {
	case errors.Is(err, ErrOffline):
		return gate.ClaimResult{Outcome: gate.ClaimOffline, Detail: "the venue hub did not answer"}
	case errors.As(err, &de):
		r.log.Error().Err(err).Msg("a value at the hub does not decode; scans of its ticket fail closed")
		return gate.ClaimResult{Outcome: gate.ClaimFailed, Detail: "the venue hub holds a value that does not decode: " + de.Key}
	case errors.Is(err, ErrRefused):
		return gate.ClaimResult{Outcome: gate.ClaimFailed, Detail: "the venue link is refused: " + refusal(err)}
	case errors.Is(err, ErrClosed):
		return gate.ClaimResult{Outcome: gate.ClaimFailed, Detail: "the venue link is closed"}
	}
	r.log.Error().Err(err).Msg("venue claim failed")
	return gate.ClaimResult{Outcome: gate.ClaimFailed, Detail: "the venue claim failed"}
}

// failing says why scans that need the hub fail closed now: a link the hub
// refused, or a value the watch cannot learn. "" when they do not.
func (r *Redeemer) failing() string {
	r.mu.Lock()
	bad := r.bad
	r.mu.Unlock()
	if bad != nil {
		return fmt.Sprintf("the venue hub holds a value that does not decode (%s, revision %d); an operator must look at it", bad.Key, bad.Rev)
	}
	if st, _ := r.link.stateNow(); st == StateRefused {
		return "the venue link is refused: " + r.link.Status().Refused
	}
	return ""
}

// Current reads the hub's state of (event, ticket) (gate.Claimer): nil
// when the key has no value.
func (r *Redeemer) Current(ctx context.Context, event, ticket string) (*gate.HubRedemption, error) {
	if why := r.failing(); why != "" {
		return nil, errors.New(why)
	}
	ctx, cancel := context.WithTimeout(ctx, r.cfg.ClaimTimeout)
	defer cancel()
	e, err := r.readLeader(ctx, RedemptionKey(event, ticket))
	if err != nil {
		return nil, r.readError(err)
	}
	if e.Rev == 0 {
		return nil, nil
	}
	return hubOf(e.Record, e.Rev), nil
}

// readError gives a link's error the code the index acts on: EUNAVAILABLE
// when the hub did not answer.
func (r *Redeemer) readError(err error) error {
	if errors.Is(err, ErrOffline) {
		return fmt.Errorf("%w: %w", gate.Errorf(gate.EUNAVAILABLE, "the venue hub did not answer"), err)
	}
	return err
}

// hubOf is the gate's view of record rec at revision rev.
func hubOf(rec *Record, rev uint64) *gate.HubRedemption {
	h := &gate.HubRedemption{Event: rec.Event, Ticket: rec.Ticket, Redemption: rec.Redemption,
		By: gate.ClaimRef{Appliance: rec.Claim.Appliance, Seq: rec.Claim.Seq, At: rec.Claim.At}}
	h.Redemption.Revision = rev
	if rec.Prev != nil {
		p := *rec.Prev
		h.Prev = &p
	}
	return h
}
