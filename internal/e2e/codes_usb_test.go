package e2e_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/admitgate/admit/codes"
	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/httpapi"
	"github.com/admitgate/admit/internal/usbemu"
)

// Codes that prove themselves, scanned as a gate scans them: a HID POS
// scanner and a keyboard-wedge scanner (AIM identifiers on) read pretix
// signed codes and a rotating code from QR, PDF417 and Aztec symbols; the
// daemon, configured with a pretix_sig1 and a rotating provider, admits
// each ticket once across both lanes, refuses a forged code, and reports
// the figures exactly.
func TestCodesOnEmulatedUSB(t *testing.T) {
	emu := usbemu.Start(t)
	pos, err := emu.AddScanner(usbemu.ScannerOptions{Serial: "POS1", POS: true})
	if err != nil {
		t.Fatal(err)
	}
	kbd, err := emu.AddScanner(usbemu.ScannerOptions{Serial: "KBD1"})
	if err != nil {
		t.Fatal(err)
	}
	bin := buildAdmit(t)

	signing := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{5}, ed25519.SeedSize))
	eventKey, customerKey := bytes.Repeat([]byte{0xe9}, 20), bytes.Repeat([]byte{0xc4}, 20)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "tm.key"), []byte(hex.EncodeToString(eventKey)), 0o600); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	config := fmt.Sprintf(`data_dir = %q
[http]
listen = "127.0.0.1:0"
[[tokens]]
name = "ops"
role = "admin"
secret = %q
[[events]]
id = "E"
opens_at = %s
closes_at = %s
[[providers]]
id = "pretix"
kind = "pretix_sig1"
keys = [%q]
[[providers.items]]
item = 12
price_type = { code = "ADU", name = "Adult" }
events = ["E"]
[[providers.items]]
item = 12
variation = 3
price_type = { code = "RED", name = "Reduced" }
[[providers]]
id = "tm"
kind = "rotating"
event_key_file = "tm.key"
[[lanes]]
id = "north-1"
[lanes.scanner]
driver = "usbhid"
serial = "POS1"
protocol = "pos"
symbologies = "qr,pdf417,aztec"
dedup_window = "-1s"
[[lanes]]
id = "south-1"
[lanes.scanner]
driver = "usbhid"
serial = "KBD1"
aim = true
symbologies = "qr,pdf417,aztec"
dedup_window = "-1s"
`, filepath.Join(dir, "data"), adminSecret, now.Add(-time.Hour).Format(time.RFC3339), now.Add(6*time.Hour).Format(time.RFC3339),
		codes.PublicKeyText(signing.Public().(ed25519.PublicKey)))
	path := filepath.Join(dir, "admit.toml")
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "check-config", path).CombinedOutput(); err != nil {
		t.Fatalf("check-config: %v\n%s\nconfig:\n%s", err, out, config)
	}
	d := startDaemon(t, bin, path)
	d.must(200, "POST", "/v1/imports?provider=tm&event=E&format=csv", "barcode,price_type,customer_key\nTM-0001,ADU,"+hex.EncodeToString(customerKey)+"\n")
	d.waitLanes(func(ls []gate.LaneStatus) bool {
		return len(ls) == 2 && ls[0].ScannerConnected && ls[1].ScannerConnected
	})

	sign := func(seed string, item, variation int64) string {
		tk := codes.Sig1Ticket{Seed: seed, Item: item, Variation: variation}
		codes.Sig1Bounds(&tk, time.Time{}, time.Time{})
		code, err := codes.SignSig1(signing, tk)
		if err != nil {
			t.Fatal(err)
		}
		return code
	}
	day, reduced := sign("CTJqJOl1H", 12, 0), sign("Qm4ZkR8wT", 12, 3)
	forgedTk := codes.Sig1Ticket{Seed: "CTJqJOl1H", Item: 12}
	forged, err := codes.SignSig1(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{6}, ed25519.SeedSize)), forgedTk)
	if err != nil {
		t.Fatal(err)
	}
	rotating, err := codes.Rotate("TM-0001", eventKey, customerKey, time.Now(), 0)
	if err != nil {
		t.Fatal(err)
	}

	steps := []struct {
		what    string
		scan    func() error
		lane    string
		barcode string
		reason  gate.Reason
	}{
		{"a signed QR code on the POS scanner", func() error { return pos.SendPOS("]Q1", []byte(day), 0) }, "north-1", day, gate.ReasonOK},
		{"a signed PDF417 code on the POS scanner", func() error { return pos.SendPOS("]L2", []byte(reduced), 0) }, "north-1", reduced, gate.ReasonOK},
		{"the first code again, typed by the keyboard scanner", func() error { return kbd.Type("us", "]Q1"+day, 0) }, "south-1", day, gate.ReasonAlreadyUsed},
		{"a rotating Aztec code", func() error { return pos.SendPOS("]z0", []byte(rotating), 0) }, "north-1", "TM-0001", gate.ReasonOK},
		{"the rotating code at the other lane", func() error { return kbd.Type("us", "]z0"+rotating, 0) }, "south-1", "TM-0001", gate.ReasonAlreadyUsed},
		{"a forged PDF417 code", func() error { return kbd.Type("us", "]L2"+forged, 0) }, "south-1", forged, gate.ReasonUnknown},
	}
	for i, s := range steps {
		if err := s.scan(); err != nil {
			t.Fatal(err)
		}
		e := d.waitEntry(uint64(i + 1))
		if e.Decision.Reason != s.reason || e.Decision.Lane != s.lane || e.Decision.Barcode != s.barcode || !strings.HasPrefix(e.Source, "usb:") {
			t.Fatalf("%s: %+v", s.what, e)
		}
	}

	var rep gate.Report
	if err := json.Unmarshal(d.must(200, "GET", "/v1/report?event=E", ""), &rep); err != nil {
		t.Fatal(err)
	}
	got := map[string][3]int{}
	for _, r := range rep.Rows {
		got[r.Provider+"/"+r.PriceType] = [3]int{r.Sold, r.Used, r.Inside}
	}
	want := map[string][3]int{"pretix/ADU": {1, 1, 1}, "pretix/RED": {1, 1, 1}, "tm/ADU": {1, 1, 1}}
	if fmt.Sprint(got) != fmt.Sprint(want) || rep.Denials[gate.ReasonAlreadyUsed] != 2 || rep.Denials[gate.ReasonUnknown] != 1 {
		t.Fatalf("report: %+v, want rows %v", rep, want)
	}
	d.stop(t)
}

// waitLanes polls GET /v1/lanes until ok holds.
func (d *daemon) waitLanes(ok func([]gate.LaneStatus) bool) []gate.LaneStatus {
	d.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var r httpapi.LanesResponse
		if err := json.Unmarshal(d.must(200, "GET", "/v1/lanes", ""), &r); err != nil {
			d.t.Fatal(err)
		}
		if ok(r.Lanes) {
			return r.Lanes
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("timed out waiting for the lanes: %+v", r.Lanes)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
