package importfile

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // zones with daylight saving time, whatever the machine has

	"github.com/admitgate/admit/gate"
)

// FuzzSplitPlain checks the fast splitter against the state machine it
// stands in for.
func FuzzSplitPlain(f *testing.F) {
	for _, s := range []string{"", ";", "a;b", " a ; b ;", "\ta\t;\t", "1234567;89012345;;x", "a,b\tc;d", "x\"y;z"} {
		for _, sep := range []byte{',', ';', '\t'} {
			f.Add(s, sep)
		}
	}
	f.Fuzz(func(t *testing.T, line string, sep byte) {
		if strings.ContainsAny(line, "\n") || (sep != ',' && sep != ';' && sep != '\t') {
			return
		}
		got, plain := splitPlain(nil, []byte(line), sep)
		if plain != !strings.Contains(line, `"`) {
			t.Fatalf("splitPlain(%q) plain = %v", line, plain)
		}
		if !plain {
			return
		}
		p := recordParser{sep: sep}
		p.feed([]byte(line))
		p.endLine()
		want := p.fields(nil)
		if len(got) != len(want) {
			t.Fatalf("splitPlain(%q, %q) = %q, the parser gives %q", line, sep, got, want)
		}
		for i := range got {
			if string(got[i]) != string(want[i]) {
				t.Fatalf("splitPlain(%q, %q) = %q, the parser gives %q", line, sep, got, want)
			}
		}
	})
}

// TestDatesMatchTimeDate walks through two years in zones with daylight
// saving time (and one with a 30-minute shift) and checks that the cached
// zone arithmetic gives exactly what time.Date gives, transitions included.
func TestDatesMatchTimeDate(t *testing.T) {
	for _, name := range []string{"Europe/Zurich", "America/New_York", "Australia/Lord_Howe", "UTC"} {
		loc, err := time.LoadLocation(name)
		if err != nil {
			t.Fatal(err)
		}
		var c dateCache
		wall := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		for wall.Year() < 2028 {
			text := wall.Format("2006-01-02 15:04:05")
			got, ok := c.parse([]byte(text), loc)
			want := time.Date(wall.Year(), wall.Month(), wall.Day(), wall.Hour(), wall.Minute(), wall.Second(), 0, loc)
			if !ok || !got.Equal(want) || got.Location() != want.Location() {
				t.Fatalf("%s %s: got %v, want %v", name, text, got, want)
			}
			wall = wall.Add(23*time.Minute + 17*time.Second)
		}
	}
}

// TestManyDistinctCells goes past the caches' bounds: values keep being
// read right when they are no longer cached.
func TestManyDistinctCells(t *testing.T) {
	var b strings.Builder
	const n = maxInterned + 500
	for i := range n {
		fmt.Fprintf(&b, "%d;PRINTED;1;P-%d;Name %d;%02d/01/2026;T%d;Tariff %d;%d.50;2026-01-01;1\n", i, i, i, 1+i%28, i, i, i)
	}
	lines, _ := parse(t, b.String(), gate.ImportRequest{Format: gate.FormatSecutix})
	if len(lines) != n {
		t.Fatalf("%d lines, want %d", len(lines), n)
	}
	for i, l := range lines {
		want := gate.Ticket{Barcode: fmt.Sprint(i), Provider: "p1", State: gate.StateValid, Order: "1", Contact: "1",
			Events: []string{fmt.Sprintf("P-%d", i)}, Product: gate.Code{Code: fmt.Sprintf("P-%d", i), Name: fmt.Sprintf("Name %d", i)},
			PriceType: gate.Code{Code: fmt.Sprintf("T%d", i), Name: fmt.Sprintf("Tariff %d", i)}, Price: fmt.Sprintf("%d.50", i),
			ValidityAt: time.Date(2026, 1, 1+i%28, 0, 0, 0, 0, zurich), OrderedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, zurich)}
		if l.Reject != nil {
			t.Fatalf("line %d rejected: %v", l.Line, l.Reject)
		}
		assertTicket(t, l.Ticket, want)
		if t.Failed() {
			return
		}
	}
}

// TestRandomCSVRoundTrip writes random records with quotes, separators and
// line breaks inside fields, as a spreadsheet would, and reads them back.
func TestRandomCSVRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"a", "Z", "0", " ", ",", ";", "\t", `"`, "\n", "\r\n", "é", "|"}
	word := func() string {
		var b strings.Builder
		for range rng.IntN(8) {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		return b.String()
	}
	for _, sep := range []string{",", ";", "\t"} {
		var file strings.Builder
		file.WriteString("barcode" + sep + "event" + sep + "holder\r\n")
		var want []gate.Ticket
		for i := range 300 {
			holder := strings.TrimSpace(strings.ReplaceAll(word(), "\r\n", "\n"))
			holder = strings.Trim(holder, " \t")
			bc := fmt.Sprintf("B%d-%s", i, strings.NewReplacer("\n", "", "\r", "", "\t", "").Replace(word()))
			bc = strings.TrimRight(bc, " ")
			quote := func(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
			fmt.Fprintf(&file, "%s%sE1%s%s\r\n", quote(bc), sep, sep, quote(holder))
			want = append(want, gate.Ticket{Barcode: bc, Provider: "p1", Events: []string{"E1"}, State: gate.StateValid, Holder: holder})
		}
		lines, _ := parse(t, file.String(), gate.ImportRequest{Format: gate.FormatCSV})
		if len(lines) != len(want) {
			t.Fatalf("sep %q: %d lines, want %d", sep, len(lines), len(want))
		}
		for i, l := range lines {
			if l.Reject != nil {
				t.Fatalf("sep %q: line %d rejected: %v", sep, l.Line, l.Reject)
			}
			if !reflect.DeepEqual(l.Ticket, want[i]) {
				t.Fatalf("sep %q: line %d\n got %+v\nwant %+v", sep, l.Line, l.Ticket, want[i])
			}
		}
	}
}
