package codes

// Internals the external tests check directly.
var (
	DecodeTicket = decodeTicket
	AppendTicket = appendTicket
	EncodeSig1   = encodeSig1
	TOTP         = totp
)
