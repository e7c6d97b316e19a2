package e2e_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/httpapi"
	"github.com/admitgate/admit/internal/testkit"
	"github.com/admitgate/admit/internal/usbdev"
	"github.com/admitgate/admit/internal/usbemu"
)

// TestMain runs the tests on the emulated USB bus: the harness re-executes
// this test binary under libumockdev, and the daemons it starts inherit it.
func TestMain(m *testing.M) { usbemu.Main(m) }

const adminSecret = "e2e-usb-admin-secret-0000"

// The product's own end-to-end test. admit devices lists the emulated
// scanner and relay board; their snippets, pasted into a lane, make the
// config `admit serve` runs. A barcode typed on the scanner is admitted,
// relay 1 closes for the unlock time and opens again, the journal and
// GET /v1/lanes show it; the same barcode again is refused and the relay
// never moves; the scanner unplugged shows disconnected and, plugged back,
// scans again; at SIGTERM every relay is open and the board released.
func TestAdmitServeOnEmulatedUSB(t *testing.T) {
	emu := usbemu.Start(t)
	scanner, err := emu.AddScanner(usbemu.ScannerOptions{Serial: "LANE1"})
	if err != nil {
		t.Fatal(err)
	}
	board, err := emu.AddRelay(usbemu.RelayOptions{Serial: "QWERT", Channels: 2})
	if err != nil {
		t.Fatal(err)
	}
	bin := buildAdmit(t)

	// admit devices, as an installer runs it, finds both.
	out, err := exec.Command(bin, "devices", "-json").Output()
	if err != nil {
		t.Fatalf("admit devices: %v\n%s", err, out)
	}
	var listed struct{ Devices []usbdev.Candidate }
	if err := json.Unmarshal(out, &listed); err != nil {
		t.Fatalf("admit devices -json: %v\n%s", err, out)
	}
	var scannerSnippet, relaySnippet string
	for _, c := range listed.Devices {
		switch {
		case c.Kind == usbdev.KindKeyboardScanner && c.Info.Serial == "LANE1":
			scannerSnippet = c.Config
		case c.Kind == usbdev.KindUSBRelay && c.RelaySerial == "QWERT":
			relaySnippet = c.Config
		}
	}
	if scannerSnippet == "" || relaySnippet == "" {
		t.Fatalf("admit devices did not list the scanner and the board:\n%s", out)
	}
	if st, err := board.WaitState(waitCtx(t), func(s usbemu.State) bool { return s.Driver == "usbhid" && !s.Claimed }); err != nil {
		t.Fatalf("admit devices left the board claimed: %+v %v", st, err)
	}

	// The config: the snippets pasted under a lane, plus what the venue adds.
	const unlock = 400 * time.Millisecond
	dir := t.TempDir()
	now := time.Now().UTC()
	config := testkit.Template(t, "testdata/usb.toml", map[string]any{
		"DataDir": filepath.Join(dir, "data"), "Secret": adminSecret,
		"OpensAt": now.Add(-time.Hour).Format(time.RFC3339), "ClosesAt": now.Add(6 * time.Hour).Format(time.RFC3339),
		"Scanner": scannerSnippet, "Relay": relaySnippet, "Unlock": unlock.String()})
	path := filepath.Join(dir, "admit.toml")
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "check-config", path).CombinedOutput(); err != nil {
		t.Fatalf("check-config: %v\n%s\nconfig:\n%s", err, out, config)
	}

	d := startDaemon(t, bin, path)
	d.must(200, "POST", "/v1/imports?provider=p&event=E&price_type=ADU", "4006381333931\n9783161484100\n")

	st := d.waitLane("the scanner and board claimed", func(s gate.LaneStatus) bool { return s.ScannerConnected && s.RelayOK && s.State == "idle" })
	if st.Name != "North 1" {
		t.Fatalf("lane = %+v", st)
	}
	if _, err := scanner.WaitState(waitCtx(t), func(s usbemu.State) bool { return s.Claimed && s.Driver == "" }); err != nil {
		t.Fatalf("the daemon never detached usbhid from the scanner and claimed it: %v", err)
	}

	// First scan: admitted; relay 1 closes for the unlock time, then opens.
	before := requests(t, board)
	if err := scanner.Type("us", "4006381333931", 0); err != nil {
		t.Fatal(err)
	}
	first := d.waitEntry(1)
	if !first.Decision.Admit || first.Decision.Reason != gate.ReasonOK || first.Decision.Lane != "north-1" ||
		!strings.HasPrefix(first.Source, "usb:0c2e:0b61:LANE1") {
		t.Fatalf("first scan = %+v", first)
	}
	d.waitLane("locked again", func(s gate.LaneStatus) bool { return s.State == "idle" && s.Admits == 1 })
	if _, err := board.WaitState(waitCtx(t), func(s usbemu.State) bool { return s.RelayState == 0 }); err != nil {
		t.Fatalf("relay 1 stayed closed: %v", err)
	}
	sets := setReports(requests(t, board)[len(before):])
	if len(sets) != 2 || !strings.HasPrefix(sets[0].Data, "ff01") || !strings.HasPrefix(sets[1].Data, "fd01") {
		t.Fatalf("SET_REPORTs for the admission = %+v, want close relay 1, then open it", sets)
	}
	if held := time.Duration(sets[1].MS-sets[0].MS) * time.Millisecond; held < unlock-20*time.Millisecond {
		t.Errorf("relay 1 closed for %v, want the unlock time %v", held, unlock)
	}
	if st := d.lane(); st.Last == nil || st.Last.Barcode != "4006381333931" || !st.Last.Admit {
		t.Errorf("GET /v1/lanes last = %+v", st.Last)
	}

	// The same barcode again: refused; the relay never moves.
	mark := requests(t, board)
	if err := scanner.Type("us", "4006381333931", 0); err != nil {
		t.Fatal(err)
	}
	again := d.waitEntry(2)
	if again.Decision.Admit || again.Decision.Reason != gate.ReasonAlreadyUsed || again.Decision.FirstUsed == nil ||
		again.Decision.FirstUsed.Lane != "north-1" {
		t.Fatalf("second scan = %+v", again)
	}
	// The lane publishes its status once it has acted on a decision, relay
	// included: from then on a switch the refusal caused would be logged.
	d.waitLane("done with the refusal", func(s gate.LaneStatus) bool { return s.Last != nil && s.Last.Seq == again.Seq })
	if sets := setReports(requests(t, board)[len(mark):]); len(sets) != 0 {
		t.Fatalf("the relay moved on a refusal: %+v", sets)
	}
	if s, err := board.State(); err != nil || s.RelayState != 0 {
		t.Fatalf("relay state after the refusal = %+v, %v", s, err)
	}

	// Unplugged, the scanner shows disconnected at once; plugged back, it
	// scans again.
	if err := scanner.Unplug(); err != nil {
		t.Fatal(err)
	}
	d.waitLane("showing the scanner disconnected", func(s gate.LaneStatus) bool { return !s.ScannerConnected })
	if err := scanner.Plug(); err != nil {
		t.Fatal(err)
	}
	d.waitLane("showing the scanner back", func(s gate.LaneStatus) bool { return s.ScannerConnected })
	if err := scanner.Type("us", "9783161484100", 0); err != nil {
		t.Fatal(err)
	}
	if e := d.waitEntry(3); !e.Decision.Admit || e.Decision.Barcode != "9783161484100" {
		t.Fatalf("scan after the replug = %+v", e)
	}
	d.waitLane("locked again", func(s gate.LaneStatus) bool { return s.State == "idle" && s.Admits == 2 })

	// SIGTERM: the daemon exits cleanly, every relay open, the board given back.
	d.stop(t)
	if s, err := board.State(); err != nil || s.RelayState != 0 || s.Claimed {
		t.Fatalf("board after shutdown = %+v, %v", s, err)
	}
	if s, err := scanner.State(); err != nil || s.Claimed {
		t.Fatalf("scanner after shutdown = %+v, %v", s, err)
	}
}

