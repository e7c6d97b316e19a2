package codes_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	"github.com/admitgate/admit/codes"
)

func TestKeysRoundTrip(t *testing.T) {
	pub, priv, err := codes.GenerateSig1Key(nil)
	if err != nil {
		t.Fatal(err)
	}
	text := codes.PublicKeyText(pub)
	pemText, _ := base64.StdEncoding.DecodeString(text)
	if !strings.HasPrefix(string(pemText), "-----BEGIN PUBLIC KEY-----\n") || !strings.HasSuffix(string(pemText), "-----END PUBLIC KEY-----\n") {
		t.Errorf("PEM %q", pemText)
	}
	for _, s := range []string{text, string(pemText), "  " + text + "\n"} {
		got, err := codes.ParsePublicKey(s)
		if err != nil || !got.Equal(pub) {
			t.Errorf("ParsePublicKey(%q) = %v", s, err)
		}
	}
	der := codes.MarshalPrivateKey(priv)
	for _, b := range [][]byte{der, []byte(base64.StdEncoding.EncodeToString(der))} {
		got, err := codes.ParsePrivateKey(b)
		if err != nil || !got.Equal(priv) {
			t.Errorf("ParsePrivateKey: %v", err)
		}
	}
	// A code signed with the written key verifies with the printed one.
	back, _ := codes.ParsePrivateKey(der)
	code, err := codes.SignSig1(back, pretixTicket("abcdefghi", 1, 0, 0, time.Time{}, time.Time{}))
	if err != nil {
		t.Fatal(err)
	}
	c, _ := codes.ParseSig1(code)
	if c == nil || c.Ticket.Seed != "abcdefghi" {
		t.Fatalf("parse: %+v", c)
	}
}

func TestParseKeysRefuse(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecPub, _ := x509.MarshalPKIXPublicKey(&ec.PublicKey)
	ecPriv, _ := x509.MarshalPKCS8PrivateKey(ec)
	pub, priv, _ := codes.GenerateSig1Key(nil)
	pubPEM, _ := base64.StdEncoding.DecodeString(codes.PublicKeyText(pub))
	privPEM := codes.MarshalPrivateKey(priv)
	enc := func(typ string, b []byte) string { return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b})) }
	for _, tt := range []struct {
		name, s, want string
	}{
		{"empty", "", "no PEM block"},
		{"not base64", "%%%", "neither PEM nor base64"},
		{"an ECDSA key", enc("PUBLIC KEY", ecPub), "not an Ed25519 key"},
		{"a private key", string(privPEM), "not PUBLIC KEY"},
		{"two blocks", string(pubPEM) + string(pubPEM), "more than one PEM block"},
		{"garbage DER", enc("PUBLIC KEY", []byte{1, 2, 3}), "public key"},
	} {
		if _, err := codes.ParsePublicKey(tt.s); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("public %s: %v, want %q", tt.name, err, tt.want)
		}
	}
	for _, tt := range []struct {
		name, s, want string
	}{
		{"an ECDSA key", enc("PRIVATE KEY", ecPriv), "not an Ed25519 key"},
		{"a public key", string(pubPEM), "not PRIVATE KEY"},
		{"encrypted", "-----BEGIN PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n\nAAAA\n-----END PRIVATE KEY-----\n", "encrypted"},
	} {
		if _, err := codes.ParsePrivateKey([]byte(tt.s)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("private %s: %v, want %q", tt.name, err, tt.want)
		}
	}
	for _, s := range []string{"", "abc", strings.Repeat("ab", 15), strings.Repeat("ab", 65), "zz" + strings.Repeat("ab", 19)} {
		// The message never shows the key.
		if _, err := codes.ParseKey(s); err == nil || len(s) > 3 && strings.Contains(err.Error(), s) {
			t.Errorf("ParseKey(%q): %v", s, err)
		}
	}
}

func TestSignSig1Refuses(t *testing.T) {
	priv := testKey(1)
	for _, tk := range []codes.Sig1Ticket{
		{Item: 1},
		{Seed: strings.Repeat("s", codes.MaxSeedLen+1), Item: 1},
		{Seed: "a\nb", Item: 1},
	} {
		if code, err := codes.SignSig1(priv, tk); err == nil {
			t.Errorf("%+v signed: %s", tk, code)
		}
	}
	if _, err := codes.SignSig1(priv[:10], codes.Sig1Ticket{Seed: "s"}); err == nil {
		t.Error("a short key signed")
	}
	// The longest seed still fits a barcode.
	long := pretixTicket(strings.Repeat("s", codes.MaxSeedLen), 1<<62, 1<<62, 1<<62, time.Unix(1<<40, 0), time.Unix(1<<40, 0))
	if code, err := codes.SignSig1(priv, long); err != nil || len(code) > codes.MaxCodeLen {
		t.Errorf("longest: %d, %v", len(code), err)
	}
}

func TestNewSeed(t *testing.T) {
	seen := map[string]bool{}
	for range 50 {
		s, err := codes.NewSeed(nil)
		if err != nil || len(s) != 9 || seen[s] {
			t.Fatalf("%q %v", s, err)
		}
		seen[s] = true
		for _, c := range []byte(s) {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
				t.Fatalf("%q", s)
			}
		}
	}
	// Bytes from 248 up are dropped, so every character is equally likely.
	s, err := codes.NewSeed(bytes.NewReader([]byte{255, 248, 0, 61, 62, 247, 1, 2, 3, 4, 5}))
	if err != nil || s != "a9a9bcdef" {
		t.Errorf("%q %v", s, err)
	}
	if _, err := codes.NewSeed(bytes.NewReader([]byte{1, 2})); err == nil {
		t.Error("a short reader made a seed")
	}
}
