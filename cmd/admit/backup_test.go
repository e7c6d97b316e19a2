package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/httpapi"
)

// runAdmit runs an admit command in process with env as its environment
// and returns its output and exit code.
func runAdmit(t *testing.T, env map[string]string, args ...string) (string, int) {
	t.Helper()
	var out bytes.Buffer
	m := &Main{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &out, Getenv: func(k string) string { return env[k] }}
	code := exitCode(m.Run(t.Context(), args), &out)
	return out.String(), code
}

// TestBackupUnderLoadRestores: a backup taken through the API while lanes
// scan holds every admission answered before it began (the journal and the
// redemptions), with the door devices, and a restored appliance serves.
func TestBackupUnderLoadRestores(t *testing.T) {
	now := time.Now()
	c := testConfig(t, "")
	c.Store.CommitTimeout = Duration(time.Minute) // a loaded machine's fsync is no fault here
	c.Providers = []ProviderConfig{{ID: "box-office"}}
	c.Events = []EventConfig{{ID: "MATCH-2026-12-05", OpensAt: now.Add(-time.Hour), ClosesAt: now.Add(6 * time.Hour)}}
	_, base := startDaemon(t, c)
	api := apiClient{t: t, base: base}
	const clients, perClient = 4, 150
	var lines strings.Builder
	for i := range clients * perClient {
		fmt.Fprintf(&lines, "BK-%04d\n", i)
	}
	lines.WriteString("BK-SPARE\n")
	api.must(200, "POST", "/v1/imports?provider=box-office&event=MATCH-2026-12-05&format=lines", adminSecret, lines.String())
	var dev httpapi.DeviceCreated
	api.must(201, "POST", "/v1/devices", adminSecret, httpapi.DeviceRequest{Name: "gate-phone", Lanes: []string{"south-1"}}).decode(t, &dev)

	type ack struct {
		barcode string
		seq     uint64
	}
	var mu sync.Mutex
	var acked []ack
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perClient {
				select {
				case <-stop:
					return
				default:
				}
				bc := fmt.Sprintf("BK-%04d", w*perClient+i)
				a := api.do("POST", "/v1/scan", scannerSecret, scanBody(bc, "south-1"))
				var d gate.Decision
				a.decode(t, &d)
				if a.status != 200 || d.Reason != gate.ReasonOK {
					t.Errorf("%s: %d %+v", bc, a.status, d)
					return
				}
				api.do("POST", "/v1/scan", scannerSecret, scanBody("NOPE-"+bc, "south-1")) // a refusal between
				mu.Lock()
				acked = append(acked, ack{bc, d.Seq})
				mu.Unlock()
			}
		}()
	}
	deadline := time.Now().Add(time.Minute)
	for {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 60 || time.Now().After(deadline) {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	mu.Lock()
	before := append([]ack(nil), acked...)
	mu.Unlock()
	dir := filepath.Join(t.TempDir(), "backup-1")
	env := map[string]string{"ADMIT_URL": base, "ADMIT_TOKEN": adminSecret}
	out, code := runAdmit(t, env, "backup", dir)
	close(stop)
	wg.Wait()
	if code != 0 || !strings.Contains(out, "written to "+dir) {
		t.Fatalf("admit backup: exit %d\n%s", code, out)
	}
	if len(before) < 60 {
		t.Fatalf("only %d admissions before the backup", len(before))
	}
	if _, err := os.Stat(filepath.Join(dir, "devices.json")); err != nil {
		t.Errorf("the backup lacks the door devices: %v", err)
	}

	// Refusals: a scanner may not back up, nor into the data directory, nor
	// into the same directory twice.
	if out, code := runAdmit(t, map[string]string{"ADMIT_URL": base, "ADMIT_TOKEN": scannerSecret}, "backup", dir+"-x"); code != 1 || !strings.Contains(out, "403") {
		t.Errorf("a scanner's backup: exit %d %s", code, out)
	}
	if out, code := runAdmit(t, env, "backup", filepath.Join(c.DataDir, "inside")); code != 1 || !strings.Contains(out, "inside the data directory") {
		t.Errorf("a backup inside the data directory: exit %d %s", code, out)
	}
	if out, code := runAdmit(t, env, "backup", dir); code != 1 || !strings.Contains(out, "not empty") {
		t.Errorf("a backup into a backup: exit %d %s", code, out)
	}
	// The running appliance's directory is neither backed up offline nor
	// restored into.
	if out, code := runAdmit(t, nil, "backup", "-data-dir", c.DataDir, dir+"-offline"); code != 1 || !strings.Contains(out, "holds the data directory") {
		t.Errorf("an offline backup of a running appliance: exit %d %s", code, out)
	}
	if out, code := runAdmit(t, nil, "restore", dir, "-data-dir", c.DataDir); code != 1 || !strings.Contains(out, "restore only into an empty") {
		t.Errorf("a restore over a store: exit %d %s", code, out)
	}

	// Restore into a new data directory, and serve it.
	data2 := filepath.Join(t.TempDir(), "restored")
	out, code = runAdmit(t, nil, "restore", dir, "-data-dir", data2)
	if code != 0 || !strings.Contains(out, "restored store") {
		t.Fatalf("admit restore: exit %d\n%s", code, out)
	}
	c2 := *c
	c2.DataDir = data2
	_, base2 := startDaemon(t, &c2)
	api2 := apiClient{t: t, base: base2}
	var maxBefore uint64
	for _, a := range before {
		maxBefore = max(maxBefore, a.seq)
	}
	feed := func(api apiClient) []httpapi.FeedEntry {
		var all []httpapi.FeedEntry
		for uint64(len(all)) < maxBefore {
			var r httpapi.ScansResponse
			api.must(200, "GET", fmt.Sprintf("/v1/scans?after=%d&limit=1000", len(all)), viewerSecret, nil).decode(t, &r)
			if len(r.Entries) == 0 {
				break
			}
			all = append(all, r.Entries...)
		}
		return all[:min(len(all), int(maxBefore))]
	}
	original, restored := feed(api), feed(api2)
	if len(restored) != int(maxBefore) || len(original) != len(restored) {
		t.Fatalf("the restored journal holds %d entries up to %d (the appliance %d)", len(restored), maxBefore, len(original))
	}
	for i := range original {
		a, b := original[i], restored[i]
		if a.Seq != b.Seq || a.Kind != b.Kind || (a.Decision == nil) != (b.Decision == nil) ||
			a.Decision != nil && (a.Decision.Barcode != b.Decision.Barcode || a.Decision.Reason != b.Decision.Reason || a.Decision.Admit != b.Decision.Admit) {
			t.Fatalf("journal entry %d: restored %+v, the appliance %+v", a.Seq, b, a)
		}
	}
	for _, a := range before {
		var v gate.TicketView
		api2.must(200, "GET", "/v1/tickets/"+url.PathEscape(a.barcode), viewerSecret, nil).decode(t, &v)
		if len(v.Redemptions) != 1 || v.Redemptions[0].Admissions != 1 || v.Redemptions[0].First.Seq != a.seq {
			t.Fatalf("%s, admitted as %d before the backup: restored redemptions %+v", a.barcode, a.seq, v.Redemptions)
		}
	}
	var d gate.Decision
	api2.must(200, "POST", "/v1/scan", scannerSecret, scanBody(before[0].barcode, "north-1")).decode(t, &d)
	if d.Reason != gate.ReasonAlreadyUsed {
		t.Errorf("%s at the restored appliance: %+v", before[0].barcode, d)
	}
	api2.must(200, "POST", "/v1/scan", scannerSecret, scanBody("BK-SPARE", "north-1")).decode(t, &d)
	if d.Reason != gate.ReasonOK {
		t.Errorf("an unused ticket at the restored appliance: %+v", d)
	}
	var devs httpapi.DevicesResponse
	api2.must(200, "GET", "/v1/devices", adminSecret, nil).decode(t, &devs)
	if len(devs.Devices) != 1 || devs.Devices[0].Name != "gate-phone" {
		t.Errorf("the restored appliance's door devices: %+v", devs)
	}
}

// TestBackupOffline: admit backup -data-dir backs up a stopped appliance,
// and the backup restores.
func TestBackupOffline(t *testing.T) {
	now := time.Now()
	c := testConfig(t, "")
	c.Store.CommitTimeout = Duration(time.Minute) // a loaded machine's fsync is no fault here
	c.Providers = []ProviderConfig{{ID: "box-office"}}
	c.Events = []EventConfig{{ID: "MATCH-2026-12-05", OpensAt: now.Add(-time.Hour), ClosesAt: now.Add(6 * time.Hour)}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d := &Daemon{Config: c, Logger: testLogger(), Listener: ln}
	if err := d.Open(t.Context()); err != nil {
		t.Fatal(err)
	}
	api := apiClient{t: t, base: "http://" + d.Addr().String()}
	api.must(200, "POST", "/v1/imports?provider=box-office&event=MATCH-2026-12-05&format=lines", adminSecret, "OFF-1\nOFF-2\n")
	api.must(200, "POST", "/v1/scan", scannerSecret, scanBody("OFF-1", "south-1"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.Close(ctx); err != nil {
		t.Fatal(err)
	}

	dir := filepath.Join(t.TempDir(), "b")
	if out, code := runAdmit(t, nil, "backup", "-data-dir", c.DataDir, dir); code != 0 || !strings.Contains(out, "journal up to 1, 2 tickets") {
		t.Fatalf("offline backup: exit %d\n%s", code, out)
	}
	if out, code := runAdmit(t, nil, "backup", "-data-dir", filepath.Join(t.TempDir(), "none"), dir+"2"); code != 1 || !strings.Contains(out, "no store in") {
		t.Errorf("an offline backup of nothing: exit %d %s", code, out)
	}
	if out, code := runAdmit(t, nil, "restore", dir); code != 2 || !strings.Contains(out, "needs -data-dir") {
		t.Errorf("restore without a data directory: exit %d %s", code, out)
	}
	if out, code := runAdmit(t, nil, "restore", t.TempDir(), "-data-dir", filepath.Join(t.TempDir(), "x")); code != 1 || !strings.Contains(out, "holds no backup.json") {
		t.Errorf("restore of a directory that is no backup: exit %d %s", code, out)
	}
	data2 := filepath.Join(t.TempDir(), "data")
	if err := os.MkdirAll(data2, 0o750); err != nil { // an empty directory, as admit-setup makes it
		t.Fatal(err)
	}
	if out, code := runAdmit(t, nil, "restore", "-data-dir", data2, dir); code != 0 || !strings.Contains(out, "journal up to 1, 2 tickets") {
		t.Fatalf("restore: exit %d\n%s", code, out)
	}
	c2 := *c
	c2.DataDir = data2
	_, base2 := startDaemon(t, &c2)
	var dec gate.Decision
	apiClient{t: t, base: base2}.must(200, "POST", "/v1/scan", scannerSecret, scanBody("OFF-1", "south-1")).decode(t, &dec)
	if dec.Reason != gate.ReasonAlreadyUsed || dec.Seq != 2 {
		t.Errorf("OFF-1 after the restore: %+v", dec)
	}
}
