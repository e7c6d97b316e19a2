package decode

import (
	"fmt"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/admitgate/admit/gate"
)

// scan20 is a 20-character ticket barcode as keyboard scanners type it.
const scan20 = "9836900602677354ADUL"

// BenchmarkKeyboardScan decodes a whole 20-character scan (42 reports:
// each key down and up, then Enter) per op. The budget: under 2µs per scan,
// no allocation per report; the one allocation per op is the read's text.
// "dedup=repeat" scans the same barcode again inside the dedup window, so
// the read is dropped before its text is made: that run shows 0 allocs for
// all 42 reports. "baseline" only walks the same reports, for comparison
// in the same run.
func BenchmarkKeyboardScan(b *testing.B) {
	for _, tc := range []struct {
		layout, text string
	}{
		{"us", scan20},
		{"de", "Zürich-Ü@42-ßä€#<>|y"}, // Shift, AltGr and the ISO key on every other character
	} {
		reports, err := KeyboardReports(tc.layout, tc.text)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("layout=%s/baseline", tc.layout), func(b *testing.B) {
			var sum byte
			cpu := processCPU()
			for b.Loop() {
				for i := range reports {
					for _, c := range reports[i][2:] {
						sum ^= c
					}
				}
			}
			reportCPU(b, cpu)
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(reports)), "ns/report")
			_ = sum
		})
		for _, dedup := range []string{"off", "repeat"} {
			b.Run(fmt.Sprintf("layout=%s/dedup=%s", tc.layout, dedup), func(b *testing.B) {
				cfg := Config{Layout: tc.layout, DedupWindow: -1}
				if dedup == "repeat" {
					cfg.DedupWindow = time.Hour
				}
				k, err := NewKeyboard(cfg, testLogger(b))
				if err != nil {
					b.Fatal(err)
				}
				ats := reportTimes(len(reports))
				reads := 0
				b.ReportAllocs()
				cpu := processCPU()
				for b.Loop() {
					for i := range reports {
						if r, ok := k.Feed(reports[i][:], ats[i]); ok {
							reads++
							if r.Text != tc.text {
								b.Fatalf("read %q", r.Text)
							}
						}
					}
				}
				reportCPU(b, cpu)
				if dedup == "off" && reads != b.N {
					b.Fatalf("%d reads for %d scans", reads, b.N)
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(reports)), "ns/report")
				b.ReportMetric(float64(len(reports)), "reports/scan")
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "scans/s")
			})
		}
	}
}

// reportTimes returns the arrival times of n reports 1ms apart. Every scan
// of a benchmark reuses them: each read ends at its Enter, so nothing
// times out, and a repeat stays a repeat. Computing times in the loop would
// measure the clock arithmetic, not the decoder.
func reportTimes(n int) []time.Time {
	ats := make([]time.Time, n)
	for i := range ats {
		ats[i] = t0.Add(time.Duration(i) * time.Millisecond)
	}
	return ats
}

// BenchmarkKeyboardScanLatency records each scan's decode time in an HDR
// histogram and reports its p50, p99 and p99.9 (each measurement includes
// two clock reads).
func BenchmarkKeyboardScanLatency(b *testing.B) {
	reports, err := KeyboardReports("us", scan20)
	if err != nil {
		b.Fatal(err)
	}
	k, err := NewKeyboard(Config{DedupWindow: -1}, testLogger(b))
	if err != nil {
		b.Fatal(err)
	}
	h := hdrhistogram.New(1, int64(time.Second), 3)
	ats := reportTimes(len(reports))
	for b.Loop() {
		start := time.Now()
		for i := range reports {
			k.Feed(reports[i][:], ats[i])
		}
		_ = h.RecordValue(time.Since(start).Nanoseconds())
	}
	b.ReportMetric(float64(h.ValueAtQuantile(50)), "p50-ns")
	b.ReportMetric(float64(h.ValueAtQuantile(99)), "p99-ns")
	b.ReportMetric(float64(h.ValueAtQuantile(99.9)), "p99.9-ns")
}

// BenchmarkPOSScan decodes a 60-byte QR boarding pass sent in two HID POS
// reports per op.
func BenchmarkPOSScan(b *testing.B) {
	data := []byte("M1GATHERGOOD/MICHAEL YABCDEF LHRDURAK 3542 052Y003D23    100")
	reports, err := POSReports("]Q0", data)
	if err != nil {
		b.Fatal(err)
	}
	p, err := NewPOS(Config{DedupWindow: -1}, testLogger(b))
	if err != nil {
		b.Fatal(err)
	}
	at := t0
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	cpu := processCPU()
	for b.Loop() {
		for i := range reports {
			at = at.Add(time.Millisecond)
			p.Feed(reports[i][:], at)
		}
	}
	reportCPU(b, cpu)
}

// BenchmarkSerialScan frames a 20-character line with an AIM identifier
// and an EAN-13 check per op, as a CDC-ACM scanner sends it.
func BenchmarkSerialScan(b *testing.B) {
	line := []byte("]E06291041500213\r\n")
	s, err := NewSerial(Config{AIM: true, DedupWindow: -1}, testLogger(b))
	if err != nil {
		b.Fatal(err)
	}
	out := make([]gate.Read, 0, 4)
	at := t0
	b.ReportAllocs()
	b.SetBytes(int64(len(line)))
	cpu := processCPU()
	for b.Loop() {
		at = at.Add(time.Millisecond)
		out = s.Feed(line, at, out[:0])
		if len(out) != 1 || out[0].Malformed != "" {
			b.Fatalf("reads %+v", out)
		}
	}
	reportCPU(b, cpu)
}

// reportCPU reports the process CPU time per op since start.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64((processCPU()-start).Nanoseconds())/float64(b.N), "cpu-ns/op")
}
