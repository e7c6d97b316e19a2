package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/httpapi"
	"github.com/admitgate/admit/importfile"
	"github.com/admitgate/admit/internal/samples"
	"github.com/admitgate/admit/internal/testkit"
)

const hookSecret = "e2e-webhook-secret-000000"

// outboundConfig writes a configuration with extra after the essentials,
// and a secret file beside it, and reads it as `admit serve` does.
func outboundConfig(t *testing.T, extra string) (*Config, error) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "hook.secret"), []byte(hookSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	src := testkit.Template(t, "testdata/daemon/outbound.toml", configValues(filepath.Join(dir, "data"))) + extra
	path := filepath.Join(dir, "admit.toml")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := ReadConfigFile(path)
	if err != nil {
		return nil, err
	}
	return c, c.Validate()
}

func TestOutboundConfig(t *testing.T) {
	c, err := outboundConfig(t, `
[[exports]]
name = "secutix"
dir = "/srv/secutix/out"
[[exports]]
name = "crm-file"
dir = "/srv/crm"
format = "jsonl"
interval = "1m"
file_prefix = "north"
provider = "secutix-main"
event = "MATCH-2026-12-05"
write_empty = true
max_lag = "10m"
max_lag_entries = 5000
[[webhooks]]
name = "crm"
url = "https://crm.example/admit?key=x"
secret_file = "hook.secret"
admissions_only = true
batch_size = 50
timeout = "5s"
`)
	if err != nil {
		t.Fatal(err)
	}
	exports, webhooks := c.outboundTargets()
	if len(exports) != 2 || len(webhooks) != 1 {
		t.Fatalf("%d exports, %d webhooks", len(exports), len(webhooks))
	}
	if e := exports[1]; e.Prefix != "north" || e.Format != "jsonl" || e.Interval != time.Minute || !e.WriteEmpty ||
		e.MaxLag != 10*time.Minute || e.MaxLagEntries != 5000 || e.Provider != "secutix-main" || e.Event != "MATCH-2026-12-05" {
		t.Errorf("export %+v", e)
	}
	if w := webhooks[0]; string(w.Secret) != hookSecret || !w.AdmissionsOnly || w.BatchSize != 50 || w.Timeout != 5*time.Second {
		t.Errorf("webhook %+v", w)
	}
	// The defaults, as the daemon runs them.
	o, err := newOutbound(c, &openStore{}, prometheus.NewRegistry(), testLogger())
	if err != nil {
		t.Fatal(err)
	}
	e := o.svc.Exporters()[0].Config()
	w := o.svc.Hooks()[0].Config()
	if e.Format != "secutix" || e.Interval != 15*time.Minute || e.Prefix != "secutix" || e.MaxLag != 30*time.Minute ||
		w.Timeout != 5*time.Second || w.BackoffMin != time.Second || w.BackoffMax != 5*time.Minute || w.MaxLag != 15*time.Minute {
		t.Errorf("defaults: %+v %+v", e, w)
	}
	if st := o.Exports(); len(st) != 3 || st[2].Target != "https://crm.example/admit" {
		t.Errorf("status %+v", st)
	}

	for _, c := range []struct{ extra, want string }{
		{"[[exports]]\nname = \"x\"\n", "exports[0].dir: is missing"},
		{"[[exports]]\nname = \"x\"\ndir = \"/o\"\ninterval = \"500ms\"\n", "exports[0].interval: 500ms is too short; use at least 1s"},
		{"[[exports]]\nname = \"x\"\ndir = \"/o\"\nformat = \"xlsx\"\n", `exports[0].format: "xlsx" is not an export format; use secutix, csv or jsonl`},
		{"[[exports]]\nname = \"x\"\ndir = \"/o\"\nfile_prefix = \"a/b\"\n", `exports[0].file_prefix: "a/b" holds '/'`},
		{"[[exports]]\nname = \"a b\"\ndir = \"/o\"\n", `exports[0].name: "a b" holds ' '`},
		{"[[exports]]\nname = \"x\"\ndir = \"/o\"\nprovider = \"a b\"\n", `exports[0].provider: "a b" holds ' '`},
		{"[[exports]]\nname = \"x\"\ndir = \"/o\"\n[[exports]]\nname = \"x\"\ndir = \"/p\"\n", `exports[1].name: "x" is used twice`},
		{"[[webhooks]]\nname = \"w\"\nurl = \"https://x\"\n", "webhooks[0].secret_file: is missing"},
		{"[[webhooks]]\nname = \"w\"\nurl = \"ftp://x\"\nsecret_file = \"hook.secret\"\n", "webhooks[0].url: is not an http:// or https:// URL with a host"},
		{"[[webhooks]]\nname = \"w\"\nurl = \"https://x\"\nsecret_file = \"hook.secret\"\ntimeout = \"10m\"\n", "webhooks[0].timeout: 10m0s is out of range"},
		{"[[webhooks]]\nname = \"w\"\nurl = \"https://x\"\nsecret_file = \"hook.secret\"\nbatch_size = 5000\n", "webhooks[0].batch_size: 5000 is too large; use 1 to 1000"},
	} {
		_, err := outboundConfig(t, c.extra)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.extra, err, c.want)
		}
	}
	if _, err := outboundConfig(t, "[[webhooks]]\nname = \"w\"\nurl = \"https://x\"\nsecret_file = \"missing\"\n"); err == nil ||
		!strings.Contains(err.Error(), "secret_file") {
		t.Errorf("a missing secret file: %v", err)
	}
	if _, err := outboundConfig(t, "[[exports]]\nname = \"x\"\ndir = \"/o\"\nintervall = \"1m\"\n"); err == nil ||
		!strings.Contains(err.Error(), "exports[0].intervall: unknown key; did you mean interval?") {
		t.Errorf("a misspelt key: %v", err)
	}
}

