// Package index is admit's ticket store: tickets, redemptions, the journal,
// imports and report counters in Pebble on disk, with a bloom filter in
// front. *Index implements gate.Index.
//
// # Deciding a scan
//
// Scan follows gate's decision order. A malformed barcode (or a scan a
// decoder or lane already refused) is journaled and never looked up. A
// barcode the bloom filter has never seen is unknown without touching
// Pebble. Otherwise the ticket is read, its lock stripe (chosen by its
// stable ticket key, shared by every barcode a reissue links) is taken, the
// ticket and its redemptions are read again, gate.Decide runs, and an
// admission's redemption and journal entry are committed in one batch with
// pebble.Sync before the lock is released and the answer returned. So
// concurrent scans of one ticket admit exactly once, and an answered
// admission survives a crash.
//
// Before the bloom filter, a code that proves itself is checked by its
// provider (signed*.go): a pretix_sig1 provider's signed codes and a
// rotating provider's time-based ones (package codes). What a code tells by
// itself (a forged, revoked, blocked, out-of-date or unmapped signed code, a
// rotating code drawn too far from now) is answered without a disk read. A
// good signed code becomes a ticket on its first sight, written in the batch
// of its first admission under a first-sight lock chosen by the code; a
// good rotating code's token names an imported ticket whose customer key
// checks the holder's code. From there the scan is any ticket's.
//
// A repeated scan of a ticket (already used, an exit, a re-entry) decides
// from memory: decoded ticket records of recent scans are cached by barcode,
// valid only while no ticket record has changed since they were read, and
// the lock stripes keep the redemptions of their recent ticket keys, written
// only under the stripe after a successful commit (see cache.go). After Open
// a background warm-up reads the ticket records once so that Pebble's block
// cache holds them: the first scan of a ticket then reads no file. A first
// use learns that its ticket has no redemptions from memory too: a bit per
// ticket key says "may have redemptions stored", set under the stripe
// before an admission is answered and, for what was stored before, by a
// background read at Open (until it ends, Pebble is asked; see redeemed.go).
// Lock stripes are chosen by the top bits of a Fibonacci hash of the ticket
// key, so tickets scanned together (consecutive keys) never share a stripe.
//
// While 16 or more Sync commits are in flight (many lanes or API clients at
// once), WAL syncs are spaced at least 100 µs apart so that each fdatasync
// carries more commits; below that a sync starts as soon as asked, and a
// lone lane's admission never waits for the interval (see walsync.go).
//
// # Entry rules, zones and overrides
//
// Once gate.Decide (or gate.DecideMove, for a move between two zones inside
// the venue) would admit a scan in, the event's and the lane's entry rules
// are held under the ticket's stripe (rules.go; compiled once, with
// Options.CompileRule, the index never importing the compiler), then the
// zone the lane leads into: a ticket still inside a zone without passback,
// or a full zone, refuses (zones_scan.go). A place in a zone with a
// capacity is held from the decision to the end of the commit, under one
// mutex with the check, so lanes admitting at once never pass it. Where each
// ticket is (zt<key>) and what a passage moved (zp<seq>) are written in the
// passage's own batch: occupancy is counted from those records at Open and
// kept in memory, exact across a crash, and an annulment puts the ticket back
// (zones_annul.go). Override forces a lane's last refusal in a supervisor's
// name, and a supervisor card scanned at the lane does the same
// (override.go).
//
// # The journal
//
// Every decision and annulment gets a number from one gapless sequence.
// Refusals are numbered at once and written by a background writer in
// batches, so they never wait for the disk. The writer commits them without
// a sync of its own: the next admission's Sync commit makes them durable
// with it (or the writer syncs after 2 ms without one), so a refusal never
// adds an fsync to an admission's wait. Entries reads only up to the
// watermark, below which everything is written and synced: a reader never
// sees an entry a crash could take back. Numbers a crash left unwritten are
// filled with gate.KindLost entries at Open. A per-ticket history index
// serves TicketView.History.
//
// The writer's backlog is bounded (Options.JournalBacklog, default 65,536
// entries of about 300 bytes each: some 20 MiB). A scan reserves a slot before
// it takes a sequence number for a refusal, and the slot is freed once the
// entry is written and synced. When the backlog is full a refusal waits for
// room outside every lock (it holds no stripe and keeps neither Close nor a
// recovery waiting) and is then decided from the start; nothing is dropped.
// Admissions never wait for it: their
// own Sync commit journals them. A scan whose context ends while it waits
// (or whose store closes) is answered with reason error and Seq 0: it was
// not decided, nothing was looked up, and no number was taken, so the
// journal keeps no hole. A flood of refusals (a scanner token gone rogue, a
// stuck scanner) is so held to the writer's pace, which is far above any
// door's (BENCHMARKS.md, "The journal backlog's bound"). While the store is
// faulted nothing drains, so once the backlog is full a refusal can neither
// be journaled nor wait: it is answered at once, with its reason and Seq 0,
// unjournaled (Stats.Unjournaled), and so is one that was waiting when the
// store faulted. Stats shows the backlog, its limit and peak, and the
// waits; a warning is logged at most once a second while refusals wait.
//
// # Nonces
//
// A scan with a nonce seen within gate.NonceWindow (by Scan.At) gets the first
// decision again (Replayed) and redeems nothing; concurrent scans with one
// nonce wait for the first. Nonces are stored beside their journal entry and
// reloaded at Open.
//
// # Tickets and imports
//
// A ticket record keeps the state the last import said (upstream) apart from
// an admin's action (cancel, invalidate, block, and revoked by a reissue);
// the effective state combines them. A re-sent file that did not change a
// line leaves the ticket as it is; a changed upstream state applies.
// Redemptions are keyed by ticket key and are never touched by imports.
// Load (see its documentation) sorts with bounded memory, classifies by
// merging with the stored tickets, and writes one atomic batch or ingest.
// An import's goroutines use both cores when nobody scans; while durable
// scans are being made (one in the last second) they share half a core, so
// the thread returning from a scan's WAL sync always finds a free core (see
// pace.go): the import takes longer and the scans keep their latency.
//
// # Changes
//
// Every admin method that changes the sets or the catalog records a
// gate.Change in the same batch or ingest as its effect (Changes lists
// them). A venue's changes come from its hub's stream through ApplyChange
// (or Load with ImportRequest.Change), which commit the stream position
// with the effect, so each is applied exactly once (changes.go).
//
// # Concurrency
//
// Every method of Index is safe for concurrent use. Scan, Check, Entries,
// Ticket, Report, Events and Providers never wait for imports or admin
// changes, except that a scan of a ticket an import updates waits for that
// import's ingest. Imports and ticket changes (Cancel, Block, Reissue,
// UpdateEvents, Withdraw, Load) are serialized with each other; they wait
// for the one before them or until their context is done. Returned values
// are copies that stay valid forever; the index keeps no reference to them.
//
// # Faults
//
// A storage error never panics and never leaves half-written state: every
// change is one Pebble batch (or one ingest). A read error refuses the scan
// with reason error. Every commit is bounded (Options.CommitTimeout, see
// commit.go): one the disk does not complete in time (a full disk stalls
// Pebble's writes, a failing one hangs) fails like any other. A failed
// commit puts the store in a faulted state: scans that need the store are
// refused with error (and journaled once the store is back), those that do
// not (malformed, unknown) keep their reason, other calls return
// gate.EUNAVAILABLE, and a background goroutine reopens the database every
// Options.RecoveryInterval until it succeeds, undoing any failed admission
// that reached the disk after all (it was answered with error) and
// rebuilding the report counters. A full disk (a write or a flush failing
// with ENOSPC) faults the store at once; Stats.DiskFull and Health.DiskFull
// say so, writes fail with gate.ENOSPACE, and the store reopens once the
// disk has room for two memtables again. Stats shows faults, timeouts and
// recoveries. On-disk corruption (a table block whose checksum fails, found
// by a read, a compaction, the cache warm-up or Open itself) cannot be
// recovered from by reopening: the store stays up and refuses everything
// (scans with reason error, unjournaled), Health.Corruption names the
// damaged file and says to restore a backup, and no compaction runs (see
// corrupt.go). Pebble itself still panics on a few unrecoverable faults (a
// MANIFEST it cannot write, a WAL it cannot rotate to); the process must
// then be restarted, and Open recovers from the disk as after a crash.
//
// # A venue
//
// With a venue's hub attached (UseVenue, a gate.Claimer: package venue's
// Redeemer), every write a scan decides and every annulment is claimed at
// the hub under the ticket's stripe before its commit, and the index is
// the link's gate.VenueStore: it learns the other appliances' writes
// (Learn, in revision order, the position committed with them), replays
// what it admitted while the hub did not answer (ReplayOffline), and
// releases claims of its own that no local admission stands for (see
// venueclaim.go, venuelearn.go, venuereplay.go and venueannul.go; the keys
// in venue.go). Without one the scan path checks one pointer and decides
// as a single appliance.
//
// # Files
//
// The data directory holds db/ (Pebble), bloom.snapshot (the filter with a
// checksum and the generation it reflects) and tmp/ (import spill files and
// SSTables, emptied at Open). The records' encodings are frozen:
// testdata/format and testdata/stores keep every version written, and a
// change that cannot read them fails the tests (format_test.go). The store
// records its format (StoreFormat, formatversion.go): Open upgrades an older
// store and refuses a newer one untouched. Backup copies a running store
// (backup.go) and Restore brings a copy back into an empty data directory.
//
// # Where things are
//
// A scan: scan.go (lookup, the decision under the ticket's stripe, the
// admission's commit), refuse.go (refusals and what they count against),
// stripe.go, cache.go and redeemed.go (what a scan finds in memory),
// bloom.go; in a venue, venueclaim.go (the claim), venuelearn.go,
// venuereplay.go and venueannul.go. An import: load.go (the line checks), pipeline.go and pipe.go
// (its goroutines), sorter.go, merge.go (the merge with the stored
// tickets), loadcommit.go and sink.go (the atomic write), pace.go. The
// journal and nonces: journal.go, journalwriter.go, nonce.go. Tickets, the
// catalog, imports and reports: tickets.go, catalog.go, imports.go,
// report.go, counters.go. The records: keys.go, codec.go, records.go.
// Rules, zones and overrides: rules.go, zones.go, zones_scan.go,
// zones_annul.go, override.go. Pebble's side: pebble.go (its options and logger), commit.go (bounded
// commits), fault.go (write faults and recovery), corrupt.go (on-disk
// corruption), wal.go and walsync.go (the WAL), changes.go,
// changescodec.go and changes_import.go (the record of changes and the
// venue position), compaction.go and background.go, warm.go. Figures:
// stats.go, health.go. The decision's log line: decisionlog.go. Backups and
// restores: backup.go, backup_manifest.go, backup_restore.go; the store's
// format: formatversion.go. Providers whose codes prove themselves:
// signed.go (their state), signed_scan.go (the scan), signed_providers.go
// (PutProviderSpec, statuses), signed_lists.go (revocation and block
// lists), signed_records.go (their records).
package index
