package codes

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"strings"
)

// ParsePublicKey reads an Ed25519 public key as pretix hands it to devices
// (valid_keys.pretix_sig1): the standard base64 of a PEM "PUBLIC KEY" block
// (SubjectPublicKeyInfo). The PEM text itself is accepted too, so a key can
// be pasted from a file.
func ParsePublicKey(s string) (ed25519.PublicKey, error) {
	block, err := pemBlock(s)
	if err != nil {
		return nil, fmt.Errorf("codes: public key: %w", err)
	}
	if block.Type != "PUBLIC KEY" {
		return nil, fmt.Errorf("codes: public key: a PEM %q block, not PUBLIC KEY", block.Type)
	}
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("codes: public key: %w", err)
	}
	pub, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("codes: public key: a %T, not an Ed25519 key", k)
	}
	return pub, nil
}

// PublicKeyText returns pub as pretix hands it out: the standard base64 of
// its PEM "PUBLIC KEY" block.
func PublicKeyText(pub ed25519.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		// Only a key of the wrong length fails; that is a caller's bug.
		panic("codes: " + err.Error())
	}
	return base64.StdEncoding.EncodeToString(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// ParsePrivateKey reads an Ed25519 private key from a PEM "PRIVATE KEY"
// block (PKCS #8, as pretix and openssl genpkey -algorithm ed25519 write it),
// or from the standard base64 of that PEM text, as pretix keeps it in its
// settings.
func ParsePrivateKey(b []byte) (ed25519.PrivateKey, error) {
	block, err := pemBlock(string(b))
	if err != nil {
		return nil, fmt.Errorf("codes: private key: %w", err)
	}
	if block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("codes: private key: a PEM %q block, not PRIVATE KEY", block.Type)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("codes: private key: %w", err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("codes: private key: a %T, not an Ed25519 key", k)
	}
	return priv, nil
}

// MarshalPrivateKey returns priv as a PEM "PRIVATE KEY" block (PKCS #8).
func MarshalPrivateKey(priv ed25519.PrivateKey) []byte {
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		panic("codes: " + err.Error())
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// GenerateSig1Key makes an Ed25519 key pair from rand (crypto/rand when nil).
func GenerateSig1Key(r io.Reader) (ed25519.PublicKey, ed25519.PrivateKey, error) {
	if r == nil {
		r = rand.Reader
	}
	pub, priv, err := ed25519.GenerateKey(r)
	if err != nil {
		return nil, nil, fmt.Errorf("codes: generate key: %w", err)
	}
	return pub, priv, nil
}

// pemBlock reads one PEM block from PEM text or from base64 of PEM text.
// Nothing but white space may surround the block.
func pemBlock(s string) (*pem.Block, error) {
	s = strings.TrimSpace(s)
	text := []byte(s)
	if !strings.HasPrefix(s, "-----BEGIN ") {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, errors.New("neither PEM nor base64 of PEM")
		}
		text = b
	}
	block, rest := pem.Decode(text)
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	if len(bytes.TrimSpace(rest)) > 0 {
		return nil, errors.New("more than one PEM block")
	}
	if len(block.Headers) > 0 {
		return nil, errors.New("an encrypted or annotated PEM block")
	}
	return block, nil
}

// MinKeyLen and MaxKeyLen bound a TOTP key, in bytes: RFC 4226 asks for at
// least 128 bits (Ticketmaster's are 160).
const (
	MinKeyLen = 16
	MaxKeyLen = 64
)

// ParseKey reads a TOTP key (an event or customer key) written as hex, as
// Ticketmaster hands them out ("b3519364e0c7914c1f9d59d35652a04067d2f647").
// Surrounding white space is ignored; upper or lower case.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	k, err := hex.DecodeString(s)
	if err != nil {
		return nil, errors.New("codes: a key must be written as hex")
	}
	if len(k) < MinKeyLen || len(k) > MaxKeyLen {
		return nil, fmt.Errorf("codes: a key must be %d to %d bytes (%d to %d hex digits), not %d", MinKeyLen, MaxKeyLen, 2*MinKeyLen, 2*MaxKeyLen, len(k))
	}
	return k, nil
}
