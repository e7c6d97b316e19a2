package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/admitgate/admit/dropfolder"
	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/httpapi"
	"github.com/admitgate/admit/importfile"
	"github.com/admitgate/admit/index"
	"github.com/admitgate/admit/web"
)

// Daemon is the appliance: the ticket store, the importer and the HTTP API,
// wired from a Config. Tests embed it whole (port 0, no signals, no logs);
// `admit serve` runs it under signals.
type Daemon struct {
	// Config is the configuration to run; required.
	Config *Config
	// Logger receives every component's logs. Default zerolog.Nop().
	Logger zerolog.Logger
	// Listener, when set, is served instead of listening on
	// Config.HTTP.Listen (tests pass 127.0.0.1:0).
	Listener net.Listener
	// Seed, when set, runs once the store is open and before the API is
	// ready (the demo loads its data there).
	Seed func(ctx context.Context, ix gate.Index, imp gate.Importer) error

	store    openStore
	dirLock  *dataLock // the data directory, held from Open to Close
	dropStop context.CancelFunc
	dropDone chan error
	importer *importfile.Service
	api      *httpapi.Server
	rig      *rig         // the lanes' hardware
	monitor  *laneMonitor // GET /v1/lanes
	outbound *outboundRunner
	venue    venueSlot // [venue]: the running venue, nil before it opens (venue.go)
	ln       net.Listener
	serveErr chan error
	mu       sync.Mutex // serialises Reload and Close
	cfg      *Config
	closed   bool
}

