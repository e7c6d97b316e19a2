package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/admitgate/admit/codes"
	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/httpapi"
)

// codesRig is a configuration with a pretix_sig1 provider and a rotating
// one, written to a file as a user writes it, with its keys.
type codesRig struct {
	path       string
	signing    ed25519.PrivateKey
	eventKey   []byte
	customerA  []byte
	customerB  []byte
	dataDir    string
	opens      time.Time
	configText func(skew string) string
}

func newCodesRig(t *testing.T) *codesRig {
	t.Helper()
	dir := t.TempDir()
	r := &codesRig{
		path:      filepath.Join(dir, "admit.toml"),
		signing:   ed25519.NewKeyFromSeed(bytes.Repeat([]byte{3}, ed25519.SeedSize)),
		eventKey:  bytes.Repeat([]byte{0xe7}, 20),
		customerA: bytes.Repeat([]byte{0xa5}, 20),
		customerB: bytes.Repeat([]byte{0xb6}, 20),
		dataDir:   filepath.Join(dir, "data"),
		opens:     time.Now().Add(-time.Hour).Truncate(time.Second),
	}
	if err := os.WriteFile(filepath.Join(dir, "tm-event.key"), []byte(hex.EncodeToString(r.eventKey)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	pub := codes.PublicKeyText(r.signing.Public().(ed25519.PublicKey))
	r.configText = func(skew string) string {
		return fmt.Sprintf(`data_dir = %q
appliance = "codes"
[http]
listen = "127.0.0.1:0"
[[tokens]]
name = "ops"
role = "admin"
secret = %q
[[tokens]]
name = "board"
role = "viewer"
secret = %q
[[events]]
id = "DERBY"
opens_at = %s
closes_at = %s
[[events]]
id = "FEST"
opens_at = %s
closes_at = %s
reentry = true
[[providers]]
id = "pretix"
name = "pretix (signed)"
kind = "pretix_sig1"
keys = [%q]
[[providers.items]]
item = 12
product = { code = "DAY", name = "Day ticket" }
price_type = { code = "ADU", name = "Adult" }
events = ["DERBY"]
[[providers.items]]
item = 12
variation = 3
price_type = { code = "RED", name = "Reduced" }
[[providers.items]]
item = 20
price_type = { code = "FEST", name = "Festival" }
events = ["FEST"]
[[providers]]
id = "tm"
name = "Ticketmaster"
kind = "rotating"
event_key_file = "tm-event.key"
skew = %q
[[lanes]]
id = "north-1"
[[lanes]]
id = "south-1"
[[lanes]]
id = "exit-1"
direction = "out"
`, r.dataDir, adminSecret, viewerSecret, r.opens.Format(time.RFC3339), r.opens.Add(8*time.Hour).Format(time.RFC3339),
			r.opens.Format(time.RFC3339), r.opens.Add(8*time.Hour).Format(time.RFC3339), pub, skew)
	}
	r.write(t, "15s")
	return r
}

func (r *codesRig) write(t *testing.T, skew string) {
	t.Helper()
	if err := os.WriteFile(r.path, []byte(r.configText(skew)), 0o600); err != nil {
		t.Fatal(err)
	}
}

func (r *codesRig) config(t *testing.T) *Config {
	t.Helper()
	c, err := ReadConfigFile(r.path)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.checkServe(); err != nil {
		t.Fatal(err)
	}
	return c
}

func (r *codesRig) sign(t *testing.T, seed string, item, variation int64) string {
	t.Helper()
	tk := codes.Sig1Ticket{Seed: seed, Item: item, Variation: variation}
	codes.Sig1Bounds(&tk, time.Time{}, time.Time{})
	code, err := codes.SignSig1(r.signing, tk)
	if err != nil {
		t.Fatal(err)
	}
	return code
}

func (r *codesRig) rotate(t *testing.T, token string, customer []byte, at time.Time) string {
	t.Helper()
	code, err := codes.Rotate(token, r.eventKey, customer, at, 0)
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// startCodesDaemon runs the appliance on c with its log at debug level in
// log (lockedBuffer: demo_test.go).
func startCodesDaemon(t *testing.T, c *Config, log *lockedBuffer) (*Daemon, apiClient) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d := &Daemon{Config: c, Logger: zerolog.New(log).Level(zerolog.DebugLevel), Listener: ln}
	if err := d.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close(context.Background()) })
	return d, apiClient{t: t, base: "http://" + d.Addr().String()}
}

