package venue

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/internal/defaults"
)

// Defaults of [PublisherConfig].
const (
	DefaultPublishTimeout = 10 * time.Second
	DefaultApplyWait      = 30 * time.Second
)

// PublisherConfig is an appliance's way of making venue changes.
type PublisherConfig struct {
	// Link is the appliance's link to the hub; Applier its applier, which
	// applies every change here too. Required.
	Link    *Link
	Applier *Applier
	// Local imports dry runs, which stay on this appliance (the
	// appliance's importfile.Service). Required for dry runs.
	Local gate.Importer
	// TempDir holds an uploaded import file while it is hashed and sent to
	// the hub (a folder of the appliance's own on the data disk: what a
	// stop leaves there is removed at the next start). Default: the
	// system's temporary folder.
	TempDir string
	// PublishTimeout bounds the hub's acknowledgement of a change (a leader
	// election takes seconds); a change it does not acknowledge in time is
	// refused with 503. Default DefaultPublishTimeout.
	PublishTimeout time.Duration
	// ApplyWait bounds the wait for the change to be applied here once the
	// hub has it (imports wait as long as their context allows). Default
	// DefaultApplyWait.
	ApplyWait time.Duration
	Logger    zerolog.Logger
}

// Publisher makes this appliance's changes venue changes: each is
// published to the hub's changes stream first and returns once the hub
// has acknowledged it and this appliance's applier has applied it from the
// stream (so the answer is the store's, as on a single appliance). The
// hub unreachable is a 503 and nothing is changed anywhere. Its methods are
// gate.Catalog's, gate.Tickets' and gate.Loader's changes and gate.Importer;
// [Publisher.Index] wraps the local index for the API.
type Publisher struct {
	cfg     PublisherConfig
	log     zerolog.Logger
	link    *Link
	applier *Applier
}

// NewPublisher returns a Publisher for cfg.
func NewPublisher(cfg PublisherConfig) (*Publisher, error) {
	if cfg.Link == nil || cfg.Applier == nil {
		return nil, errors.New("venue: a publisher needs a link and an applier")
	}
	defaults.Set(&cfg.PublishTimeout, DefaultPublishTimeout)
	defaults.Set(&cfg.ApplyWait, DefaultApplyWait)
	p := &Publisher{cfg: cfg, link: cfg.Link, applier: cfg.Applier,
		log: cfg.Logger.With().Str("component", "venue-changes").Logger()}
	removeLeftovers(cfg.TempDir, "venue-upload-*", func(n int) {
		p.log.Info().Int("files", n).Msg("removed uploads a stop left half sent")
	})
	return p, nil
}

// errHubAway is a change refused because the hub did not take it.
var errHubAway = gate.Errorf(gate.EUNAVAILABLE, "the venue hub is not reachable: changes are refused until it is; scans go on")

// Publish publishes c (its ID, At and Appliance filled in when empty) and
// waits until it is applied here: the result and error are the store's.
// An import needs its file in the hub's file store first (Import does
// that).
func (p *Publisher) Publish(ctx context.Context, c gate.Change) (gate.ChangeResult, error) {
	if c.ID == "" {
		c.ID = newChangeID()
	}
	if c.At.IsZero() {
		c.At = time.Now().UTC()
	}
	c.Appliance = p.link.Appliance()
	if err := checkChange(&c); err != nil {
		var ge *gate.Error
		if errors.As(err, &ge) {
			return gate.ChangeResult{}, ge
		}
		return gate.ChangeResult{}, gate.Errorf(gate.EINVALID, "%v", err)
	}
	data, err := MarshalChange(c)
	if err != nil {
		return gate.ChangeResult{}, err
	}
	if st := p.applier.Stopped(); st != nil {
		return gate.ChangeResult{}, gate.Errorf(gate.EUNAVAILABLE,
			"this appliance stopped applying the venue's changes at position %d (%s): changes are refused here until an operator retries or skips it; another appliance takes them",
			st.Position, st.Error)
	}
	if _, err := p.link.ready(); err != nil {
		return gate.ChangeResult{}, p.refused(c, err)
	}
	wait := p.applier.expect(c.ID)
	pos, err := p.publish(ctx, c, data)
	if err != nil {
		p.applier.forget(c.ID)
		return gate.ChangeResult{}, p.refused(c, err)
	}
	return p.await(ctx, c, pos, wait)
}

// publish sends the change until the hub acknowledges it or PublishTimeout
// passes: again after a fault, with the same Nats-Msg-Id, so the stream
// keeps one copy whatever reached it.
func (p *Publisher) publish(ctx context.Context, c gate.Change, data []byte) (uint64, error) {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.PublishTimeout)
	defer cancel()
	wait := p.link.cfg.ReconnectWait
	for {
		msg := nats.NewMsg(ChangeSubject(c.Appliance))
		msg.Data = data
		msg.Header.Set(jetstream.MsgIDHeader, c.ID)
		actx, acancel := context.WithTimeout(ctx, min(2*time.Second, p.cfg.PublishTimeout))
		ack, err := p.link.js.PublishMsg(actx, msg, jetstream.WithExpectStream(StreamChanges))
		acancel()
		if err == nil {
			return ack.Sequence, nil
		}
		if !isOffline(err) && !errors.Is(err, nats.ErrNoResponders) {
			return 0, err
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("%w: %w", ErrOffline, err)
		case <-time.After(wait):
		}
		wait = min(2*wait, p.link.cfg.MaxReconnectWait)
	}
}

