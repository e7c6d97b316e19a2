package gate_test

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"

	"github.com/admitgate/admit/gate"
)

// TestDecideScript runs the scripts in testdata/decide: the cases of
// gate.Decide whose redemptions before and after say more than a table row
// can (passes, entries, re-entries, exits). Rewrite the expected output with
// -rewrite, then read the diff.
//
// Directives (times are offsets from t0, 2026-12-05 18:00 UTC):
//
//	events                      the appliance's events, one a line:
//	                            <id> opens=<dur> closes=<dur> [reentry] [entries=<n>]
//	decide [key=value ...]      decide a scan of a ticket; the input lines are its
//	                            redemptions: <event> [admissions=n] [reentries=n]
//	                            [exits=n] [inside] [first=<move>] [last=<move>]
//
// decide's arguments: events=(a,b) the ticket's events; period=(<from>,<until>)
// a period pass; state=<state>; upstream (used upstream); dir=out; at=<dur>
// (default 1h); lane=(a,b) the lane's events. A move is <lane>@<dur>#<seq>.
// The scan is made at lane south-2 with journal sequence 42.
//
// The output is the reason, the event and, for already_used, the first use;
// then, when the decision writes, the redemption it writes.
func TestDecideScript(t *testing.T) {
	datadriven.Walk(t, "testdata/decide", func(t *testing.T, path string) {
		var events *gate.EventSet
		datadriven.RunTest(t, path, func(t *testing.T, td *datadriven.TestData) string {
			switch td.Cmd {
			case "events":
				var es []gate.Event
				for _, line := range nonEmptyLines(td.Input) {
					e, err := parseEvent(line)
					if err != nil {
						td.Fatalf(t, "%s: %v", line, err)
					}
					es = append(es, e)
				}
				events = gate.NewEventSet(es...)
				return ""
			case "decide":
				if events == nil {
					td.Fatalf(t, "decide before events")
				}
				return runDecide(t, td, events)
			}
			td.Fatalf(t, "unknown directive %q", td.Cmd)
			return ""
		})
	})
}

func runDecide(t *testing.T, td *datadriven.TestData, events *gate.EventSet) string {
	tk := gate.Ticket{Barcode: "B1", Provider: "p", State: gate.StateValid, PriceType: gate.Code{Code: "ADU", Name: "Adult"}}
	s := gate.Scan{Barcode: tk.Barcode, Lane: "south-2", Direction: gate.In, At: t0.Add(time.Hour)}
	for _, arg := range td.CmdArgs {
		var err error
		switch arg.Key {
		case "events":
			tk.Events = arg.Vals
		case "lane":
			s.LaneEvents = arg.Vals
		case "period":
			from, until := arg.TwoVals(t)
			tk.Period.From, err = offset(from)
			if err == nil {
				tk.Period.Until, err = offset(until)
			}
		case "state":
			tk.State, err = gate.ParseState(arg.SingleVal(t))
		case "upstream":
			tk.UsedUpstream = true
		case "dir":
			err = s.Direction.UnmarshalText([]byte(arg.SingleVal(t)))
		case "at":
			s.At, err = offset(arg.SingleVal(t))
		default:
			err = fmt.Errorf("unknown argument")
		}
		if err != nil {
			td.Fatalf(t, "%s: %v", arg.Key, err)
		}
	}
	var reds []gate.Redemption
	for _, line := range nonEmptyLines(td.Input) {
		r, err := parseRedemption(line)
		if err != nil {
			td.Fatalf(t, "%s: %v", line, err)
		}
		reds = append(reds, r)
	}
	o := gate.Decide(gate.Input{Scan: &s, Ticket: &tk, Redemptions: reds, Events: events, Seq: 42})
	d := o.Decision
	// What every decision holds, whatever the script says.
	if d.Admit != d.Reason.Admits() {
		t.Errorf("%s: admit = %v for %s", td.Pos, d.Admit, d.Reason)
	}
	if d.Seq != 42 || d.Barcode != tk.Barcode || d.Lane != "south-2" || !d.At.Equal(s.At) || d.Ticket == nil {
		t.Errorf("%s: decision identity = %+v", td.Pos, d)
	}
	if o.Write && o.Redemption.Event != d.Event {
		t.Errorf("%s: redemption for %q, decision for %q", td.Pos, o.Redemption.Event, d.Event)
	}
	var b strings.Builder
	b.WriteString(d.Reason.String())
	if d.Event != "" {
		b.WriteString(" " + d.Event)
	}
	if d.FirstUsed != nil {
		b.WriteString(" first-used=" + formatMove(*d.FirstUsed))
	}
	b.WriteString("\n")
	if o.Write {
		b.WriteString("write " + formatRedemption(o.Redemption) + "\n")
	}
	return b.String()
}

