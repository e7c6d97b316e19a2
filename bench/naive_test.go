package bench_test

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/admitgate/admit/bench"
	"github.com/admitgate/admit/index"
	"github.com/admitgate/admit/index/indextest"
)

// naiveOptions keep the WAL warm-up of every open cheap.
var naiveOptions = &index.Options{MemTableSize: 1 << 20, CacheSize: 8 << 20}

// naiveCopy returns a fresh copy of the naive store of n tickets built in
// cacheDir, opened.
func naiveCopy(t *testing.T, cacheDir string, n int) (*bench.NaiveStore, string) {
	t.Helper()
	src, err := bench.NaiveFixture(context.Background(), cacheDir, n, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "naive")
	if err := bench.CopyFixture(dir, src); err != nil {
		t.Fatal(err)
	}
	s, err := bench.OpenNaive(context.Background(), dir, n, naiveOptions)
	if err != nil {
		t.Fatal(err)
	}
	return s, dir
}

// The naive floor is a real redeem-once store: the fixture's tickets are
// valid, each admits once even when many lanes scan it at the same time,
// barcodes it never held are unknown, and a redemption survives a reopen.
func TestNaiveStoreRedeemsOnce(t *testing.T) {
	const n = 2000
	cache := t.TempDir()
	s, dir := naiveCopy(t, cache, n)
	for _, tt := range []struct{ barcode, want string }{
		{indextest.Barcode(0), "ok"},
		{indextest.Barcode(0), "already_used"},
		{indextest.Barcode(n - 1), "ok"},
		{indextest.Barcode(n), "unknown"},
		{indextest.Unknown(5), "unknown"},
	} {
		if got, err := s.Redeem(tt.barcode, "north-1"); err != nil || got != tt.want {
			t.Errorf("Redeem(%s) = %q, %v; want %q", tt.barcode, got, err, tt.want)
		}
	}
	// 16 lanes scan each of 20 tickets at once: one admission each.
	var mu sync.Mutex
	admits := map[string]int{}
	var wg sync.WaitGroup
	for lane := range 16 {
		wg.Go(func() {
			for i := 1; i <= 20; i++ {
				bc := indextest.Barcode(i)
				reason, err := s.Redeem(bc, fmt.Sprintf("lane-%d", lane))
				if err != nil || (reason != "ok" && reason != "already_used") {
					t.Errorf("%s: %q, %v", bc, reason, err)
				}
				if reason == "ok" {
					mu.Lock()
					admits[bc]++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	for i := 1; i <= 20; i++ {
		if k := admits[indextest.Barcode(i)]; k != 1 {
			t.Errorf("%s admitted %d times", indextest.Barcode(i), k)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := bench.OpenNaive(context.Background(), dir, n, naiveOptions)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got, err := s.Redeem(indextest.Barcode(7), "north-1"); err != nil || got != "already_used" {
		t.Errorf("after a reopen, Redeem = %q, %v; want already_used", got, err)
	}

	// A copy of another fixture's store is stale for this one.
	other := filepath.Join(t.TempDir(), "other")
	if err := bench.CopyFixture(other, bench.NaiveFixtureDir(cache, n)); err != nil {
		t.Fatal(err)
	}
	if _, err := bench.OpenNaive(context.Background(), other, 2*n, naiveOptions); err == nil || !strings.Contains(err.Error(), "stale") {
		t.Errorf("a store of %d tickets opened as one of %d: %v", n, 2*n, err)
	}
}

// The naive server answers POST /v1/scan as the API does (reasons ok,
// unknown, already_used in a small JSON) and refuses what the API refuses:
// no token, a wrong one, a body that is not a scan, another route.
func TestNaiveServer(t *testing.T) {
	s, _ := naiveCopy(t, t.TempDir(), 500)
	defer s.Close()
	target, stop, err := bench.ServeNaive(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := stop(); err != nil {
			t.Error(err)
		}
	}()
	post := func(method, path, token, body string) (int, string) {
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		defer fasthttp.ReleaseRequest(req)
		defer fasthttp.ReleaseResponse(resp)
		req.Header.SetMethod(method)
		req.SetRequestURI(target.URL + path)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		req.SetBodyString(body)
		if err := fasthttp.DoTimeout(req, resp, 10*time.Second); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode(), string(resp.Body())
	}
	scan := func(bc string) string { return fmt.Sprintf(`{"lane":%q,"barcode":%q}`, target.Lane, bc) }
	for _, tt := range []struct {
		method, path, token, body string
		code                      int
		want                      string
	}{
		{"POST", "/v1/scan", target.Token, scan(indextest.Barcode(3)), 200, `{"admit":true,"reason":"ok","barcode":"` + indextest.Barcode(3) + `"}`},
		{"POST", "/v1/scan", target.Token, scan(indextest.Barcode(3)), 200, `"reason":"already_used"`},
		{"POST", "/v1/scan", target.Token, scan("UNKNOWN-1"), 200, `{"admit":false,"reason":"unknown"`},
		{"POST", "/v1/scan", "", scan(indextest.Barcode(4)), 401, "unauthorized"},
		{"POST", "/v1/scan", target.Token + "x", scan(indextest.Barcode(4)), 401, "unauthorized"},
		{"POST", "/v1/scan", target.Token, `{"lane":"x"}`, 400, "a scan needs a lane and a barcode"},
		{"POST", "/v1/scan", target.Token, `{"barcode":`, 400, "a scan needs"},
		{"GET", "/v1/scan", target.Token, "", 404, "not found"},
		{"POST", "/v1/lanes", target.Token, scan(indextest.Barcode(4)), 404, "not found"},
		{"POST", "/v1/scan", target.Token, scan(indextest.Barcode(4)), 200, `"reason":"ok"`},
	} {
		code, body := post(tt.method, tt.path, tt.token, tt.body)
		if code != tt.code || !strings.Contains(body, tt.want) {
			t.Errorf("%s %s %s: %d %s; want %d %q", tt.method, tt.path, tt.body, code, body, tt.code, tt.want)
		}
	}
}

// The raw step redeems fresh tickets with Pebble alone, each once, counts
// every operation, and counts a redemption that does not admit as wrong.
func TestRunRaw(t *testing.T) {
	const n = 3000
	s, _ := naiveCopy(t, t.TempDir(), n)
	defer s.Close()
	fresh := bench.NewTickets(n)
	o, err := bench.RunRaw(context.Background(), s, fresh, bench.Limit{Ops: 200})
	if err != nil {
		t.Fatal(err)
	}
	if o.Name != "validate/first-use/raw" || !o.Durable || o.Sample[bench.StatOps] != 200 || o.Sample[bench.StatErrs] != 0 ||
		o.Sample[bench.StatP50] <= 0 || o.Sample[bench.StatCPU] <= 0 {
		t.Fatalf("%+v", o)
	}
	// The warm-up and the step each took their own tickets.
	if left := fresh.Left(); left > n-200 || left < n-200-64 {
		t.Errorf("%d fresh tickets left of %d after 200 and a warm-up", left, n)
	}
	if got, err := s.Redeem(indextest.Barcode(100), "x"); err != nil || got != "already_used" {
		t.Errorf("a ticket the step redeemed: %q, %v", got, err)
	}
	// Tickets already redeemed are not first uses: counted as errors.
	o, err = bench.RunRaw(context.Background(), s, bench.NewTickets(n), bench.Limit{Ops: 40})
	if err != nil {
		t.Fatal(err)
	}
	if o.Sample[bench.StatErrs] != 40 || !strings.Contains(o.FirstError, "already_used, want ok") {
		t.Errorf("re-redeemed tickets: %v errors, first %q", o.Sample[bench.StatErrs], o.FirstError)
	}
}

// The naive server's answers are checked as the API's are: a floor that
// refuses the first uses it is sent fails the workload, not the figures.
func TestHTTPChecksTheNaiveFloor(t *testing.T) {
	const n = 2000
	cache := t.TempDir()
	s, _ := naiveCopy(t, cache, n)
	defer s.Close()
	naive, stopNaive, err := bench.ServeNaive(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	defer stopNaive()
	api, stop, err := bench.ServeAPIWith(&index.Options{MemTableSize: 1 << 20})(context.Background(), fixtureCopyT(t, cache, n), testLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	// The naive floor's "fresh" barcodes are ones it never held.
	unknown := []string{indextest.Unknown(1), indextest.Unknown(2), indextest.Unknown(3)}
	_, err = bench.RunHTTP(context.Background(), bench.HTTPConfig{Target: api, Fresh: bench.NewTickets(n), Used: 3,
		Naive: naive, NaiveFresh: bench.NewTicketList(unknown), Conns: []int{2}, Limit: bench.Limit{Ops: 40}})
	if err == nil || !strings.Contains(err.Error(), "admitting the already-used set through "+naive.URL+": 0 of 3 admitted") {
		t.Fatalf("a naive floor answering unknown to first uses: %v", err)
	}
}

// fixtureCopyT returns a fresh copy of the index fixture of n tickets
// cached in cacheDir.
func fixtureCopyT(t *testing.T, cacheDir string, n int) string {
	t.Helper()
	src, err := bench.Fixture(context.Background(), cacheDir, n, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "store")
	if err := bench.CopyFixture(dst, src); err != nil {
		t.Fatal(err)
	}
	return dst
}