// refused is the error of a change the hub did not take.
func (p *Publisher) refused(c gate.Change, err error) error {
	p.log.Warn().Err(err).Str("change", c.ID).Str("kind", string(c.Kind)).Str("by", c.By).
		Msg("venue change refused: the hub did not take it")
	if errors.Is(err, ErrRefused) {
		return gate.Errorf(gate.EUNAVAILABLE, "the venue link is refused (%s): changes are refused until it is fixed; scans go on",
			p.link.Status().Refused)
	}
	if isOffline(err) || errors.Is(err, ErrOffline) || errors.Is(err, ErrClosed) {
		return fmt.Errorf("%w: %w", errHubAway, err)
	}
	return fmt.Errorf("venue: publish change %s: %w", c.ID, err)
}

// await waits for the applier to apply change c at pos.
func (p *Publisher) await(ctx context.Context, c gate.Change, pos uint64, wait <-chan applied) (gate.ChangeResult, error) {
	d := p.cfg.ApplyWait
	if c.Kind == gate.ChangeImport {
		d = 0 // an import takes as long as it takes: ctx bounds it
	}
	var timeout <-chan time.Time
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case r := <-wait:
		return r.res, r.err
	case <-ctx.Done():
	case <-timeout:
	}
	p.applier.forget(c.ID)
	return gate.ChangeResult{}, gate.Errorf(gate.EUNAVAILABLE,
		"the change is stored at the venue hub (position %d) but not applied on this appliance yet (%s); it will be: GET /v1/changes shows it then",
		pos, p.applier.Status().State)
}

// PutProvider publishes a provider's creation or renaming (who asked:
// gate.WithBy on ctx).
func (p *Publisher) PutProvider(ctx context.Context, prov gate.Provider) (bool, error) {
	if err := prov.Validate(); err != nil {
		return false, err
	}
	res, err := p.Publish(ctx, gate.Change{Kind: gate.ChangePutProvider, By: gate.ByFrom(ctx), Provider: &prov})
	return res.Created, err
}

// PutEvent publishes an event's creation or change.
func (p *Publisher) PutEvent(ctx context.Context, e gate.Event) (bool, error) {
	if err := e.Validate(); err != nil {
		return false, err
	}
	res, err := p.Publish(ctx, gate.Change{Kind: gate.ChangePutEvent, By: gate.ByFrom(ctx), Event: &e})
	return res.Created, err
}

func (p *Publisher) ticket(ctx context.Context, c gate.Change) (gate.Ticket, error) {
	if err := gate.CheckBarcode(c.Barcode); err != nil {
		return gate.Ticket{}, gate.Errorf(gate.EINVALID, "barcode: %v", err)
	}
	res, err := p.Publish(ctx, c)
	return res.Ticket, err
}

// Cancel publishes a ticket's cancellation.
func (p *Publisher) Cancel(ctx context.Context, barcode, by string) (gate.Ticket, error) {
	return p.ticket(ctx, gate.Change{Kind: gate.ChangeCancel, Barcode: barcode, By: by})
}

// Invalidate publishes a ticket's invalidation.
func (p *Publisher) Invalidate(ctx context.Context, barcode, by string) (gate.Ticket, error) {
	return p.ticket(ctx, gate.Change{Kind: gate.ChangeInvalidate, Barcode: barcode, By: by})
}

// Block publishes a ticket's blocking.
func (p *Publisher) Block(ctx context.Context, barcode, by string) (gate.Ticket, error) {
	return p.ticket(ctx, gate.Change{Kind: gate.ChangeBlock, Barcode: barcode, By: by})
}

// Unblock publishes a ticket's unblocking.
func (p *Publisher) Unblock(ctx context.Context, barcode, by string) (gate.Ticket, error) {
	return p.ticket(ctx, gate.Change{Kind: gate.ChangeUnblock, Barcode: barcode, By: by})
}

// Reissue publishes a reissue.
func (p *Publisher) Reissue(ctx context.Context, oldBarcode, newBarcode, by string) (gate.Ticket, error) {
	if err := gate.CheckBarcode(newBarcode); err != nil {
		return gate.Ticket{}, gate.Errorf(gate.EINVALID, "new barcode: %v", err)
	}
	return p.ticket(ctx, gate.Change{Kind: gate.ChangeReissue, Barcode: oldBarcode, NewBarcode: newBarcode, By: by})
}

