package httpapitest_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/admitgate/admit/httpapi/httpapitest"
)

func TestScanMixShares(t *testing.T) {
	m := httpapitest.NewScanMix("l", []string{"F1", "F2"}, []string{"U1"})
	counts := map[httpapitest.Kind]int{}
	for i := range 1000 {
		counts[httpapitest.KindOf(i)]++
	}
	if counts[httpapitest.FirstUse] != 700 || counts[httpapitest.Unknown] != 200 || counts[httpapitest.AlreadyUsed] != 100 {
		t.Errorf("mix = %v", counts)
	}
	bodies := []string{string(m.Body(nil, 0, 0)), string(m.Body(nil, 0, 1)), string(m.Body(nil, 0, 2)), string(m.Body(nil, 3, 7)), string(m.Body(nil, 0, 9))}
	want := []string{`"barcode":"F1"`, `"barcode":"F2"`, `"barcode":"U1"`, `"barcode":"UNKNOWN-3-7"`, `"barcode":"U1"`}
	for i, b := range bodies {
		if !strings.Contains(b, want[i]) || !strings.HasPrefix(b, `{"lane":"l",`) {
			t.Errorf("body %d = %s, want %s", i, b, want[i])
		}
	}
	if m.FreshUsed() != 2 {
		t.Errorf("fresh used = %d", m.FreshUsed())
	}
}

func TestRunCountsEveryRequest(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := httpapitest.ServeTrivial(ln)
	defer srv.Shutdown()
	m := httpapitest.NewScanMix("l", nil, nil)
	res, err := httpapitest.Run(context.Background(), httpapitest.LoadConfig{Addr: ln.Addr().String(), Conns: 4, Requests: 400,
		Request: httpapitest.PostJSON("x", "/v1/scan", "tok", m.Body)})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 400 || res.Errors != 0 || res.Statuses[200] != 400 || res.Latency.TotalCount() != 400 || res.PerSecond() <= 0 {
		t.Errorf("result = %s, statuses %v", res, res.Statuses)
	}
}

// A run shorter than dialing its connections takes still measures: the
// duration starts once every connection is open.
func TestShortRunDialsFirst(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := httpapitest.ServeTrivial(ln)
	defer srv.Shutdown()
	m := httpapitest.NewScanMix("l", nil, nil)
	res, err := httpapitest.Run(context.Background(), httpapitest.LoadConfig{Addr: ln.Addr().String(), Conns: 64, Duration: time.Nanosecond,
		Request: httpapitest.PostJSON("x", "/v1/scan", "tok", m.Body)})
	if err != nil {
		t.Fatalf("a 1ns run of 64 connections: %v", err)
	}
	if res.Errors != 0 {
		t.Errorf("result = %s", res)
	}
}
