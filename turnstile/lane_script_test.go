package turnstile_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/turnstile"
)

// TestLaneScripts drives a lane through the scripts in testdata/lane: its
// state machine told as a story (scan, unlock, passage, timeout, lane_busy,
// relay faults, emergencies) on fake hardware and a fake clock, each step
// followed by what the lane did. Refresh the expected output with
// -rewrite, then read the diff.
//
// Directives:
//
//	lane [confirm=passage] [unlock=<dur>] [timeout=<dur>] [queue=<n>] [mode=hold]
//	                        a new lane (barcodes A to E known), in a Set
//	scan <barcode>          a read from the lane's scanner
//	pass                    somebody passes the sensor
//	advance <dur>           the clock moves on; due timeouts fire
//	relay fail|fix          the unlock relay stops (or starts again) answering
//	release <by> | clear <by>  the emergency release of the lane's Set
//	halt                    Lane.Halt
//
// Each step prints what changed: the decision of a scan, how a passage was
// counted, the relay switches (a failed one marked), annulments written to
// the journal, and the lane's state, pending admissions, final admissions
// and fault.
func TestLaneScripts(t *testing.T) {
	files, err := filepath.Glob("testdata/lane/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no lane scripts: %v", err)
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			s := &laneScript{}
			datadriven.RunTest(t, path, s.run)
		})
	}
}

type laneScript struct {
	r        *rig
	set      *turnstile.Set
	switches int // relay switches already printed
	entries  int // journal entries already printed
}

func (s *laneScript) run(t *testing.T, td *datadriven.TestData) string {
	if td.Cmd != "lane" && s.r == nil {
		td.Fatalf(t, "the script must start with lane")
	}
	var out strings.Builder
	switch td.Cmd {
	case "lane":
		cfg := turnstile.Config{}
		for _, arg := range td.CmdArgs {
			v := ""
			if len(arg.Vals) > 0 {
				v = arg.Vals[0]
			}
			var err error
			switch arg.Key {
			case "confirm":
				cfg.Confirm = turnstile.Confirm(v)
			case "unlock":
				cfg.UnlockTime, err = time.ParseDuration(v)
			case "timeout":
				cfg.PassageTimeout, err = time.ParseDuration(v)
			case "queue":
				cfg.Queue = true
				_, err = fmt.Sscan(v, &cfg.MaxQueue)
			case "mode":
				cfg.Emergency = turnstile.EmergencyMode(v)
			default:
				td.Fatalf(t, "unknown lane setting %s", arg.Key)
			}
			if err != nil {
				td.Fatalf(t, "%s: %v", arg.Key, err)
			}
		}
		s.r = newRig(t, cfg)
		s.switches, s.entries = 0, 0
		set, err := turnstile.NewSet(s.r.clock, testLogger(t), s.r.lane)
		if err != nil {
			td.Fatalf(t, "%v", err)
		}
		s.set = set
	case "scan":
		if len(td.CmdArgs) != 1 {
			td.Fatalf(t, "scan <barcode>")
		}
		d := s.r.scan(td.CmdArgs[0].Key)
		fmt.Fprintf(&out, "decision: %s seq=%d", d.Reason, d.Seq)
		if d.Admit {
			out.WriteString(" admit")
		}
		if d.Detail != "" {
			fmt.Fprintf(&out, " (%s)", d.Detail)
		}
		out.WriteString("\n")
	case "pass":
		kinds := []string{turnstile.PassageAdmitted, turnstile.PassageUnexpected, turnstile.PassageLate, turnstile.PassageEmergency}
		count := func() []float64 {
			var n []float64
			for _, k := range kinds {
				n = append(n, metricValue(t, s.r.metrics, "admit_lane_passages_total", "lane", laneID, "kind", k))
			}
			return n
		}
		before := count()
		s.r.pass()
		for i, n := range count() {
			if n != before[i] {
				fmt.Fprintf(&out, "passage: %s\n", kinds[i])
			}
		}
	case "advance":
		if len(td.CmdArgs) != 1 {
			td.Fatalf(t, "advance <duration>")
		}
		d, err := time.ParseDuration(td.CmdArgs[0].Key)
		if err != nil {
			td.Fatalf(t, "%v", err)
		}
		s.r.clock.Advance(d)
	case "relay":
		switch {
		case td.HasArg("fail"):
			s.r.lock.Fail(errors.New("board not answering"))
		case td.HasArg("fix"):
			s.r.lock.Fail(nil)
		default:
			td.Fatalf(t, "relay fail|fix")
		}
	case "release":
		em := s.set.Release(td.CmdArgs[0].Key)
		fmt.Fprintf(&out, "emergency: active=%v by %s\n", em.Active, em.By)
	case "clear":
		em, err := s.set.Clear(td.CmdArgs[0].Key)
		fmt.Fprintf(&out, "emergency: active=%v", em.Active)
		if err != nil {
			fmt.Fprintf(&out, " (%v)", err)
		}
		out.WriteString("\n")
	case "halt":
		if err := s.r.lane.Halt(); err != nil {
			fmt.Fprintf(&out, "halt: %v\n", err)
		}
	default:
		td.Fatalf(t, "unknown directive %s", td.Cmd)
	}
	s.changes(&out)
	return out.String()
}

// changes prints the relay switches and annulments since the last step,
// then the lane's state.
func (s *laneScript) changes(out *strings.Builder) {
	sw := s.r.lock.Switches()
	if len(sw) > s.switches {
		var levels []string
		for _, x := range sw[s.switches:] {
			l := map[bool]string{true: "on", false: "off"}[x.On]
			if x.Err != nil {
				l += " (failed)"
			}
			levels = append(levels, l)
		}
		fmt.Fprintf(out, "relay: %s\n", strings.Join(levels, ", "))
		s.switches = len(sw)
	}
	es := s.r.ledger.entries()
	for _, e := range es[s.entries:] {
		if e.Kind == gate.KindAnnulment {
			fmt.Fprintf(out, "journal: scan %d (%s) annulled by %s\n", e.Decision.Seq, e.Decision.Barcode, e.By)
		}
	}
	s.entries = len(es)
	st := s.r.lane.Status()
	fmt.Fprintf(out, "state: %s, pending %v, admits %d", st.State, s.r.lane.Pending(), st.Admits)
	if st.Fault != "" {
		fmt.Fprintf(out, ", fault %q", st.Fault)
	}
	out.WriteString("\n")
}