func waitCtx(t *testing.T) context.Context { return waitCtxTB(t) }

func requests(t *testing.T, d *usbemu.Device) []usbemu.Request {
	t.Helper()
	reqs, err := d.Requests()
	if err != nil {
		t.Fatal(err)
	}
	return reqs
}

func setReports(reqs []usbemu.Request) []usbemu.Request {
	var out []usbemu.Request
	for _, r := range reqs {
		if r.IsSetReport() {
			out = append(out, r)
		}
	}
	return out
}

// buildAdmit builds the admit binary as users build it.
func buildAdmit(t *testing.T) string { t.Helper(); return testkit.BuildAdmit(t, testkit.Race) }

// daemon is `admit serve` run as a child process on the emulated bus.
type daemon struct {
	t    *testing.T
	cmd  *exec.Cmd
	base string
	done chan error
	log  testkit.Buffer
}

// startDaemon runs admit serve with the config and waits until it is ready;
// its address comes from its "serving" log line.
func startDaemon(t *testing.T, bin, config string) *daemon {
	t.Helper()
	d := &daemon{t: t, done: make(chan error, 1)}
	d.cmd = exec.Command(bin, "serve", "-config", config, "-log-format", "json", "-log-level", "debug")
	stderr, err := d.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	urls := make(chan string, 1)
	logDone := make(chan struct{})
	go func() {
		defer close(logDone)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Bytes()
			fmt.Fprintf(&d.log, "%s\n", line)
			if os.Getenv("ADMIT_TEST_LOG") != "" {
				t.Logf("admit: %s", line)
			}
			var l struct{ Message, URL string }
			if json.Unmarshal(line, &l) == nil && l.Message == "serving" && l.URL != "" {
				urls <- l.URL
			}
		}
	}()
	go func() {
		<-logDone
		d.done <- d.cmd.Wait()
	}()
	t.Cleanup(func() {
		if d.cmd.ProcessState == nil {
			_ = d.cmd.Process.Kill()
			<-d.done
		}
		if t.Failed() {
			t.Logf("the daemon's log:\n%s", d.logText())
		}
	})
	select {
	case d.base = <-urls:
	case err := <-d.done:
		t.Fatalf("admit serve exited: %v\n%s", err, d.logText())
	case <-time.After(60 * time.Second):
		t.Fatalf("admit serve did not start serving\n%s", d.logText())
	}
	return d
}

