package rules

import (
	"fmt"
	"testing"
	"time"
	_ "time/tzdata" // the zones below, whatever the machine has installed

	"github.com/admitgate/admit/gate"
)

func zone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// at reads "2006-01-02 15:04" (or with seconds) as a wall clock in loc. In an
// overlap it is the earlier instant; use a UTC time to name the later one.
func at(t testing.TB, loc *time.Location, s string) time.Time {
	t.Helper()
	for _, layout := range []string{"2006-01-02 15:04:05", "2006-01-02 15:04"} {
		if w, err := time.Parse(layout, s); err == nil {
			return wallClock(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), loc)
		}
	}
	t.Fatalf("bad time %q", s)
	return time.Time{}
}

func utc(t testing.TB, s string) time.Time { return at(t, time.UTC, s) }

// number evaluates a rule that yields a number, such as {"var": "entries_today"}.
func evalNumber(t *testing.T, rule string, f *Facts) float64 {
	t.Helper()
	r := MustCompile(rule)
	e := env{f: f}
	v := e.eval(r.root, &frame{})
	if e.fault != 0 {
		t.Fatalf("%s: fault: %s", rule, e.faultMessage())
	}
	if v.k != kNum {
		t.Fatalf("%s = %s, not a number", rule, toJSON(v))
	}
	return v.n
}

func evalTime(t *testing.T, rule string, f *Facts) time.Time {
	t.Helper()
	r := MustCompile(rule)
	e := env{f: f}
	v := e.eval(r.root, &frame{})
	if e.fault != 0 {
		t.Fatalf("%s: fault: %s", rule, e.faultMessage())
	}
	if v.k != kTime {
		t.Fatalf("%s = %s, not a time", rule, toJSON(v))
	}
	return v.time()
}

func TestWallClock(t *testing.T) {
	berlin, havana := zone(t, "Europe/Berlin"), zone(t, "America/Havana")
	tests := []struct {
		name string
		loc  *time.Location
		wall [6]int
		want string // UTC
	}{
		{"plain", berlin, [6]int{2026, 6, 7, 0, 0, 0}, "2026-06-06T22:00:00Z"},
		{"winter", berlin, [6]int{2026, 1, 7, 18, 30, 0}, "2026-01-07T17:30:00Z"},
		{"spring gap: read with the offset before the jump", berlin, [6]int{2026, 3, 29, 2, 30, 0}, "2026-03-29T01:30:00Z"},
		{"just after the gap", berlin, [6]int{2026, 3, 29, 3, 0, 0}, "2026-03-29T01:00:00Z"},
		{"autumn overlap: the earlier instant", berlin, [6]int{2026, 10, 25, 2, 30, 0}, "2026-10-25T00:30:00Z"},
		{"after the overlap", berlin, [6]int{2026, 10, 25, 3, 0, 0}, "2026-10-25T02:00:00Z"},
		{"skipped midnight: the day starts at the jump (01:00 CDT)", havana, [6]int{2026, 3, 8, 0, 0, 0}, "2026-03-08T05:00:00Z"},
		{"the day before a skipped midnight", havana, [6]int{2026, 3, 7, 0, 0, 0}, "2026-03-07T05:00:00Z"},
		{"Havana autumn overlap at 00:00-01:00", havana, [6]int{2026, 11, 1, 0, 30, 0}, "2026-11-01T04:30:00Z"},
		{"UTC", time.UTC, [6]int{2026, 6, 7, 0, 0, 0}, "2026-06-07T00:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := tt.wall
			got := wallClock(w[0], time.Month(w[1]), w[2], w[3], w[4], w[5], tt.loc)
			if s := got.UTC().Format(time.RFC3339); s != tt.want {
				t.Errorf("wallClock(%v) = %s (%s), want %s", w, s, got, tt.want)
			}
		})
	}
}

