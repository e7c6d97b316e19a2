package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/admitgate/admit/codes"
	"github.com/admitgate/admit/gate"
)

// admit codes: a box office makes a key, signs tickets, and the codes
// verify with the printed public key; rotating codes are drawn from key
// files and match the published vector.
func TestCodesCommand(t *testing.T) {
	dir := t.TempDir()
	run := func(args ...string) (string, string, int) {
		t.Helper()
		var out, errOut bytes.Buffer
		m := &Main{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut, Getenv: func(string) string { return "" }}
		code := exitCode(m.Run(t.Context(), args), &errOut)
		return out.String(), errOut.String(), code
	}
	priv := filepath.Join(dir, "private.pem")
	pub, stderr, code := run("codes", "keygen", "-out", priv)
	if code != 0 || stderr != "" {
		t.Fatalf("keygen: %d %s", code, stderr)
	}
	pub = strings.TrimSpace(pub)
	if st, err := os.Stat(priv); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("private key file: %v %v", st, err)
	}
	if _, stderr, code := run("codes", "keygen", "-out", priv); code != 1 || !strings.Contains(stderr, "exists") {
		t.Errorf("keygen over an existing file: %d %s", code, stderr)
	}
	v, err := codes.NewSig1("box-office", codes.Sig1Config{
		Keys:  []string{pub},
		Items: []codes.Sig1Item{{Item: 12, PriceType: gate.Code{Code: "ADU"}, Events: []string{"MATCH-1"}}},
	}, nil)
	if err != nil {
		t.Fatalf("the printed public key: %v", err)
	}

	out, stderr, code := run("codes", "sign", "-key", priv, "-item", "12", "-seed", "BOX-000001", "-variation", "3",
		"-valid-from", "2026-12-05T16:00:00Z", "-valid-until", "1796515200")
	if code != 0 {
		t.Fatalf("sign: %d %s", code, stderr)
	}
	signed := strings.TrimSpace(out)
	got := v.Check(signed, time.Date(2026, 12, 5, 18, 0, 0, 0, time.UTC), gate.In)
	want := codes.Sig1Ticket{Seed: "BOX-000001", Item: 12, Variation: 3, HasValidFrom: true, ValidFromUnix: 1796486400, HasValidUntil: true, ValidUntilUnix: 1796515200}
	if got.Reason != 0 || got.Decoded != want {
		t.Errorf("signed code: %+v", got)
	}
	out, _, code = run("codes", "sign", "-key", priv, "-item", "12")
	c, err := codes.ParseSig1(strings.TrimSpace(out))
	if code != 0 || err != nil || len(c.Ticket.Seed) != 9 || !c.Ticket.HasValidFrom || c.Ticket.ValidFromUnix != 0 || !c.Ticket.HasValidUntil {
		t.Errorf("sign with a drawn seed: %d %v %+v", code, err, c)
	}
	if r := v.Check(strings.TrimSpace(out), time.Now(), gate.In); r.Reason != 0 {
		t.Errorf("drawn seed: %+v", r)
	}

	pubFile := filepath.Join(dir, "public.txt")
	os.WriteFile(pubFile, []byte(pub+"\n"), 0o644)
	out, _, code = run("codes", "decode", "-key", pubFile, signed)
	if code != 0 || !strings.Contains(out, "pretix_sig1 seed=BOX-000001 item=12 variation=3 subevent=0 valid_from=2026-12-05T16:00:00Z valid_until=2026-12-06T00:00:00Z") || !strings.Contains(out, "signature: good") {
		t.Errorf("decode: %d %s", code, out)
	}
	otherKey := filepath.Join(dir, "other.pem")
	otherPub, _, _ := run("codes", "keygen", "-out", otherKey)
	os.WriteFile(pubFile, []byte(otherPub), 0o644)
	if out, _, code := run("codes", "decode", "-key", pubFile, signed); code != 3 || !strings.Contains(out, "signature: BAD") {
		t.Errorf("decode with another key: %d %s", code, out)
	}
	if out, _, code := run("codes", "decode", "9836900602677354"); code != 3 || !strings.Contains(out, "neither") {
		t.Errorf("decode a plain barcode: %d %s", code, out)
	}

	ek, ck := filepath.Join(dir, "event.key"), filepath.Join(dir, "customer.key")
	os.WriteFile(ek, []byte("b3519364e0c7914c1f9d59d35652a04067d2f647\n"), 0o600)
	os.WriteFile(ck, []byte("b98432ed23b8f2bda82348216229f4d27ce9d063"), 0o600)
	out, stderr, code = run("codes", "rotate", "-event-key", ek, "-customer-key", ck, "-token", "TGRLYCqAf2CS", "-at", "1707074879")
	if code != 0 || out != "TGRLYCqAf2CS::492436::240860::1707074879\n" {
		t.Errorf("rotate: %d %q %s", code, out, stderr)
	}
	if out, _, code := run("codes", "decode", strings.TrimSpace(out)); code != 0 || !strings.Contains(out, "rotating token=TGRLYCqAf2CS otp1=492436 otp2=240860 at=2024-02-04T19:27:59Z") {
		t.Errorf("decode rotating: %d %s", code, out)
	}
	out, _, code = run("codes", "rotate", "-event-key", ek, "-customer-key", ck, "-token", "T")
	if rc, err := codes.ParseRotating(strings.TrimSpace(out)); code != 0 || err != nil || time.Since(time.Unix(rc.At, 0)) > time.Minute {
		t.Errorf("rotate now: %d %q %v", code, out, err)
	}

	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"codes"}, 2, "Usage: admit codes"},
		{[]string{"codes", "nope"}, 2, `unknown codes command "nope"`},
		{[]string{"codes", "sign", "-key", priv}, 2, "positive -item"},
		{[]string{"codes", "sign", "-key", ek, "-item", "1"}, 1, "private key"},
		{[]string{"codes", "sign", "-key", priv, "-item", "1", "-valid-from", "tomorrow"}, 2, "neither RFC 3339 nor Unix seconds"},
		{[]string{"codes", "sign", "-key", priv, "-item", "1", "-valid-from", "20", "-valid-until", "10"}, 2, "before -valid-from"},
		{[]string{"codes", "sign", "-key", priv, "-item", "1", "-seed", strings.Repeat("s", 65)}, 1, "longer than 64"},
		{[]string{"codes", "rotate", "-event-key", ek, "-customer-key", priv, "-token", "T"}, 1, "hex"},
		{[]string{"codes", "rotate", "-event-key", ek, "-customer-key", ck}, 2, "-token"},
		{[]string{"codes", "decode"}, 2, "one CODE"},
	} {
		out, stderr, code := run(tt.args...)
		if code != tt.code || !strings.Contains(out+stderr, tt.want) {
			t.Errorf("admit %q: exit %d\n%s%s\nwant exit %d and %q", tt.args, code, out, stderr, tt.code, tt.want)
		}
		// No key material in any message.
		if strings.Contains(out+stderr, "PRIVATE KEY") || strings.Contains(out+stderr, "b98432ed") {
			t.Errorf("admit %q printed a key: %s%s", tt.args, out, stderr)
		}
	}
}
