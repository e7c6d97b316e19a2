package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/admitgate/admit/httpapi"
)

// A door device paired with the daemon keeps scanning after the daemon
// restarts: its token's hash is in the data directory; the session tells
// the pages the venue's time zone.
func TestDevicesSurviveADaemonRestart(t *testing.T) {
	c := testConfig(t, "")
	var token string
	runDaemon(t, c, func(base string) {
		api := apiClient{t, base}
		var made httpapi.DeviceCreated
		api.must(201, "POST", "/v1/devices", adminSecret, httpapi.DeviceRequest{Name: "door-3 phone", Lanes: []string{"north-1"}}).decode(t, &made)
		var paired httpapi.PairResponse
		api.must(200, "POST", "/v1/devices/pair", "", httpapi.PairRequest{Code: made.Pairing.Code}).decode(t, &paired)
		token = paired.Token
	})
	if fi, err := os.Stat(filepath.Join(c.DataDir, httpapi.DevicesFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the devices file: %v, %v", fi, err)
	}

	_, base := startDaemon(t, c)
	api := apiClient{t, base}
	var sess httpapi.SessionResponse
	api.must(200, "GET", "/v1/session", token, nil).decode(t, &sess)
	if sess.Name != "door-3 phone" || sess.Role != httpapi.RoleScanner || sess.TimeZone != "Europe/Zurich" || len(sess.Lanes) != 1 {
		t.Errorf("session after the restart %+v", sess)
	}
	api.must(403, "POST", "/v1/scan", token, map[string]string{"barcode": "X", "lane": "south-1"})
}

// runDaemon runs the appliance, calls f with its base URL, and closes it.
func runDaemon(t *testing.T, c *Config, f func(base string)) {
	t.Helper()
	d, stop := openDaemon(t, c)
	defer stop()
	f("http://" + d.Addr().String())
}

// The API is told which lanes have a scanner of their own; a relay it
// knows from the lane's turnstile.
func TestLaneParts(t *testing.T) {
	infos := []httpapi.LaneInfo{{}, {}, {}}
	infos[0].ID, infos[1].ID, infos[2].ID = "usb", "door", "serial"
	laneParts(infos, []LaneConfig{
		{ID: "door"},
		{ID: "usb", Scanner: ScannerConfig{Driver: scannerUSBHID}},
		{ID: "serial", Scanner: ScannerConfig{Driver: scannerSerial}},
	})
	if !infos[0].HasScanner || infos[1].HasScanner || !infos[2].HasScanner {
		t.Errorf("has scanner: %v %v %v", infos[0].HasScanner, infos[1].HasScanner, infos[2].HasScanner)
	}
}
