// Package outbound tells the ticketing systems what the gates saw, without
// being asked: scheduled export files of the tickets used (the SecuTix
// reseller layout with TICKET_STATE CONTROLLED, CSV or JSON lines) and
// webhooks that POST the decisions, signed, to a URL.
//
// Both read the journal (gate.Journal) from a position of their own and
// store nothing else: the journal is the queue. It only hands out entries
// below its watermark, gapless, so a position that moves from one entry's
// Seq to the next passes over nothing. A receiver that stays down holds back
// neither scans nor the disk; its lag grows, and past a bound the status,
// a metric and one log line say so.
//
// # What a use is
//
// An export lists uses: journaled admissions with reason ok, each a ticket
// spent against an event's entries. Re-entries and exits are movements of a
// ticket already used and are not uses; refusals never are.
//
// An admission can be annulled (the turnstile did not turn; the ticket may
// be used again). A file decides from the journal entries of its own range
// alone, so its rows never depend on when it was written:
//   - a use annulled within the same file is left out, with its annulment;
//   - a use annulled after its file was written stays in that file; the
//     annulment is a row of a later file ("kind": "annulment", "annuls": the
//     use's id) in the csv and jsonl formats. The SecuTix layout has no
//     state that takes CONTROLLED back, so a SecuTix export leaves the
//     annulment out and logs a warning: correct the ticket in SecuTix.
//
// # Export files
//
// Every Interval (aligned to the clock: 15m runs at :00, :15, :30, :45) an
// export writes one file of the journal entries since its last file:
//
//	<prefix>-<number>-<first seq>-<last seq>.<csv|jsonl>
//	north-000042-1001-1250.csv
//
// numbered from 1 without gaps, each covering the journal range after the
// previous one, so the files together list every use exactly once. An
// interval with no use writes nothing (WriteEmpty writes a file with only
// the header, named with an empty range: north-000043-1251-1250.csv), but
// the position still moves, so the entries are not read again. An export
// further behind than 50,000 journal entries writes several files at once.
//
// A file is published atomically: written under a hidden temporary name
// (".<name>.tmp", which admit's drop folders and most pickers ignore),
// synced, recorded as pending in the export's state file, renamed, and the
// folder synced; then the state file takes the new position. At start the
// export finishes a pending file (renames it if the temporary file is still
// there, or sees it was renamed), deletes other temporary files, and resumes
// after the further of the state file's position and the newest file in the
// folder (the name carries the range). So a crash at any point neither
// repeats nor skips a use, also when the consumer takes files out of the
// folder as they come.
//
// # Webhooks
//
// A webhook POSTs Batch bodies (application/json) of at most BatchSize
// Items, in journal order, filtered (AdmissionsOnly, Provider, Event), each
// with the id "<appliance>:<seq>". The body is signed in SignatureHeader as
// "t=<unix>,v1=<hex>": HMAC-SHA256 with the secret over "<t>.<body>", like
// Stripe-Signature. A POST is bounded by Timeout; a 2xx answer acknowledges
// the batch, anything else (an error, a timeout, 3xx, 4xx, 5xx) is tried
// again after a backoff that doubles from BackoffMin to BackoffMax with
// jitter, for as long as it takes. The position moves past a batch only
// once it is acknowledged and is then saved (in StateDir, atomically), so
// delivery is at least once: after a crash or a timeout a batch may come
// again, with the same ids and content, and the receiver de-duplicates by id.
//
// # Status
//
// Service.Status gives each target's gate.DeliveryStatus: its position, the
// journal's head, the lag in entries and seconds, the last delivery and the
// last error (GET /v1/exports); Service is also a prometheus.Collector:
// admit_outbound_lag_entries, admit_outbound_lag_seconds,
// admit_outbound_lagging (1 past the bound: alert on it),
// admit_outbound_delivered_total, admit_outbound_errors_total and
// admit_outbound_last_delivery_timestamp_seconds, labelled kind and name.
//
// # In a venue
//
// Options.Active is asked before each export and each batch: while it says
// no, the targets wait and keep their positions. A venue does not use it
// today: every appliance delivers the uses of its own journal, which holds
// only the admissions it made (what it learns from the hub is not
// journaled), so each use of the venue is delivered once, by the appliance
// that made it, with an id "<appliance>:<seq>" unique venue-wide
// (cmd/admit/venue_outbound.go). One elected deliverer needs the venue's
// uses as one feed at the hub, with the position kept there; Active is the
// seam it will use.
package outbound
