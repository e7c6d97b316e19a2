package venue

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/admitgate/admit/gate"
)

// Defaults of [ApplierConfig].
const (
	DefaultStartWait     = 30 * time.Second
	DefaultProbeInterval = time.Second
	DefaultRetryWait     = 100 * time.Millisecond
	DefaultMaxRetryWait  = 5 * time.Second
)

// ApplierConfig is an appliance's applier of the venue's changes. Zero
// fields take the defaults stated beside them.
type ApplierConfig struct {
	// Link is the appliance's link to the hub. Required.
	Link *Link
	// Store applies a change at its position (the index). Required.
	Store gate.ChangeApplier
	// Importer imports a fetched file into Store with the importer the
	// appliance uses for its own files (importfile.Service over the
	// index), with ImportRequest.Change set. Required.
	Importer gate.Importer
	// TempDir holds the import files fetched from the hub while they are
	// imported (a folder of the appliance's own on the data disk: a
	// venue's largest file must fit, and what a stop leaves there is
	// removed at the next start). Default: the system's temporary folder.
	TempDir string
	// StartWait is how long a starting appliance waits for the hub to say
	// how far it is behind; past it, it opens on the data it has (its age
	// grows, and each lane's max_lag decides). Default DefaultStartWait.
	StartWait time.Duration
	// ProbeInterval is how often the hub's last position is read, which the
	// data age rests on. Default DefaultProbeInterval.
	ProbeInterval time.Duration
	// RetryWait is the first wait after a fault (the hub away, the disk),
	// doubled up to MaxRetryWait. Defaults DefaultRetryWait and
	// DefaultMaxRetryWait.
	RetryWait    time.Duration
	MaxRetryWait time.Duration
	// MinFetchRate is the slowest a file may come from the hub, bytes a
	// second. Default DefaultMinFetchRate.
	MinFetchRate int64
	// Logger receives the applier's log lines.
	Logger zerolog.Logger
}

func (c *ApplierConfig) ensureDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.StartWait, DefaultStartWait)
	def(&c.ProbeInterval, DefaultProbeInterval)
	def(&c.RetryWait, DefaultRetryWait)
	def(&c.MaxRetryWait, DefaultMaxRetryWait)
	if c.MinFetchRate <= 0 {
		c.MinFetchRate = DefaultMinFetchRate
	}
}

// Applier applies the venue's changes to this appliance's store: every
// message of [StreamChanges], in stream order, exactly once (the store
// commits the position with the effect), from the position the store has
// applied. It is the only writer of the store's sets and catalog in a
// venue: the appliance's own changes reach the store through it too
// ([Publisher]).
//
// A fault (the hub away, a full disk) is retried, backed off, for ever. A
// change it cannot apply — a message that does not decode, an import file
// missing from the hub or damaged, changes the hub no longer holds — stops
// it there, with the error in Status and the log, until an operator acts:
// [Applier.Retry] once the cause is fixed (the file restored at the hub),
// or [Applier.Skip] of that one change on this appliance. It never skips a
// change on its own.
//
// While an appliance starts it catches up: [Applier.CatchingUp] is an
// error with its progress until it has applied what the hub held when it
// started. [Applier.Age] says how old its copy of the venue's data is,
// from atomic reads, for a lane's max_lag.
type Applier struct {
	cfg     ApplierConfig
	log     zerolog.Logger
	link    *Link
	started time.Time

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	wake   chan struct{} // Retry and Skip wake a stopped applier

	// Read by the scan path: atomics only.
	applied   atomic.Uint64 // the last position applied here
	last      atomic.Uint64 // the hub's last position, as last seen
	asOf      atomic.Int64  // Unix ns: every change the hub held then is applied here
	pendingAt atomic.Int64  // Unix ns: the hub's time of the change being applied (0: none)
	hubSeen   atomic.Int64  // Unix ns of the last answer of the hub to a probe
	open      atomic.Bool   // caught up once (or gave up waiting for the hub): lanes may open
	stopped   atomic.Pointer[StopInfo]
	catchFrom atomic.Uint64 // where the catch-up began
	target    atomic.Uint64 // what the catch-up must reach (0: unknown yet)

	mu        sync.Mutex
	waiters   map[string]chan applied // by change id: the Publisher waiting for its change
	offered   map[string]string       // file sum -> a spooled copy on this appliance
	applying  string                  // the change being applied, for Status
	lastErr   string
	lastErrAt time.Time
}

// applied is the outcome of applying one change, for the Publisher.
type applied struct {
	res gate.ChangeResult
	err error
}

// StopInfo is why an applier stopped: the change it could not apply.
type StopInfo struct {
	Position uint64          `json:"position"`
	ChangeID string          `json:"change_id,omitempty"`
	Kind     gate.ChangeKind `json:"kind,omitempty"`
	Error    string          `json:"error"`
	At       time.Time       `json:"at"`
	err      error
}

