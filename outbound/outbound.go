package outbound

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/admitgate/admit/gate"
)

// TicketReader looks tickets up: the SecuTix layout takes the order,
// contact, price and dates of each used ticket from it. gate.Tickets (the
// index) is one.
type TicketReader interface {
	Ticket(ctx context.Context, barcode string) (gate.TicketView, error)
}

// Options are what every export and webhook of a Service share.
type Options struct {
	// Journal is the record of decisions the targets deliver; required.
	// Only entries below its watermark are ever read (gate.Journal's
	// promise), so a position never passes an entry that is still to come.
	Journal gate.Journal
	// Tickets fills the SecuTix layout's ticket fields; required when an
	// export writes SecuTix files.
	Tickets TicketReader
	// Appliance is this appliance's id: every decision delivered is named
	// "<appliance>:<seq>"; required.
	Appliance string
	// StateDir holds each target's state file (export-<name>.json,
	// webhook-<name>.json); required. cmd/admit uses <data_dir>/outbound.
	StateDir string
	// Head, when set, returns the journal's last readable sequence (the
	// index's watermark), for the lag in entries; it must be cheap, and is
	// called at most four times a second. Nil: the lag is counted by
	// reading ahead, at most 1000 entries.
	Head func() uint64
	// Location is the zone of the dates in SecuTix files (SecuTix writes
	// local time). Default time.Local.
	Location *time.Location
	// Active, when set, says whether this appliance delivers now; while it
	// returns false every target waits and keeps its position (in a venue
	// only the elected appliance delivers). Nil: always.
	Active func() bool
	// Logger receives the targets' logs, with component=outbound.
	Logger zerolog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time

	// hook, when set, is called at the points a crash test kills at.
	hook func(stage string)
}

// Service runs the configured exports and webhooks. Its methods are safe
// for concurrent use.
type Service struct {
	opts     Options
	log      zerolog.Logger
	exports  []*Exporter
	webhooks []*Hook
	head     headCache
}

// New checks the configuration and returns a Service; nothing runs and
// nothing is read or written until Run.
func New(opts Options, exports []Export, webhooks []Webhook) (*Service, error) {
	if opts.Journal == nil {
		return nil, errors.New("outbound: Options.Journal is required")
	}
	if opts.Appliance == "" {
		return nil, errors.New("outbound: Options.Appliance is required")
	}
	if opts.StateDir == "" {
		return nil, errors.New("outbound: Options.StateDir is required")
	}
	if opts.Location == nil {
		opts.Location = time.Local
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Service{opts: opts, log: opts.Logger.With().Str("component", "outbound").Logger()}
	s.head.src, s.head.now = opts.Head, opts.Now
	var errs []error
	names := map[string]bool{}
	prefixes := map[string]string{}
	for i, e := range exports {
		e = e.withDefaults()
		if err := e.validate(); err != nil {
			errs = append(errs, fmt.Errorf("exports[%d]: %w", i, err))
			continue
		}
		if names["export:"+e.Name] {
			errs = append(errs, fmt.Errorf("exports[%d]: name %q is used twice", i, e.Name))
		}
		names["export:"+e.Name] = true
		key := filepath.Clean(e.Dir) + "\x00" + e.Prefix
		if other, dup := prefixes[key]; dup {
			errs = append(errs, fmt.Errorf("exports[%d]: %q writes files named %s-… into %s like %q", i, e.Name, e.Prefix, e.Dir, other))
		}
		prefixes[key] = e.Name
		if e.Format == FormatSecutix && opts.Tickets == nil {
			errs = append(errs, fmt.Errorf("exports[%d]: the secutix format needs Options.Tickets", i))
		}
		s.exports = append(s.exports, newExporter(s, e))
	}
	for i, w := range webhooks {
		w = w.withDefaults()
		if err := w.validate(); err != nil {
			errs = append(errs, fmt.Errorf("webhooks[%d]: %w", i, err))
			continue
		}
		if names["webhook:"+w.Name] {
			errs = append(errs, fmt.Errorf("webhooks[%d]: name %q is used twice", i, w.Name))
		}
		names["webhook:"+w.Name] = true
		s.webhooks = append(s.webhooks, newHook(s, w))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("outbound: %w", err)
	}
	return s, nil
}

// Run delivers until ctx ends: each export writes its files every interval,
// each webhook posts what the journal holds beyond its position. A target
// that fails keeps retrying (and says so in Status) without stopping the
// others. Run returns ctx's error once every target has stopped; a position
// is saved before its target stops.
func (s *Service) Run(ctx context.Context) error {
	if len(s.exports)+len(s.webhooks) == 0 {
		<-ctx.Done()
		return ctx.Err()
	}
	if err := os.MkdirAll(s.opts.StateDir, 0o755); err != nil {
		return fmt.Errorf("outbound: state dir: %w", err)
	}
	var wg sync.WaitGroup
	for _, e := range s.exports {
		wg.Go(func() { e.Run(ctx) })
	}
	for _, h := range s.webhooks {
		wg.Go(func() { h.Run(ctx) })
	}
	wg.Wait()
	return ctx.Err()
}

// Exporters returns the exports, in configuration order.
func (s *Service) Exporters() []*Exporter { return s.exports }

// Hooks returns the webhooks, in configuration order.
func (s *Service) Hooks() []*Hook { return s.webhooks }

// Status returns every export's and webhook's state: exports first, in
// configuration order.
func (s *Service) Status() []gate.DeliveryStatus {
	out := make([]gate.DeliveryStatus, 0, len(s.exports)+len(s.webhooks))
	for _, e := range s.exports {
		out = append(out, e.Status())
	}
	for _, h := range s.webhooks {
		out = append(out, h.Status())
	}
	return out
}

func (s *Service) active() bool { return s.opts.Active == nil || s.opts.Active() }

func (s *Service) hook(stage string) {
	if s.opts.hook != nil {
		s.opts.hook(stage)
	}
}

// id names a decision for receivers: the appliance and the journal sequence.
func (s *Service) id(seq uint64) string { return fmt.Sprintf("%s:%d", s.opts.Appliance, seq) }

// headCache keeps the journal's head for a quarter of a second, so the
// targets' lag checks cost one call of Options.Head between them.
type headCache struct {
	src func() uint64
	now func() time.Time
	mu  sync.Mutex
	val uint64
	at  time.Time
}

// get returns the head and whether it is known.
func (h *headCache) get() (uint64, bool) {
	if h.src == nil {
		return 0, false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.now()
	if h.at.IsZero() || now.Sub(h.at) >= 250*time.Millisecond || now.Before(h.at) {
		h.val, h.at = h.src(), now
	}
	return h.val, true
}

// sleep waits for d or until ctx ends, and reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
