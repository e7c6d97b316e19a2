package httpapi_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/httpapi"
)

// fakeClock is a clock the test moves.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.ns.Store(time.Date(2026, 12, 7, 18, 0, 0, 0, time.UTC).UnixNano())
	return c
}

func (c *fakeClock) now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *fakeClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// deviceServer serves the echo index with a device store in a temporary
// directory.
func deviceServer(t *testing.T, path string, clock *fakeClock) (*httpapi.DeviceStore, string) {
	t.Helper()
	ds, err := httpapi.OpenDevices(path, 0, clock.now)
	if err != nil {
		t.Fatal(err)
	}
	ix := echoIndex(nil)
	ix.EventsFunc = func(context.Context) ([]gate.Event, error) {
		return []gate.Event{{ID: "derby", Name: "FC Example – Derby"}}, nil
	}
	_, base := testServer(t, httpapi.Config{Index: ix, Devices: ds, TimeZone: "Europe/Zurich"})
	return ds, base
}

// pairDevice creates a device for lanes and pairs it, returning its id and
// token.
func pairDevice(t *testing.T, base, name string, lanes ...string) (string, string) {
	t.Helper()
	var created httpapi.DeviceCreated
	r := do(t, "POST", base+"/v1/devices", adminSecret, httpapi.DeviceRequest{Name: name, Lanes: lanes})
	if r.Status != 201 {
		t.Fatalf("create %s: %d %s", name, r.Status, r.Body)
	}
	r.json(t, &created)
	var paired httpapi.PairResponse
	r = do(t, "POST", base+"/v1/devices/pair", "", httpapi.PairRequest{Code: created.Pairing.Code})
	if r.Status != 200 {
		t.Fatalf("pair %s: %d %s", name, r.Status, r.Body)
	}
	r.json(t, &paired)
	return created.Device.ID, paired.Token
}