func TestStartOfDay(t *testing.T) {
	berlin, havana := zone(t, "Europe/Berlin"), zone(t, "America/Havana")
	tests := []struct {
		loc       *time.Location
		at, start string // UTC
	}{
		{berlin, "2026-06-06 21:59:59", "2026-06-05 22:00:00"}, // 23:59:59 CEST on the 6th
		{berlin, "2026-06-06 22:00:00", "2026-06-06 22:00:00"}, // 00:00 CEST on the 7th
		{berlin, "2026-03-29 12:00:00", "2026-03-28 23:00:00"}, // spring day: starts at 00:00 CET
		{berlin, "2026-03-29 22:30:00", "2026-03-29 22:00:00"}, // 00:30 CEST on the 30th
		{berlin, "2026-10-25 22:59:00", "2026-10-24 22:00:00"}, // 23:59 CET closes a 25-hour day
		{berlin, "2026-10-25 23:00:00", "2026-10-25 23:00:00"},
		{havana, "2026-03-08 04:59:00", "2026-03-07 05:00:00"}, // 23:59 CST on the 7th
		{havana, "2026-03-08 05:00:00", "2026-03-08 05:00:00"}, // 01:00 CDT: the 8th began at the jump
		{time.UTC, "2026-06-06 23:59:59", "2026-06-06 00:00:00"},
	}
	for _, tt := range tests {
		got := startOfDay(utc(t, tt.at), tt.loc)
		if want := utc(t, tt.start); !got.Equal(want) {
			t.Errorf("startOfDay(%s UTC in %s) = %s, want %s UTC", tt.at, tt.loc, got.UTC(), tt.start)
		}
	}
}

func TestNowISOWeekday(t *testing.T) {
	berlin, la := zone(t, "Europe/Berlin"), zone(t, "America/Los_Angeles")
	tests := []struct {
		loc  *time.Location
		at   string // UTC
		want float64
	}{
		{berlin, "2026-06-07 21:59:59", 7}, // Sunday 23:59:59 CEST
		{berlin, "2026-06-07 22:00:00", 1}, // Monday 00:00 CEST
		{nil, "2026-06-07 22:00:00", 7},    // no zone: UTC, still Sunday
		{la, "2026-06-08 06:59:00", 7},     // Sunday 23:59 PDT
		{la, "2026-06-08 07:00:00", 1},
		{berlin, "2026-03-28 23:00:00", 7}, // Sunday 00:00 CET of the spring change
		{berlin, "2026-10-24 21:59:00", 6}, // Saturday 23:59 CEST before the autumn change
	}
	for _, tt := range tests {
		f := &Facts{At: utc(t, tt.at), Location: tt.loc}
		if got := evalNumber(t, `{"var": "now_isoweekday"}`, f); got != tt.want {
			t.Errorf("now_isoweekday at %s UTC in %v = %v, want %v", tt.at, tt.loc, got, tt.want)
		}
	}
}

func TestEntriesToday(t *testing.T) {
	berlin, havana := zone(t, "Europe/Berlin"), zone(t, "America/Havana")
	tests := []struct {
		name    string
		loc     *time.Location
		entries []string // local wall clocks
		at      string   // local
		want    float64
	}{
		{"no entry", berlin, nil, "2026-06-07 10:00", 0},
		{"one this morning", berlin, []string{"2026-06-07 09:00"}, "2026-06-07 10:00", 1},
		{"one a minute before midnight is yesterday's", berlin, []string{"2026-06-06 23:59"}, "2026-06-07 00:01", 0},
		{"one at midnight is today's", berlin, []string{"2026-06-07 00:00"}, "2026-06-07 00:01", 1},
		{"UTC's midnight does not matter", berlin, []string{"2026-06-07 01:30"}, "2026-06-07 03:00", 1},
		{"several days", berlin, []string{"2026-06-05 12:00", "2026-06-06 12:00", "2026-06-07 08:00", "2026-06-07 09:00"}, "2026-06-07 10:00", 2},
		{"spring change day (23 hours)", berlin, []string{"2026-03-28 23:30", "2026-03-29 00:30", "2026-03-29 03:30"}, "2026-03-29 23:00", 2},
		{"autumn change day (25 hours)", berlin, []string{"2026-10-24 23:59", "2026-10-25 00:30", "2026-10-25 02:30"}, "2026-10-25 23:30", 2},
		{"skipped midnight: the day starts at 01:00", havana, []string{"2026-03-07 23:30", "2026-03-08 01:00"}, "2026-03-08 10:00", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &Facts{At: at(t, tt.loc, tt.at), Location: tt.loc}
			for _, e := range tt.entries {
				f.Entries = append(f.Entries, at(t, tt.loc, e))
			}
			if got := evalNumber(t, `{"var": "entries_today"}`, f); got != tt.want {
				t.Errorf("entries_today = %v, want %v", got, tt.want)
			}
			if got := evalNumber(t, `{"var": "entries_number"}`, f); got != float64(len(tt.entries)) {
				t.Errorf("entries_number = %v, want %d", got, len(tt.entries))
			}
		})
	}
}