// StartApplier starts applying the venue's changes from the store's
// position; Close stops it.
func StartApplier(cfg ApplierConfig) (*Applier, error) {
	if cfg.Link == nil || cfg.Store == nil || cfg.Importer == nil {
		return nil, errors.New("venue: an applier needs a link, a store and an importer")
	}
	cfg.ensureDefaults()
	a := &Applier{cfg: cfg, link: cfg.Link, log: cfg.Logger.With().Str("component", "venue-changes").Logger(),
		started: time.Now(), wake: make(chan struct{}, 1), waiters: map[string]chan applied{}, offered: map[string]string{}}
	a.ctx, a.cancel = context.WithCancel(context.Background())
	removeLeftovers(cfg.TempDir, "venue-fetch-*", func(n int) {
		a.log.Info().Int("files", n).Msg("removed import files a stop left half fetched")
	})
	pos, at := cfg.Store.ChangePosition()
	a.applied.Store(pos)
	a.catchFrom.Store(pos)
	if !at.IsZero() {
		// At least as current as the last change it applied.
		a.asOf.Store(at.UnixNano())
	}
	a.wg.Add(2)
	go a.run()
	go a.probeLoop()
	return a, nil
}

// Close stops the applier: a change being applied is interrupted (an
// import is atomic: it is applied again, whole, at the next start).
func (a *Applier) Close() error {
	a.cancel()
	a.wg.Wait()
	a.failWaiters(gate.Errorf(gate.EUNAVAILABLE, "the appliance is stopping; the change is at the venue hub and is applied here when it starts again"))
	return nil
}

// run consumes the stream until Close.
func (a *Applier) run() {
	defer a.wg.Done()
	wait := a.cfg.RetryWait
	for a.ctx.Err() == nil {
		if st := a.stopped.Load(); st != nil {
			select {
			case <-a.ctx.Done():
				return
			case <-a.wake:
			}
			continue
		}
		progressed, err := a.consume()
		if a.ctx.Err() != nil {
			return
		}
		var stop *stopError
		if errors.As(err, &stop) {
			a.stop(stop)
			continue
		}
		if progressed {
			wait = a.cfg.RetryWait
		}
		if err != nil && a.noteErr(err) {
			a.log.Warn().Err(err).Uint64("applied", a.applied.Load()).Msg("venue changes interrupted; retrying")
		}
		select {
		case <-a.ctx.Done():
			return
		case <-a.wake:
		case <-time.After(wait):
		}
		wait = min(wait*2, a.cfg.MaxRetryWait)
	}
}

// stopError is a change the applier cannot apply: it stops there.
type stopError struct {
	pos  uint64
	c    *gate.Change
	err  error
	gap  bool // the hub no longer holds the changes from pos
	gone bool // the hub's stream holds fewer changes than were applied here
}

func (e *stopError) Error() string { return e.err.Error() }
func (e *stopError) Unwrap() error { return e.err }

func (a *Applier) stop(e *stopError) {
	st := &StopInfo{Position: e.pos, Error: e.err.Error(), At: time.Now().UTC(), err: e.err}
	if e.c != nil {
		st.ChangeID, st.Kind = e.c.ID, e.c.Kind
	}
	a.stopped.Store(st)
	how := "retry once it is fixed, or skip the change on this appliance"
	switch {
	case e.gap, e.gone:
		how = "bring this appliance up from a copy of another appliance's store (docs/venue.md)"
	}
	a.log.Error().Err(e.err).Uint64("position", e.pos).Str("change", st.ChangeID).Str("kind", string(st.Kind)).
		Str("what_to_do", how).Msg("venue changes stopped: a change cannot be applied here")
	// Whoever waits for a change here waits in vain until an operator acts.
	a.failWaiters(a.stoppedError(st))
}

// consume runs one ordered consumer from the store's position until an
// error; progressed reports whether it applied anything.
func (a *Applier) consume() (progressed bool, err error) {
	pos, _ := a.cfg.Store.ChangePosition()
	a.applied.Store(pos)
	cfg := jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverAllPolicy, InactiveThreshold: 5 * time.Minute}
	if pos > 0 {
		cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, pos+1
	}
	cctx, cancel := context.WithTimeout(a.ctx, a.link.stepTimeout())
	cons, err := a.link.js.OrderedConsumer(cctx, StreamChanges, cfg)
	cancel()
	if err != nil {
		return false, fmt.Errorf("venue: changes: %w", classify(err))
	}
	pc := a.link.cfg.PingInterval
	it, err := cons.Messages(jetstream.PullMaxMessages(64), jetstream.PullHeartbeat(min(5*time.Second, 2*pc)),
		jetstream.PullExpiry(max(10*time.Second, 4*pc)))
	if err != nil {
		return false, fmt.Errorf("venue: changes: %w", classify(err))
	}
	defer it.Stop()
	for {
		msg, err := it.Next(jetstream.NextContext(a.ctx))
		if err != nil {
			return progressed, fmt.Errorf("venue: changes: %w", classify(err))
		}
		md, err := msg.Metadata()
		if err != nil {
			return progressed, fmt.Errorf("venue: changes: %w", err)
		}
		seq := md.Sequence.Stream
		if seq <= pos {
			continue
		}
		if a.stopped.Load() != nil {
			return progressed, nil // stopped meanwhile (the probe found the stream made anew)
		}
		if seq != pos+1 {
			return progressed, &stopError{pos: pos + 1, gap: true, err: fmt.Errorf(
				"venue: the hub no longer holds changes %d to %d (the stream's retention dropped them): this appliance cannot catch up from the stream",
				pos+1, seq-1)}
		}
		if seq+md.NumPending > a.last.Load() {
			a.last.Store(seq + md.NumPending)
		}
		a.pendingAt.Store(md.Timestamp.UnixNano())
		if err := a.applyMessage(msg.Subject(), seq, msg.Data()); err != nil {
			a.pendingAt.Store(0)
			return progressed, err
		}
		pos, progressed = seq, true
		a.applied.Store(seq)
		a.pendingAt.Store(0)
		a.advanceAsOf(md.Timestamp.UnixNano())
		if md.NumPending == 0 {
			// Everything the hub held when it sent this is applied.
			a.advanceAsOf(time.Now().UnixNano())
		}
		a.checkCaughtUp()
	}
}