// An admin creates a device for one lane and is given a one-time pairing
// code; the door page exchanges it, once, for a scanner token limited to
// that lane; the list never shows a secret; unpairing makes the device's
// next request 401.
func TestDevicePairingAndUnpairing(t *testing.T) {
	clock := newFakeClock()
	path := filepath.Join(t.TempDir(), "data", httpapi.DevicesFile)
	_, base := deviceServer(t, path, clock)

	var created httpapi.DeviceCreated
	r := do(t, "POST", base+"/v1/devices", adminSecret, httpapi.DeviceRequest{Name: " door-3 phone ", Lanes: []string{"south-1", "north-1"}})
	if r.Status != 201 {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	r.json(t, &created)
	d, p := created.Device, created.Pairing
	if d.Name != "door-3 phone" || strings.Join(d.Lanes, ",") != "north-1,south-1" || d.State != "waiting" || d.CreatedBy != "ops" ||
		!strings.HasPrefix(d.ID, "dev-") {
		t.Errorf("device %+v", d)
	}
	if len(p.Code) != 19 || p.Path != "/door#pair="+p.Code || !p.ExpiresAt.Equal(clock.now().Add(httpapi.DefaultPairingTTL)) {
		t.Errorf("pairing %+v", p)
	}

	// Nobody but an admin makes or lists devices.
	for _, secret := range []string{viewerSecret, scannerSecret} {
		if r := do(t, "GET", base+"/v1/devices", secret, nil); r.Status != 403 {
			t.Errorf("GET /v1/devices as %s: %d", secret, r.Status)
		}
		if r := do(t, "POST", base+"/v1/devices", secret, httpapi.DeviceRequest{Name: "x", Lanes: []string{"north-1"}}); r.Status != 403 {
			t.Errorf("POST /v1/devices as %s: %d", secret, r.Status)
		}
	}

	// The code is typed as read off the screen: lower case, no dashes, O
	// for 0 and I or L for 1 all do.
	typed := strings.NewReplacer("-", "", "0", "o", "1", "l").Replace(strings.ToLower(p.Code))
	var paired httpapi.PairResponse
	r = do(t, "POST", base+"/v1/devices/pair", "", httpapi.PairRequest{Code: typed})
	if r.Status != 200 || r.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("pair: %d %s (Cache-Control %q)", r.Status, r.Body, r.Header.Get("Cache-Control"))
	}
	r.json(t, &paired)
	if len(paired.Token) < 40 || paired.Device.ID != d.ID || paired.Device.State != "paired" {
		t.Fatalf("paired %+v", paired)
	}
	// Once only.
	if r := do(t, "POST", base+"/v1/devices/pair", "", httpapi.PairRequest{Code: p.Code}); r.Status != 401 || r.errorCode(t) != gate.EUNAUTHORIZED ||
		!strings.Contains(string(r.Body), "ask an admin for a new one") {
		t.Errorf("the code again: %d %s", r.Status, r.Body)
	}

	// The device's token is a scanner token for its lanes.
	var sess httpapi.SessionResponse
	do(t, "GET", base+"/v1/session", paired.Token, nil).json(t, &sess)
	if sess.Name != "door-3 phone" || sess.Role != httpapi.RoleScanner || sess.Device != d.ID || sess.TimeZone != "Europe/Zurich" ||
		len(sess.Lanes) != 2 || sess.Lanes[0].ID != "north-1" || sess.Lanes[1].ID != "south-1" {
		t.Errorf("session %+v", sess)
	}
	var dec gate.Decision
	do(t, "POST", base+"/v1/scan", paired.Token, httpapi.ScanRequest{Barcode: "OK-1", Lane: "north-1"}).json(t, &dec)
	if !dec.Admit {
		t.Errorf("scan at its lane: %+v", dec)
	}
	if r := do(t, "POST", base+"/v1/scan", paired.Token, httpapi.ScanRequest{Barcode: "OK-2", Lane: "exit-1"}); r.Status != 403 {
		t.Errorf("scan at another lane: %d %s", r.Status, r.Body)
	}
	// A door page reads the events and the emergency release, nothing else.
	for _, path := range []string{"/v1/events", "/v1/emergency"} {
		if r := do(t, "GET", base+path, paired.Token, nil); r.Status != 200 {
			t.Errorf("GET %s: %d %s", path, r.Status, r.Body)
		}
	}
	for _, path := range []string{"/v1/devices", "/v1/scans", "/v1/lanes"} {
		if r := do(t, "GET", base+path, paired.Token, nil); r.Status != 403 {
			t.Errorf("GET %s with a device token: %d", path, r.Status)
		}
	}

	// The list shows the device as paired and when it was last seen, and no
	// secret: neither the token, nor the code, nor their hashes.
	r = do(t, "GET", base+"/v1/devices", adminSecret, nil)
	var list httpapi.DevicesResponse
	r.json(t, &list)
	if len(list.Devices) != 1 || list.Devices[0].State != "paired" || !list.Devices[0].PairedAt.Equal(clock.now()) ||
		!list.Devices[0].LastSeen.Equal(clock.now()) {
		t.Errorf("list %s", r.Body)
	}
	tokenHash := sha256.Sum256([]byte(paired.Token))
	for _, secret := range []string{paired.Token, p.Code, hex.EncodeToString(tokenHash[:]), "sha256"} {
		if strings.Contains(string(r.Body), secret) {
			t.Errorf("the list shows %q: %s", secret, r.Body)
		}
	}

	// Unpaired: the next request is 401.
	if r := do(t, "DELETE", base+"/v1/devices/"+d.ID, adminSecret, nil); r.Status != 200 {
		t.Fatalf("unpair: %d %s", r.Status, r.Body)
	}
	if r := do(t, "POST", base+"/v1/scan", paired.Token, httpapi.ScanRequest{Barcode: "OK-3", Lane: "north-1"}); r.Status != 401 {
		t.Errorf("a scan after unpairing: %d %s", r.Status, r.Body)
	}
	if r := do(t, "DELETE", base+"/v1/devices/"+d.ID, adminSecret, nil); r.Status != 404 {
		t.Errorf("unpair twice: %d %s", r.Status, r.Body)
	}
	do(t, "GET", base+"/v1/devices", adminSecret, nil).json(t, &list)
	if len(list.Devices) != 0 {
		t.Errorf("after unpairing: %+v", list.Devices)
	}
}

