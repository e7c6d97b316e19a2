package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/internal/samples"
)

// The demo: what `admit serve` runs without a configuration (and what
// `make run` starts). Its data directory lives in the user's cache, its two
// events match the sample files, the samples are loaded once, one lane is
// simulated, and fresh tokens are printed at every start.

// Demo event ids, as the sample files name them.
const (
	demoEventNow   = "MATCH-2026-12-05"
	demoEventLater = "MATCH-2026-12-19"
	demoLane       = "demo-1"
	demoDoor       = "demo-door"
)

// demoSample is one sample file and how the demo imports it.
type demoSample struct {
	file, provider, event, priceType string
}

var demoSamples = []demoSample{
	{samples.Secutix, "secutix-main", "", ""},
	{samples.BoxOffice, "box-office", "", ""},
	{samples.Paste, "partner-list", demoEventNow, "ADU"},
}

type demoSetup struct {
	config  *Config
	secrets map[string]string // role → secret
	now     time.Time
}

// newDemo builds the demo configuration with fresh secrets.
func newDemo(getenv func(string) string) (*demoSetup, error) {
	dir := getenv("ADMIT_DEMO_DIR")
	if dir == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			return nil, fmt.Errorf("demo: no cache directory for the demo data (set ADMIT_DEMO_DIR): %w", err)
		}
		dir = filepath.Join(cache, "admit", "demo")
	}
	d := &demoSetup{secrets: map[string]string{}, now: time.Now()}
	c := DefaultConfig()
	c.DataDir = dir
	c.Appliance = "demo"
	c.HTTP.Listen = "127.0.0.1:8080"
	for _, role := range []string{"admin", "scanner", "viewer"} {
		b := make([]byte, 18)
		if _, err := rand.Read(b); err != nil {
			return nil, err
		}
		d.secrets[role] = "demo-" + role + "-" + base64.RawURLEncoding.EncodeToString(b)
		c.Tokens = append(c.Tokens, TokenConfig{Name: "demo-" + role, Role: role, Secret: d.secrets[role]})
	}
	c.Providers = []ProviderConfig{
		{ID: "secutix-main", Name: "SecuTix (reseller export)"},
		{ID: "box-office", Name: "Box office"},
		{ID: "partner-list", Name: "Partner list (pasted)"},
	}
	// One event open now (from an hour ago to six hours from now), one two
	// weeks later, so scans show ok, already_used, not_yet_valid and more.
	opens := d.now.Truncate(time.Hour).Add(-time.Hour)
	later := opens.Add(14 * 24 * time.Hour)
	c.Events = []EventConfig{
		{ID: demoEventNow, Name: "FC Example – Derby (open now)", OpensAt: opens, ClosesAt: opens.Add(7 * time.Hour)},
		{ID: demoEventLater, Name: "FC Example – Cup (in two weeks)", OpensAt: later, ClosesAt: later.Add(7 * time.Hour)},
	}
	// A door whose staff scan with handhelds (first: the door page's
	// default) and a simulated turnstile (a guest passes 1.5s after the arm
	// unlocks; the ticket is spent only then).
	sim := func(driver string) OutputConfig { return OutputConfig{Driver: driver} }
	c.Lanes = []LaneConfig{
		{ID: demoDoor, Name: "Demo door (handhelds)", Direction: "in"},
		{ID: demoLane, Name: "Demo turnstile (simulated)", Direction: "in", Confirm: "passage",
			Relay:  RelayConfig{OutputConfig: sim(outputSim), UnlockTime: Duration(3 * time.Second)},
			Sensor: InputConfig{Driver: inputSim},
			Lights: LightsConfig{Green: LightConfig{OutputConfig: sim(outputSim)}, Red: LightConfig{OutputConfig: sim(outputSim)},
				Buzzer: LightConfig{OutputConfig: sim(outputSim)}},
			Emergency: EmergencyConfig{Input: InputConfig{Driver: inputSim}}},
	}
	d.config = c
	return d, nil
}

// seed loads the sample files once: a sample already imported (by its
// source name) is not imported again, so restarts keep the demo's scans.
func (d *demoSetup) seed(ctx context.Context, ix gate.Index, imp gate.Importer) error {
	recs, err := ix.Imports(ctx)
	if err != nil {
		return err
	}
	done := map[string]bool{}
	for _, r := range recs {
		done[r.Source] = true
	}
	for _, s := range demoSamples {
		source := "demo:" + s.file
		if done[source] {
			continue
		}
		b, err := samples.Read(s.file)
		if err != nil {
			return err
		}
		req := gate.ImportRequest{Provider: s.provider, Event: s.event, PriceType: s.priceType,
			OnError: gate.OnErrorSkip, Source: source, By: "demo"}
		if _, err := imp.Import(ctx, req, bytes.NewReader(b)); err != nil {
			return fmt.Errorf("import %s: %w", s.file, err)
		}
	}
	return nil
}

// Barcodes from the samples that show the decisions in the banner.
const (
	demoBarcodeOK     = "9836900602677354" // SecuTix, PRINTED, the Derby: ok, then already_used
	demoBarcodeLater  = "6848745268596938" // SecuTix, the Cup in two weeks: not_yet_valid
	demoBarcodeBoxOff = "BO-WTekurHSvCp4"  // box office, the Derby
)

// printBanner prints the tokens, once, and examples ready to paste.
func (d *demoSetup) printBanner(w io.Writer, addr string) {
	url := "http://" + addr
	fmt.Fprintf(w, `
admit demo is running on %[1]s (data in %[2]s)
Tokens for this run (printed once, new at every start):
  admin    %[3]s
  scanner  %[4]s
  viewer   %[5]s

Open %[1]s (operator), %[1]s/door (door staff) or %[1]s/admin in a browser and sign in with a token.

Try:
  export ADMIT_URL=%[1]s ADMIT_TOKEN=%[3]s
  curl -s -H "Authorization: Bearer $ADMIT_TOKEN" -d '{"barcode":"%[6]s","lane":"%[7]s"}' $ADMIT_URL/v1/scan   # ok: the turnstile unlocks
  curl -s -H "Authorization: Bearer $ADMIT_TOKEN" $ADMIT_URL/v1/lanes   # %[7]s unlocked, then idle once the simulated guest passed (1.5s)
  curl -s -H "Authorization: Bearer $ADMIT_TOKEN" -d '{"barcode":"%[6]s","lane":"%[7]s"}' $ADMIT_URL/v1/scan   # already_used (lane_busy while the guest passes)
  curl -s -H "Authorization: Bearer $ADMIT_TOKEN" -d '{"barcode":"%[8]s","lane":"%[11]s"}' $ADMIT_URL/v1/scan   # not_yet_valid, at the door
  bin/admit scan -lane %[11]s %[9]s   # a box-office ticket, from the command line
  curl -s -H "Authorization: Bearer $ADMIT_TOKEN" "$ADMIT_URL/v1/report?event=%[10]s"
  curl -s -H "Authorization: Bearer $ADMIT_TOKEN" -X POST $ADMIT_URL/v1/emergency/release   # every turnstile opens; .../clear ends it

`, url, d.config.DataDir, d.secrets["admin"], d.secrets["scanner"], d.secrets["viewer"],
		demoBarcodeOK, demoLane, demoBarcodeLater, demoBarcodeBoxOff, demoEventNow, demoDoor)
}
