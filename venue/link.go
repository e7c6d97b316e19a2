package venue

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
)

// Defaults of [LinkConfig].
const (
	DefaultClaimTimeout     = 250 * time.Millisecond
	DefaultConnectTimeout   = 5 * time.Second
	DefaultPingInterval     = 2 * time.Second
	DefaultReconnectWait    = 100 * time.Millisecond
	DefaultMaxReconnectWait = 2 * time.Second
	DefaultDialTimeout      = 2 * time.Second

	// refusedRetry is how often a refused link checks the hub again.
	refusedRetry = 10 * time.Second
)

// LinkConfig is an appliance's link to its hub. Zero fields take the
// defaults stated beside them.
type LinkConfig struct {
	// Appliance is this appliance's id, unique in the venue and its hub
	// user ([CheckApplianceID]). Required.
	Appliance string
	// URLs are the hub nodes' client URLs (nats://host:4222, tls://...).
	// The link uses these only, in this order, never addresses the hub
	// advertises. Required.
	URLs []string
	// PasswordFile holds the appliance's hub password. Required.
	PasswordFile string
	// TLS: CA verifies the hub's certificate (else the system's roots when
	// a URL is tls://); Cert and Key are this appliance's client
	// certificate when the hub verifies clients.
	TLS TLSFiles
	// Lanes and Version are shown to the venue in the presence key.
	Lanes   []string
	Version string
	// Layout is what the hub's buckets must look like; checked at every
	// connect. Default: 3 replicas, created when missing only if
	// Layout.Create.
	Layout Layout
	// ClaimTimeout bounds a claim whose context has no deadline. Default
	// DefaultClaimTimeout.
	ClaimTimeout time.Duration
	// ConnectTimeout bounds Open's wait for the hub; a hub that does not
	// answer by then leaves the link offline and connecting in the
	// background. Default DefaultConnectTimeout.
	ConnectTimeout time.Duration
	// DialTimeout bounds one connection attempt. Default DefaultDialTimeout.
	DialTimeout time.Duration
	// PingInterval is how often the connection is probed; two unanswered
	// pings close it (a silent link is noticed in about three intervals).
	// Default DefaultPingInterval.
	PingInterval time.Duration
	// ReconnectWait is the first wait between reconnection rounds, doubled
	// each round up to MaxReconnectWait, with jitter. Defaults
	// DefaultReconnectWait and DefaultMaxReconnectWait.
	ReconnectWait    time.Duration
	MaxReconnectWait time.Duration
	// Heartbeat is how often the presence key is refreshed. Default
	// HeartbeatInterval; it must stay well under PresenceTTL.
	Heartbeat time.Duration
}

// EnsureDefaults sets the defaults of zero fields.
func (c *LinkConfig) EnsureDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.ClaimTimeout, DefaultClaimTimeout)
	def(&c.ConnectTimeout, DefaultConnectTimeout)
	def(&c.DialTimeout, DefaultDialTimeout)
	def(&c.PingInterval, DefaultPingInterval)
	def(&c.ReconnectWait, DefaultReconnectWait)
	def(&c.MaxReconnectWait, DefaultMaxReconnectWait)
	def(&c.Heartbeat, HeartbeatInterval)
}