// applyMessage decodes and applies the message at seq. A change the store
// applied or refused (its position committed either way) is done: nil. An
// error is a fault to retry, or a *stopError.
func (a *Applier) applyMessage(subject string, seq uint64, data []byte) error {
	c, err := DecodeChange(subject, seq, data)
	if err != nil {
		return &stopError{pos: seq, err: err}
	}
	a.setApplying(&c)
	defer a.setApplying(nil)
	start := time.Now()
	var res gate.ChangeResult
	if c.Kind == gate.ChangeImport {
		res, err = a.applyImport(&c)
	} else {
		res, err = a.cfg.Store.ApplyChange(a.ctx, c)
	}
	if done, _ := a.cfg.Store.ChangePosition(); done < seq {
		var stop *stopError
		if errors.As(err, &stop) {
			return stop
		}
		if err == nil {
			err = errors.New("the store did not commit the change's position")
		}
		return fmt.Errorf("venue: apply change %d (%s): %w", seq, c.String(), err)
	}
	if res.Change.ID == "" {
		res.Change = c
	}
	ev := a.log.Info()
	if err != nil {
		ev = a.log.Warn().Str("refused", gate.ErrorMessage(err)).Str("code", gate.ErrorCode(err))
	}
	ev.Uint64("position", seq).Str("change", c.ID).Str("kind", string(c.Kind)).Str("by", c.By).
		Str("from", c.Appliance).Dur("took_ms", time.Since(start)).Msg("venue change applied")
	a.deliver(c.ID, applied{res: res, err: err})
	return nil
}

// applyImport fetches the change's file (or takes this appliance's own
// spooled copy) and imports it.
func (a *Applier) applyImport(c *gate.Change) (gate.ChangeResult, error) {
	f, err := a.importFile(c.Import.File, c.Import.Size)
	if err != nil {
		var fe *FileError
		if errors.As(err, &fe) {
			return gate.ChangeResult{}, &stopError{pos: c.Position, c: c, err: err}
		}
		return gate.ChangeResult{}, err
	}
	defer f.Close()
	res, err := a.cfg.Importer.Import(a.ctx, c.Request(), f)
	return gate.ChangeResult{Change: *c, Import: res}, err
}

// importFile opens the file named sum: the copy the Publisher spooled here,
// or one fetched from the hub (removed once closed).
func (a *Applier) importFile(sum string, size int64) (io.ReadCloser, error) {
	a.mu.Lock()
	if p, ok := a.offered[sum]; ok {
		// Opened under the lock: the Publisher removes its copy only after
		// taking it back, and an open file outlives its removal.
		f, err := os.Open(p)
		a.mu.Unlock()
		if err == nil {
			return f, nil
		}
	} else {
		a.mu.Unlock()
	}
	path, err := a.link.fetchFile(a.ctx, tempDir(a.cfg.TempDir), sum, size, a.cfg.MinFetchRate)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		_ = os.Remove(path)
		return nil, fmt.Errorf("venue: import file %s: %w", sum, err)
	}
	return &removeOnClose{File: f}, nil
}

// removeOnClose is a fetched file, removed once imported.
type removeOnClose struct{ *os.File }

func (f *removeOnClose) Close() error {
	err := f.File.Close()
	_ = os.Remove(f.Name())
	return err
}

// setApplying names the change being applied, for Status.
func (a *Applier) setApplying(c *gate.Change) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if c == nil {
		a.applying = ""
		return
	}
	a.applying = c.String()
}

func (a *Applier) noteErr(err error) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	changed := err.Error() != a.lastErr
	a.lastErr, a.lastErrAt = err.Error(), time.Now().UTC()
	return changed
}

func (a *Applier) advanceAsOf(ns int64) {
	for {
		cur := a.asOf.Load()
		if ns <= cur || a.asOf.CompareAndSwap(cur, ns) {
			return
		}
	}
}
