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
// link. The venue is never tested against a mock of NATS.
package venue