// Validate checks the configuration without reading files.
func (c *LinkConfig) Validate() error {
	c.EnsureDefaults()
	var errs []string
	add := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	if err := CheckApplianceID(c.Appliance); err != nil {
		add("%v", err)
	}
	if len(c.URLs) == 0 {
		add("no hub urls")
	}
	for _, u := range c.URLs {
		p, err := url.Parse(u)
		if err != nil || p.Host == "" {
			add("hub url %q: not a URL such as nats://hub1:4222", u)
			continue
		}
		switch p.Scheme {
		case "nats", "tls":
		default:
			add("hub url %q: scheme %q, wanted nats:// or tls://", u, p.Scheme)
		}
		if p.User != nil {
			add("hub url %q: credentials belong in password_file, not the URL", u)
		}
	}
	if c.PasswordFile == "" {
		add("password_file is empty")
	}
	if (c.TLS.Cert == "") != (c.TLS.Key == "") {
		add("tls cert and key go together")
	}
	if c.Heartbeat >= PresenceTTL/2 {
		add("heartbeat %s: at most %s (the presence key lives %s)", c.Heartbeat, PresenceTTL/2, PresenceTTL)
	}
	if c.Layout.Replicas != 0 && c.Layout.Replicas != 1 && c.Layout.Replicas != 3 && c.Layout.Replicas != 5 {
		add("replicas %d: 1, 3 or 5", c.Layout.Replicas)
	}
	if len(errs) > 0 {
		return errors.New("venue: " + strings.Join(errs, "; "))
	}
	return nil
}

// Link states, Status.State.
const (
	StateConnecting = "connecting" // no connection to any hub node
	StateChecking   = "checking"   // connected; checking the buckets and registering presence
	StateUp         = "up"         // claims go to the hub
	StateRefused    = "refused"    // the hub's buckets or the appliance id are wrong; lanes fail closed
	StateClosed     = "closed"
)

// ErrOffline is a claim or read the hub did not answer in time, or made
// while the link is down: what happened at the hub is unknown (a claim may
// still land). The lane's offline policy decides.
var ErrOffline = errors.New("venue: the hub did not answer")

// ErrRefused is an operation on a link the hub refused: its buckets do not
// have the venue's settings, or another live appliance holds this
// appliance's id. Lanes fail closed; Status says why.
var ErrRefused = errors.New("venue: the link is refused")

// ErrClosed is an operation on a closed link.
var ErrClosed = errors.New("venue: link closed")

// RefusedError is why a link is refused.
type RefusedError struct{ Reason string }

func (e *RefusedError) Error() string { return "venue: " + e.Reason }

// Is makes a *RefusedError match ErrRefused.
func (e *RefusedError) Is(target error) bool { return target == ErrRefused }

// Status is a link's state, for /v1/venue and the logs.
type Status struct {
	State      string        `json:"state"`            // StateConnecting, StateChecking, StateUp, StateRefused, StateClosed
	Since      time.Time     `json:"since"`            // when State began
	Connected  bool          `json:"connected"`        // a connection to a hub node is open
	ServerURL  string        `json:"server_url"`       // the node connected to, without credentials
	RTT        time.Duration `json:"rtt_ns"`           // the last round trip to the node
	LastClaim  time.Duration `json:"last_claim_ns"`    // the last claim's latency
	Reconnects uint64        `json:"reconnects"`       // reconnections since the link opened
	LastError  string        `json:"last_error"`       // the latest fault, "" when none
	LastErrAt  time.Time     `json:"last_error_at"`    // when LastError happened
	Instance   string        `json:"instance"`         // this process's presence instance
	Refused    string        `json:"refused,omitzero"` // why the link is refused
}

// Link is an appliance's connection to its hub: one nats.go connection to the
// configured URLs only, reconnecting for ever with backoff; the venue's
// buckets checked at every connect; this appliance's presence registered
// (refused when another live appliance holds its id) and refreshed; claims,
// reads and watches of the redemptions. Safe for concurrent use.
type Link struct {
	cfg      LinkConfig
	log      zerolog.Logger
	instance string
	started  time.Time
	nc       *nats.Conn
	js       jetstream.JetStream

	kick   chan struct{} // the connection changed: the supervisor looks again
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	kvs     atomic.Pointer[buckets] // bound while the link is up
	recheck atomic.Bool             // the connection dropped: check the hub again before claiming

	mu          sync.Mutex
	state       string
	since       time.Time
	refused     string
	lastErr     string
	lastErrAt   time.Time
	rtt         time.Duration
	lastClaim   time.Duration
	presenceRev uint64
	changed     chan struct{}      // closed at every state change
	opCancel    context.CancelFunc // ends the supervisor's requests when the connection drops
}

