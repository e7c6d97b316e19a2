package codes

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/binary"
)

// hotp returns the RFC 4226 HOTP value of key at counter, with digits
// decimal digits (dynamic truncation of HMAC-SHA-1), written into dst
// (len(dst) == digits) with leading zeros.
func hotp(dst []byte, key []byte, counter uint64) {
	mac := hmac.New(sha1.New, key)
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], counter)
	mac.Write(msg[:])
	var sum [sha1.Size]byte
	h := mac.Sum(sum[:0])
	off := h[len(h)-1] & 0x0f
	v := binary.BigEndian.Uint32(h[off:off+4]) & 0x7fffffff
	for i := len(dst) - 1; i >= 0; i-- {
		dst[i] = byte('0' + v%10)
		v /= 10
	}
}

// totp returns the RFC 6238 TOTP of key at Unix time t (seconds, not
// negative) with a step of step seconds, in digits digits.
func totp(key []byte, t, step int64, digits int) string {
	dst := make([]byte, digits)
	hotp(dst, key, uint64(t/step))
	return string(dst)
}