func nonEmptyLines(s string) []string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			out = append(out, line)
		}
	}
	return out
}

// offset parses a duration from t0 ("1h", "-24h", "0").
func offset(s string) (time.Time, error) {
	d, err := time.ParseDuration(s)
	return t0.Add(d), err
}

func formatOffset(at time.Time) string {
	s := at.Sub(t0).String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func parseEvent(line string) (gate.Event, error) {
	f := strings.Fields(line)
	e := gate.Event{ID: f[0]}
	for _, kv := range f[1:] {
		k, v, _ := strings.Cut(kv, "=")
		var err error
		switch k {
		case "opens":
			e.OpensAt, err = offset(v)
		case "closes":
			e.ClosesAt, err = offset(v)
		case "reentry":
			e.Reentry = true
		case "entries":
			e.Entries, err = strconv.Atoi(v)
		default:
			err = fmt.Errorf("unknown field %q", k)
		}
		if err != nil {
			return e, err
		}
	}
	return e, nil
}

func parseRedemption(line string) (gate.Redemption, error) {
	f := strings.Fields(line)
	r := gate.Redemption{Event: f[0]}
	for _, kv := range f[1:] {
		k, v, _ := strings.Cut(kv, "=")
		var err error
		switch k {
		case "admissions":
			r.Admissions, err = strconv.Atoi(v)
		case "reentries":
			r.Reentries, err = strconv.Atoi(v)
		case "exits":
			r.Exits, err = strconv.Atoi(v)
		case "inside":
			r.Inside = true
		case "first":
			r.First, err = parseMove(v)
		case "last":
			r.Last, err = parseMove(v)
		default:
			err = fmt.Errorf("unknown field %q", k)
		}
		if err != nil {
			return r, err
		}
	}
	return r, nil
}

// parseMove reads <lane>@<dur>#<seq>.
func parseMove(s string) (gate.Movement, error) {
	lane, rest, ok := strings.Cut(s, "@")
	at, seq, ok2 := strings.Cut(rest, "#")
	if !ok || !ok2 {
		return gate.Movement{}, fmt.Errorf("move %q: want <lane>@<dur>#<seq>", s)
	}
	m := gate.Movement{Lane: lane}
	var err error
	if m.At, err = offset(at); err != nil {
		return m, err
	}
	m.Seq, err = strconv.ParseUint(seq, 10, 64)
	return m, err
}

func formatMove(m gate.Movement) string {
	if m.At.IsZero() {
		return m.Lane // the upstream lane: no time, no sequence
	}
	return fmt.Sprintf("%s@%s#%d", m.Lane, formatOffset(m.At), m.Seq)
}

func formatRedemption(r gate.Redemption) string {
	f := []string{r.Event}
	for _, c := range []struct {
		name string
		n    int
	}{{"admissions", r.Admissions}, {"reentries", r.Reentries}, {"exits", r.Exits}} {
		if c.n != 0 {
			f = append(f, fmt.Sprintf("%s=%d", c.name, c.n))
		}
	}
	if r.Inside {
		f = append(f, "inside")
	}
	if r.First != (gate.Movement{}) {
		f = append(f, "first="+formatMove(r.First))
	}
	if r.Last != (gate.Movement{}) {
		f = append(f, "last="+formatMove(r.Last))
	}
	return strings.Join(slices.Clip(f), " ")
}
