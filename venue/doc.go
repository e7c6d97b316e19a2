// Package venue is an appliance's link to the venue's hub, and the hub
// itself: how several appliances keep one redeem-once, one order of changes
// and one set of import files, on NATS JetStream (the real nats-server,
// embedded; nats.go on the appliances).
//
// # The hub
//
// [StartHub] runs one hub node from a [HubConfig]: the configuration is
// generated as nats-server configuration text ([HubConfig.NATSConfig]),
// written into the node's data dir and parsed by the server's own
// ProcessConfigFile, so a stock nats-server runs the same file. JetStream
// syncs every write (sync_interval always: the default loses acknowledged
// writes); nodes form a cluster of three (one for trials) and do not
// advertise their addresses, so appliances use only the URLs they are given.
// Each appliance is a user whose permissions let it publish what an
// appliance needs and nothing of another appliance ([AppliancePermissions]).
// The node serves Prometheus metrics and /healthz of its own.
//
// # The buckets
//
// [Layout] names and checks the venue's assets: the redemptions KV bucket
// (the compare-and-set of redeem-once, keyed by [RedemptionKey]), presence,
// double entries, the changes stream and the file store. Their settings are
// checked at every connect; a mismatch is a [SettingError] and the link
// refuses to come up.
//
// # The link
//
// [Open] connects an appliance ([LinkConfig]): one connection to its
// configured URLs, reconnecting for ever with backoff, nothing buffered
// while disconnected. At every connect the link checks the buckets and
// registers the appliance's presence; a second live appliance with the same
// id is refused. [Link.Claim] is the redeem-once claim: Create when the key
// is new, Update at the known revision otherwise; a lost race is a
// [LostError] ([ErrLost]) carrying the winner, no answer within the deadline
// is [ErrOffline], a refused link [ErrRefused]. [Link.Watch] delivers every
// redemption revision in order from a given one, across reconnections.
// Values are [Record]s, decoded strictly ([DecodeRecord]): a bad value is a
// [DecodeError] naming its key, never skipped.
//
// # Redeem-once
//
// A [Redeemer] is one appliance's side of the venue's redeem-once. It
// implements gate.Claimer over a Link: the index (index.UseVenue) claims
// every write a scan decides (an admission, a re-entry, an exit) and every
// annulment at the hub, holding the ticket's lock, before its local commit.
// Won: committed with the hub's revision. Lost: the winner, read at the
// stream's leader, is learned and the scan decided again (normally
// already_used naming the winner's appliance, lane and time). No answer
// within the claim timeout, or no link: the lane's offline policy
// (gate.OfflinePolicy; deny when unsaid, so a lane fails closed; an exit is
// never held back). A venue that is wrong (a bucket with other settings, a
// refused appliance id, a value that does not decode): the scan fails
// closed with reason error, whatever the policy.
//
// Once started (Start), the Redeemer watches the hub's redemptions from the
// store's learned position and hands every write to the store
// (gate.VenueStore.Learn), which applies it under the ticket's lock with the
// position in the same batch: already_used is then decided from the local
// store without the hub, also after a restart. A write of this appliance's
// own that its journal does not stand for (a claim that landed for a guest
// it refused, or never answered because the process died between the hub's
// acknowledgement and the commit) is released: the key goes back to the
// value before it. A value that does not decode stops learning there and
// makes scans that need the hub fail closed until an operator corrects the
// hub or skips the revision ([Redeemer.SkipBadValue]); it is never skipped
// silently. When the hub answers again, the offline writes are replayed in
// journal order (gate.VenueStore.ReplayOffline); an offline admission whose
// entries the hub shows spent elsewhere is a double entry, kept (the people
// are inside) and recorded once at the hub ([BucketDoubleEntries], keyed by
// the offline scan: [DoubleEntryKey]), listed by [Redeemer.DoubleEntries].
// [Redeemer.Status] reports the link, the claims by outcome, the offline
// writes waiting, the double entries and how far learning is behind.
//
// # Changes
//
// Every change to the sets and the catalog goes through the changes stream
// [StreamChanges] in a venue. A [Publisher] publishes an appliance's changes
// (it implements the changes of gate.Catalog, gate.Tickets and gate.Loader,
// and gate.Importer; [Publisher.Index] wraps the local index for the API)
// and answers once the hub acknowledged the change and the appliance's own
// [Applier] applied it. The Applier applies every message in stream order
// exactly once through gate.ChangeApplier (the index commits the position
// with the effect) and the local importer (files fetched from [BucketFiles]
// by SHA-256), catches up before the lanes open ([Applier.CatchingUp]),
// knows the data age ([Applier.Age], [Applier.CheckLag]) and stops at bad
// input until [Applier.Retry] or [Applier.Skip]. Messages are encoded by
// [MarshalChange] and decoded strictly by [DecodeChange].
//
// # Tests
//
// Package hubtest runs real hub nodes on 127.0.0.1 (one, or a cluster of
// three) and a TCP fault proxy that passes, cuts, slows and blackholes a
// link. The venue is never tested against a mock of NATS: the redeem-once
// tests (redeem*_test.go) run several index.Index stores in one process,
// each with its own link and Redeemer, against real hub nodes, and one
// appliance as a child process killed between a claim and its commit.
package venue
