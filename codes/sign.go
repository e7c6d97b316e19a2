package codes

import (
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"time"
)

// SignSig1 returns the pretix_sig1 code of t signed with priv, laid out as
// pretix lays it out. The payload holds the seed, and item, variation and
// subevent when not 0, and each validity bound when t says it is present:
// current pretix writes both bounds, 0 for none (Sig1Bounds does that).
// The code must fit MaxCodeLen.
func SignSig1(priv ed25519.PrivateKey, t Sig1Ticket) (string, error) {
	if len(priv) != ed25519.PrivateKeySize {
		return "", fmt.Errorf("codes: sign: not an Ed25519 private key")
	}
	if err := checkSeed(t.Seed); err != nil {
		return "", fmt.Errorf("codes: sign: %s", err.(*ParseError).Detail)
	}
	payload := appendTicket(nil, &t)
	code := encodeSig1(payload, ed25519.Sign(priv, payload))
	if len(code) > MaxCodeLen {
		return "", fmt.Errorf("codes: sign: the code would be %d characters, longer than a barcode's %d: shorten the seed", len(code), MaxCodeLen)
	}
	return code, nil
}

// Sig1Bounds sets t's validity bounds as current pretix writes them: both
// present, 0 where from or until is the zero time.
func Sig1Bounds(t *Sig1Ticket, from, until time.Time) {
	t.HasValidFrom, t.ValidFromUnix = true, 0
	t.HasValidUntil, t.ValidUntilUnix = true, 0
	if !from.IsZero() {
		t.ValidFromUnix = from.Unix()
	}
	if !until.IsZero() {
		t.ValidUntilUnix = until.Unix()
	}
}

// seedAlphabet is what pretix's get_random_string draws seeds from.
const seedAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// NewSeed draws a seed of nine characters from pretix's alphabet, as pretix
// does for every new secret, from r (crypto/rand when nil).
func NewSeed(r io.Reader) (string, error) {
	if r == nil {
		r = rand.Reader
	}
	out := make([]byte, 0, 9)
	var b [1]byte
	for len(out) < 9 {
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return "", fmt.Errorf("codes: seed: %w", err)
		}
		// 62 * 4 = 248: drop the bytes above it so every character is
		// equally likely.
		if int(b[0]) < 4*len(seedAlphabet) {
			out = append(out, seedAlphabet[int(b[0])%len(seedAlphabet)])
		}
	}
	return string(out), nil
}
