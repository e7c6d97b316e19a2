package outbound

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/index"
	"github.com/admitgate/admit/internal/testkit"
)

const testSecret = "whsec-0123456789abcdef"

// fastHook is a webhook to url with test-sized waits.
func fastHook(url string) Webhook {
	return Webhook{Name: "hook", URL: url, Secret: []byte(testSecret), BatchSize: 10, Timeout: time.Second,
		Poll: 2 * time.Millisecond, BackoffMin: 2 * time.Millisecond, BackoffMax: 20 * time.Millisecond}
}

// runService runs s until the test ends.
func runService(t *testing.T, s *Service) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(60 * time.Second):
			t.Error("Run did not return after its context ended")
		}
	})
}

// caughtUp reports whether the first webhook's position reached the end
// of the journal and the journal holds at least seq.
func caughtUp(s *Service, ix *index.Index, seq uint64) func() bool {
	return func() bool {
		head := ix.Stats().WrittenSeq
		return head >= seq && s.Hooks()[0].Status().Position == head
	}
}

// A receiver that refuses, times out, takes a batch without answering and
// comes back gets every admission, with the same id and content each time
// one comes again, each batch signed.
func TestWebhookDeliversThroughFailures(t *testing.T) {
	ix, data := seededIndex(t)
	rec := newReceiver(t, testSecret, func(n int) action {
		switch n {
		case 1, 2:
			return answer500
		case 3:
			return hang
		case 4:
			return processLate
		case 5:
			return answer503
		}
		return answerOK
	})
	w := fastHook(rec.srv.URL + "/admit")
	w.AdmissionsOnly = true
	w.Timeout = 500 * time.Millisecond
	s := newTestService(t, ix, filepath.Join(data, "outbound"), nil, []Webhook{w}, nil)
	runService(t, s)

	var last gate.Decision
	for i := range 60 {
		last = scanAsync(ix, i, "north-1")
		scanAsync(ix, -i-1, "north-1")
		if i%7 == 0 {
			scanAsync(ix, i, "north-1") // already used
		}
		if i%10 == 3 {
			if _, err := ix.Annul(context.Background(), last.Seq, "ops"); err != nil {
				t.Fatal(err)
			}
		}
	}
	waitFor(t, "the webhook to catch up", caughtUp(s, ix, last.Seq))
	es := journal(t, ix)
	dups := rec.check(t, es, admissionsOnly)
	if dups == 0 {
		t.Errorf("the batch taken without an answer did not come again")
	}
	st := s.Status()[0]
	if st.Errors < 5 || st.Failures != 0 || st.LastError == "" || st.LastDelivery.IsZero() || st.Lagging {
		t.Errorf("status %+v", st)
	}
}

// After a clean stop, a restart resumes after the last acknowledged batch:
// nothing comes twice.
func TestWebhookResumesAfterRestart(t *testing.T) {
	ix, data := seededIndex(t)
	rec := newReceiver(t, testSecret, nil)
	state := filepath.Join(data, "outbound")
	for round := range 3 {
		s := newTestService(t, ix, state, nil, []Webhook{fastHook(rec.srv.URL)}, nil)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- s.Run(ctx) }()
		var last gate.Decision
		for i := range 20 {
			last = scan(ix, round*20+i, "l")
		}
		waitFor(t, "the webhook to catch up", caughtUp(s, ix, last.Seq))
		cancel()
		<-done
	}
	if dups := rec.check(t, journal(t, ix), func(*gate.JournalEntry) bool { return true }); dups != 0 {
		t.Errorf("%d decisions came twice across clean restarts", dups)
	}
}

