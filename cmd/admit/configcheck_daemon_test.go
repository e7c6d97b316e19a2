package main

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// TestConfigReferencesAgainstTheStore is issue 20: a lane naming an event
// that does not exist ("EV-1" for "EV1") passed check-config and SIGHUP,
// then refused every scan wrong_event. The daemon checks every reference
// against the file and the store (where the API makes events): one it
// finds in neither refuses the start, and a reload, whose every problem is
// logged on a line of its own while the running configuration stays.
func TestConfigReferencesAgainstTheStore(t *testing.T) {
	dir := t.TempDir()
	open := func(c *Config, log *lockedBuffer) (*Daemon, error) {
		t.Helper()
		c.DataDir = dir
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		d := &Daemon{Config: c, Logger: zerolog.New(log), Listener: ln}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = d.Close(ctx)
		})
		return d, d.Open(context.Background())
	}
	stop := func(d *Daemon) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := d.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}

	// An event made through the API, as an admin does.
	var log lockedBuffer
	d, err := open(testConfig(t, ""), &log)
	if err != nil {
		t.Fatal(err)
	}
	apiClient{t, "http://" + d.Addr().String()}.must(201, "PUT", "/v1/events/API-EVENT", adminSecret, map[string]string{"name": "From the API"})
	stop(d)

	// A file that names it without declaring it: check-config, which does
	// not read the store, refuses it, since the file declares other events;
	// the start, whose store has it, takes it.
	door := "[[lanes]]\nid = \"api-door\"\nevents = [\"API-EVENT\"]\n"
	c := testConfig(t, door)
	if err := c.check(refScope{file: true}).Err(); err == nil ||
		!strings.Contains(err.Error(), `lanes[3].events[0]: "API-EVENT" is not among the configured events (MATCH-2026-12-05)`) {
		t.Errorf("check-config: %v", err)
	}
	d, err = open(c, &log)
	if err != nil {
		t.Fatalf("an event of the store refused: %v", err)
	}

	// A reload naming an event that is nowhere, with another problem.
	bad := testConfig(t, door)
	bad.DataDir = dir
	bad.Lanes[3].Events = []string{"API-EVNT"}
	bad.Lanes = append(bad.Lanes, LaneConfig{ID: "side", Direction: "up"})
	err = d.Reload(t.Context(), bad)
	for _, want := range []string{
		`lanes[3].events[0]: there is no event "API-EVNT", neither in the file nor in the store; did you mean "API-EVENT"? Or declare it under [[events]], or create it with PUT /v1/events/API-EVNT`,
		`lanes[4].direction: "up" is not a direction; use in or out`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("reload: %v\nwant it to say %q", err, want)
		}
		if !strings.Contains(log.String(), strings.ReplaceAll(want, `"`, `\"`)) {
			t.Errorf("the log does not hold %q:\n%s", want, log.String())
		}
	}
	if n := strings.Count(log.String(), "reload: a problem of the new configuration"); n != 2 {
		t.Errorf("%d log lines for 2 problems:\n%s", n, log.String())
	}
	if d.cfg != c || strings.Contains(log.String(), "configuration reloaded") {
		t.Error("the refused configuration was applied")
	}
	stop(d)

	// A start naming an event that is nowhere is refused.
	_, err = open(testConfig(t, "[[lanes]]\nid = \"api-door\"\nevents = [\"API-EVNT\"]\n"), &log)
	if err == nil || !strings.Contains(err.Error(), `there is no event "API-EVNT", neither in the file nor in the store`) {
		t.Errorf("start: %v", err)
	}
}

// TestImportProviderThroughTheAPI is issue 20: an import into a provider
// the appliance does not have is refused and creates nothing, unless it
// asks for the provider to be made; admit import -create-provider asks.
func TestImportProviderThroughTheAPI(t *testing.T) {
	d, base := startDaemon(t, testConfig(t, ""))
	api := apiClient{t, base}
	r := api.must(400, "POST", "/v1/imports?provider=secutix-mian&event=MATCH-2026-12-05", adminSecret, "B1\nB2\n")
	if !strings.Contains(string(r.body), `no provider \"secutix-mian\"; create it first with PUT /v1/providers/secutix-mian, or import with create_provider=true`) {
		t.Errorf("refusal: %s", r.body)
	}
	if ps, _ := d.Index().Providers(t.Context()); len(ps) != 0 {
		t.Errorf("a refused import made providers %v", ps)
	}
	api.must(200, "POST", "/v1/imports?provider=box-office&event=MATCH-2026-12-05&create_provider=true", adminSecret, "B1\nB2\n")
	ps, _ := d.Index().Providers(t.Context())
	if len(ps) != 1 || ps[0].ID != "box-office" {
		t.Errorf("providers %v, want box-office", ps)
	}
	api.must(200, "POST", "/v1/imports?provider=box-office&event=MATCH-2026-12-05", adminSecret, "B3\n") // now it exists
}
