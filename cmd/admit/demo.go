package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/internal/samples"
)

// The demo: what `admit serve` runs without a configuration (and what
// `make run` starts). Its data directory lives in the user's cache and is
// kept between runs (the banner says so: a ticket admitted yesterday is
// already_used today), `admit serve -demo-reset` empties it first; its two
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
	kept    bool // the samples were loaded by an earlier run: its scans count
	reset   bool // -demo-reset emptied the data directory
}

// demoMarker is a file in the demo's data directory that says it is the
// demo's, so -demo-reset never empties a directory it did not make.
const demoMarker = "ADMIT-DEMO"

// newDemo builds the demo configuration with fresh secrets; reset first
// empties the demo's data directory.
func newDemo(getenv func(string) string, reset bool) (*demoSetup, error) {
	dir, byDefault := getenv("ADMIT_DEMO_DIR"), false
	if dir == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			return nil, fmt.Errorf("demo: no cache directory for the demo data (set ADMIT_DEMO_DIR): %w", err)
		}
		dir, byDefault = filepath.Join(cache, "admit", "demo"), true
	}
	if reset {
		if err := resetDemoDir(dir, byDefault); err != nil {
			return nil, err
		}
	}
	// The marker goes only into a directory the demo starts empty (or its
	// own default one): ADMIT_DEMO_DIR naming a real store must never make
	// that store one -demo-reset deletes.
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("demo: %w", err)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	marker := filepath.Join(dir, demoMarker)
	if _, err := os.Stat(marker); errors.Is(err, fs.ErrNotExist) && (len(entries) == 0 || byDefault) {
		note := "This directory holds the data of admit's demo (admit serve without -config).\n" +
			"It is kept between runs; admit serve -demo-reset deletes it.\n"
		if err := os.WriteFile(marker, []byte(note), 0o644); err != nil {
			return nil, fmt.Errorf("demo: %w", err)
		}
	}
	d := &demoSetup{secrets: map[string]string{}, now: time.Now(), reset: reset}
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
	d.kept = done["demo:"+demoSamples[0].file]
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
	state := "The demo's data (tickets, scans, imports) is new and is kept between runs: a\n" +
		"ticket admitted now answers already_used in the next run too (admit serve -demo-reset\n" +
		"starts afresh)."
	switch {
	case d.reset:
		state = "The demo's data was deleted (-demo-reset) and starts afresh; it is kept between runs."
	case d.kept:
		state = "The demo's data (tickets, scans, imports) is kept from an earlier run: tickets\n" +
			"admitted then answer already_used now. Start afresh: admit serve -demo-reset (make run-fresh)."
	}
	fmt.Fprintf(w, `
admit demo is running on %[1]s
Data in %[2]s
%[12]s
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
		demoBarcodeOK, demoLane, demoBarcodeLater, demoBarcodeBoxOff, demoEventNow, demoDoor, state)
}

// resetDemoDir empties the demo's data directory: only one the demo made
// (its marker file is there, or it is the default one in the user's
// cache), and only while no admit holds it.
func resetDemoDir(dir string, byDefault bool) error {
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if _, err := os.Stat(filepath.Join(dir, demoMarker)); err != nil && !byDefault {
		return fmt.Errorf("demo: -demo-reset: %s does not hold the demo's data (no %s file in it); nothing was deleted", dir, demoMarker)
	}
	lock, err := lockDataDir(dir)
	if err != nil {
		return err
	}
	defer lock.Close()
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("demo: -demo-reset: %w", err)
	}
	for _, e := range entries {
		if e.Name() == dataLockFile {
			continue // held by us until the daemon takes it again
		}
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return fmt.Errorf("demo: -demo-reset: %w", err)
		}
	}
	return nil
}

// checkDemoReset refuses -demo-reset where it would not be the demo's own
// data directory it empties.
func (f ServeFlags) checkDemoReset() error {
	if !f.DemoReset {
		return nil
	}
	if f.ConfigPath != "" || f.DataDir != "" {
		return &exitError{code: 2, err: errors.New("-demo-reset empties the demo's own data directory only: it does not go with -config, ADMIT_CONFIG or -data-dir")}
	}
	return nil
}