// UpdateEvents publishes a change of a pass's events.
func (p *Publisher) UpdateEvents(ctx context.Context, barcode string, add, remove []string, by string) (gate.Ticket, error) {
	if len(add)+len(remove) == 0 {
		return gate.Ticket{}, gate.Errorf(gate.EINVALID, "no event to add or remove")
	}
	return p.ticket(ctx, gate.Change{Kind: gate.ChangeUpdateEvents, Barcode: barcode, Add: add, Remove: remove, By: by})
}

// Withdraw publishes an import's withdrawal.
func (p *Publisher) Withdraw(ctx context.Context, id uint64, by string) (gate.ImportRecord, error) {
	if id == 0 {
		return gate.ImportRecord{}, gate.Errorf(gate.EINVALID, "import id must be a positive whole number")
	}
	res, err := p.Publish(ctx, gate.Change{Kind: gate.ChangeWithdraw, ImportID: id, By: by})
	return res.Withdrawn, err
}

var _ gate.Importer = (*Publisher)(nil)

// Import is the venue's importer: the file is spooled here while it is
// hashed (never held in memory), stored once in the hub's file store under
// its SHA-256, and the import published as a change naming it; every
// appliance (this one included, from its spooled copy) imports it. A dry
// run stays on this appliance. The drop folders call it too.
func (p *Publisher) Import(ctx context.Context, req gate.ImportRequest, file io.Reader) (gate.ImportResult, error) {
	if req.DryRun {
		if p.cfg.Local == nil {
			return gate.ImportResult{}, gate.Errorf(gate.EUNAVAILABLE, "dry runs are not available on this appliance")
		}
		return p.cfg.Local.Import(ctx, req, file)
	}
	if err := req.Validate(); err != nil {
		return gate.ImportResult{}, err
	}
	if file == nil {
		return gate.ImportResult{}, gate.Errorf(gate.EINVALID, "no file to import")
	}
	if _, err := p.link.ready(); err != nil {
		return gate.ImportResult{}, p.refused(gate.Change{Kind: gate.ChangeImport, By: req.By}, err)
	}
	path, sum, size, err := spool(tempDir(p.cfg.TempDir), file)
	if err != nil {
		return gate.ImportResult{}, err
	}
	defer os.Remove(path)
	start := time.Now()
	if err := p.link.putFile(ctx, path, sum, size); err != nil {
		return gate.ImportResult{}, p.refused(gate.Change{Kind: gate.ChangeImport, By: req.By}, err)
	}
	p.log.Info().Str("file", sum).Int64("bytes", size).Dur("took_ms", time.Since(start)).Str("by", req.By).
		Msg("import file stored at the hub")
	p.applier.offer(sum, path)
	defer p.applier.withdraw(sum)
	res, err := p.Publish(ctx, gate.Change{Kind: gate.ChangeImport, By: req.By, Import: gate.ImportChangeOf(req, sum, size)})
	return res.Import, err
}

// Index returns local as the API sees it in a venue: reads and scans go to
// local, changes through p. Load of anything but a dry run is refused: a
// venue's imports carry their file (Import).
func (p *Publisher) Index(local gate.Index) gate.Index { return &venueIndex{Index: local, p: p} }

type venueIndex struct {
	gate.Index
	p *Publisher
}

func (v *venueIndex) PutProvider(ctx context.Context, prov gate.Provider) (bool, error) {
	return v.p.PutProvider(ctx, prov)
}
func (v *venueIndex) PutEvent(ctx context.Context, e gate.Event) (bool, error) {
	return v.p.PutEvent(ctx, e)
}
func (v *venueIndex) Cancel(ctx context.Context, barcode, by string) (gate.Ticket, error) {
	return v.p.Cancel(ctx, barcode, by)
}
func (v *venueIndex) Invalidate(ctx context.Context, barcode, by string) (gate.Ticket, error) {
	return v.p.Invalidate(ctx, barcode, by)
}
func (v *venueIndex) Block(ctx context.Context, barcode, by string) (gate.Ticket, error) {
	return v.p.Block(ctx, barcode, by)
}
func (v *venueIndex) Unblock(ctx context.Context, barcode, by string) (gate.Ticket, error) {
	return v.p.Unblock(ctx, barcode, by)
}
func (v *venueIndex) Reissue(ctx context.Context, oldBarcode, newBarcode, by string) (gate.Ticket, error) {
	return v.p.Reissue(ctx, oldBarcode, newBarcode, by)
}
func (v *venueIndex) UpdateEvents(ctx context.Context, barcode string, add, remove []string, by string) (gate.Ticket, error) {
	return v.p.UpdateEvents(ctx, barcode, add, remove, by)
}
func (v *venueIndex) Withdraw(ctx context.Context, id uint64, by string) (gate.ImportRecord, error) {
	return v.p.Withdraw(ctx, id, by)
}
func (v *venueIndex) Load(ctx context.Context, req gate.ImportRequest, src gate.LineSource) (gate.ImportResult, error) {
	if !req.DryRun {
		return gate.ImportResult{}, gate.Errorf(gate.EINVALID,
			"in a venue an import goes through the importer with its file (POST /v1/imports), which every appliance receives")
	}
	return v.Index.Load(ctx, req, src)
}