// The appliance exports the tickets used to a folder in the SecuTix layout
// its own import reads, posts the admissions to a webhook signed with the
// secret from the file, and shows both in GET /v1/exports and /metrics.
func TestDaemonExportsAndPosts(t *testing.T) {
	var mu sync.Mutex
	got := map[string]string{} // id -> barcode
	badSig := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ts, sig, _ := strings.Cut(strings.TrimPrefix(r.Header.Get("Admit-Signature"), "t="), ",v1=")
		mac := hmac.New(sha256.New, []byte(hookSecret))
		mac.Write([]byte(ts + "." + string(body)))
		want := hex.EncodeToString(mac.Sum(nil))
		var b struct {
			Decisions []struct {
				ID       string        `json:"id"`
				Decision gate.Decision `json:"decision"`
			} `json:"decisions"`
		}
		mu.Lock()
		defer mu.Unlock()
		if !hmac.Equal([]byte(sig), []byte(want)) || json.Unmarshal(body, &b) != nil {
			badSig++
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		for _, d := range b.Decisions {
			got[d.ID] = d.Decision.Barcode
		}
	}))
	defer srv.Close()
	out := filepath.Join(t.TempDir(), "out")
	c, err := outboundConfig(t, `
[[exports]]
name = "secutix"
dir = "`+out+`"
interval = "1s"
[[webhooks]]
name = "crm"
url = "`+srv.URL+`/hook"
secret_file = "hook.secret"
admissions_only = true
`)
	if err != nil {
		t.Fatal(err)
	}
	_, base := startDaemon(t, c)
	api := apiClient{t: t, base: base}
	api.must(201, "PUT", "/v1/providers/secutix-main", adminSecret, map[string]string{"name": "SecuTix"})
	now := time.Now()
	api.must(201, "PUT", "/v1/events/MATCH-2026-12-05", adminSecret, map[string]any{"name": "Derby",
		"opens_at": now.Add(-time.Hour).Format(time.RFC3339), "closes_at": now.Add(6 * time.Hour).Format(time.RFC3339)})
	api.must(201, "PUT", "/v1/events/MATCH-2026-12-19", adminSecret, map[string]any{"name": "Cup",
		"opens_at": now.Add(14 * 24 * time.Hour).Format(time.RFC3339), "closes_at": now.Add(15 * 24 * time.Hour).Format(time.RFC3339)})
	file, _ := samples.Read(samples.Secutix)
	api.must(200, "POST", "/v1/imports?provider=secutix-main", adminSecret, file)
	used := []string{sxAdult1, sxAdult2, sxNotPrinted}
	var admits []gate.Decision
	for _, b := range append(used, sxAdult1, "no-such-ticket") {
		var d gate.Decision
		api.must(200, "POST", "/v1/scan", adminSecret, scanBody(b, "south-1")).decode(t, &d)
		if d.Admit {
			admits = append(admits, d)
		}
	}
	if len(admits) != len(used) {
		t.Fatalf("%d admissions, want %d", len(admits), len(used))
	}

	// The files, once the export passed the last admission.
	exported := map[string]bool{}
	deadline := time.Now().Add(60 * time.Second)
	for len(exported) < len(used) {
		if time.Now().After(deadline) {
			t.Fatalf("the export holds %v", exported)
		}
		time.Sleep(20 * time.Millisecond)
		ents, _ := os.ReadDir(out)
		clear(exported)
		for _, de := range ents {
			if strings.HasPrefix(de.Name(), ".") {
				continue
			}
			f, err := os.Open(filepath.Join(out, de.Name()))
			if err != nil {
				t.Fatal(err)
			}
			src := importfile.NewSource(f, gate.ImportRequest{Provider: "secutix-main"}, nil)
			for {
				l, err := src.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil || l.Reject != nil || !l.Ticket.UsedUpstream {
					t.Fatalf("%s: %v %+v", de.Name(), err, l)
				}
				if exported[l.Ticket.Barcode] {
					t.Fatalf("%s twice", l.Ticket.Barcode)
				}
				exported[l.Ticket.Barcode] = true
			}
			f.Close()
			if src.Format() != gate.FormatSecutix {
				t.Fatalf("%s is read as %s", de.Name(), src.Format())
			}
		}
	}
	for _, b := range used {
		if !exported[b] {
			t.Errorf("%s is not exported", b)
		}
	}

	// The webhook.
	outboundWait(t, "the webhook", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) >= len(admits)
	})
	mu.Lock()
	for _, d := range admits {
		if id := "e2e:" + strconv.FormatUint(d.Seq, 10); got[id] != d.Barcode {
			t.Errorf("%s: the webhook got %q, want %q", id, got[id], d.Barcode)
		}
	}
	if len(got) != len(admits) || badSig != 0 {
		t.Errorf("the webhook got %v (%d bad signatures)", got, badSig)
	}
	mu.Unlock()

	var st httpapi.ExportsResponse
	outboundWait(t, "the status", func() bool {
		api.must(200, "GET", "/v1/exports", viewerSecret, nil).decode(t, &st)
		return len(st.Exports) == 2 && st.Exports[1].Delivered == uint64(len(admits)) && st.Exports[0].Delivered == uint64(len(used))
	})
	if e := st.Exports[0]; e.Kind != "export" || e.Name != "secutix" || e.LastFile == "" || e.LastDelivery.IsZero() || e.Target != out {
		t.Errorf("export status %+v", e)
	}
	if w := st.Exports[1]; w.Kind != "webhook" || w.Target != srv.URL+"/hook" || w.LastError != "" {
		t.Errorf("webhook status %+v", w)
	}
	metrics := string(api.must(200, "GET", "/metrics", "", nil).body)
	for _, m := range []string{`admit_outbound_lag_entries{kind="export",name="secutix"}`, `admit_outbound_lagging{kind="webhook",name="crm"} 0`,
		`admit_outbound_delivered_total{kind="webhook",name="crm"} 3`} {
		if !strings.Contains(metrics, m) {
			t.Errorf("/metrics lacks %s", m)
		}
	}
}

// waitUntil polls cond with a generous deadline.
func outboundWait(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testkit.WaitFor(t, 60*time.Second, what, cond)
}
