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
	descs map[string]*prometheus.Desc
}

var storeMetrics = []struct{ name, help string }{
	{"admit_store_open", "1 when the ticket store is open and not faulted."},
	{"admit_store_tickets", "Barcodes stored, revoked ones included."},
	{"admit_store_events", "Events known."},
	{"admit_store_providers", "Providers known."},
	{"admit_store_imports", "Imports applied."},
	{"admit_store_bloom_capacity", "Barcodes the bloom filter is sized for."},
	{"admit_store_bloom_fill_ratio", "Tickets over the bloom filter's capacity."},
	{"admit_store_journal_last_seq", "The last journal sequence number assigned."},
	{"admit_store_journal_written_seq", "Every journal entry up to this one is written."},
	{"admit_store_journal_backlog", "Journal entries waiting for or being written by the background journal writer."},
	{"admit_store_journal_backlog_limit", "The most entries the journal writer's backlog may hold; refusals wait for room beyond it."},
	{"admit_store_journal_backlog_peak", "The highest journal backlog since the store opened."},
	{"admit_store_journal_waits_total", "Scans that found the journal backlog full and waited for room."},
	{"admit_store_journal_waits_abandoned_total", "Scans that gave up waiting for room in the journal backlog (answered error, nothing redeemed)."},
	{"admit_store_journal_wait_seconds_total", "Time scans spent waiting for room in the journal backlog."},
	{"admit_store_nonces", "Scan nonces remembered within the window."},
	{"admit_store_disk_faults_total", "Storage errors seen."},
	{"admit_store_disk_full", "1 while the store is faulted because its data disk is full: scans are refused until there is room."},
	{"admit_store_corrupt", "1 when the store found on-disk corruption: every scan is refused; restore the data directory from a backup."},
	{"admit_store_commit_timeouts_total", "Commits that did not complete within [store] commit_timeout (refused with error, never applied later)."},
	{"admit_store_unjournaled_total", "Refusals answered without a journal entry because the store was faulted and the journal backlog full."},
	{"admit_store_recoveries_total", "Database reopens after a write fault."},
	{"admit_store_cache_warmed_tickets", "Ticket records the block cache warm-up loaded at open; below admit_store_tickets the cache is too small for every ticket ([store] cache_size)."},
	{"admit_store_sync_commits_total", "Sync commits (admissions, admin changes, journal syncs) since the store opened."},
	{"admit_store_compactions_paced_total", "Pebble compactions that slept to leave durable scans the cores (compactions get half a core while scans are made)."},
	{"admit_store_compaction_paced_seconds_total", "Time paced compactions slept."},
	{"admit_store_wal_syncs_total", "WAL fdatasyncs since the database opened (or last recovered), for sync commits and for WAL rotations and imports; under scan load, the increase of sync commits over that of WAL syncs is the admissions each sync carried."},
}

func newStoreCollector(p *openStore) *storeCollector {
	c := &storeCollector{p: p, descs: map[string]*prometheus.Desc{}}
	for _, m := range storeMetrics {
		c.descs[m.name] = prometheus.NewDesc(m.name, m.help, nil, nil)
	}
	return c
}

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
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
	ch <- prometheus.MustNewConstMetric(c.descs["admit_store_open"], prometheus.GaugeValue, open)
	if ix == nil {
		return
	}
	st := ix.Stats()
	gauge := func(name string, v float64) {
		ch <- prometheus.MustNewConstMetric(c.descs[name], prometheus.GaugeValue, v)
	}
	counter := func(name string, v float64) {
		ch <- prometheus.MustNewConstMetric(c.descs[name], prometheus.CounterValue, v)
	}
	gauge("admit_store_tickets", float64(st.Tickets))
	gauge("admit_store_events", float64(st.Events))
	gauge("admit_store_providers", float64(st.Providers))
	gauge("admit_store_imports", float64(st.Imports))
	gauge("admit_store_bloom_capacity", float64(st.BloomCapacity))
	gauge("admit_store_bloom_fill_ratio", st.BloomFill)
	gauge("admit_store_journal_last_seq", float64(st.LastSeq))
	gauge("admit_store_journal_written_seq", float64(st.WrittenSeq))
	gauge("admit_store_journal_backlog", float64(st.JournalBacklog))
	gauge("admit_store_journal_backlog_limit", float64(st.JournalBacklogLimit))
	gauge("admit_store_journal_backlog_peak", float64(st.JournalBacklogPeak))
	counter("admit_store_journal_waits_total", float64(st.JournalWaits))
	counter("admit_store_journal_waits_abandoned_total", float64(st.JournalWaitsAbandoned))
	counter("admit_store_journal_wait_seconds_total", st.JournalWaitTime.Seconds())
	gauge("admit_store_nonces", float64(st.Nonces))
	counter("admit_store_disk_faults_total", float64(st.DiskFaults))
	gauge("admit_store_disk_full", b2f(st.DiskFull))
	gauge("admit_store_corrupt", b2f(st.Corruption != ""))
	counter("admit_store_commit_timeouts_total", float64(st.CommitTimeouts))
	counter("admit_store_unjournaled_total", float64(st.Unjournaled))
	counter("admit_store_recoveries_total", float64(st.Recoveries))
	gauge("admit_store_cache_warmed_tickets", float64(st.WarmedTickets))
	counter("admit_store_sync_commits_total", float64(st.SyncCommits))
	counter("admit_store_wal_syncs_total", float64(st.WALSyncs))
	counter("admit_store_compactions_paced_total", float64(st.CompactionsPaced))
	counter("admit_store_compaction_paced_seconds_total", st.CompactionPacedTime.Seconds())
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
