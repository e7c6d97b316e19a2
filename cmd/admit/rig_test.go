package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/gate/gatetest"
	"github.com/admitgate/admit/httpapi"
	"github.com/admitgate/admit/index"
	"github.com/admitgate/admit/internal/testkit"
	"github.com/admitgate/admit/internal/usbemu"
	"github.com/admitgate/admit/turnstile"
	"github.com/admitgate/admit/turnstile/serialrelay"
)

// simLanes are two simulated turnstiles whose guests never pass on their
// own (the test passes them): gate-1 spends a ticket only when someone
// passes, gate-2 at the unlock; the events around now.
func simLanes(t testing.TB) string {
	return testkit.Template(t, "testdata/daemon/sim-lanes.toml", configValues(""))
}

// lane returns one lane's status from GET /v1/lanes.
func (c apiClient) lane(id string) gate.LaneStatus {
	c.t.Helper()
	var lanes httpapi.LanesResponse
	c.must(200, "GET", "/v1/lanes", viewerSecret, nil).decode(c.t, &lanes)
	for _, l := range lanes.Lanes {
		if l.ID == id {
			return l
		}
	}
	c.t.Fatalf("lane %s is not in /v1/lanes: %+v", id, lanes.Lanes)
	return gate.LaneStatus{}
}

