package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/admitgate/admit/httpapi/httpapitest"
)

// bench loads /v1/scan of a running appliance with the mix (70%
// first use, 20% unknown, 10% already used) at each connection count, and
// a trivial fasthttp handler in this process for comparison.
func (m *Main) bench(ctx context.Context, args []string) error {
	var cf clientFlags
	var lane, conns, freshPath string
	var duration time.Duration
	var trivial bool
	fs := m.flags("bench", "Usage: admit bench [flags]\n\nLoad POST /v1/scan of a running appliance over keep-alive connections and\nreport requests/s and p50/p99/p99.9 latency. First uses need -fresh: a file of\nbarcodes never scanned (one per line); once they run out, first uses repeat\nalready used barcodes.")
	m.clientFlagSet(fs, &cf)
	fs.StringVar(&lane, "lane", m.Getenv("ADMIT_LANE"), "the lane to scan at (ADMIT_LANE)")
	fs.StringVar(&conns, "conns", "8,64", "connection counts to run, comma-separated")
	fs.DurationVar(&duration, "duration", 10*time.Second, "how long each run lasts")
	fs.StringVar(&freshPath, "fresh", "", "a file of barcodes never scanned, for first uses")
	fs.BoolVar(&trivial, "trivial", true, "also measure a trivial fasthttp handler in this process")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if lane == "" || cf.token == "" {
		fs.Usage()
		return &exitError{code: 2, err: errors.New("bench needs -lane and a token")}
	}
	u, err := url.Parse(cf.url)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return &exitError{code: 2, err: fmt.Errorf("bench needs an http:// URL, not %q", cf.url)}
	}
	var counts []int
	for _, s := range strings.Split(conns, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 || n > 4096 {
			return &exitError{code: 2, err: fmt.Errorf("bad connection count %q", s)}
		}
		counts = append(counts, n)
	}
	var fresh []string
	if freshPath != "" {
		if fresh, err = readLines(freshPath); err != nil {
			return err
		}
	}
	mix := httpapitest.NewScanMix(lane, fresh, nil)
	check := func(r *fasthttp.Response) error {
		if r.StatusCode() != fasthttp.StatusOK {
			return fmt.Errorf("status %d: %.200s", r.StatusCode(), r.Body())
		}
		return nil
	}
	var trivialAddr string
	if trivial {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		srv := httpapitest.ServeTrivial(ln)
		defer func() { _ = srv.Shutdown() }()
		trivialAddr = ln.Addr().String()
	}
	fmt.Fprintf(m.Stdout, "POST %s/v1/scan, lane %s, %v per run, %d fresh barcodes\n", cf.url, lane, duration, len(fresh))
	for _, n := range counts {
		res, err := httpapitest.Run(ctx, httpapitest.LoadConfig{Addr: u.Host, Conns: n, Duration: duration,
			Request: httpapitest.PostJSON(u.Host, "/v1/scan", cf.token, mix.Body), Check: check})
		if err != nil {
			return err
		}
		fmt.Fprintf(m.Stdout, "scan    conns=%-4d %s\n", n, res)
		if res.FirstErr != nil {
			fmt.Fprintf(m.Stdout, "        first error: %v\n", res.FirstErr)
		}
		if trivialAddr != "" {
			tr, err := httpapitest.Run(ctx, httpapitest.LoadConfig{Addr: trivialAddr, Conns: n, Duration: duration,
				Request: httpapitest.PostJSON(trivialAddr, "/v1/scan", "", mix.Body)})
			if err != nil {
				return err
			}
			fmt.Fprintf(m.Stdout, "trivial conns=%-4d %s\n", n, tr)
			fmt.Fprintf(m.Stdout, "        scan/trivial throughput: %.0f%%\n", 100*res.PerSecond()/tr.PerSecond())
		}
	}
	if len(fresh) > 0 {
		fmt.Fprintf(m.Stdout, "%d of %d fresh barcodes used\n", mix.FreshUsed(), len(fresh))
	}
	return nil
}

func readLines(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			out = append(out, l)
		}
	}
	return out, sc.Err()
}