// Open opens the store, applies the configured providers and events, and
// starts serving. The API listens first and answers 503 on /v1 and /readyz
// until the store and its bloom filter are open. Open returns once the API
// is ready; on error everything opened is closed again.
func (d *Daemon) Open(ctx context.Context) (err error) {
	if d.Config == nil {
		return errors.New("admit: Daemon.Config is required")
	}
	if err := d.Config.checkServe(); err != nil {
		return err
	}
	d.cfg = d.Config
	// Before anything listens or touches the store: a second admit on the
	// same directory is refused by name (datalock.go).
	if d.dirLock, err = lockDataDir(d.cfg.DataDir); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = d.dirLock.Close() // a no-op when Close below released it
		}
	}()
	log := d.Logger.With().Str("component", "daemon").Logger()
	auth, err := d.cfg.auth()
	if err != nil {
		return err
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}),
		newStoreCollector(&d.store), newCodesCollector(&d.store), newZoneCollector(&d.store))
	metrics, err := httpapi.NewMetrics(reg)
	if err != nil {
		return err
	}
	if d.outbound, err = newOutbound(d.cfg, &d.store, reg, d.Logger); err != nil {
		return err
	}
	var validator gate.Validator = laneValidator{&d.store}
	if d.cfg.Venue != nil {
		reg.MustRegister(newVenueCollector(&d.venue))
		validator = venueLanes{inner: laneValidator{&d.store}, slot: &d.venue} // venue_lanes.go
	}
	if d.rig, err = newRig(d.cfg.Lanes, validator, reg, d.Logger); err != nil {
		return err
	}
	reg.MustRegister(newBuildInfoCollector(), newHostCollector(d.cfg.DataDir, d.rig)) // version.go, monitoring.go
	lanes, applyLanes, _ := d.rig.plan(d.cfg.Lanes)
	laneParts(lanes, d.cfg.Lanes)
	applyLanes()
	d.monitor = &laneMonitor{set: d.rig.set}
	ready := d.store.ready
	var venueAPIControl httpapi.VenueControl
	if d.cfg.Venue != nil {
		d.monitor.venue = &d.venue
		venueAPIControl = venueControl{&d.venue}
		ready = func() error {
			if err := d.store.ready(); err != nil {
				return err
			}
			if v := d.venue.get(); v != nil {
				return v.ready()
			}
			return nil
		}
	}
	pages, err := web.New(d.Logger)
	if err != nil {
		return err
	}
	devices, err := openDevices(d.cfg.DataDir)
	if err != nil {
		return fmt.Errorf("admit: %w", err)
	}
	h := d.cfg.HTTP
	d.api, err = httpapi.New(httpapi.Config{ // 503 on /v1 until SetStore
		Auth:           auth,
		Lanes:          lanes,
		Monitor:        d.monitor,
		Emergency:      emergencyControl{d.rig.set},
		Exports:        d.outbound,
		Providers:      providerStore{&d.store}, // codes_wiring.go
		Ready:          ready,
		Serving:        d.store.serving,
		Metrics:        metrics,
		Logger:         &d.Logger,
		MaxBodyBytes:   int(h.MaxBodySize),
		MaxImportBytes: int64(h.MaxImportSize),
		ReadTimeout:    time.Duration(h.ReadTimeout),
		WriteTimeout:   time.Duration(h.WriteTimeout),
		IdleTimeout:    time.Duration(h.IdleTimeout),
		ImportTimeout:  time.Duration(h.ImportTimeout),
		Pages:          pages,
		Devices:        devices,
		TimeZone:       d.cfg.Timezone,
		Backup:         d.backup, // backup.go
		LogBarcodes:    d.cfg.logBarcodes(),
		Venue:          venueAPIControl,
	})
	if err != nil {
		return err
	}
	d.monitor.api.Store(d.api)

	d.ln = d.Listener
	if d.ln == nil {
		if d.ln, err = net.Listen("tcp", h.Listen); err != nil {
			return fmt.Errorf("admit: listen on %s: %w", h.Listen, err)
		}
	}
	d.serveErr = make(chan error, 1)
	go func() {
		if h.TLSCert != "" {
			d.serveErr <- d.api.ServeTLS(d.ln, h.TLSCert, h.TLSKey)
		} else {
			d.serveErr <- d.api.Serve(d.ln)
		}
	}()
	defer func() {
		if err != nil {
			_ = d.Close(context.Background())
		}
	}()

	start := time.Now()
	ix, err := index.Open(d.cfg.DataDir, d.cfg.indexOptions(d.Logger))
	if err != nil {
		return fmt.Errorf("admit: open the ticket store: %w", err)
	}
	d.store.ix.Store(ix)
	d.importer = importfile.NewService(ix, d.Logger, &importfile.Options{Location: d.cfg.location()})
	st := ix.Stats()
	log.Info().Str("dir", d.cfg.DataDir).Int64("tickets", st.Tickets).Int("events", st.Events).
		Dur("took_ms", time.Since(start)).Msg("ticket store open")
	if d.cfg.Venue != nil { // before any scan: the store claims at the hub from now on (venue.go)
		v, err := openVenue(ctx, d.cfg, ix, d.importer, d.Logger)
		if err != nil {
			return err
		}
		d.venue.p.Store(v)
	}
	if err := d.applyCatalog(ctx, d.cfg); err != nil {
		return err
	}
	if d.Seed != nil {
		if err := d.Seed(ctx, ix, d.importer); err != nil {
			return fmt.Errorf("admit: load the demo data: %w", err)
		}
	}
	if v := d.venue.get(); v != nil && v.app.CatchingUp() != nil {
		// The store is still catching up with the venue: an event the
		// venue made may not be here yet. The file's own checks now, the
		// references once caught up (logged: the start cannot be undone).
		if err := d.cfg.checkServe(); err != nil {
			return err
		}
		cfg := d.cfg
		v.afterCatchUp(func(ctx context.Context) { _ = d.checkStore(ctx, cfg, true) })
	} else if err := d.checkStore(ctx, d.cfg, false); err != nil { // references to the store's events and providers
		return err
	}
	if err := d.startDropFolders(); err != nil {
		return err
	}
	d.outbound.start(d.Logger)
	if err := d.rig.start(ctx); err != nil {
		return err
	}
	if v := d.venue.get(); v != nil {
		d.api.SetStore(&venueAPI{Index: v.pub.Index(ix), v: v}, v.pub) // changes through the hub: venue_lanes.go
	} else {
		d.api.SetStore(ix, d.importer)
	}
	scheme := "http"
	if h.TLSCert != "" {
		scheme = "https"
	}
	log.Info().Str("url", scheme+"://"+d.ln.Addr().String()).Int("tokens", auth.Len()).Int("lanes", len(lanes)).Msg("serving")
	return nil
}