// A receiver that stays down holds back no scan and fills no disk: the lag
// grows, the alert metric rises, one log line says so, and when the
// receiver is back everything comes and one line says that.
func TestWebhookReceiverDown(t *testing.T) {
	ix, data := seededIndex(t)
	var mu sync.Mutex
	down := true
	rec := newReceiver(t, testSecret, func(int) action {
		mu.Lock()
		defer mu.Unlock()
		if down {
			return answer500
		}
		return answerOK
	})
	var logs testkit.Log
	w := fastHook(rec.srv.URL)
	w.MaxLagEntries = 20
	state := filepath.Join(data, "outbound")
	s := newTestService(t, ix, state, nil, []Webhook{w}, func(o *Options) { o.Logger = zerolog.New(&logs) })
	reg := prometheus.NewRegistry()
	reg.MustRegister(s)
	runService(t, s)

	var last gate.Decision
	for i := range 50 {
		if last = scan(ix, i, "l"); !last.Admit {
			t.Fatalf("scan %d refused while the receiver is down: %s", i, last.Reason)
		}
	}
	waitFor(t, "the lag alert", func() bool { return s.Status()[0].Lagging })
	failures := s.Status()[0].Failures
	waitFor(t, "more failed posts", func() bool { return s.Status()[0].Failures >= failures+5 })
	if n := logs.Count("deliveries are behind"); n != 1 {
		t.Errorf("the lag was logged %d times, want once", n)
	}
	if n := logs.Count(`"level":"warn"`, "delivery failed"); n != 1 {
		t.Errorf("the failure was logged %d times at warn, want once", n) // later ones are debug
	}
	if strings.Contains(logs.String(), testSecret) {
		t.Error("the secret is in the log")
	}
	got := gather(t, reg)
	if got["admit_outbound_lagging"] != 1 || got["admit_outbound_lag_entries"] < 50 || got["admit_outbound_lag_seconds"] <= 0 ||
		got["admit_outbound_errors_total"] < 5 || got["admit_outbound_delivered_total"] != 0 {
		t.Errorf("metrics while down: %v", got)
	}
	var size int64
	_ = filepath.Walk(state, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			size += fi.Size()
		}
		return nil
	})
	if size > 1024 {
		t.Errorf("the state dir grew to %d bytes while the receiver was down", size)
	}

	mu.Lock()
	down = false
	mu.Unlock()
	waitFor(t, "the webhook to catch up", caughtUp(s, ix, last.Seq))
	waitFor(t, "the alert to clear", func() bool { return !s.Status()[0].Lagging })
	if n := logs.Count("deliveries caught up"); n != 1 {
		t.Errorf("catching up was logged %d times, want once", n)
	}
	got = gather(t, reg)
	if got["admit_outbound_lagging"] != 0 || got["admit_outbound_lag_entries"] != 0 || got["admit_outbound_delivered_total"] != 50 {
		t.Errorf("metrics after: %v", got)
	}
	rec.check(t, journal(t, ix), func(*gate.JournalEntry) bool { return true })
}

// gather returns each outbound metric's value (one target, so one series).
func gather(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			switch {
			case m.GetGauge() != nil:
				out[mf.GetName()] = m.GetGauge().GetValue()
			case m.GetCounter() != nil:
				out[mf.GetName()] = m.GetCounter().GetValue()
			}
		}
	}
	return out
}

// Credentials in the URL (user information, query) reach neither the
// status nor the log.
func TestWebhookHidesURLCredentials(t *testing.T) {
	ix, data := seededIndex(t)
	rec := newReceiver(t, testSecret, func(int) action { return answer500 })
	var logs testkit.Log
	u := strings.Replace(rec.srv.URL, "http://", "http://user:hunter2@", 1) + "/in?token=sesame#frag"
	s := newTestService(t, ix, filepath.Join(data, "outbound"), nil, []Webhook{fastHook(u)},
		func(o *Options) { o.Logger = zerolog.New(&logs) })
	runService(t, s)
	scan(ix, 1, "l")
	waitFor(t, "a failure", func() bool { return s.Status()[0].Errors > 0 })
	st, _ := json.Marshal(s.Status())
	for _, secret := range []string{"hunter2", "sesame", "frag", testSecret} {
		if strings.Contains(string(st), secret) || strings.Contains(logs.String(), secret) {
			t.Errorf("%q shows in the status or the log: %s", secret, st)
		}
	}
	if got := s.Status()[0].Target; got != rec.srv.URL+"/in" {
		t.Errorf("target %q", got)
	}
	if !strings.Contains(s.Status()[0].LastError, "500") {
		t.Errorf("last error %q does not say what the receiver answered", s.Status()[0].LastError)
	}
}