// A device's token survives a restart; the file holds its hash and the
// pairing code's, never the secrets, and is readable by the appliance only.
func TestDevicesSurviveARestart(t *testing.T) {
	clock := newFakeClock()
	path := filepath.Join(t.TempDir(), httpapi.DevicesFile)
	_, base := deviceServer(t, path, clock)
	id, token := pairDevice(t, base, "kiosk north", "north-1")
	var waiting httpapi.DeviceCreated
	do(t, "POST", base+"/v1/devices", adminSecret, httpapi.DeviceRequest{Name: "kiosk south", Lanes: []string{"south-1"}}).json(t, &waiting)

	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256([]byte(token))
	if !strings.Contains(string(b), hex.EncodeToString(h[:])) {
		t.Errorf("the file does not hold the token's hash:\n%s", b)
	}
	if strings.Contains(string(b), token) || strings.Contains(string(b), waiting.Pairing.Code) {
		t.Errorf("the file holds a secret:\n%s", b)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("file mode %v, %v", fi.Mode(), err)
	}
	if m, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".*tmp*")); len(m) != 0 {
		t.Errorf("temporary files left: %v", m)
	}

	// A new server on the same file: the token works, and so does the
	// pending code.
	_, base2 := deviceServer(t, path, clock)
	var sess httpapi.SessionResponse
	do(t, "GET", base2+"/v1/session", token, nil).json(t, &sess)
	if sess.Device != id || strings.Join(laneIDs(sess.Lanes), ",") != "north-1" {
		t.Errorf("session after the restart %+v", sess)
	}
	if r := do(t, "POST", base2+"/v1/devices/pair", "", httpapi.PairRequest{Code: waiting.Pairing.Code}); r.Status != 200 {
		t.Errorf("a code made before the restart: %d %s", r.Status, r.Body)
	}
}

func laneIDs(ls []httpapi.SessionLane) []string {
	var out []string
	for _, l := range ls {
		out = append(out, l.ID)
	}
	return out
}

// A pairing code expires; an admin makes a new one, and the device's old
// token works until the new code is used, which replaces it.
func TestPairingCodesExpireAndAreRenewed(t *testing.T) {
	clock := newFakeClock()
	_, base := deviceServer(t, filepath.Join(t.TempDir(), httpapi.DevicesFile), clock)
	id, oldToken := pairDevice(t, base, "door 3", "north-1")

	var renewed httpapi.DeviceCreated
	r := do(t, "POST", base+"/v1/devices/"+id+"/pairing", adminSecret, nil)
	if r.Status != 200 {
		t.Fatalf("new pairing: %d %s", r.Status, r.Body)
	}
	r.json(t, &renewed)
	if renewed.Device.State != "paired" || renewed.Device.PairingExpiresAt.IsZero() {
		t.Errorf("renewed %+v", renewed.Device)
	}
	clock.advance(httpapi.DefaultPairingTTL)
	if r := do(t, "POST", base+"/v1/devices/pair", "", httpapi.PairRequest{Code: renewed.Pairing.Code}); r.Status != 401 {
		t.Errorf("an expired code: %d %s", r.Status, r.Body)
	}
	var list httpapi.DevicesResponse
	do(t, "GET", base+"/v1/devices", adminSecret, nil).json(t, &list)
	if !list.Devices[0].PairingExpiresAt.IsZero() {
		t.Errorf("an expired code is still shown: %+v", list.Devices[0])
	}
	if r := do(t, "GET", base+"/v1/session", oldToken, nil); r.Status != 200 {
		t.Errorf("the old token before a new pairing: %d", r.Status)
	}

	do(t, "POST", base+"/v1/devices/"+id+"/pairing", adminSecret, nil).json(t, &renewed)
	var paired httpapi.PairResponse
	do(t, "POST", base+"/v1/devices/pair", "", httpapi.PairRequest{Code: renewed.Pairing.Code}).json(t, &paired)
	if paired.Token == oldToken || paired.Device.ID != id {
		t.Fatalf("paired again %+v", paired)
	}
	if r := do(t, "GET", base+"/v1/session", oldToken, nil); r.Status != 401 {
		t.Errorf("the old token after the new pairing: %d", r.Status)
	}
	if r := do(t, "GET", base+"/v1/session", paired.Token, nil); r.Status != 200 {
		t.Errorf("the new token: %d", r.Status)
	}

	// A device that never paired and whose code expired says so.
	var w httpapi.DeviceCreated
	do(t, "POST", base+"/v1/devices", adminSecret, httpapi.DeviceRequest{Name: "spare", Lanes: []string{"exit-1"}}).json(t, &w)
	clock.advance(httpapi.DefaultPairingTTL + time.Second)
	do(t, "GET", base+"/v1/devices", adminSecret, nil).json(t, &list)
	if got := list.Devices[1]; got.State != "expired" {
		t.Errorf("spare %+v", got)
	}
}

