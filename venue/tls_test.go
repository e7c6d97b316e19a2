package venue_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/admitgate/admit/venue"
)

// writeTLS writes a CA and a certificate for 127.0.0.1 signed by it, and
// returns the files.
func writeTLS(t *testing.T) (ca, cert, key string) {
	t.Helper()
	dir := t.TempDir()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "admit test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	leafKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leafTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "hub"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
	caCert, _ := x509.ParseCertificate(caDER)
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, caCert, &leafKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(leafKey)
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	return write("ca.pem", "CERTIFICATE", caDER), write("hub.pem", "CERTIFICATE", leafDER), write("hub.key", "EC PRIVATE KEY", keyDER)
}

// TestTLS: a hub with TLS takes a link that verifies it with the CA and
// presents a client certificate when asked; one without the certificate is
// not let in.
func TestTLS(t *testing.T) {
	ca, cert, key := writeTLS(t)
	cfg := hubConfig(t)
	cfg.TLS = venue.TLSFiles{Cert: cert, Key: key, CA: ca, VerifyClients: true}
	h := startHub(t, cfg)
	if !strings.HasPrefix(h.ClientURL(), "tls://") {
		t.Fatalf("client URL %s", h.ClientURL())
	}
	link := venue.LinkConfig{Appliance: "north", URLs: []string{h.ClientURL()}, PasswordFile: cfg.Appliances[0].PasswordFile,
		TLS: venue.TLSFiles{CA: ca, Cert: cert, Key: key}, Layout: venue.Layout{Replicas: 1, Create: true},
		ConnectTimeout: 20 * time.Second, ReconnectWait: 20 * time.Millisecond}
	l := open(t, link)
	waitUp(t, l)
	if s := l.Status(); !strings.HasPrefix(s.ServerURL, "tls://") {
		t.Fatalf("status %+v", s)
	}

	noCert := link
	noCert.Appliance, noCert.PasswordFile = "south", cfg.Appliances[1].PasswordFile
	noCert.TLS = venue.TLSFiles{CA: ca}
	noCert.ConnectTimeout = time.Second
	s := open(t, noCert)
	if st := s.Status(); st.State == venue.StateUp {
		t.Fatal("a link without a client certificate came up")
	}
}