// The filters, on each kind of entry.
func TestWebhookFilters(t *testing.T) {
	tk := &gate.TicketInfo{Provider: "secutix"}
	ok := gate.JournalEntry{Kind: gate.KindDecision, Decision: gate.Decision{Admit: true, Reason: gate.ReasonOK, Event: "derby", Ticket: tk}}
	exit := gate.JournalEntry{Kind: gate.KindDecision, Decision: gate.Decision{Admit: true, Reason: gate.ReasonExit, Event: "derby", Ticket: tk}}
	used := gate.JournalEntry{Kind: gate.KindDecision, Decision: gate.Decision{Reason: gate.ReasonAlreadyUsed, Event: "derby", Ticket: tk}}
	unknown := gate.JournalEntry{Kind: gate.KindDecision, Decision: gate.Decision{Reason: gate.ReasonUnknown}}
	annul := gate.JournalEntry{Kind: gate.KindAnnulment, Decision: ok.Decision}
	lost := gate.JournalEntry{Kind: gate.KindLost, Decision: gate.Decision{Reason: gate.ReasonError}}
	other := ok
	other.Decision.Ticket = &gate.TicketInfo{Provider: "goldstar"}
	other.Decision.Event = "cup"
	entries := []gate.JournalEntry{ok, exit, used, unknown, annul, lost, other}
	for _, c := range []struct {
		name string
		w    Webhook
		want []bool
	}{
		{"everything", Webhook{}, []bool{true, true, true, true, true, true, true}},
		{"admissions", Webhook{AdmissionsOnly: true}, []bool{true, true, false, false, true, false, true}},
		{"provider", Webhook{Provider: "secutix"}, []bool{true, true, true, false, true, false, false}},
		{"event", Webhook{Event: "cup"}, []bool{false, false, false, false, false, false, true}},
		{"admissions of a provider", Webhook{AdmissionsOnly: true, Provider: "goldstar"}, []bool{false, false, false, false, false, false, true}},
	} {
		h := &Hook{cfg: c.w}
		for i := range entries {
			if got := h.wanted(&entries[i]); got != c.want[i] {
				t.Errorf("%s: entry %d (%s %s): %v, want %v", c.name, i, entries[i].Kind, entries[i].Decision.Reason, got, c.want[i])
			}
		}
	}
}

// Sign agrees with a receiver's own HMAC, and a changed body or secret
// fails it.
func TestSign(t *testing.T) {
	body := []byte(`{"appliance":"north","decisions":[]}`)
	h := Sign([]byte(testSecret), 1764960000, body)
	if !strings.HasPrefix(h, "t=1764960000,v1=") || len(h) != len("t=1764960000,v1=")+64 {
		t.Fatalf("header %q", h)
	}
	if at, ok := verify([]byte(testSecret), h, body); !ok || at.Unix() != 1764960000 {
		t.Errorf("the receiver's check refuses %q", h)
	}
	if _, ok := verify([]byte(testSecret), h, append(body, ' ')); ok {
		t.Error("a changed body passes")
	}
	if _, ok := verify([]byte("another-secret-000000"), h, body); ok {
		t.Error("another secret passes")
	}
}

