package main

import (
	"context"
	"io"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/index"
)

// openStore is the daemon's ticket store once it is open (nil before): the
// API is given it by SetStore and answers 503 until then, and metrics and
// readiness read it here.
type openStore struct {
	ix atomic.Pointer[index.Index]
}

func (p *openStore) get() *index.Index { return p.ix.Load() }

// ready is the API's readiness once it has the store. It runs on every /v1
// request, so it reads Health, not Stats (which gathers Pebble's metrics).
func (p *openStore) ready() error {
	ix := p.ix.Load()
	if ix == nil {
		return gate.Errorf(gate.EUNAVAILABLE, "the ticket store is opening")
	}
	h := ix.Health()
	switch {
	case h.Closed:
		return gate.Errorf(gate.EUNAVAILABLE, "the ticket store is closed")
	case h.Corruption != "":
		return gate.Errorf(gate.EUNAVAILABLE, "%s", h.Corruption)
	case h.DiskFull:
		return gate.Errorf(gate.EUNAVAILABLE, "the data disk is full: scans are refused until there is room again")
	case h.Faulted:
		return gate.Errorf(gate.EUNAVAILABLE, "the ticket store is recovering from a disk fault")
	}
	return nil
}

// serving says whether the API may serve /v1: only a closed store stops it.
// A faulted store still answers scans (refused with their reason or error)
// and refuses changes itself (503), which a client can tell apart from an
// appliance that is not there.
func (p *openStore) serving() error {
	if ix := p.ix.Load(); ix != nil && ix.Health().Closed {
		return gate.Errorf(gate.EUNAVAILABLE, "the ticket store is closed")
	}
	return nil
}

// laneValidator is the gate.Validator the lanes are built with before the
// store opens (newRig). Their scanners start only once it is open
// (Daemon.Open), so no scan should come before; one that does is refused.
type laneValidator struct{ p *openStore }

var _ gate.Validator = laneValidator{}

const errStoreNotOpen = "the ticket store is not open"

func (v laneValidator) Scan(ctx context.Context, s gate.Scan) gate.Decision {
	if ix := v.p.get(); ix != nil {
		return ix.Scan(ctx, s)
	}
	return s.Refusal(gate.ReasonError, errStoreNotOpen)
}

func (v laneValidator) Check(ctx context.Context, s gate.Scan) gate.Decision {
	if ix := v.p.get(); ix != nil {
		return ix.Check(ctx, s)
	}
	return s.Refusal(gate.ReasonError, errStoreNotOpen)
}

func (v laneValidator) Annul(ctx context.Context, seq uint64, by string) (gate.JournalEntry, error) {
	if ix := v.p.get(); ix != nil {
		return ix.Annul(ctx, seq, by)
	}
	return gate.JournalEntry{}, gate.Errorf(gate.EUNAVAILABLE, errStoreNotOpen)
}

// Entries and Ticket let the outbound exports and webhooks, built before
// the store opens and started once it is, read it.
func (p *openStore) Entries(ctx context.Context, after uint64, limit int) ([]gate.JournalEntry, error) {
	if ix := p.get(); ix != nil {
		return ix.Entries(ctx, after, limit)
	}
	return nil, gate.Errorf(gate.EUNAVAILABLE, errStoreNotOpen)
}

// Ticket: see Entries.
func (p *openStore) Ticket(ctx context.Context, barcode string) (gate.TicketView, error) {
	if ix := p.get(); ix != nil {
		return ix.Ticket(ctx, barcode)
	}
	return gate.TicketView{}, gate.Errorf(gate.EUNAVAILABLE, errStoreNotOpen)
}

// storeCollector exports the store's Stats on /metrics, read once per scrape.
type storeCollector struct {
	p     *openStore
	descs []*prometheus.Desc // storeMetrics'
}

// storeOpen is the one store metric that is not a Stats field.
var storeOpen = prometheus.NewDesc("admit_store_open", "1 when the ticket store is open and not faulted.", nil, nil)