// Bad requests are refused in words, and change nothing.
func TestDeviceRequestsRefused(t *testing.T) {
	clock := newFakeClock()
	path := filepath.Join(t.TempDir(), httpapi.DevicesFile)
	_, base := deviceServer(t, path, clock)
	pairDevice(t, base, "Door 3", "north-1")
	for _, c := range []struct {
		name   string
		body   any
		status int
		words  string
	}{
		{"no name", httpapi.DeviceRequest{Lanes: []string{"north-1"}}, 400, "needs a name"},
		{"blank name", httpapi.DeviceRequest{Name: "   ", Lanes: []string{"north-1"}}, 400, "needs a name"},
		{"long name", httpapi.DeviceRequest{Name: strings.Repeat("x", 65), Lanes: []string{"north-1"}}, 400, "at most 64 bytes"},
		{"control character", httpapi.DeviceRequest{Name: "door\n3", Lanes: []string{"north-1"}}, 400, "printable"},
		{"no lanes", httpapi.DeviceRequest{Name: "d"}, 400, "at least one lane"},
		{"unknown lane", httpapi.DeviceRequest{Name: "d", Lanes: []string{"west-9"}}, 400, `unknown lane "west-9"`},
		{"a lane twice", httpapi.DeviceRequest{Name: "d", Lanes: []string{"north-1", "north-1"}}, 400, "named twice"},
		{"a name taken", httpapi.DeviceRequest{Name: "door 3", Lanes: []string{"north-1"}}, 409, `named "Door 3" already`},
		{"a token's name", httpapi.DeviceRequest{Name: "Handheld", Lanes: []string{"north-1"}}, 409, "configured token"},
		{"unknown field", `{"name":"d","lanes":["north-1"],"role":"admin"}`, 400, "role"},
	} {
		r := do(t, "POST", base+"/v1/devices", adminSecret, c.body)
		var e httpapi.ErrorBody
		r.json(t, &e)
		if r.Status != c.status || !strings.Contains(e.Error.Message, c.words) {
			t.Errorf("%s: %d %s, want %d saying %q", c.name, r.Status, r.Body, c.status, c.words)
		}
	}
	for _, code := range []string{"", "AAAA-BBBB-CCCC-DDDD", strings.Repeat("A", 65)} {
		if r := do(t, "POST", base+"/v1/devices/pair", "", httpapi.PairRequest{Code: code}); r.Status/100 != 4 {
			t.Errorf("pair %q: %d %s", code, r.Status, r.Body)
		}
	}
	var list httpapi.DevicesResponse
	do(t, "GET", base+"/v1/devices", adminSecret, nil).json(t, &list)
	if len(list.Devices) != 1 {
		t.Errorf("devices after the refusals: %+v", list.Devices)
	}
	if r := do(t, "POST", base+"/v1/devices/dev-nope/pairing", adminSecret, nil); r.Status != 404 {
		t.Errorf("pairing an unknown device: %d", r.Status)
	}
}

// A server without a device store answers 503 where pairing needs one and
// lists no device.
func TestNoDeviceStore(t *testing.T) {
	_, base := testServer(t, httpapi.Config{Index: echoIndex(nil)})
	if r := do(t, "POST", base+"/v1/devices", adminSecret, httpapi.DeviceRequest{Name: "d", Lanes: []string{"north-1"}}); r.Status != 503 {
		t.Errorf("create: %d", r.Status)
	}
	if r := do(t, "GET", base+"/v1/devices", adminSecret, nil); r.Status != 200 || !strings.Contains(string(r.Body), `"devices":[]`) {
		t.Errorf("list: %d %s", r.Status, r.Body)
	}
	if r := do(t, "GET", base+"/v1/session", "an-unknown-token-0123456789", nil); r.Status != 401 {
		t.Errorf("an unknown token: %d", r.Status)
	}
}