// buckets are the KV handles of an up link.
type buckets struct {
	redemptions jetstream.KeyValue
	appliances  jetstream.KeyValue
}

// Open opens the link and waits up to cfg.ConnectTimeout (or ctx) for it to
// come up. A hub that refuses it (wrong bucket settings, an appliance id
// held by a live appliance) is an error that wraps ErrRefused. A hub that
// does not answer in time is not: the link goes on connecting in the
// background and reports offline until it comes up. Close it when done.
func Open(ctx context.Context, cfg LinkConfig, log zerolog.Logger) (*Link, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	password, err := ReadSecretFile(cfg.PasswordFile)
	if err != nil {
		return nil, fmt.Errorf("venue: %w", err)
	}
	var inst [8]byte
	_, _ = rand.Read(inst[:])
	l := &Link{cfg: cfg, log: log.With().Str("component", "venue").Logger(), instance: hex.EncodeToString(inst[:]),
		started: time.Now(), kick: make(chan struct{}, 1), state: StateConnecting, since: time.Now(),
		changed: make(chan struct{})}
	l.ctx, l.cancel = context.WithCancel(context.Background())
	opts := []nats.Option{
		nats.Name("admit " + cfg.Appliance),
		nats.UserInfo(cfg.Appliance, password),
		nats.CustomInboxPrefix(inboxPrefix(cfg.Appliance)),
		nats.DontRandomize(),
		nats.IgnoreDiscoveredServers(),
		nats.MaxReconnects(-1),
		nats.RetryOnFailedConnect(true),
		nats.IgnoreAuthErrorAbort(),
		nats.CustomReconnectDelay(l.reconnectDelay),
		// Nothing is queued while disconnected: a claim made then fails at
		// once instead of landing at the hub long after it was answered.
		nats.ReconnectBufSize(-1),
		nats.PingInterval(cfg.PingInterval),
		nats.MaxPingsOutstanding(2),
		nats.Timeout(cfg.DialTimeout),
		nats.ConnectHandler(func(*nats.Conn) { l.nudge() }),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			l.log.Info().Str("server", nc.ConnectedUrlRedacted()).Msg("reconnected to the hub")
			l.recheck.Store(true)
			l.nudge()
		}),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if l.ctx.Err() != nil {
				return // closing
			}
			if err != nil {
				l.noteErr(fmt.Errorf("disconnected: %w", err))
			}
			l.recheck.Store(true)
			l.kvs.Store(nil)
			l.cancelOps()
			if st, _ := l.stateNow(); st != StateRefused {
				l.setState(StateConnecting, "")
			}
			l.nudge()
		}),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { l.noteErr(err) }),
	}
	if cfg.TLS.CA != "" {
		opts = append(opts, nats.RootCAs(cfg.TLS.CA))
	}
	if cfg.TLS.Cert != "" {
		opts = append(opts, nats.ClientCert(cfg.TLS.Cert, cfg.TLS.Key))
	}
	l.nc, err = nats.Connect(strings.Join(cfg.URLs, ","), opts...)
	if err != nil {
		l.cancel()
		return nil, fmt.Errorf("venue: connect: %w", err)
	}
	l.js, err = jetstream.New(l.nc)
	if err != nil {
		l.nc.Close()
		l.cancel()
		return nil, fmt.Errorf("venue: %w", err)
	}
	l.wg.Add(1)
	go l.supervise()
	l.nudge()

	wctx, cancel := context.WithTimeout(ctx, cfg.ConnectTimeout)
	defer cancel()
	for {
		st, changed := l.stateNow()
		switch st {
		case StateUp:
			return l, nil
		case StateRefused:
			s := l.Status()
			l.Close()
			return nil, &RefusedError{Reason: s.Refused}
		}
		select {
		case <-changed:
		case <-wctx.Done():
			s := l.Status()
			l.log.Warn().Str("state", s.State).Str("last_error", s.LastError).Strs("urls", redactURLs(cfg.URLs)).
				Msg("the hub did not answer in time: going on offline, connecting in the background")
			return l, nil
		}
	}
}

