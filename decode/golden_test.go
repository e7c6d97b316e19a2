package decode

import (
	"flag"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"
	"github.com/rs/zerolog"

	"github.com/admitgate/admit/decode/decodetest"
	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/internal/testkit"
)

var update = flag.Bool("update", false, "rewrite the expected output of the golden files in testdata/golden")

// t0 is the clock origin of the golden files: times print as offsets.
var t0 = time.Date(2026, 12, 5, 18, 0, 0, 0, time.UTC)

// testLogger logs nothing unless ADMIT_TEST_LOG is set.
func testLogger(t testing.TB) zerolog.Logger { return testkit.Logger(t) }

// TestGolden replays the report streams and byte streams kept in
// testdata/golden through the decoders and compares the reads with the
// expected output beside them. Refresh with -update (then read the diff).
//
// Directives:
//
//	keyboard|pos|serial [key=value ...]   make the decoder (Config fields by their toml names)
//	feed                                  input: one report (or serial chunk) per line
//	expire at=<dur>                       Expire at t0+dur until it returns nothing
//	flush at=<dur>                        Flush at t0+dur
//	deadline                              print Deadline
//
// A feed line is "[@<dur>|+<dur>] tokens [# comment]": tokens are hex
// bytes ("02 00 04"), hex runs ("0200040000000000"), Go-quoted strings
// ("\"]Q0\""), and "xx*N" for N copies of byte xx. Without a time the line
// comes 1ms after the previous one.
func TestGolden(t *testing.T) {
	if *update {
		if err := flag.Set("rewrite", "true"); err != nil {
			t.Fatal(err)
		}
	}
	files, err := filepath.Glob("testdata/golden/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files: %v", err)
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			g := &goldenRun{log: testLogger(t)}
			datadriven.RunTest(t, path, g.run)
		})
	}
}

type goldenRun struct {
	log    zerolog.Logger
	report ReportDecoder
	stream *Serial
	now    time.Time
}

func (g *goldenRun) run(t *testing.T, td *datadriven.TestData) string {
	switch td.Cmd {
	case "keyboard", "pos", "serial":
		cfg, err := goldenConfig(td)
		if err != nil {
			return "error: " + err.Error()
		}
		g.report, g.stream, g.now = nil, nil, t0
		switch td.Cmd {
		case "keyboard":
			k, err := NewKeyboard(cfg, g.log)
			if err != nil {
				return "error: " + err.Error()
			}
			g.report = k
		case "pos":
			p, err := NewPOS(cfg, g.log)
			if err != nil {
				return "error: " + err.Error()
			}
			g.report = p
		case "serial":
			s, err := NewSerial(cfg, g.log)
			if err != nil {
				return "error: " + err.Error()
			}
			g.stream = s
		}
		return "ok"
	case "feed":
		var out strings.Builder
		var reads []gate.Read
		for i, line := range strings.Split(td.Input, "\n") {
			at, data, err := parseFeedLine(line, g.now)
			if err != nil {
				td.Fatalf(t, "line %d: %v", i+1, err)
			}
			if data == nil {
				continue
			}
			g.now = at
			if g.stream != nil {
				reads = g.stream.Feed(data, at, reads[:0])
				for _, r := range reads {
					writeRead(&out, r)
				}
				continue
			}
			if r, ok := g.report.Feed(data, at); ok {
				writeRead(&out, r)
			}
		}
		return out.String()
	case "expire", "flush":
		var d time.Duration
		var s string
		td.ScanArgs(t, "at", &s)
		d, err := time.ParseDuration(s)
		if err != nil {
			td.Fatalf(t, "at: %v", err)
		}
		at := t0.Add(d)
		var out strings.Builder
		for {
			var r gate.Read
			var ok bool
			switch {
			case td.Cmd == "flush":
				r, ok = g.flush(at)
			case g.stream != nil:
				r, ok = g.stream.Expire(at)
			default:
				r, ok = g.report.Expire(at)
			}
			if !ok {
				break
			}
			writeRead(&out, r)
		}
		if out.Len() == 0 {
			return "nothing"
		}
		return out.String()
	case "deadline":
		var dl time.Time
		if g.stream != nil {
			dl = g.stream.Deadline()
		} else {
			dl = g.report.Deadline()
		}
		if dl.IsZero() {
			return "none"
		}
		return "@" + dl.Sub(t0).String()
	}
	td.Fatalf(t, "unknown directive %q", td.Cmd)
	return ""
}

func (g *goldenRun) flush(at time.Time) (gate.Read, bool) {
	switch d := g.report.(type) {
	case *Keyboard:
		return d.Flush(at)
	case *POS:
		return d.Flush(at)
	}
	return g.stream.Flush(at)
}

func writeRead(b *strings.Builder, r gate.Read) {
	fmt.Fprintf(b, "@%v %q", r.At.Sub(t0), r.Text)
	if r.Symbology != "" {
		fmt.Fprintf(b, " symbology=%s", r.Symbology)
	}
	if r.Source != "" {
		fmt.Fprintf(b, " source=%s", r.Source)
	}
	if r.Malformed != "" {
		fmt.Fprintf(b, " malformed: %s", r.Malformed)
	}
	b.WriteByte('\n')
}

// goldenConfig builds a Config from directive arguments named like the
// TOML keys. String values may be Go-quoted; lists are (a,b).
func goldenConfig(td *datadriven.TestData) (Config, error) {
	var c Config
	for _, arg := range td.CmdArgs {
		val := strings.Join(arg.Vals, ",")
		if strings.HasPrefix(val, `"`) {
			u, err := strconv.Unquote(val)
			if err != nil {
				return c, fmt.Errorf("%s: %v", arg.Key, err)
			}
			val = u
		}
		var err error
		switch arg.Key {
		case "source":
			c.Source = val
		case "layout":
			c.Layout = val
		case "prefix":
			c.Prefix = val
		case "suffix":
			c.Suffix = val
		case "terminators":
			err = c.Terminators.UnmarshalText([]byte(val))
		case "timeout":
			c.Timeout, err = time.ParseDuration(val)
		case "aim":
			c.AIM = true
		case "symbologies":
			err = c.Symbologies.UnmarshalText([]byte(val))
		case "check_digits":
			err = c.CheckDigits.UnmarshalText([]byte(val))
		case "framing":
			err = c.Framing.UnmarshalText([]byte(val))
		case "dedup_window":
			c.DedupWindow, err = time.ParseDuration(val)
		case "max_len":
			c.MaxLen, err = strconv.Atoi(val)
		case "pos_report_id":
			var v uint64
			v, err = strconv.ParseUint(val, 0, 8)
			c.POSReportID = uint8(v)
		default:
			err = fmt.Errorf("unknown argument")
		}
		if err != nil {
			return c, fmt.Errorf("%s: %w", arg.Key, err)
		}
	}
	return c, nil
}

// parseFeedLine parses one feed line (decodetest's format, times from
// t0); data is nil for a blank or comment line.
func parseFeedLine(line string, prev time.Time) (at time.Time, data []byte, err error) {
	d, data, err := decodetest.ParseLine(line, prev.Sub(t0))
	return t0.Add(d), data, err
}