func scanCode(api apiClient, code, lane string) gate.Decision {
	api.t.Helper()
	var d gate.Decision
	api.must(200, "POST", "/v1/scan", adminSecret, map[string]string{"barcode": code, "lane": lane}).decode(api.t, &d)
	return d
}

// TestCodesThroughTheDaemon: providers declared with a kind in the
// configuration check their codes over the API: a signed code is admitted
// on first sight and once only, a forged or revoked one is refused; a
// rotating code of an imported ticket (its customer key from the import's
// customer_key column) is admitted within its step and skew and refused
// as a screenshot beyond; the report counts each exactly; no event or
// customer key is ever shown or logged; the clock skew is on /v1/lanes
// and /metrics; a reload changes the skew and keeps the lists; a restart
// keeps everything.
func TestCodesThroughTheDaemon(t *testing.T) {
	rig := newCodesRig(t)
	log := &lockedBuffer{}
	d, api := startCodesDaemon(t, rig.config(t), log)

	// The providers as the API shows them: public keys, never the event key.
	var ps httpapi.ProvidersResponse
	api.must(200, "GET", "/v1/providers", viewerSecret, nil).decode(t, &ps)
	if len(ps.Providers) != 2 || ps.Providers[0].Kind != "pretix_sig1" || len(ps.Providers[0].Items) != 3 || ps.Providers[0].Lists == nil ||
		ps.Providers[1].Kind != "rotating" || ps.Providers[1].Skew != "15s" || ps.Providers[1].Step != "15s" {
		t.Fatalf("providers: %+v", ps.Providers)
	}

	// Signed codes.
	day := rig.sign(t, "CTJqJOl1H", 12, 0)
	reduced := rig.sign(t, "Kx7Pq2LmZ", 12, 3)
	fest := rig.sign(t, "fest00001", 20, 0)
	if d := scanCode(api, day, "north-1"); d.Reason != gate.ReasonOK || d.Event != "DERBY" || d.Ticket.PriceType != "ADU" {
		t.Fatalf("first sight: %+v", d)
	}
	if d := scanCode(api, day, "south-1"); d.Reason != gate.ReasonAlreadyUsed || d.FirstUsed == nil || d.FirstUsed.Lane != "north-1" {
		t.Fatalf("again: %+v", d)
	}
	if d := scanCode(api, reduced, "south-1"); d.Reason != gate.ReasonOK || d.Ticket.PriceType != "RED" {
		t.Fatalf("the reduced variation: %+v", d)
	}
	forger := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, ed25519.SeedSize))
	forgedTk := codes.Sig1Ticket{Seed: "CTJqJOl1X", Item: 12}
	forged, _ := codes.SignSig1(forger, forgedTk)
	if d := scanCode(api, forged, "north-1"); d.Reason != gate.ReasonUnknown {
		t.Fatalf("forged: %+v", d)
	}
	api.must(200, "PUT", "/v1/providers/pretix/revoked", adminSecret, fest+"\n")
	if d := scanCode(api, fest, "north-1"); d.Reason != gate.ReasonRevoked {
		t.Fatalf("revoked: %+v", d)
	}
	var view gate.TicketView
	api.must(200, "GET", "/v1/tickets/"+url.PathEscape(day), viewerSecret, nil).decode(t, &view)
	if view.Provider != "pretix" || view.Product.Code != "DAY" || len(view.Redemptions) != 1 {
		t.Fatalf("the signed ticket: %+v", view)
	}

	// Rotating codes: tickets imported with their holders' keys.
	csv := "barcode,price_type,customer_key\nTOKEN-A,ADU," + hex.EncodeToString(rig.customerA) + "\nTOKEN-B,VIP," + hex.EncodeToString(rig.customerB) + "\n"
	api.must(200, "POST", "/v1/imports?provider=tm&event=DERBY", adminSecret, csv)
	now := time.Now()
	code := rig.rotate(t, "TOKEN-A", rig.customerA, now)
	if d := scanCode(api, code, "north-1"); d.Reason != gate.ReasonOK || d.Barcode != "TOKEN-A" {
		t.Fatalf("rotating: %+v", d)
	}
	if d := scanCode(api, code, "south-1"); d.Reason != gate.ReasonAlreadyUsed {
		t.Fatalf("the same rotating code at another lane: %+v", d)
	}
	if d := scanCode(api, rig.rotate(t, "TOKEN-B", rig.customerB, now.Add(-2*time.Minute)), "north-1"); d.Reason != gate.ReasonStaleCode {
		t.Fatalf("a screenshot two minutes old: %+v", d)
	}
	if d := scanCode(api, "TOKEN-B", "north-1"); d.Reason != gate.ReasonUnknown {
		t.Fatalf("the bare token: %+v", d)
	}

	// The report, per provider and price type.
	var rep gate.Report
	api.must(200, "GET", "/v1/report?event=DERBY", viewerSecret, nil).decode(t, &rep)
	rows := map[string]gate.ReportRow{}
	for _, r := range rep.Rows {
		rows[r.Provider+"/"+r.PriceType] = r
	}
	want := map[string][4]int{ // sold, used, inside, no-show
		"pretix/ADU": {1, 1, 1, 0}, "pretix/RED": {1, 1, 1, 0}, "tm/ADU": {1, 1, 1, 0}, "tm/VIP": {1, 0, 0, 1},
	}
	for k, w := range want {
		r := rows[k]
		if [4]int{r.Sold, r.Used, r.Inside, r.NoShow} != w {
			t.Errorf("report %s: %+v, want sold/used/inside/no-show %v", k, r, w)
		}
	}
	if len(rep.Rows) != len(want) || rep.Total.Used != 3 || rep.Denials[gate.ReasonStaleCode] != 1 {
		t.Errorf("report: %+v", rep)
	}

	// Clock skew on /v1/lanes and /metrics.
	var lanes httpapi.LanesResponse
	api.must(200, "GET", "/v1/lanes", viewerSecret, nil).decode(t, &lanes)
	if len(lanes.Clocks) != 1 || lanes.Clocks[0].Provider != "tm" || lanes.Clocks[0].Codes != 3 {
		t.Fatalf("clocks: %+v", lanes.Clocks)
	}
	metrics := string(api.must(200, "GET", "/metrics", "", nil).body)
	if !strings.Contains(metrics, `admit_rotating_clock_skew_seconds{provider="tm"}`) || !strings.Contains(metrics, `admit_rotating_codes_seen_total{provider="tm"} 3`) {
		t.Fatalf("metrics lack the clock skew:\n%s", grepLines(metrics, "rotating"))
	}

	// A reload changes the skew: a code 20 s old is good now; the revocation list stays.
	rig.write(t, "30s")
	if err := d.Reload(context.Background(), rig.config(t)); err != nil {
		t.Fatal(err)
	}
	if d := scanCode(api, rig.rotate(t, "TOKEN-B", rig.customerB, time.Now().Add(-20*time.Second)), "north-1"); d.Reason != gate.ReasonOK {
		t.Fatalf("20 s old after the reload to a 30 s skew: %+v", d)
	}
	if d := scanCode(api, fest, "north-1"); d.Reason != gate.ReasonRevoked {
		t.Fatalf("revoked after the reload: %+v", d)
	}

	// Nothing secret anywhere: not in the API's answers, the journal or the log.
	for _, path := range []string{"/v1/providers", "/v1/providers/tm", "/v1/tickets/TOKEN-A", "/v1/scans?after=0&limit=1000"} {
		body := api.must(200, "GET", path, adminSecret, nil).body
		for _, k := range [][]byte{rig.eventKey, rig.customerA, rig.customerB} {
			if bytes.Contains(body, []byte(hex.EncodeToString(k))) {
				t.Errorf("GET %s shows a key: %s", path, body)
			}
		}
	}
	for _, k := range [][]byte{rig.eventKey, rig.customerA, rig.customerB} {
		if strings.Contains(log.String(), hex.EncodeToString(k)) {
			t.Errorf("the log holds a key")
		}
	}

	// A restart keeps the providers, their lists and the tickets.
	if err := d.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, api = startCodesDaemon(t, rig.config(t), log)
	if d := scanCode(api, day, "north-1"); d.Reason != gate.ReasonAlreadyUsed {
		t.Fatalf("after the restart: %+v", d)
	}
	if d := scanCode(api, fest, "north-1"); d.Reason != gate.ReasonRevoked {
		t.Fatalf("revoked after the restart: %+v", d)
	}
	if d := scanCode(api, code, "north-1"); d.Reason != gate.ReasonAlreadyUsed && d.Reason != gate.ReasonStaleCode {
		t.Fatalf("the rotating code after the restart: %+v", d)
	}
}

