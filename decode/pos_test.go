package decode

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/admitgate/admit/gate"
)

func newPOS(t testing.TB, cfg Config) *POS {
	t.Helper()
	p, err := NewPOS(cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Data -> POS reports -> read, across report boundaries: 1 byte, one full
// report, one more than a report, many reports.
func TestPOSRoundTrip(t *testing.T) {
	for _, n := range []int{1, 13, posDataMax - 1, posDataMax, posDataMax + 1, 3*posDataMax + 7, 1000} {
		data := bytes.Repeat([]byte("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"), n/36+1)[:n]
		reps, err := POSReports("]Q1", data)
		if err != nil {
			t.Fatal(err)
		}
		if want := (n + posDataMax - 1) / posDataMax; len(reps) != want {
			t.Errorf("%d bytes: %d reports, want %d", n, len(reps), want)
		}
		p := newPOS(t, Config{})
		var got []gate.Read
		for i, r := range reps {
			rd, ok := p.Feed(r[:], t0.Add(time.Duration(i)*time.Millisecond))
			if ok {
				got = append(got, rd)
			}
		}
		if len(got) != 1 || got[0].Text != string(data) || got[0].Symbology != string(QR) || got[0].Malformed != "" {
			t.Errorf("%d bytes came back as %+v", n, got)
		}
		if !p.Deadline().IsZero() {
			t.Errorf("%d bytes: deadline left", n)
		}
	}
	if _, err := POSReports("Q1", []byte("x")); gate.ErrorCode(err) != gate.EINVALID {
		t.Errorf("bad id: %v", err)
	}
	if _, err := POSReports("]Q1", nil); gate.ErrorCode(err) != gate.EINVALID {
		t.Errorf("no data: %v", err)
	}
}

// A scanner configured for another report ID, and a read cut off by an
// unplug.
func TestPOSReportIDAndFlush(t *testing.T) {
	reps, _ := POSReports("]C0", []byte(strings.Repeat("x", 70)))
	for i := range reps {
		reps[i][0] = 0x21
	}
	p := newPOS(t, Config{POSReportID: 0x21})
	if _, ok := p.Feed(reps[0][:], t0); ok {
		t.Fatal("read after the first of two reports")
	}
	rd, ok := p.Flush(t0.Add(time.Millisecond))
	if !ok || rd.Text != strings.Repeat("x", posDataMax) || !strings.Contains(rd.Malformed, "incomplete read") || rd.Symbology != "code128" {
		t.Fatalf("Flush = %+v %v", rd, ok)
	}
	if rd, ok := p.Feed(reps[1][:], t0.Add(time.Second)); !ok || rd.Text != strings.Repeat("x", 14) {
		t.Fatalf("continuation alone = %+v %v", rd, ok)
	}
	// The default ID (2) is not this scanner's: counted, never decoded.
	def := newPOS(t, Config{})
	for _, r := range reps {
		if rd, ok := def.Feed(r[:], t0); ok {
			t.Fatalf("read %+v from a foreign report ID", rd)
		}
	}
	if def.Ignored() != len(reps) || p.Ignored() != 0 {
		t.Fatalf("ignored %d and %d", def.Ignored(), p.Ignored())
	}
}

// Every HID POS read is malformed past MaxLen and the buffer stays bounded.
func TestPOSBounded(t *testing.T) {
	p := newPOS(t, Config{MaxLen: 100})
	reps, _ := POSReports("]L0", bytes.Repeat([]byte{'z'}, 10*posDataMax))
	var got []gate.Read
	for _, r := range reps {
		if rd, ok := p.Feed(r[:], t0); ok {
			got = append(got, rd)
		}
		if cap(p.a.buf) != 100 {
			t.Fatalf("buffer grew to %d", cap(p.a.buf))
		}
	}
	if len(got) != 1 || len(got[0].Text) != 100 || got[0].Malformed != "read is longer than 100 bytes; 460 more bytes dropped" {
		t.Fatalf("got %+v", got)
	}
}
