package importfile

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"testing/iotest"
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/internal/samples"
)

func TestSamplesParse(t *testing.T) {
	tests := []struct {
		name     string
		file     string
		req      gate.ImportRequest
		format   gate.Format
		lines    int
		rejected int
		blank    int
		header   int
	}{
		{"secutix detected", samples.Secutix, gate.ImportRequest{}, gate.FormatSecutix, 40, 0, 0, 1},
		{"secutix asked", samples.Secutix, gate.ImportRequest{Format: gate.FormatSecutix}, gate.FormatSecutix, 40, 0, 0, 1},
		{"secutix as csv", samples.Secutix, gate.ImportRequest{Format: gate.FormatCSV}, gate.FormatCSV, 40, 0, 0, 1},
		{"box office detected", samples.BoxOffice, gate.ImportRequest{}, gate.FormatCSV, 15, 0, 0, 1},
		{"paste with event", samples.Paste, gate.ImportRequest{Event: "MATCH-2026-12-05"}, gate.FormatLines, 28, 0, 1, 0},
		{"paste without event", samples.Paste, gate.ImportRequest{}, gate.FormatLines, 28, 28, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := samples.Read(tt.file)
			if err != nil {
				t.Fatal(err)
			}
			lines, src := parse(t, string(data), tt.req)
			if src.Format() != tt.format {
				t.Errorf("format %q, want %q", src.Format(), tt.format)
			}
			if len(lines) != tt.lines {
				t.Errorf("%d lines, want %d", len(lines), tt.lines)
			}
			if got := len(rejects(lines)); got != tt.rejected {
				t.Errorf("%d rejected, want %d: %v", got, tt.rejected, rejects(lines))
			}
			if src.blank != tt.blank || src.header != tt.header || src.continued != 0 {
				t.Errorf("blank %d header %d continued %d, want %d %d 0", src.blank, src.header, src.continued, tt.blank, tt.header)
			}
			if n := len(lines) + src.blank + src.header; n != physicalLines(data) {
				t.Errorf("%d lines accounted for, the file has %d", n, physicalLines(data))
			}
			sum := sha256.Sum256(data)
			if src.Digest() != hex.EncodeToString(sum[:]) {
				t.Errorf("digest %s, want %x", src.Digest(), sum)
			}
			for _, l := range lines {
				if l.Reject == nil {
					if err := l.Ticket.Validate(); err != nil {
						t.Errorf("line %d: %v", l.Line, err)
					}
				}
			}
		})
	}
}

func TestSecutixSampleFields(t *testing.T) {
	data, _ := samples.Read(samples.Secutix)
	lines, _ := parse(t, string(data), gate.ImportRequest{Provider: "secutix-main"})
	first := lines[0]
	want := gate.Ticket{
		Barcode:    "9836900602677354",
		Provider:   "secutix-main",
		Events:     []string{"MATCH-2026-12-05"},
		State:      gate.StateValid,
		PriceType:  gate.Code{Code: "ADU", Name: "Adult"},
		Product:    gate.Code{Code: "MATCH-2026-12-05", Name: "FC Example – Derby"},
		Order:      "880000",
		Contact:    "1000",
		Price:      "45.00",
		ValidityAt: time.Date(2026, 12, 5, 20, 0, 0, 0, zurich),
		OrderedAt:  time.Date(2026, 11, 1, 10, 0, 0, 0, zurich),
	}
	if first.Line != 2 {
		t.Errorf("first line is line %d, want 2", first.Line)
	}
	assertTicket(t, first.Ticket, want)

	states := map[string]int{}
	for _, l := range lines {
		key := l.Ticket.State.String()
		if l.Ticket.UsedUpstream {
			key += "+used"
		}
		states[key]++
	}
	wantStates := map[string]int{"valid": 35, "cancelled": 2, "invalidated": 1, "valid+used": 2}
	for k, n := range wantStates {
		if states[k] != n {
			t.Errorf("%s: %d tickets, want %d (all: %v)", k, states[k], n, states)
		}
	}
	// The strings that repeat are held once.
	if a, b := lines[0].Ticket.Product.Name, lines[2].Ticket.Product.Name; !sameString(a, b) {
		t.Error("product names of two lines are separate copies, want one interned string")
	}
}

func TestBoxOfficeSampleFields(t *testing.T) {
	data, _ := samples.Read(samples.BoxOffice)
	lines, _ := parse(t, string(data), gate.ImportRequest{Provider: "box-office"})
	assertTicket(t, lines[0].Ticket, gate.Ticket{Barcode: "BO-WTekurHSvCp4", Provider: "box-office",
		Events: []string{"MATCH-2026-12-05"}, State: gate.StateValid, PriceType: gate.Code{Code: "Adult"},
		Holder: "Müller, Anna"})
	assertTicket(t, lines[2].Ticket, gate.Ticket{Barcode: "BO-adB8QkXAtQVX", Provider: "box-office",
		Events: []string{"MATCH-2026-12-05"}, State: gate.StateValid, PriceType: gate.Code{Code: "VIP"},
		Holder: `O'Brien, "Sean"`})
}

// TestSamplesByteByByte feeds every sample one byte per Read, and in
// halves, and expects exactly what one big read gives.
func TestSamplesByteByByte(t *testing.T) {
	for _, name := range []string{samples.Secutix, samples.BoxOffice, samples.Paste} {
		data, _ := samples.Read(name)
		req := gate.ImportRequest{Provider: "p1", Event: "E1"}
		want := readAll(t, NewSource(bytes.NewReader(data), req, testOptions()))
		for _, r := range []struct {
			how string
			src *Source
		}{
			{"one byte", NewSource(iotest.OneByteReader(bytes.NewReader(data)), req, testOptions())},
			{"half", NewSource(iotest.HalfReader(bytes.NewReader(data)), req, testOptions())},
			{"data with EOF", NewSource(iotest.DataErrReader(bytes.NewReader(data)), req, testOptions())},
		} {
			got := readAll(t, r.src)
			if len(got) != len(want) {
				t.Fatalf("%s, %s: %d lines, want %d", name, r.how, len(got), len(want))
			}
			for i := range got {
				if got[i].Line != want[i].Line || (got[i].Reject == nil) != (want[i].Reject == nil) {
					t.Fatalf("%s, %s: line %d differs: %+v vs %+v", name, r.how, i, got[i], want[i])
				}
				assertTicket(t, got[i].Ticket, want[i].Ticket)
			}
		}
	}
}