func TestBackoff(t *testing.T) {
	for n := range 40 {
		d := backoff(n, time.Second, time.Minute)
		ceil := min(time.Minute, time.Second<<min(n, 20))
		if d < ceil/2 || d > ceil {
			t.Errorf("retry %d waits %v, want between %v and %v", n, d, ceil/2, ceil)
		}
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	base := Options{Journal: emptyJournal{}, Appliance: "a", StateDir: t.TempDir()}
	for _, c := range []struct {
		name     string
		exports  []Export
		webhooks []Webhook
		want     string
	}{
		{"export name", []Export{{Name: "a/b", Dir: "x"}}, nil, "name"},
		{"export dir", []Export{{Name: "a", Format: FormatCSV}}, nil, "dir is empty"},
		{"export format", []Export{{Name: "a", Dir: "x", Format: "xlsx"}}, nil, "format"},
		{"secutix without tickets", []Export{{Name: "a", Dir: "x"}}, nil, "Options.Tickets"},
		{"same files", []Export{{Name: "a", Dir: "x", Format: FormatCSV, Prefix: "p"}, {Name: "b", Dir: "x/", Format: FormatCSV, Prefix: "p"}}, nil, "like"},
		{"export twice", []Export{{Name: "a", Dir: "x", Format: FormatCSV}, {Name: "a", Dir: "y", Format: FormatCSV}}, nil, "twice"},
		{"provider", []Export{{Name: "a", Dir: "x", Format: FormatCSV, Provider: "a b"}}, nil, "provider"},
		{"url", nil, []Webhook{{Name: "w", URL: "ftp://x", Secret: []byte(testSecret)}}, "url"},
		{"secret", nil, []Webhook{{Name: "w", URL: "https://x", Secret: []byte("short")}}, "secret"},
		{"batch", nil, []Webhook{{Name: "w", URL: "https://x", Secret: []byte(testSecret), BatchSize: 5000}}, "batch_size"},
		{"webhook twice", nil, []Webhook{{Name: "w", URL: "https://x", Secret: []byte(testSecret)}, {Name: "w", URL: "https://y", Secret: []byte(testSecret)}}, "twice"},
	} {
		_, err := New(base, c.exports, c.webhooks)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error about %q", c.name, err, c.want)
		}
	}
}

type emptyJournal struct{}

func (emptyJournal) Entries(context.Context, uint64, int) ([]gate.JournalEntry, error) {
	return []gate.JournalEntry{}, nil
}

// While Options.Active says no (another appliance of a venue delivers),
// nothing is written or posted and the positions stay; once it says yes,
// everything goes out.
func TestStandbyDeliversNothing(t *testing.T) {
	ix, data := seededIndex(t)
	rec := newReceiver(t, testSecret, nil)
	out := t.TempDir()
	var active atomic.Bool
	s := newTestService(t, ix, filepath.Join(data, "outbound"), []Export{{Name: "e", Dir: out, Interval: 10 * time.Millisecond}},
		[]Webhook{fastHook(rec.srv.URL)}, func(o *Options) { o.Active = active.Load })
	runService(t, s)
	last := scan(ix, 1, "l")
	waitFor(t, "both to see the scan", func() bool {
		st := s.Status()
		return st[0].Head >= last.Seq && st[1].Head >= last.Seq
	})
	for _, st := range s.Status() {
		if st.Active || st.Position != 0 || st.LagEntries != last.Seq {
			t.Errorf("standby status %+v", st)
		}
	}
	rec.mu.Lock()
	posts := rec.requests
	rec.mu.Unlock()
	if ents, _ := os.ReadDir(out); len(ents) != 0 || posts != 0 {
		t.Fatalf("in standby: %d files, %d posts", len(ents), posts)
	}
	active.Store(true)
	waitFor(t, "both to deliver", func() bool {
		st := s.Status()
		return st[0].Position >= last.Seq && st[1].Position >= last.Seq && st[0].Active
	})
	if ents, _ := os.ReadDir(out); len(ents) != 1 {
		t.Errorf("%d files once active", len(ents))
	}
}