// A damaged file stops the appliance with words, rather than forgetting
// its devices or writing over the file.
func TestDamagedDevicesFile(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"not json":      "{",
		"newer version": `{"version": 2, "devices": []}`,
		"unknown field": `{"version": 1, "devices": [], "x": 1}`,
		"bad hash":      `{"version": 1, "devices": [{"id": "dev-1", "name": "a", "lanes": ["n"], "token_sha256": "zz"}]}`,
		"no lanes":      `{"version": 1, "devices": [{"id": "dev-1", "name": "a", "lanes": [], "token_sha256": "` + strings.Repeat("ab", 32) + `"}]}`,
		"id twice": `{"version": 1, "devices": [{"id": "dev-1", "name": "a", "lanes": ["n"]},
			{"id": "dev-1", "name": "b", "lanes": ["n"]}]}`,
	} {
		path := filepath.Join(dir, strings.ReplaceAll(name, " ", "-"))
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := httpapi.OpenDevices(path, 0, nil)
		if err == nil || !strings.Contains(err.Error(), "is damaged") || !strings.Contains(err.Error(), "move it away") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// Scans with device tokens go on while devices are paired and unpaired
// beside them (run with -race).
func TestDeviceTokensUnderChange(t *testing.T) {
	clock := newFakeClock()
	_, base := deviceServer(t, filepath.Join(t.TempDir(), httpapi.DevicesFile), clock)
	_, token := pairDevice(t, base, "steady", "north-1")
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var failures atomic.Int64
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if r := do(t, "POST", base+"/v1/scan", token, httpapi.ScanRequest{Barcode: "OK-x", Lane: "north-1"}); r.Status != 200 {
					failures.Add(1)
				}
			}
		}()
	}
	for i := range 10 {
		id, tok := pairDevice(t, base, "churn "+string(rune('a'+i)), "south-1")
		if r := do(t, "DELETE", base+"/v1/devices/"+id, adminSecret, nil); r.Status != 200 {
			t.Errorf("unpair: %d", r.Status)
		}
		if r := do(t, "GET", base+"/v1/session", tok, nil); r.Status != 401 {
			t.Errorf("an unpaired device: %d", r.Status)
		}
	}
	close(stop)
	wg.Wait()
	if n := failures.Load(); n != 0 {
		t.Errorf("%d scans by the steady device failed while others changed", n)
	}
}

// FuzzDevicesFile: whatever the devices file holds, opening it is an error
// or a store whose devices can be listed, and whose tokens are the hashes
// the file gives (a token is never accepted for a hash it does not match).
func FuzzDevicesFile(f *testing.F) {
	f.Add(`{"version": 1, "devices": []}`)
	f.Add(`{"version": 1, "devices": [{"id": "dev-1", "name": "a", "lanes": ["north-1"], "created_at": "2026-12-07T18:00:00Z",
		"created_by": "ops", "token_sha256": "` + strings.Repeat("ab", 32) + `"}]}`)
	f.Add(`{"version": 1, "devices": [{"id": "dev-1", "name": "a", "lanes": [], "pairing_sha256": "` + strings.Repeat("0", 64) + `",
		"pairing_expires_at": "2026-12-07T18:15:00Z"}]}`)
	f.Add(`{"version": 1, "devices": [null]}`)
	f.Add(`{`)
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, body string) {
		path := filepath.Join(dir, "devices.json")
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		ds, err := httpapi.OpenDevices(path, 0, nil)
		if err != nil {
			return
		}
		for _, d := range ds.List() {
			if d.ID == "" || d.State == "" {
				t.Errorf("device %+v", d)
			}
		}
		if _, _, err := ds.Pair("0000-0000-0000-0000"); err == nil {
			t.Error("a pairing code matched a hash of zeros or a fuzzed hash")
		}
	})
}
