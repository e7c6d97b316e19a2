package testkit

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// The tests re-execute this binary as a child (TestStartChild).
const childEnv = "ADMIT_TESTKIT_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		fmt.Println("READY")
		for i := range 3 {
			fmt.Println("LINE", i)
		}
		select {} // until killed
	}
	os.Exit(m.Run())
}

// fakeTB records what a helper does with its test; Fatal and Skip end the
// goroutine as they do on a real one, so run the helper with run.
type fakeTB struct {
	testing.TB
	mu       sync.Mutex
	logs     []string
	errors   []string
	fatal    string
	cleanups []func()
}

func (f *fakeTB) Helper() {}

func (f *fakeTB) Log(args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.logs = append(f.logs, fmt.Sprint(args...))
}

func (f *fakeTB) Errorf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errors = append(f.errors, fmt.Sprintf(format, args...))
}

func (f *fakeTB) Fatalf(format string, args ...any) {
	f.mu.Lock()
	f.fatal = fmt.Sprintf(format, args...)
	f.mu.Unlock()
	runtime.Goexit()
}

func (f *fakeTB) Fatal(args ...any) { f.Fatalf("%s", fmt.Sprint(args...)) }

func (f *fakeTB) Cleanup(fn func()) { f.cleanups = append(f.cleanups, fn) }

// end runs the cleanups, last first, as the testing package does.
func (f *fakeTB) end() {
	for i := len(f.cleanups) - 1; i >= 0; i-- {
		f.cleanups[i]()
	}
}

// run calls fn with f in a goroutine of its own, so that Fatal ends only it.
func (f *fakeTB) run(fn func(tb testing.TB)) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(f)
	}()
	<-done
}

func TestLoggerIsSilentUnlessAsked(t *testing.T) {
	t.Setenv(LogEnv, "")
	f := &fakeTB{}
	l := Logger(f)
	l.Info().Msg("hello")
	if len(f.logs) != 0 || l.GetLevel() != zerolog.Disabled {
		t.Fatalf("a logger nobody asked for logged %q (level %v)", f.logs, l.GetLevel())
	}
}

func TestLoggerWritesToTheTestUntilItEnds(t *testing.T) {
	t.Setenv(LogEnv, "1")
	f := &fakeTB{}
	l := Logger(f)
	l.Debug().Str("lane", "north-1").Msg("unlocked")
	if len(f.logs) != 1 || !strings.Contains(f.logs[0], "unlocked") || !strings.Contains(f.logs[0], "lane=north-1") {
		t.Fatalf("test log = %q", f.logs)
	}
	f.end()
	l.Info().Msg("after the end") // to stderr: testing panics on Log after a test's end
	if len(f.logs) != 1 {
		t.Fatalf("a line reached the test after its end: %q", f.logs)
	}
	none := Logger(nil)
	none.Info().Msg("no test at hand") // to stderr, without a panic
}

func TestLogKeepsAndCountsLines(t *testing.T) {
	var log Log
	l := log.Logger()
	l.Warn().Msg("delivery failed")
	l.Debug().Msg("delivery failed")
	l.Info().Msg("deliveries caught up")
	if n := log.Count("delivery failed"); n != 2 {
		t.Errorf("Count(delivery failed) = %d, want 2", n)
	}
	if n := log.Count(`"level":"warn"`, "delivery failed"); n != 1 {
		t.Errorf("Count(warn, delivery failed) = %d, want 1", n)
	}
	if lines := log.Lines(); len(lines) != 3 || !strings.Contains(log.String(), "caught up") {
		t.Errorf("lines %q", lines)
	}
}

func TestLogFailsItsTestOnASecret(t *testing.T) {
	const secret = "testkit-secret-0123456789"
	WatchSecret(secret)
	WatchSecret("") // ignored: every line holds it
	t.Cleanup(func() {
		secrets.Delete(secret)
		leaks = lineSet{}
	})
	f := &fakeTB{}
	log := NewLog(f)
	l := log.Logger()
	l.Info().Msg("token ops configured")
	l.Info().Str("authorization", "Bearer "+secret).Msg("request")
	f.end()
	if len(f.errors) != 1 || !strings.Contains(f.errors[0], "a log line holds a secret") {
		t.Fatalf("errors %q", f.errors)
	}
	if got := leaks.all(); len(got) != 1 || !strings.Contains(got[0], "request") {
		t.Fatalf("Main would report %q", got)
	}
}

func TestWaitFor(t *testing.T) {
	n := 0
	WaitFor(t, 10*time.Second, "the third poll", func() bool { n++; return n == 3 })

	f := &fakeTB{}
	f.run(func(tb testing.TB) { WaitFor(tb, 20*time.Millisecond, "never", func() bool { return false }) })
	if f.fatal != "timed out waiting for never (20ms)" {
		t.Fatalf("fatal %q", f.fatal)
	}
}

