package importfile

import (
	"bytes"
	"fmt"
	"io"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/admitgate/admit/gate"
)

// benchLines is the number of lines of each benchmark file.
const benchLines = 200_000

// secutixFile writes n SecuTix lines as the reseller export has them: a
// header, unique barcodes, a few products and tariffs, orders of 3 tickets.
func secutixFile(n int) []byte {
	var b bytes.Buffer
	b.WriteString("BAR_CODE;TICKET_STATE;FILE_NUMBER;PRODUCT_CODE;PRODUCT_NAME;VALIDITY_DATE;TARIFF_CODE;TARIFF_NAME;PRICE;ORDER_DATE;CONTACT_NUMBER\n")
	products := []string{"MATCH-2026-12-05;FC Example – Derby;05/12/2026 20:00", "MATCH-2026-12-19;FC Example – Cup;19/12/2026 18:30"}
	tariffs := []string{"ADU;Adult;45.00", "CHI;Child;20.00", "SEN;Senior;30.00"}
	states := []string{"PRINTED", "PRINTED", "PRINTED", "NOT_PRINTED", "CANCELLED", "CONTROLLED"}
	for i := range n {
		fmt.Fprintf(&b, "%016d;%s;%d;%s;%s;2026-11-%02d %02d:%02d;%d\n", 1000000000000000+i*7919,
			states[i%len(states)], 880000+i/3, products[i%2], tariffs[i%3], 1+i%28, i%24, i%60, 1000+i/3)
	}
	return b.Bytes()
}

func csvFile(n int) []byte {
	var b bytes.Buffer
	b.WriteString("\xef\xbb\xbfbarcode,event,price_type,holder\r\n")
	holders := []string{`"Müller, Anna"`, "Jean Dupont", `"O'Brien, ""Sean"""`, "Li Wei"}
	for i := range n {
		fmt.Fprintf(&b, "BO-%012d,MATCH-2026-12-05,Adult,%s\r\n", i, holders[i%len(holders)])
	}
	return b.Bytes()
}

func linesFile(n int) []byte {
	var b bytes.Buffer
	for i := range n {
		fmt.Fprintf(&b, "%020d\r\n", i*104729)
	}
	return b.Bytes()
}

// BenchmarkParse reads a file of each format to its end: ns/line,
// allocs/line and MB/s (go test -bench Parse -benchmem ./importfile).
func BenchmarkParse(b *testing.B) {
	for _, bc := range []struct {
		name string
		data []byte
		req  gate.ImportRequest
	}{
		{"format=secutix", secutixFile(benchLines), gate.ImportRequest{Provider: "secutix-main"}},
		{"format=csv", csvFile(benchLines), gate.ImportRequest{Provider: "box-office"}},
		{"format=lines", linesFile(benchLines), gate.ImportRequest{Provider: "paste", Event: "MATCH-2026-12-05"}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.data)))
			var lines int
			var m0, m1 runtime.MemStats
			runtime.ReadMemStats(&m0)
			cpu0 := cpuTime()
			for b.Loop() {
				src := NewSource(bytes.NewReader(bc.data), bc.req, nil)
				lines = 0
				for {
					l, err := src.Next()
					if err == io.EOF {
						break
					}
					if err != nil || l.Reject != nil {
						b.Fatalf("line %d: %v %v", l.Line, err, l.Reject)
					}
					lines++
				}
			}
			if lines != benchLines {
				b.Fatalf("%d lines, want %d", lines, benchLines)
			}
			runtime.ReadMemStats(&m1)
			b.ReportMetric(float64(m1.Mallocs-m0.Mallocs)/float64(b.N)/benchLines, "allocs/line")
			perOp := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			b.ReportMetric(perOp/benchLines, "ns/line")
			// CPU time is steadier than wall time on a shared machine.
			b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N)/benchLines, "cpu-ns/line")
			b.ReportMetric(float64(benchLines)/(perOp/1e9), "lines/s")
		})
	}
}

// cpuTime returns the user and system CPU time of the process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
