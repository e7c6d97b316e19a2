package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/httpapi"
	"github.com/admitgate/admit/internal/testkit"
)

// buildAdmit builds the admit binary into a temp dir, as users build it;
// building takes a while, so -short skips the test.
func buildAdmit(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	return testkit.BuildAdmit(t, testkit.Race, "-ldflags", "-X main.version=kill9-test")
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// child is the daemon run as a process.
type child struct {
	cmd    *exec.Cmd
	stderr bytes.Buffer
}

func startChild(t *testing.T, bin, config, base string) *child {
	t.Helper()
	c := &child{cmd: exec.Command(bin, "serve", "-config", config, "-log-format", "json", "-log-level", "warn")}
	c.cmd.Stderr = &c.stderr
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return c
			}
		}
		if time.Now().After(deadline) {
			_ = c.cmd.Process.Kill()
			_ = c.cmd.Wait()
			t.Fatalf("the daemon did not get ready: %v\n%s", err, c.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (c *child) kill(t *testing.T) {
	t.Helper()
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = c.cmd.Wait()
}

// killMidWithdrawal withdraws the import named source (lines tickets
// prefix-000000 on, none of them used), kills the daemon at a random moment
// of the withdrawal, restarts it, and checks that the withdrawal is whole or
// not begun: the restart finishes one that was cut short.
func killMidWithdrawal(t *testing.T, api apiClient, bin, config, base string, c **child, source, prefix string, lines int) {
	t.Helper()
	find := func() gate.ImportRecord {
		var imports httpapi.ImportsResponse
		api.must(200, "GET", "/v1/imports", adminSecret, nil).decode(t, &imports)
		for _, r := range imports.Imports {
			if r.Source == source {
				return r
			}
		}
		t.Fatalf("no import %q", source)
		return gate.ImportRecord{}
	}
	id := find().ID
	answered := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest("POST", fmt.Sprintf("%s/v1/imports/%d/withdraw", base, id), nil)
		req.Header.Set("Authorization", "Bearer "+adminSecret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			answered <- 0
			return
		}
		resp.Body.Close()
		answered <- resp.StatusCode
	}()
	time.Sleep(time.Duration(rand.IntN(150)) * time.Millisecond)
	(*c).kill(t)
	status := <-answered
	*c = startChild(t, bin, config, base)

	rec := find()
	cancelled := 0
	sample := []int{0, 1, lines / 2, lines - 1}
	for _, i := range sample {
		var v gate.TicketView
		api.must(200, "GET", "/v1/tickets/"+url.PathEscape(fmt.Sprintf("%s-%06d", prefix, i)), adminSecret, nil).decode(t, &v)
		if v.State == gate.StateCancelled {
			cancelled++
		}
	}
	switch {
	case rec.WithdrawPending:
		t.Errorf("the withdrawal is still pending after the restart: %+v", rec)
	case rec.WithdrawnAt.IsZero():
		if status == 200 || cancelled != 0 || rec.Cancelled != 0 {
			t.Errorf("not withdrawn after the restart, yet it answered %d and %d of %d sampled tickets (%d by the record) are cancelled",
				status, cancelled, len(sample), rec.Cancelled)
		}
	case rec.Cancelled != lines || cancelled != len(sample):
		t.Errorf("withdrawn with %d cancelled (want %d), %d of %d sampled tickets cancelled", rec.Cancelled, lines, cancelled, len(sample))
	}
	t.Logf("killed mid-withdrawal (it answered %d): after the restart withdrawn=%v, %d cancelled", status, !rec.WithdrawnAt.IsZero(), rec.Cancelled)
}

// TestKill9UnderLoad kills the daemon with SIGKILL while scans and an
// import are in flight, restarts it, and checks that every scan answered
// admit:true is redeemed and that the import is there whole or not at all;
// then kills it in the middle of withdrawing an import.
func TestKill9UnderLoad(t *testing.T) {
	bin := buildAdmit(t)
	dir := t.TempDir()
	addr := freeAddr(t)
	base := "http://" + addr
	config, src := writeConfig(t, "kill9.toml", dir, filepath.Join(dir, "data"), addr)
	api := apiClient{t: t, base: base}

	const tickets = 3000
	const bigLines = 40000
	var seed strings.Builder
	for i := range tickets {
		fmt.Fprintf(&seed, "K-%05d\n", i)
	}
	c := startChild(t, bin, config, base)
	api.must(200, "POST", "/v1/imports?provider=p&event=E&price_type=GEN&format=lines", adminSecret, seed.String())
	if os.Getenv("GOMAXPROCS") == "" {
		// serve runs Go on twice the CPUs it may use (serveProcs).
		want := fmt.Sprintf("go_sched_gomaxprocs_threads %d\n", 2*runtime.GOMAXPROCS(0))
		if m := string(api.must(200, "GET", "/metrics", "", nil).body); !strings.Contains(m, want) {
			t.Errorf("the daemon's metrics lack %q", strings.TrimSpace(want))
		}
	}

	admitted := map[string]uint64{} // barcode → seq, every admit:true answered
	var mu sync.Mutex
	rounds := 2
	for round := range rounds {
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for w := range 12 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				cl := &http.Client{Timeout: 5 * time.Second}
				r := rand.New(rand.NewPCG(uint64(round), uint64(w)))
				for {
					select {
					case <-stop:
						return
					default:
					}
					b := fmt.Sprintf("K-%05d", r.IntN(tickets))
					body, _ := json.Marshal(scanBody(b, "l1"))
					req, _ := http.NewRequest("POST", base+"/v1/scan", bytes.NewReader(body))
					req.Header.Set("Authorization", "Bearer "+adminSecret)
					resp, err := cl.Do(req)
					if err != nil {
						return // the daemon is gone
					}
					var d gate.Decision
					err = json.NewDecoder(resp.Body).Decode(&d)
					resp.Body.Close()
					if err == nil && resp.StatusCode == 200 && d.Admit {
						mu.Lock()
						admitted[b] = d.Seq
						mu.Unlock()
					}
				}
			}()
		}
		// A big import in flight when the process dies.
		importDone := make(chan int, 1)
		go func() {
			var big strings.Builder
			for i := range bigLines {
				fmt.Fprintf(&big, "BIG%d-%06d\n", round, i)
			}
			req, _ := http.NewRequest("POST", base+"/v1/imports?provider=p&event=E&price_type=GEN&format=lines&name=big"+strconv.Itoa(round), strings.NewReader(big.String()))
			req.Header.Set("Authorization", "Bearer "+adminSecret)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				importDone <- 0
				return
			}
			resp.Body.Close()
			importDone <- resp.StatusCode
		}()
		// The first round kills at a random moment, mostly mid-import; the
		// second once the import has answered, while the scans go on.
		status := -1
		if round == 0 {
			time.Sleep(time.Duration(150+rand.IntN(400)) * time.Millisecond)
		} else {
			select {
			case status = <-importDone:
			case <-time.After(20 * time.Second):
			}
			time.Sleep(time.Duration(rand.IntN(100)) * time.Millisecond)
		}
		c.kill(t)
		close(stop)
		wg.Wait()
		if status < 0 {
			status = <-importDone
		}
		mu.Lock()
		n := len(admitted)
		mu.Unlock()
		t.Logf("round %d: killed with %d admits answered so far; the import answered %d", round, n, status)

		c = startChild(t, bin, config, base)
		// Every admit that was answered is redeemed.
		mu.Lock()
		for b, seq := range admitted {
			var d gate.Decision
			api.must(200, "POST", "/v1/check", adminSecret, scanBody(b, "l1")).decode(t, &d)
			if d.Reason != gate.ReasonAlreadyUsed {
				t.Errorf("%s was admitted (seq %d) before the kill, and after the restart a check says %s", b, seq, d.Reason)
			}
		}
		mu.Unlock()
		// The big import is there whole or not at all.
		var imports httpapi.ImportsResponse
		api.must(200, "GET", "/v1/imports", adminSecret, nil).decode(t, &imports)
		applied := false
		for _, r := range imports.Imports {
			if r.Source == "big"+strconv.Itoa(round) {
				applied = true
				if r.Added != bigLines {
					t.Errorf("round %d: the import record says %d added, want %d", round, r.Added, bigLines)
				}
			}
		}
		if status == 200 && !applied {
			t.Errorf("round %d: the import answered 200 but is not there after the restart", round)
		}
		want := 0
		if applied {
			want = bigLines
		}
		found := 0
		for _, i := range []int{0, 1, bigLines / 2, bigLines - 1} {
			if api.do("GET", "/v1/tickets/"+url.PathEscape(fmt.Sprintf("BIG%d-%06d", round, i)), adminSecret, nil).status == 200 {
				found++
			}
		}
		if (want == 0 && found != 0) || (want > 0 && found != 4) {
			t.Errorf("round %d: import applied=%v but %d of 4 sampled barcodes exist", round, applied, found)
		}
		metrics := string(api.must(200, "GET", "/metrics", "", nil).body)
		m := regexp.MustCompile(`(?m)^admit_store_tickets (\d+)`).FindStringSubmatch(metrics)
		total := tickets
		for _, r := range imports.Imports {
			if strings.HasPrefix(r.Source, "big") {
				total += bigLines
			}
		}
		if m == nil || m[1] != strconv.Itoa(total) {
			t.Errorf("round %d: the store holds %v tickets, want %d", round, m, total)
		}
	}
	if len(admitted) == 0 {
		t.Error("no scan was admitted before the kills; the test proved nothing")
	}
	killMidWithdrawal(t, api, bin, config, base, &c, "big1", "BIG1", bigLines)
	// SIGHUP reloads the tokens from the file; a broken file keeps the old ones.
	newSecret := "reloaded-admin-secret-0000"
	if err := os.WriteFile(config, []byte(strings.Replace(src, adminSecret, newSecret, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitStatus := func(secret string, want int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for api.do("GET", "/v1/events", secret, nil).status != want {
			if time.Now().After(deadline) {
				t.Fatalf("after SIGHUP the token %.8s... never answered %d", secret, want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitStatus(newSecret, 200)
	api.must(401, "GET", "/v1/events", adminSecret, nil)
	if err := os.WriteFile(config, []byte(src+"\nbroken = \n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	api.must(200, "GET", "/v1/events", newSecret, nil)

	// A clean stop: SIGTERM drains and exits 0.
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Wait(); err != nil {
		t.Errorf("SIGTERM: %v\n%s", err, c.stderr.String())
	}
}