func TestEntriesDays(t *testing.T) {
	berlin, santiago := zone(t, "Europe/Berlin"), zone(t, "America/Santiago")
	tests := []struct {
		name    string
		loc     *time.Location
		entries []string // UTC
		want    float64
	}{
		{"none", berlin, nil, 0},
		{"one", berlin, []string{"2026-06-07 10:00"}, 1},
		{"same UTC day, two Berlin days", berlin, []string{"2026-06-06 21:30", "2026-06-06 22:30"}, 2},
		{"same UTC day, two Berlin days, in UTC", time.UTC, []string{"2026-06-06 21:30", "2026-06-06 22:30"}, 1},
		{"two UTC days, one Berlin day", berlin, []string{"2026-06-06 22:30", "2026-06-07 21:30"}, 1},
		{"many the same day", berlin, []string{"2026-06-07 06:00", "2026-06-07 08:00", "2026-06-07 12:00", "2026-06-07 20:00"}, 1},
		{"three days", berlin, []string{"2026-06-05 10:00", "2026-06-06 10:00", "2026-06-06 11:00", "2026-06-07 10:00"}, 3},
		{"across the autumn change", berlin, []string{"2026-10-24 21:30", "2026-10-24 22:30", "2026-10-25 22:30", "2026-10-25 23:30"}, 3},
		// Santiago turns its clocks back at 24:00: 23:30 shows twice on the 4th.
		{"Santiago's repeated hour stays on its day", santiago, []string{"2026-04-05 02:30", "2026-04-05 03:30", "2026-04-05 04:30"}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &Facts{At: utc(t, "2026-12-31 12:00"), Location: tt.loc}
			for _, e := range tt.entries {
				f.Entries = append(f.Entries, utc(t, e))
			}
			if got := evalNumber(t, `{"var": "entries_days"}`, f); got != tt.want {
				t.Errorf("entries_days = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDistinctDaysManyEntries(t *testing.T) {
	// More days than the stack buffer holds.
	var entries []time.Time
	start := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	for d := 0; d < 100; d++ {
		entries = append(entries, start.AddDate(0, 0, d), start.AddDate(0, 0, d).Add(time.Hour))
	}
	if got := distinctDays(entries, time.UTC); got != 100 {
		t.Errorf("distinctDays = %d, want 100", got)
	}
}

func TestMinutesSinceEntry(t *testing.T) {
	now := time.Date(2026, 6, 7, 18, 0, 0, 0, time.UTC)
	tests := []struct {
		name        string
		entries     []time.Duration // before now
		last, first float64
	}{
		{"no entry: -1", nil, -1, -1},
		{"59 seconds: 0", []time.Duration{59 * time.Second}, 0, 0},
		{"90 seconds: 1, rounded down", []time.Duration{90 * time.Second}, 1, 1},
		{"30 minutes exactly", []time.Duration{30 * time.Minute}, 30, 30},
		{"first and last", []time.Duration{26 * time.Hour, 3*time.Hour + 30*time.Second, 45 * time.Minute}, 45, 1560},
		{"an entry a little ahead of this clock: 0, not -1", []time.Duration{-20 * time.Second}, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &Facts{At: now}
			for _, d := range tt.entries {
				f.Entries = append(f.Entries, now.Add(-d))
			}
			if got := evalNumber(t, `{"var": "minutes_since_last_entry"}`, f); got != tt.last {
				t.Errorf("minutes_since_last_entry = %v, want %v", got, tt.last)
			}
			if got := evalNumber(t, `{"var": "minutes_since_first_entry"}`, f); got != tt.first {
				t.Errorf("minutes_since_first_entry = %v, want %v", got, tt.first)
			}
		})
	}
}

func TestEntriesSinceAndBefore(t *testing.T) {
	berlin := zone(t, "Europe/Berlin")
	entries := []string{"2026-06-05 23:30", "2026-06-06 00:30", "2026-06-06 06:00", "2026-06-06 14:00", "2026-06-07 07:00"}
	f := &Facts{At: at(t, berlin, "2026-06-07 10:00"), Location: berlin}
	for _, e := range entries {
		f.Entries = append(f.Entries, at(t, berlin, e))
	}
	tests := []struct {
		cutoff                               string // a buildTime
		since, before, daysSince, daysBefore float64
	}{
		{`["custom", "2026-06-06T06:00:00+02:00"]`, 3, 2, 2, 2},        // an entry at the cutoff counts as since
		{`["custom", "2026-06-06T04:00:00Z"]`, 3, 2, 2, 2},             // the same instant in UTC
		{`["custom", "2026-06-06T06:00:00.000001+02:00"]`, 2, 3, 2, 2}, // a microsecond later
		{`["custom", "2026-06-06T00:00:00+02:00"]`, 4, 1, 2, 1},        // Berlin's midnight
		{`["custom", "2026-06-06T00:00:00Z"]`, 3, 2, 2, 2},             // UTC's midnight is 02:00 in Berlin
		{`["customtime", "06:00"]`, 1, 4, 1, 2},                        // 06:00 on the scan's day, the 7th
		{`["customtime", "23:00"]`, 0, 5, 0, 3},                        // later today
		{`["custom", "2020-01-01T00:00:00Z"]`, 5, 0, 3, 0},
	}
	for _, tt := range tests {
		bt := `{"buildTime": ` + tt.cutoff + `}`
		for _, c := range []struct {
			op   string
			want float64
		}{{"entries_since", tt.since}, {"entries_before", tt.before}, {"entries_days_since", tt.daysSince}, {"entries_days_before", tt.daysBefore}} {
			rule := fmt.Sprintf(`{%q: [%s]}`, c.op, bt)
			if got := evalNumber(t, rule, f); got != c.want {
				t.Errorf("%s = %v, want %v", rule, got, c.want)
			}
		}
	}
}

func TestBuildTime(t *testing.T) {
	berlin := zone(t, "Europe/Berlin")
	from, to, adm := at(t, berlin, "2026-06-07 18:00"), at(t, berlin, "2026-06-07 23:00"), at(t, berlin, "2026-06-07 17:00")
	full := &Facts{At: at(t, berlin, "2026-06-07 10:00"), Location: berlin, DateFrom: from, DateTo: to, DateAdmission: adm}
	onlyFrom := &Facts{At: full.At, Location: berlin, DateFrom: from}
	tests := []struct {
		name string
		f    *Facts
		args string
		want time.Time
	}{
		{"date_from", full, `["date_from"]`, from},
		{"date_to", full, `["date_to"]`, to},
		{"date_admission", full, `["date_admission"]`, adm},
		{"date_to falls back to date_from", onlyFrom, `["date_to"]`, from},
		{"date_admission falls back to date_from", onlyFrom, `["date_admission"]`, from},
		{"a null second argument is none", full, `["date_from", null]`, from},
		{"custom with an offset", full, `["custom", "2026-06-07T18:00:00+02:00"]`, from},
		{"custom in UTC, as pretix's editor writes it", full, `["custom", "2026-06-07T16:00:00.000Z"]`, from},
		{"custom with a space", full, `["custom", "2026-06-07 16:00:00Z"]`, from},
		{"customtime is today in the event's zone", full, `["customtime", "18:00"]`, from},
		{"customtime with seconds", full, `["customtime", "18:00:00"]`, from},
		{"customtime takes the date in the event's zone, not UTC's",
			&Facts{At: utc(t, "2026-06-06 23:30"), Location: berlin}, `["customtime", "18:00"]`, at(t, berlin, "2026-06-07 18:00")},
		{"customtime in the spring gap is read with the offset before it",
			&Facts{At: at(t, berlin, "2026-03-29 12:00"), Location: berlin}, `["customtime", "02:30"]`, utc(t, "2026-03-29 01:30")},
		{"customtime in the autumn overlap is the earlier instant",
			&Facts{At: at(t, berlin, "2026-10-25 12:00"), Location: berlin}, `["customtime", "02:30"]`, utc(t, "2026-10-25 00:30")},
		{"customtime without a zone is UTC", &Facts{At: utc(t, "2026-06-07 10:00")}, `["customtime", "18:00"]`, utc(t, "2026-06-07 18:00")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := evalTime(t, `{"buildTime": `+tt.args+`}`, tt.f); !got.Equal(tt.want) {
				t.Errorf("buildTime %s = %s, want %s", tt.args, got.In(berlin), tt.want.In(berlin))
			}
		})
	}
}

func TestIsAfterIsBefore(t *testing.T) {
	berlin := zone(t, "Europe/Berlin")
	base := Facts{Location: berlin, DateFrom: at(t, berlin, "2026-06-07 18:00"),
		DateAdmission: at(t, berlin, "2026-06-07 17:00"), DateTo: at(t, berlin, "2026-06-07 23:00")}
	tests := []struct {
		rule string
		at   string // Berlin
		want bool
	}{
		{`{"isAfter": [{"var": "now"}, {"buildTime": ["date_admission"]}]}`, "2026-06-07 17:00:00", false}, // strict
		{`{"isAfter": [{"var": "now"}, {"buildTime": ["date_admission"]}]}`, "2026-06-07 17:00:01", true},
		{`{"isAfter": [{"var": "now"}, {"buildTime": ["date_admission"]}, 10]}`, "2026-06-07 16:50:00", false},
		{`{"isAfter": [{"var": "now"}, {"buildTime": ["date_admission"]}, 10]}`, "2026-06-07 16:50:01", true},
		{`{"isAfter": [{"var": "now"}, {"buildTime": ["date_admission"]}, "10"]}`, "2026-06-07 16:50:01", true}, // pretix: float("10")
		{`{"isAfter": [{"var": "now"}, {"buildTime": ["date_admission"]}, 0]}`, "2026-06-07 17:00:00", false},   // 0: none
		{`{"isAfter": [{"var": "now"}, {"buildTime": ["date_admission"]}, null]}`, "2026-06-07 17:00:01", true},
		{`{"isAfter": [{"var": "now"}, {"buildTime": ["date_admission"]}, 1.5]}`, "2026-06-07 16:58:31", true},
		{`{"isAfter": [{"var": "now"}, {"buildTime": ["date_admission"]}, 1.5]}`, "2026-06-07 16:58:30", false},
		{`{"isBefore": [{"var": "now"}, {"buildTime": ["date_to"]}]}`, "2026-06-07 22:59:59", true},
		{`{"isBefore": [{"var": "now"}, {"buildTime": ["date_to"]}]}`, "2026-06-07 23:00:00", false},
		{`{"isBefore": [{"var": "now"}, {"buildTime": ["date_to"]}, 10]}`, "2026-06-07 23:09:59", true},
		{`{"isBefore": [{"var": "now"}, {"buildTime": ["date_to"]}, 10]}`, "2026-06-07 23:10:00", false},
		{`{"isBefore": [{"var": "now"}, {"buildTime": ["customtime", "18:00"]}]}`, "2026-06-07 17:59:59", true},
		{`{"isBefore": [{"var": "now"}, {"buildTime": ["customtime", "18:00"]}]}`, "2026-06-08 17:59:59", true}, // a new day, a new 18:00
		{`{"isBefore": [{"var": "now"}, {"buildTime": ["customtime", "18:00"]}]}`, "2026-06-08 18:00:00", false},
	}
	for _, tt := range tests {
		f := base
		f.At = at(t, berlin, tt.at)
		if got, detail := MustCompile(tt.rule).Eval(&f); got != tt.want {
			t.Errorf("%s at %s = %v (%s), want %v", tt.rule, tt.at, got, detail, tt.want)
		}
	}
}

func TestScanAndTicketVariables(t *testing.T) {
	ticket := gate.Ticket{Barcode: "1", Provider: "secutix-main", PriceType: gate.Code{Code: "CHILD"},
		Product: gate.Code{Code: "MATCH-12"}, Events: []string{"derby"}, State: gate.StateValid}
	scan := gate.Scan{Barcode: "1", Lane: "north-1", Direction: gate.In, At: time.Date(2026, 6, 7, 18, 0, 0, 0, time.UTC)}
	f := NewFacts(&ticket, &scan)
	f.Zone, f.Variation = "north-stand", "red"
	tests := map[string]string{
		"product": "MATCH-12", "variation": "red", "gate": "north-1", "price_type": "CHILD",
		"provider": "secutix-main", "zone": "north-stand", "direction": "in",
	}
	for name, want := range tests {
		rule := fmt.Sprintf(`{"==": [{"var": %q}, %q]}`, name, want)
		if ok, detail := MustCompile(rule).Eval(&f); !ok {
			t.Errorf("%s: %s", rule, detail)
		}
	}
	f.Direction = gate.Out
	if ok, detail := MustCompile(`{"==": [{"var": "direction"}, "out"]}`).Eval(&f); !ok {
		t.Errorf("direction out: %s", detail)
	}
	f.Direction = 0
	if ok, _ := MustCompile(`{"var": "direction"}`).Eval(&f); ok {
		t.Errorf("an unset direction is not empty")
	}
	if got := evalTime(t, `{"var": "now"}`, &f); !got.Equal(scan.At) {
		t.Errorf("now = %s, want %s", got, scan.At)
	}
	if len(Variables()) != int(varEnd-1) {
		t.Errorf("Variables() = %v", Variables())
	}
}