// waitLane polls GET /v1/lanes until ok holds for the lane: the lanes run
// on the wall clock, through the daemon's own goroutines.
func (c apiClient) waitLane(id, what string, ok func(gate.LaneStatus) bool) gate.LaneStatus {
	c.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st := c.lane(id)
		if ok(st) {
			return st
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("lane %s never %s: %+v", id, what, st)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (c apiClient) scan(barcode, lane string) gate.Decision {
	c.t.Helper()
	var d gate.Decision
	c.must(200, "POST", "/v1/scan", scannerSecret, scanBody(barcode, lane)).decode(c.t, &d)
	return d
}

// journal returns the journal's entries through the API.
func (c apiClient) journal() []httpapi.FeedEntry {
	c.t.Helper()
	var r httpapi.ScansResponse
	c.must(200, "GET", "/v1/scans?limit=1000", viewerSecret, nil).decode(c.t, &r)
	return r.Entries
}

// The simulated turnstiles as `admit serve` runs them, over a real socket:
// scan → unlock → passage → idle; lane_busy; a walk-away annulled and the
// ticket usable again; the scanner read path with the lane's policy;
// emergency release from the API and from the input; SIGHUP policy reload;
// the lanes' metrics; shutdown annulling what is pending before the store
// closes.
func TestSimulatedTurnstileLanes(t *testing.T) {
	c := testConfig(t, simLanes(t))
	d, base := startDaemon(t, c)
	api := apiClient{t: t, base: base}
	var tickets strings.Builder
	for i := range 10 {
		fmt.Fprintf(&tickets, "T%d\n", i)
	}
	api.must(200, "POST", "/v1/imports?provider=p&event=E&price_type=ADU", adminSecret, tickets.String())
	sim1, sim2 := d.rig.sims["gate-1"], d.rig.sims["gate-2"]
	<-sim1.Passage.Watched() // the lane watches its sensor
	<-sim1.Emergency.Watched()

	st := api.lane("gate-1")
	if st.State != turnstile.StateIdle || !st.RelayOK || !st.ScannerConnected || st.Name != "Gate 1" {
		t.Fatalf("gate-1 at start: %+v", st)
	}
	if st := api.lane("north-1"); st.State != "idle" || st.RelayOK || st.ScannerConnected {
		t.Fatalf("north-1 (no hardware): %+v", st)
	}

	// Scan → unlock → passage → locked, the admission final.
	if d := api.scan("T0", "gate-1"); !d.Admit || d.Reason != gate.ReasonOK {
		t.Fatalf("T0 = %+v", d)
	}
	if !sim1.Lock.On() || !sim1.Green.On() {
		t.Fatal("the admission did not unlock gate-1 and light it green")
	}
	if st := api.lane("gate-1"); st.State != turnstile.StateUnlocked || st.Admits != 0 || st.Last == nil || st.Last.Barcode != "T0" {
		t.Fatalf("gate-1 after the admission: %+v", st)
	}
	// While it is open for T0, another ticket is refused and kept.
	if d := api.scan("T1", "gate-1"); d.Admit || d.Reason != gate.ReasonLaneBusy || d.Seq == 0 {
		t.Fatalf("T1 while busy = %+v", d)
	}
	sim1.Pass()
	if st := api.waitLane("gate-1", "locked after the passage", func(s gate.LaneStatus) bool { return s.State == turnstile.StateIdle }); st.Admits != 1 || st.Scans != 2 {
		t.Fatalf("gate-1 after the passage: %+v", st)
	}
	if sim1.Lock.On() {
		t.Fatal("gate-1 stayed unlocked after the passage")
	}

	// T1 is still good; its guest walks away: the relay locks after the
	// unlock time and the admission is annulled at the passage timeout.
	walk := api.scan("T1", "gate-1")
	if !walk.Admit {
		t.Fatalf("T1 = %+v", walk)
	}
	api.waitLane("gate-1", "annulled the walk-away", func(s gate.LaneStatus) bool { return s.State == turnstile.StateIdle })
	var annulment *httpapi.FeedEntry
	for _, e := range api.journal() {
		if e.Kind == gate.KindAnnulment && e.Decision.Seq == walk.Seq {
			annulment = &e
		}
	}
	if annulment == nil || annulment.By != "lane:gate-1" {
		t.Fatalf("no annulment of scan %d by lane:gate-1 in the journal", walk.Seq)
	}
	if d := api.scan("T1", "gate-1"); !d.Admit {
		t.Fatalf("T1 after its annulment = %+v, want usable again", d)
	}
	sim1.Pass()
	api.waitLane("gate-1", "idle", func(s gate.LaneStatus) bool { return s.State == turnstile.StateIdle })
	if d := api.scan("T1", "gate-1"); d.Reason != gate.ReasonAlreadyUsed {
		t.Fatalf("T1 after its passage = %+v", d)
	}

	// The scanner path: a barcode typed on gate-2's simulated scanner is
	// decided with the lane's policy and its source.
	if err := sim2.Scan("T2"); err != nil {
		t.Fatal(err)
	}
	st = api.waitLane("gate-2", "took the read", func(s gate.LaneStatus) bool { return s.Last != nil })
	if !st.Last.Admit || st.Last.Barcode != "T2" || st.State != turnstile.StateUnlocked || !sim2.Lock.On() {
		t.Fatalf("gate-2 after the read: %+v", st)
	}
	// The feed shows an entry once every entry before it is written: an
	// earlier refusal may still be with the background writer, so wait.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		e := api.journal()
		if last := e[len(e)-1]; last.Seq == st.Last.Seq {
			if last.Source != "sim:gate-2" {
				t.Fatalf("the read's journal entry = %+v", last)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the read's journal entry %d never in the feed: last %+v", st.Last.Seq, e[len(e)-1])
		}
	}

	// Emergency release from the API: gate-1 opens, gate-2 (hold) locks;
	// both refuse scans; T2's admission at gate-2 was final at its unlock.
	var em gate.EmergencyStatus
	api.must(403, "POST", "/v1/emergency/release", viewerSecret, nil)
	api.must(200, "POST", "/v1/emergency/release", adminSecret, map[string]string{"reason": "drill"}).decode(t, &em)
	if !em.Active || em.By != "ops" || len(em.Lanes) != 2 || em.Lanes[0].State != turnstile.StateEmergencyOpen || em.Lanes[1].State != turnstile.StateEmergencyHold {
		t.Fatalf("release = %+v", em)
	}
	if !sim1.Lock.On() || sim2.Lock.On() {
		t.Fatalf("relays during the release: gate-1 %v (want open), gate-2 %v (want held locked)", sim1.Lock.On(), sim2.Lock.On())
	}
	if d := api.scan("T3", "gate-1"); d.Admit || d.Reason != gate.ReasonError || !strings.Contains(d.Detail, "emergency release by ops") {
		t.Fatalf("scan during the release = %+v", d)
	}
	if st := api.lane("gate-2"); !st.Emergency {
		t.Fatalf("gate-2 does not show the release: %+v", st)
	}
	api.must(200, "GET", "/v1/emergency", viewerSecret, nil).decode(t, &em)
	if !em.Active {
		t.Fatalf("status = %+v", em)
	}
	api.must(200, "POST", "/v1/emergency/clear", adminSecret, nil).decode(t, &em)
	if em.Active || sim1.Lock.On() || api.lane("gate-1").State != turnstile.StateIdle {
		t.Fatalf("after clear: %+v", em)
	}
	// The emergency input latches: clear is refused while it is pressed.
	sim1.PressEmergency(true)
	api.must(200, "GET", "/v1/emergency", viewerSecret, nil).decode(t, &em)
	if !em.Active || !em.InputActive || !strings.HasPrefix(em.By, "input:") {
		t.Fatalf("after the button: %+v", em)
	}
	api.must(409, "POST", "/v1/emergency/clear", adminSecret, nil)
	sim1.PressEmergency(false)
	api.must(200, "POST", "/v1/emergency/clear", adminSecret, nil).decode(t, &em)
	if em.Active || em.InputActive {
		t.Fatalf("after releasing the button and clearing: %+v", em)
	}

	// Metrics carry the lanes' series.
	m := string(api.must(200, "GET", "/metrics", "", nil).body)
	for _, w := range []string{`admit_lane_state{lane="gate-1",state="idle"} 1`, `admit_lane_decisions_total{lane="gate-1",reason="lane_busy"} 1`,
		`admit_lane_annulments_total{cause="timeout",lane="gate-1"} 1`, `admit_lane_annulments_total{cause="emergency",lane="gate-2"}`,
		`admit_lane_relay_ok{lane="gate-2"} 1`, `admit_lane_passages_total{kind="admitted",lane="gate-1"} 2`} {
		if !strings.Contains(m, w) {
			t.Errorf("metrics lack %q", w)
		}
	}

	// SIGHUP: gate-1's policy changes in place; gate-2's new unlock time and
	// a new hardware lane wait for a restart; a lane without hardware comes.
	next := testConfig(t, simLanes(t))
	next.DataDir = c.DataDir
	next.Lanes[3].Name, next.Lanes[3].Events = "Gate 1 (later event only)", []string{"LATER"}
	next.Lanes[4].Relay.UnlockTime = Duration(time.Second)
	next.Lanes = append(next.Lanes, LaneConfig{ID: "gate-3", Relay: RelayConfig{OutputConfig: OutputConfig{Driver: outputSim}}},
		LaneConfig{ID: "door-2"})
	if err := d.Reload(context.Background(), next); err != nil {
		t.Fatal(err)
	}
	var lanes httpapi.LanesResponse
	api.must(200, "GET", "/v1/lanes", viewerSecret, nil).decode(t, &lanes)
	var ids []string
	for _, l := range lanes.Lanes {
		ids = append(ids, l.ID)
	}
	if want := []string{"north-1", "south-1", "exit-1", "gate-1", "gate-2", "door-2"}; !slices.Equal(ids, want) {
		t.Fatalf("lanes after reload = %v, want %v", ids, want)
	}
	if st := lanes.Lanes[3]; st.Name != "Gate 1 (later event only)" || !slices.Equal(st.Events, []string{"LATER"}) || !st.RelayOK {
		t.Fatalf("gate-1 after reload: %+v", st)
	}
	if d := api.scan("T4", "gate-1"); d.Reason != gate.ReasonWrongEvent { // an API scan, with the new events
		t.Fatalf("T4 at gate-1 after reload = %+v", d)
	}
	if err := sim1.Scan("T4"); err != nil { // a read, with the new events
		t.Fatal(err)
	}
	// gate-1's eighth scan: T0, T1 busy, T1 walked away, T1, T1 used, T3
	// in the emergency, T4 over the API, T4 read.
	api.waitLane("gate-1", "took the read", func(s gate.LaneStatus) bool { return s.Scans == 8 })
	if l := api.lane("gate-1").Last; l.Reason != gate.ReasonWrongEvent || l.Barcode != "T4" {
		t.Fatalf("read at gate-1 after reload = %+v", l)
	}
	if d.rig.set.Lane("gate-2").Config().UnlockTime != 5*time.Second {
		t.Fatal("a hardware setting changed without a restart")
	}

	// Shutdown with an admission pending at gate-1 (back on event E by a
	// reload): the lane annuls it before the store closes.
	back := testConfig(t, simLanes(t))
	back.DataDir = c.DataDir
	if err := d.Reload(context.Background(), back); err != nil {
		t.Fatal(err)
	}
	pending := api.scan("T5", "gate-1")
	if !pending.Admit || !sim1.Lock.On() {
		t.Fatalf("T5 = %+v", pending)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if sim1.Lock.On() || sim1.Green.On() || sim2.Lock.On() {
		t.Fatal("an output stayed on after shutdown")
	}
	ix, err := index.Open(c.DataDir, &index.Options{Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	es, err := ix.Entries(context.Background(), pending.Seq, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(es) == 0 || es[0].Kind != gate.KindAnnulment || es[0].Decision.Seq != pending.Seq || es[0].By != "lane:gate-1" {
		t.Fatalf("after shutdown the journal has %+v, want the annulment of scan %d", es, pending.Seq)
	}
}

// What a reload does to the running lanes, lane by lane.
func TestLaneReloadPlan(t *testing.T) {
	parse := func(src string) []LaneConfig {
		t.Helper()
		c, err := parseLanes(src)
		if err != nil {
			t.Fatal(err)
		}
		return c.Lanes
	}
	running := testkit.Template(t, "testdata/daemon/running-lanes.toml", nil)
	r, err := newRig(parse(running), &gatetest.Index{}, prometheus.NewRegistry(), testLogger())
	if err != nil {
		t.Fatal(err)
	}
	infos, apply, warnings := r.plan(parse(running))
	apply()
	if len(infos) != 4 || len(warnings) != 0 || infos[0].Turnstile == nil || infos[2].Turnstile != nil {
		t.Fatalf("initial plan: %+v %q", infos, warnings)
	}
	if err := r.start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer r.stop()

	ids := func(infos []httpapi.LaneInfo) string {
		var out []string
		for _, i := range infos {
			out = append(out, i.ID)
		}
		return strings.Join(out, ",")
	}
	tests := []struct {
		name, src string
		lanes     string   // the lanes served, in order
		warn      []string // a substring of each warning, in order
	}{
		{"unchanged", running, "t1,t2,door,exit", nil},
		{"policy only", strings.Replace(running, `name = "Turnstile 1"`, "name = \"T1\"\ndirection = \"out\"\nevents = [\"E\"]", 1), "t1,t2,door,exit", nil},
		{"hardware changed", strings.Replace(running, "id = \"t2\"\n[lanes.relay]\ndriver = \"sim\"\n", "id = \"t2\"\n[lanes.relay]\ndriver = \"sim\"\nunlock_time = \"2s\"\n", 1),
			"t1,t2,door,exit", []string{"lane t2: its scanner, relay, sensor, lights, emergency or turnstile settings changed"}},
		{"hardware lane removed", strings.Replace(running, "[[lanes]]\nid = \"t2\"\n[lanes.relay]\ndriver = \"sim\"\n", "", 1),
			"t1,door,exit,t2", []string{"lane t2 was removed from the configuration: it keeps running"}},
		{"hardware lane added", running + "[[lanes]]\nid = \"t3\"\n[lanes.relay]\ndriver = \"sim\"\n",
			"t1,t2,door,exit", []string{"lane t3 is new and names hardware: it starts when admit restarts"}},
		{"API lanes come and go", strings.Replace(running, "[[lanes]]\nid = \"exit\"\n", "[[lanes]]\nid = \"door-2\"\n", 1), "t1,t2,door,door-2", nil},
		{"API lane gets hardware", strings.Replace(running, "id = \"door\"\n", "id = \"door\"\n[lanes.relay]\ndriver = \"sim\"\n", 1),
			"t1,t2,door,exit", []string{"lane door now names hardware: it is driven when admit restarts"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			infos, apply, warnings := r.plan(parse(tt.src))
			if got := ids(infos); got != tt.lanes {
				t.Errorf("lanes = %s, want %s", got, tt.lanes)
			}
			if len(warnings) != len(tt.warn) {
				t.Fatalf("warnings = %q, want %q", warnings, tt.warn)
			}
			for i, w := range tt.warn {
				if !strings.Contains(warnings[i], w) {
					t.Errorf("warning %q, want %q", warnings[i], w)
				}
			}
			for _, info := range infos {
				if (info.Turnstile != nil) != (info.ID == "t1" || info.ID == "t2") {
					t.Errorf("lane %s: turnstile %v", info.ID, info.Turnstile != nil)
				}
			}
			apply()
			if tt.name == "policy only" {
				if p := r.set.Lane("t1").Policy(); p.Name != "T1" || p.Direction != gate.Out || !slices.Equal(p.Events, []string{"E"}) {
					t.Errorf("t1's policy = %+v", p)
				}
			}
			// Back to the running configuration for the next case.
			_, apply, _ = r.plan(parse(running))
			apply()
		})
	}
}

// Serial devices as the daemon wires them, over pseudo-terminals: a
// scanner-only lane decides its reads with the index and shows them; a
// serial scanner and an LCUS board make a turnstile whose relay frames are
// the unlock pulse; an unplugged scanner shows at once and scans again
// when plugged back.
func TestSerialScannerAndLCUSLanes(t *testing.T) {
	dir := t.TempDir()
	doorScanner, err := usbemu.NewSerialDevice(dir, "door-scanner")
	if err != nil {
		t.Fatal(err)
	}
	gateScanner, err := usbemu.NewSerialDevice(dir, "gate-scanner")
	if err != nil {
		t.Fatal(err)
	}
	board, err := usbemu.NewSerialDevice(dir, "lcus")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []*usbemu.SerialDevice{doorScanner, gateScanner, board} {
		t.Cleanup(func() { d.Close() })
	}
	v := configValues("")
	v["DoorScanner"], v["GateScanner"], v["Board"] = doorScanner.Path, gateScanner.Path, board.Path
	c := testConfig(t, testkit.Template(t, "testdata/daemon/serial-lanes.toml", v))
	// The board's frames: both relays opened at connect, relay 2 locked by
	// its lane at start, then the pulses.
	frames := func(n int) []string {
		t.Helper()
		b, err := board.Receive(4*n, 10*time.Second)
		if err != nil {
			t.Fatalf("relay frames: %v (got % x)", err, b)
		}
		var out []string
		for i := 0; i < len(b); i += 4 {
			ch, on, err := serialrelay.ParseFrame(b[i : i+4])
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, fmt.Sprintf("%d:%v", ch, on))
		}
		return out
	}
	_, base := startDaemon(t, c)
	api := apiClient{t: t, base: base}
	if got := strings.Join(frames(3), " "); got != "1:false 2:false 2:false" {
		t.Fatalf("frames at start = %s, want every relay opened, then the lane's locked", got)
	}
	api.must(200, "POST", "/v1/imports?provider=p&event=E&price_type=ADU", adminSecret, "S1\nS2\nS3\n")
	api.waitLane("door-s", "connected", func(s gate.LaneStatus) bool { return s.ScannerConnected })
	api.waitLane("gate-l", "connected", func(s gate.LaneStatus) bool { return s.ScannerConnected && s.RelayOK })

	// The door: a scanner with no turnstile.
	if err := doorScanner.Send([]byte("S1\r\n")); err != nil {
		t.Fatal(err)
	}
	st := api.waitLane("door-s", "took the read", func(s gate.LaneStatus) bool { return s.Scans == 1 })
	if !st.Last.Admit || st.Last.Barcode != "S1" || st.Admits != 1 || st.State != "idle" || st.RelayOK {
		t.Fatalf("door-s after the read: %+v", st)
	}
	if d := api.scan("S1", "door-s"); d.Reason != gate.ReasonAlreadyUsed { // the API path beside it
		t.Fatalf("S1 over the API = %+v", d)
	}
	if st := api.lane("door-s"); st.Scans != 2 || st.Last.Reason != gate.ReasonAlreadyUsed {
		t.Fatalf("door-s counts the API's scan too: %+v", st)
	}

	// The turnstile: STX S2 ETX → admitted → relay 2 closes, then opens.
	if err := gateScanner.Send([]byte("\x02S2\x03")); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(frames(2), " "); got != "2:true 2:false" {
		t.Fatalf("frames for the admission = %s, want relay 2 closed then opened", got)
	}
	st = api.waitLane("gate-l", "locked again", func(s gate.LaneStatus) bool { return s.State == turnstile.StateIdle && s.Admits == 1 })
	if st.Last == nil || st.Last.Barcode != "S2" {
		t.Fatalf("gate-l = %+v", st)
	}
	if e := api.journal(); e[len(e)-1].Source != "serial:"+gateScanner.Path {
		t.Fatalf("journal source = %q", e[len(e)-1].Source)
	}

	// Unplugged, the scanner shows it; back, it reads again.
	if err := gateScanner.Unplug(); err != nil {
		t.Fatal(err)
	}
	api.waitLane("gate-l", "showing the scanner gone", func(s gate.LaneStatus) bool { return !s.ScannerConnected })
	if err := gateScanner.Plug(); err != nil {
		t.Fatal(err)
	}
	api.waitLane("gate-l", "showing the scanner back", func(s gate.LaneStatus) bool { return s.ScannerConnected })
	if err := gateScanner.Send([]byte("\x02S3\x03")); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(frames(2), " "); got != "2:true 2:false" {
		t.Fatalf("frames after the replug = %s", got)
	}
}