func (d *daemon) logText() string { return d.log.String() }

func (d *daemon) must(want int, method, path, body string) []byte {
	d.t.Helper()
	r := testkit.Do(d.t, method, d.base+path, adminSecret, body)
	if r.Status != want {
		d.t.Fatalf("%s %s: %d %s, want %d", method, path, r.Status, r.Body, want)
	}
	return r.Body
}

func (d *daemon) lane() gate.LaneStatus {
	d.t.Helper()
	var r httpapi.LanesResponse
	if err := json.Unmarshal(d.must(200, "GET", "/v1/lanes", ""), &r); err != nil || len(r.Lanes) != 1 {
		d.t.Fatalf("GET /v1/lanes: %+v %v", r, err)
	}
	return r.Lanes[0]
}

// waitLane polls GET /v1/lanes until ok holds.
func (d *daemon) waitLane(what string, ok func(gate.LaneStatus) bool) gate.LaneStatus {
	d.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		st := d.lane()
		if ok(st) {
			return st
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("timed out waiting for the lane %s: %+v", what, st)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitEntry polls GET /v1/scans until journal entry seq is there.
func (d *daemon) waitEntry(seq uint64) httpapi.FeedEntry {
	d.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		var r httpapi.ScansResponse
		if err := json.Unmarshal(d.must(200, "GET", fmt.Sprintf("/v1/scans?after=%d&limit=1", seq-1), ""), &r); err != nil {
			d.t.Fatal(err)
		}
		if len(r.Entries) == 1 {
			return r.Entries[0]
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("journal entry %d never came", seq)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// stop sends SIGTERM and expects a clean exit (a race report fails it).
func (d *daemon) stop(t *testing.T) {
	t.Helper()
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-d.done:
		if err != nil || strings.Contains(d.logText(), "DATA RACE") {
			t.Fatalf("admit serve exited with %v\n%s", err, d.logText())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("admit serve did not stop at SIGTERM\n%s", d.logText())
	}
}