// storeMetrics are the store's Stats on /metrics: each metric's name, help,
// type and value, once.
var storeMetrics = []struct {
	name, help string
	kind       prometheus.ValueType
	value      func(s *index.Stats) float64
}{
	{"admit_store_tickets", "Barcodes stored, revoked ones included.",
		prometheus.GaugeValue, func(s *index.Stats) float64 { return float64(s.Tickets) }},
	{"admit_store_events", "Events known.",
		prometheus.GaugeValue, func(s *index.Stats) float64 { return float64(s.Events) }},
	{"admit_store_providers", "Providers known.",
		prometheus.GaugeValue, func(s *index.Stats) float64 { return float64(s.Providers) }},
	{"admit_store_imports", "Imports applied.",
		prometheus.GaugeValue, func(s *index.Stats) float64 { return float64(s.Imports) }},
	{"admit_store_bloom_capacity", "Barcodes the bloom filter is sized for.",
		prometheus.GaugeValue, func(s *index.Stats) float64 { return float64(s.BloomCapacity) }},
	{"admit_store_bloom_fill_ratio", "Tickets over the bloom filter's capacity.",
		prometheus.GaugeValue, func(s *index.Stats) float64 { return s.BloomFill }},
	{"admit_store_journal_last_seq", "The last journal sequence number assigned.",
		prometheus.GaugeValue, func(s *index.Stats) float64 { return float64(s.LastSeq) }},
	{"admit_store_journal_written_seq", "Every journal entry up to this one is written.",
		prometheus.GaugeValue, func(s *index.Stats) float64 { return float64(s.WrittenSeq) }},
	{"admit_store_journal_backlog", "Journal entries waiting for or being written by the background journal writer.",
		prometheus.GaugeValue, func(s *index.Stats) float64 { return float64(s.JournalBacklog) }},
	{"admit_store_journal_backlog_limit", "The most entries the journal writer's backlog may hold; refusals wait for room beyond it.",
		prometheus.GaugeValue, func(s *index.Stats) float64 { return float64(s.JournalBacklogLimit) }},
	{"admit_store_journal_backlog_peak", "The highest journal backlog since the store opened.",
		prometheus.GaugeValue, func(s *index.Stats) float64 { return float64(s.JournalBacklogPeak) }},
	{"admit_store_journal_waits_total", "Scans that found the journal backlog full and waited for room.",
		prometheus.CounterValue, func(s *index.Stats) float64 { return float64(s.JournalWaits) }},
	{"admit_store_journal_waits_abandoned_total", "Scans that gave up waiting for room in the journal backlog (answered error, nothing redeemed).",
		prometheus.CounterValue, func(s *index.Stats) float64 { return float64(s.JournalWaitsAbandoned) }},
	{"admit_store_journal_wait_seconds_total", "Time scans spent waiting for room in the journal backlog.",
		prometheus.CounterValue, func(s *index.Stats) float64 { return s.JournalWaitTime.Seconds() }},
	{"admit_store_nonces", "Scan nonces remembered within the window.",
		prometheus.GaugeValue, func(s *index.Stats) float64 { return float64(s.Nonces) }},
	{"admit_store_disk_faults_total", "Storage errors seen.",
		prometheus.CounterValue, func(s *index.Stats) float64 { return float64(s.DiskFaults) }},
	{"admit_store_disk_full", "1 while the store is faulted because its data disk is full: scans are refused until there is room.",
		prometheus.GaugeValue, func(s *index.Stats) float64 { return b2f(s.DiskFull) }},
	{"admit_store_corrupt", "1 when the store found on-disk corruption: every scan is refused; restore the data directory from a backup.",
		prometheus.GaugeValue, func(s *index.Stats) float64 { return b2f(s.Corruption != "") }},
	{"admit_store_commit_timeouts_total", "Commits that did not complete within [store] commit_timeout (refused with error, never applied later).",
		prometheus.CounterValue, func(s *index.Stats) float64 { return float64(s.CommitTimeouts) }},
	{"admit_store_unjournaled_total", "Refusals answered without a journal entry because the store was faulted and the journal backlog full.",
		prometheus.CounterValue, func(s *index.Stats) float64 { return float64(s.Unjournaled) }},
	{"admit_store_recoveries_total", "Database reopens after a write fault.",
		prometheus.CounterValue, func(s *index.Stats) float64 { return float64(s.Recoveries) }},
	{"admit_store_cache_warmed_tickets", "Ticket records the block cache warm-up loaded at open; below admit_store_tickets the cache is too small for every ticket ([store] cache_size).",
		prometheus.GaugeValue, func(s *index.Stats) float64 { return float64(s.WarmedTickets) }},
	{"admit_store_sync_commits_total", "Sync commits (admissions, admin changes, journal syncs) since the store opened.",
		prometheus.CounterValue, func(s *index.Stats) float64 { return float64(s.SyncCommits) }},
	{"admit_store_compactions_paced_total", "Pebble compactions that slept to leave durable scans the cores (compactions get half a core while scans are made).",
		prometheus.CounterValue, func(s *index.Stats) float64 { return float64(s.CompactionsPaced) }},
	{"admit_store_compaction_paced_seconds_total", "Time paced compactions slept.",
		prometheus.CounterValue, func(s *index.Stats) float64 { return s.CompactionPacedTime.Seconds() }},
	{"admit_store_wal_syncs_total", "WAL fdatasyncs since the database opened (or last recovered), for sync commits and for WAL rotations and imports; under scan load, the increase of sync commits over that of WAL syncs is the admissions each sync carried.",
		prometheus.CounterValue, func(s *index.Stats) float64 { return float64(s.WALSyncs) }},
}

func newStoreCollector(p *openStore) *storeCollector {
	c := &storeCollector{p: p, descs: make([]*prometheus.Desc, len(storeMetrics))}
	for i, m := range storeMetrics {
		c.descs[i] = prometheus.NewDesc(m.name, m.help, nil, nil)
	}
	return c
}

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- storeOpen
	for _, d := range c.descs {
		ch <- d
	}
}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	ix := c.p.get()
	open := 0.0
	if c.p.ready() == nil {
		open = 1
	}
	ch <- prometheus.MustNewConstMetric(storeOpen, prometheus.GaugeValue, open)
	if ix == nil {
		return
	}
	st := ix.Stats()
	for i, m := range storeMetrics {
		ch <- prometheus.MustNewConstMetric(c.descs[i], m.kind, m.value(&st))
	}
}

// b2f is 1 for true, 0 for false.
func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// closeQuietly closes c, for deferred cleanups whose error has nowhere to go.
func closeQuietly(c io.Closer) { _ = c.Close() }
