// Package codes checks barcodes that prove themselves: pretix's signed
// tickets (pretix_sig1) and rotating time-based codes. Neither needs a
// per-ticket import: a signed code carries its ticket and pretix's Ed25519
// signature, a rotating code carries two one-time codes that only the holder
// of the keys can draw for the time it names. The package decides only what
// the code itself can tell; the ticket it describes is then redeemed once by
// the index like any imported one. It is pure: no disk, no network, no clock
// of its own.
//
// # pretix_sig1
//
// A pretix_sig1 code is the reversal of the standard base64 (with padding,
// so the '=' stand at the start of the scanned text) of
//
//	0x01                 version
//	u16 big-endian n     payload length
//	u16 big-endian m     signature length (64)
//	n bytes              protobuf Ticket{seed=1, item=2, variation=3, subevent=4,
//	                     optional validFromUnixTime=5, optional validUntilUnixTime=6}
//	m bytes              Ed25519 signature of the payload bytes
//
// exactly as pretix's Sig1TicketSecretGenerator writes it and pretixSCAN and
// libpretixsync read it. [ParseSig1] reads the layout and the payload
// (with google.golang.org/protobuf's protowire, following proto3: unknown
// fields skipped, the last of a repeated field wins, a field of the wrong
// wire type is an unknown field) and refuses garbage before any signature is
// checked, so a forged code costs at most one verify per configured key.
// admit reads more strictly than pretix's own Python, which drops characters
// outside the alphabet, accepts non-zero padding bits and ignores bytes after
// the signature: every signed ticket has exactly one text, which matters
// because the text is the ticket's barcode (below).
//
// A validity bound is present in the payload or not (proto3 optional);
// pretix writes both, with 0 for "no bound", so a bound counts only when it
// is present and positive, as libpretixsync and pretixSCAN read it. The
// bounds are inclusive to the second: valid from validFrom, still valid at
// validUntil. Like pretix's scanners, exits are not refused for validity.
//
// A [Sig1] verifier holds a provider's public keys (pretix hands devices
// each as base64 of a PEM "PUBLIC KEY", its valid_keys; several may be valid
// at once while a key is rotated), a mapping from pretix item (and
// variation) ids to admit's product, price type and events and from subevent
// ids to events, and the provider's revocation and block lists of secrets
// ([Lists]). [Sig1.Check] decides in pretix's order: not a code or a bad
// signature is unknown; then revoked, blocked, not_yet_valid / expired; then
// an item (or, on a provider with subevents, a subevent) nobody mapped is
// wrong_event. A subevent id on a provider without subevents is ignored, as
// pretix's scanners ignore it.
//
// A good code comes with the [gate.Ticket] to create on its first sight. Its
// barcode is the code's text, which is what pretix calls the ticket's
// secret and what its revocation and block lists hold; its seed (nine random
// characters pretix draws for every new secret) is the ticket's venue-wide
// id. Text and seed go one to one: pretix draws a new seed whenever it
// issues a new secret, and the strict reading above leaves one text per
// signed payload. The seed is deliberately not the barcode: a barcode can be
// typed at any scanner, and a bare seed would reach the stored ticket past
// the signature, the revocation and block lists and the validity bounds,
// which every scan of the code itself passes through again.
//
// # Rotating codes
//
// A rotating code is token::otp1::otp2::unixSeconds, the shape
// Ticketmaster's SafeTix barcodes are publicly documented to have: a stable
// token naming the ticket, and two 6-digit RFC 6238 TOTPs (HMAC-SHA-1, a
// 15-second step) drawn for unixSeconds, the first from the event's key and
// the second from the ticket holder's customer key, both given as hex.
// [ParseRotating] reads the shape; a [Rotating] verifier holds a provider's
// event key and the allowed clock skew (one step by default) and refuses
// with stale_code a code drawn further than that from the appliance's clock
// or whose codes do not match its time: a screenshot. The check needs a
// correct clock on the appliance (NTP); [SkewWindow] shows how far the codes
// seen run from it.
//
// # Issuing
//
// [SignSig1] and [Rotate] make valid codes from private keys, for box
// offices printing tickets for admit and for tests; [GenerateSig1Key] makes
// a key pair and [PublicKeyText] gives the public key as pretix hands it out.
package codes