// Close stops the link: the presence key is given back (so a restart is not
// refused while it lives on) and the connection closed.
func (l *Link) Close() error {
	l.mu.Lock()
	if l.state == StateClosed {
		l.mu.Unlock()
		return nil
	}
	rev := l.presenceRev
	l.mu.Unlock()
	l.cancel()
	l.wg.Wait()
	if b := l.kvs.Load(); b != nil && rev > 0 && l.nc.IsConnected() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		if err := b.appliances.Delete(ctx, l.cfg.Appliance, jetstream.LastRevision(rev)); err != nil {
			l.log.Debug().Err(err).Msg("presence key not given back; it expires on its own")
		}
		cancel()
	}
	l.nc.Close()
	l.setState(StateClosed, "")
	return nil
}

// Appliance is this link's appliance id.
func (l *Link) Appliance() string { return l.cfg.Appliance }

// Instance is this process's random presence instance.
func (l *Link) Instance() string { return l.instance }

// Status returns the link's state now.
func (l *Link) Status() Status {
	l.mu.Lock()
	s := Status{State: l.state, Since: l.since, RTT: l.rtt, LastClaim: l.lastClaim, LastError: l.lastErr,
		LastErrAt: l.lastErrAt, Instance: l.instance, Refused: l.refused}
	l.mu.Unlock()
	s.Connected = l.nc.IsConnected()
	if s.Connected {
		s.ServerURL = l.nc.ConnectedUrlRedacted()
	}
	s.Reconnects = l.nc.Stats().Reconnects
	return s
}

// WaitUp waits until the link is up, refused (an error wrapping ErrRefused)
// or closed, or ctx ends.
func (l *Link) WaitUp(ctx context.Context) error {
	for {
		st, changed := l.stateNow()
		switch st {
		case StateUp:
			if _, err := l.ready(); err == nil {
				return nil
			}
			// Up, but the connection just dropped: the state changes soon.
			select {
			case <-changed:
			case <-time.After(10 * time.Millisecond):
			case <-ctx.Done():
				return fmt.Errorf("%w: link %s: %w", ErrOffline, st, ctx.Err())
			}
			continue
		case StateRefused:
			return &RefusedError{Reason: l.Status().Refused}
		case StateClosed:
			return ErrClosed
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("%w: link %s: %w", ErrOffline, st, ctx.Err())
		}
	}
}

// Conn is the link's connection, for the venue's other streams (changes,
// files). Its subjects and permissions are the appliance's.
func (l *Link) Conn() *nats.Conn { return l.nc }

// JetStream is the link's JetStream context.
func (l *Link) JetStream() jetstream.JetStream { return l.js }

func (l *Link) stateNow() (string, <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.state, l.changed
}

func (l *Link) setState(state, refused string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.state == StateClosed || (l.state == state && l.refused == refused) {
		return
	}
	was := l.state
	l.state, l.since, l.refused = state, time.Now(), refused
	close(l.changed)
	l.changed = make(chan struct{})
	ev := l.log.Info()
	if state == StateRefused {
		ev = l.log.Error().Str("reason", refused)
	}
	ev.Str("from", was).Str("state", state).Msg("venue link " + state)
}

// noteErr records err as the link's last error; it reports whether the
// message differs from the last one (so a fault repeated at every retry is
// logged once).
func (l *Link) noteErr(err error) bool {
	l.mu.Lock()
	changed := err.Error() != l.lastErr
	l.lastErr, l.lastErrAt = err.Error(), time.Now()
	l.mu.Unlock()
	l.log.Debug().Err(err).Msg("venue link")
	return changed
}

func (l *Link) nudge() {
	select {
	case l.kick <- struct{}{}:
	default:
	}
}

func redactURLs(urls []string) []string {
	out := make([]string, len(urls))
	for i, u := range urls {
		if p, err := url.Parse(u); err == nil {
			out[i] = p.Redacted()
		}
	}
	return out
}
