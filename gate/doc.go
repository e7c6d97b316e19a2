// Package gate is the domain of admit: what a ticket, an event and a scan are,
// the closed list of reasons a scan is admitted or refused, the rules that turn
// a scan into a decision, and the small interfaces the adapters implement.
//
// Everything else in admit is an adapter around this package. The index
// (Pebble + bloom) implements [Index]; the HTTP API, the turnstile lanes and the
// importer consume it; decode turns scanner bytes into [Read] values. Adapters
// import gate and never each other; only cmd/admit wires them together. A
// state one adapter keeps and another serves ([EmergencyStatus],
// [DeliveryStatus]) is defined here for the same reason: once, for both.
//
// # Deciding a scan
//
// A scan is decided in a fixed order (see [Decide]):
//
//  1. A malformed barcode ([CheckBarcode]) never reaches the store.
//  2. A barcode the bloom filter has never seen is unknown without a lookup.
//  3. The ticket's state, then the events the lane admits now ([Lane]) intersected
//     with the events the ticket admits to; windows decide not_yet_valid and expired.
//  4. Entries and re-entry per (ticket, event).
//  5. The redemption is written durably before the answer is returned.
//
// Between 4 and 5 the index holds the event's and the lane's entry rules
// ([Rule], compiled outside this package) and the zone the lane leads into
// ([Zone], [Move]: passback and capacity). A move between two zones inside
// the venue is decided by [DecideMove], which spends no entry; a
// supervisor's override of a refusal ([Overrider], [Force]) is an admission
// with reason override.
//
// Steps 3 and 4 are the pure function [Decide]; steps 1, 2 and 5 belong to the
// index, which holds a per-barcode lock across read, [Decide] and durable commit
// so that concurrent scans of one ticket admit exactly once.
//
// # Errors
//
// Errors that callers act on carry a code ([EINVALID], [ENOTFOUND],
// [ECONFLICT], ...) read with [ErrorCode]; the HTTP adapter maps codes to status
// codes in one table. Anything without a code is internal and is shown to users
// only as "internal error".
package gate