func grepLines(text, sub string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestProviderCodesConfig: what the configuration refuses about providers'
// kinds, each message naming the entry, and never the key.
func TestProviderCodesConfig(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "bad.key")
	if err := os.WriteFile(keyFile, []byte("not-hex-but-secret-ish\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := `data_dir = "` + dir + `"
[[tokens]]
name = "ops"
role = "admin"
secret = "` + adminSecret + `"
`
	cases := []struct{ name, toml, want string }{
		{"unknown kind", "[[providers]]\nid = \"p\"\nkind = \"qr\"\n", `providers[0].kind: "qr" is not a kind; use list, pretix_sig1 or rotating`},
		{"keys without a kind", "[[providers]]\nid = \"p\"\nkeys = [\"k\"]\n", "providers[0].kind: is empty"},
		{"sig1 without keys", "[[providers]]\nid = \"p\"\nkind = \"pretix_sig1\"\n", "at least one public key"},
		{"sig1 with a step", "[[providers]]\nid = \"p\"\nkind = \"pretix_sig1\"\nkeys = [\"k\"]\nstep = \"15s\"\n", "rotating provider's, not a pretix_sig1"},
		{"rotating without a key file", "[[providers]]\nid = \"p\"\nkind = \"rotating\"\n", "providers[0].event_key_file: is missing"},
		{"rotating skew too large", "[[providers]]\nid = \"p\"\nkind = \"rotating\"\nevent_key_file = \"good.key\"\nskew = \"1h\"\n", "clock skew must be"},
	}
	if err := os.WriteFile(filepath.Join(dir, "good.key"), []byte(strings.Repeat("ab", 20)), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		path := filepath.Join(dir, "admit.toml")
		if err := os.WriteFile(path, []byte(base+tc.toml), 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := ReadConfigFile(path)
		if err == nil {
			err = c.Validate()
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
	path := filepath.Join(dir, "admit.toml")
	if err := os.WriteFile(path, []byte(base+"[[providers]]\nid = \"p\"\nkind = \"rotating\"\nevent_key_file = \"bad.key\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := ReadConfigFile(path)
	if err == nil || !strings.Contains(err.Error(), "does not hold an event key") || strings.Contains(err.Error(), "secret-ish") {
		t.Fatalf("a key file that holds no key: %v", err)
	}
}