func TestRecv(t *testing.T) {
	ch := make(chan int, 1)
	ch <- 7
	if v := Recv(t, ch, 10*time.Second, "value"); v != 7 {
		t.Fatalf("Recv = %d", v)
	}
	for _, tc := range []struct {
		name string
		ch   chan int
		want string
	}{
		{"empty", make(chan int), "no value within 20ms"},
		{"closed", func() chan int { c := make(chan int); close(c); return c }(), "no value: the channel is closed"},
	} {
		f := &fakeTB{}
		f.run(func(tb testing.TB) { Recv(tb, tc.ch, 20*time.Millisecond, "value") })
		if f.fatal != tc.want {
			t.Errorf("%s: fatal %q, want %q", tc.name, f.fatal, tc.want)
		}
	}
}

func TestBufferUnderConcurrentWrites(t *testing.T) {
	var b Buffer
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 100 {
				fmt.Fprint(&b, "x")
				_ = b.String()
			}
		})
	}
	wg.Wait()
	if n := b.Count("x"); n != 400 {
		t.Fatalf("%d writes kept, want 400", n)
	}
}

func TestClock(t *testing.T) {
	t0 := time.Date(2026, 12, 5, 17, 0, 0, 0, time.UTC)
	c := NewClock(t0)
	c.Add(time.Minute)
	if got := c.Now(); !got.Equal(t0.Add(time.Minute)) {
		t.Fatalf("Now = %v", got)
	}
	c.Set(t0)
	if got := c.Now(); !got.Equal(t0) {
		t.Fatalf("Now = %v", got)
	}
}

func TestStartChild(t *testing.T) {
	c := StartChild(t, childEnv+"=1")
	Expect(t, c.Lines(), "READY", 1)
	if got := Expect(t, c.Lines(), "LINE", 2); got != "LINE 1" {
		t.Fatalf("Expect returned %q", got)
	}
	if rest := c.Kill(); len(rest) > 1 {
		t.Fatalf("lines after LINE 1: %q", rest)
	}
	if rest := c.Kill(); rest != nil {
		t.Fatalf("a second Kill returned %q", rest)
	}
	if got := Collect(c.Lines(), time.Minute); got != nil {
		t.Fatalf("Collect on a killed child's lines = %q", got)
	}

	f := &fakeTB{}
	f.run(func(tb testing.TB) { Expect(tb, c.Lines(), "NEVER", 1) })
	if f.fatal != `the child exited before saying "NEVER"` {
		t.Fatalf("fatal %q", f.fatal)
	}
}

func TestCollect(t *testing.T) {
	lines := make(chan string, 2)
	lines <- "a"
	lines <- "b"
	if got := Collect(lines, 20*time.Millisecond); len(got) != 2 || got[1] != "b" {
		t.Fatalf("Collect = %q", got)
	}
}

func TestTemplate(t *testing.T) {
	got := Template(t, "testdata/config.toml", map[string]string{"Dir": `/tmp/a "b"`, "Secret": "s3cret"})
	for _, want := range []string{`data_dir = "/tmp/a \"b\""`, `secret = "s3cret"`} {
		if !strings.Contains(got, want) {
			t.Errorf("%q not in\n%s", want, got)
		}
	}
	if got := Template(t, "testdata/plain.toml", nil); got != "[[lanes]]\nid = \"door\"\n" {
		t.Errorf("a file without actions read as %q", got)
	}

	f := &fakeTB{}
	f.run(func(tb testing.TB) { Template(tb, "testdata/config.toml", map[string]string{"Dir": "/tmp"}) })
	if !strings.Contains(f.fatal, `map has no entry for key "Secret"`) {
		t.Fatalf("a missing value: fatal %q", f.fatal)
	}
}

func TestBenchSizes(t *testing.T) {
	t.Setenv("ADMIT_BENCH_TICKETS", "")
	if n := BenchTickets(1000); n != 1000 {
		t.Errorf("BenchTickets = %d", n)
	}
	t.Setenv("ADMIT_BENCH_TICKETS", "20000")
	if n := BenchTickets(1000); n != 20000 {
		t.Errorf("BenchTickets = %d", n)
	}
	for n, want := range map[int]string{1_000_000: "1M", 10_000_000: "10M", 20_000: "20k", 1500: "1500"} {
		if got := CountLabel(n); got != want {
			t.Errorf("CountLabel(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestDo(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Method", r.Method)
		w.WriteHeader(http.StatusTeapot)
		fmt.Fprintf(w, "%s|%s|%s", r.Header.Get("Authorization"), r.Header.Get("Accept"), b)
	}))
	defer srv.Close()
	for _, tc := range []struct {
		name, secret string
		body         any
		header       []string
		want         string
	}{
		{"nothing", "", nil, nil, "||"},
		{"a string", "s3cret", "B1\nB2\n", nil, "Bearer s3cret||B1\nB2\n"},
		{"bytes", "", []byte("raw"), nil, "||raw"},
		{"a reader", "", strings.NewReader("read"), nil, "||read"},
		{"JSON", "", map[string]string{"barcode": "B1"}, []string{"Accept", "text/csv"}, `|text/csv|{"barcode":"B1"}`},
	} {
		r := Do(t, "POST", srv.URL, tc.secret, tc.body, tc.header...)
		if r.Status != http.StatusTeapot || r.Header.Get("X-Method") != "POST" || string(r.Body) != tc.want {
			t.Errorf("%s: %d %q, want %q", tc.name, r.Status, r.Body, tc.want)
		}
	}
}