// startDropFolders watches the configured drop folders. The watcher's settle
// time is the longest any folder asks for (default 10s).
func (d *Daemon) startDropFolders() error {
	if len(d.cfg.DropFolders) == 0 {
		return nil
	}
	var folders []dropfolder.Folder
	var settle time.Duration
	for _, f := range d.cfg.DropFolders {
		folders = append(folders, dropfolder.Folder{Dir: f.Dir, Provider: f.Provider, Event: f.Event, PriceType: f.PriceType,
			Format: gate.Format(f.Format), OnError: gate.OnError(f.OnError)})
		settle = max(settle, time.Duration(f.Settle))
	}
	var imp gate.Importer = d.importer
	if v := d.venue.get(); v != nil {
		imp = v.pub // a dropped file goes to the hub, and every appliance imports it
	}
	w, err := dropfolder.New(imp, folders, d.Logger, &dropfolder.Options{Settle: settle, Imports: d.store.get()})
	if err != nil {
		return fmt.Errorf("admit: drop folders: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	d.dropStop, d.dropDone = cancel, make(chan error, 1)
	go func() { d.dropDone <- w.Run(ctx) }()
	return nil
}

// Addr is the address the API listens on.
func (d *Daemon) Addr() net.Addr { return d.ln.Addr() }

// Done delivers the API server's error if it stops serving on its own.
func (d *Daemon) Done() <-chan error { return d.serveErr }

// Index returns the open store (nil before Open).
func (d *Daemon) Index() *index.Index { return d.store.get() }

// applyCatalog puts the configured providers and events into the store.
func (d *Daemon) applyCatalog(ctx context.Context, c *Config) error {
	ix := d.store.get()
	if v := d.venue.get(); v != nil {
		// The venue's catalog is the hub's: the file's providers and events
		// go there, in the background (venue.go); kinds and zones stay here.
		v.setPolicies(c)
		v.publishCatalog(c)
		if err := d.applyProviderCodes(ctx, c); err != nil {
			return err
		}
		return d.applyZones(c)
	}
	for _, p := range c.Providers {
		if _, err := ix.PutProvider(ctx, gate.Provider{ID: p.ID, Name: p.Name}); err != nil {
			return fmt.Errorf("admit: provider %s: %w", p.ID, err)
		}
	}
	for _, e := range c.Events {
		if _, err := ix.PutEvent(ctx, e.event()); err != nil {
			return fmt.Errorf("admit: event %s: %w", e.ID, err)
		}
	}
	if err := d.applyProviderCodes(ctx, c); err != nil { // after the events their mappings name: codes_wiring.go
		return err
	}
	return d.applyZones(c) // zones_wiring.go
}

// Reload applies a new configuration's tokens, providers, events and lanes
// (SIGHUP). The new configuration is held to the rules of the start first
// (checkServe, as check-config): a bad one changes nothing and returns the
// error, and the daemon keeps running on the old one. Settings that need a restart (listen address, TLS, data
// directory, limits, store sizes, log) are reported and left as they are.
func (d *Daemon) Reload(ctx context.Context, c *Config) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return errors.New("admit: reload: the daemon is closed")
	}
	if err := d.checkStore(ctx, c, true); err != nil { // the rules of the start, references to the store included
		return err
	}
	auth, err := c.auth()
	if err != nil {
		return err
	}
	lanes, applyLanes, laneWarnings := d.rig.plan(c.Lanes)
	laneParts(lanes, c.Lanes)
	if err := d.applyCatalog(ctx, c); err != nil {
		return err
	}
	if err := d.api.SetLanes(lanes); err != nil {
		return err
	}
	applyLanes()
	d.api.SetAuth(auth)
	log := d.Logger.With().Str("component", "daemon").Logger()
	for _, w := range laneWarnings {
		log.Warn().Msg("reload: " + w)
	}
	if w := d.outbound.changed(c); w != "" {
		log.Warn().Msg(w)
	}
	if c.HTTP != d.cfg.HTTP || c.DataDir != d.cfg.DataDir || c.Log != d.cfg.Log || c.Appliance != d.cfg.Appliance || c.Store != d.cfg.Store {
		log.Warn().Msg("reload: http, data_dir, appliance, store and log settings change only at restart")
	}
	if w := venueChanged(d.cfg, c); w != "" {
		log.Warn().Msg(w)
	}
	log.Info().Int("tokens", auth.Len()).Int("lanes", len(lanes)).Int("events", len(c.Events)).
		Int("providers", len(c.Providers)).Msg("configuration reloaded")
	d.cfg = c
	return nil
}

// Close shuts the appliance down in order: the API stops accepting and
// drains in-flight requests (until ctx ends), the drop folders stop, then
// the scanners stop, every lane halts (what is pending is annulled) and the
// relay boards open every relay, then the store is closed. It is safe to
// call more than once.
func (d *Daemon) Close(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil
	}
	d.closed = true
	var errs []error
	if d.api != nil && d.ln != nil {
		if err := d.api.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("admit: drain http: %w", err))
		}
		if err := <-d.serveErr; err != nil {
			errs = append(errs, fmt.Errorf("admit: serve: %w", err))
		}
	}
	if d.dropStop != nil {
		d.dropStop()
		if err := <-d.dropDone; err != nil && !errors.Is(err, context.Canceled) {
			errs = append(errs, fmt.Errorf("admit: drop folders: %w", err))
		}
	}
	if d.rig != nil {
		// Scanners stop, every lane halts (pending admissions annulled while
		// the index is still open), relays open, the bus closes.
		if err := d.rig.stop(); err != nil {
			errs = append(errs, err)
		}
	}
	if v := d.venue.get(); v != nil {
		// The lanes are stopped: the changes, the Redeemer and the link
		// stop before the store closes (venue.go).
		if err := v.close(); err != nil {
			errs = append(errs, err)
		}
	}
	d.outbound.close() // before the store: each saves its position
	if ix := d.store.get(); ix != nil {
		if err := ix.Close(); err != nil {
			errs = append(errs, fmt.Errorf("admit: close the ticket store: %w", err))
		}
	}
	if err := d.dirLock.Close(); err != nil {
		errs = append(errs, fmt.Errorf("admit: release the data directory: %w", err))
	}
	d.Logger.Info().Str("component", "daemon").Msg("stopped")
	return errors.Join(errs...)
}
