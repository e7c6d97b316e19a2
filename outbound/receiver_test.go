package outbound

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/admitgate/admit/gate"
)

// action is what the fake receiver does with one request.
type action int

const (
	answerOK    action = iota
	answer500          // refuses the batch
	answer503          // refuses the batch
	hang               // never answers: the sender times out
	processLate        // takes the batch, then never answers (a receiver that was slow)
	block              // takes the batch, tells the test, and waits for the test to release it
)

// receiver is a webhook endpoint for tests. It checks every signature with
// its own HMAC-SHA256 (crypto/hmac here, not the package's Sign) and
// records what it took, by decision id.
type receiver struct {
	t      testing.TB
	secret []byte
	srv    *httptest.Server
	// script picks the action for the n-th request (from 1); nil: answerOK.
	script func(n int) action

	mu        sync.Mutex
	requests  int
	badSig    int
	taken     map[string][][]byte // id -> every copy received in a batch the receiver processed
	acked     map[string]bool     // ids in a batch answered 2xx
	blocked   chan struct{}       // a block request arrived
	release   chan struct{}       // closed by the test to let it go
	maxSkewed time.Duration       // the largest |t - now| seen
}

func newReceiver(t testing.TB, secret string, script func(n int) action) *receiver {
	r := &receiver{t: t, secret: []byte(secret), script: script, taken: map[string][][]byte{}, acked: map[string]bool{},
		blocked: make(chan struct{}, 16), release: make(chan struct{})}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(func() {
		r.releaseAll()
		r.srv.CloseClientConnections()
		r.srv.Close()
	})
	return r
}

func (r *receiver) releaseAll() {
	r.mu.Lock()
	defer r.mu.Unlock()
	select {
	case <-r.release:
	default:
		close(r.release)
	}
}

// verify checks an Admit-Signature header the way a receiver would:
// t=<unix>,v1=<hex>, HMAC-SHA256 over "<t>.<body>", constant-time compare.
func verify(secret []byte, header string, body []byte) (time.Time, bool) {
	var ts, sig string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sig = v
		}
	}
	unix, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	got, err := hex.DecodeString(sig)
	if err != nil {
		return time.Time{}, false
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(ts + "."))
	mac.Write(body)
	return time.Unix(unix, 0), hmac.Equal(got, mac.Sum(nil))
}

// wireBatch is the body as a receiver reads it, each item kept raw.
type wireBatch struct {
	Appliance string            `json:"appliance"`
	Webhook   string            `json:"webhook"`
	Decisions []json.RawMessage `json:"decisions"`
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(io.LimitReader(req.Body, 10<<20))
	if err != nil {
		return
	}
	r.mu.Lock()
	r.requests++
	n := r.requests
	r.mu.Unlock()
	act := answerOK
	if r.script != nil {
		act = r.script(n)
	}
	at, ok := verify(r.secret, req.Header.Get(SignatureHeader), body)
	if !ok || req.Method != http.MethodPost || req.Header.Get("Content-Type") != "application/json" {
		r.mu.Lock()
		r.badSig++
		r.mu.Unlock()
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	skew := time.Since(at).Abs()
	var b wireBatch
	if err := json.Unmarshal(body, &b); err != nil {
		http.Error(w, "bad body", http.StatusBadRequest)
		r.mu.Lock()
		r.badSig++
		r.mu.Unlock()
		return
	}
	ids := make([]string, 0, len(b.Decisions))
	for _, raw := range b.Decisions {
		var head struct {
			ID string `json:"id"`
		}
		_ = json.Unmarshal(raw, &head)
		ids = append(ids, head.ID)
	}
	take := func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.maxSkewed = max(r.maxSkewed, skew)
		for i, id := range ids {
			r.taken[id] = append(r.taken[id], bytes.Clone(b.Decisions[i]))
		}
	}
	switch act {
	case answer500:
		http.Error(w, "receiver broken", http.StatusInternalServerError)
	case answer503:
		http.Error(w, "maintenance", http.StatusServiceUnavailable)
	case hang:
		<-req.Context().Done()
	case processLate:
		take()
		<-req.Context().Done()
	case block:
		take()
		r.blocked <- struct{}{}
		select {
		case <-r.release:
		case <-req.Context().Done():
		}
	default:
		take()
		r.mu.Lock()
		for _, id := range ids {
			r.acked[id] = true
		}
		r.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}
}

// check asserts what the receiver holds against the journal: every decision
// want keeps was acknowledged, every copy of an id is the same bytes and
// describes the journal entry of that seq, and nothing else came.
func (r *receiver) check(t testing.TB, es []gate.JournalEntry, want func(*gate.JournalEntry) bool) (dups int) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.badSig > 0 {
		t.Errorf("%d requests failed the signature check", r.badSig)
	}
	if r.maxSkewed > time.Minute {
		t.Errorf("a signature's timestamp was %v off", r.maxSkewed)
	}
	bySeq := map[uint64]*gate.JournalEntry{}
	for i := range es {
		bySeq[es[i].Seq] = &es[i]
	}
	for id, copies := range r.taken {
		for _, c := range copies[1:] {
			if !bytes.Equal(c, copies[0]) {
				t.Errorf("%s came twice with different content:\n%s\n%s", id, copies[0], c)
			}
		}
		dups += len(copies) - 1
		var it Item
		if err := json.Unmarshal(copies[0], &it); err != nil {
			t.Fatal(err)
		}
		je := bySeq[it.Seq]
		if je == nil || id != "north:"+strconv.FormatUint(it.Seq, 10) || it.Kind != je.Kind ||
			it.Decision.Barcode != je.Decision.Barcode || it.Decision.Reason != je.Decision.Reason {
			t.Errorf("%s is not the journal's entry %d: %s", id, it.Seq, copies[0])
		} else if !want(je) {
			t.Errorf("%s should have been left out: %s", id, copies[0])
		}
	}
	missing := 0
	for i := range es {
		je := &es[i]
		if want(je) && !r.acked["north:"+strconv.FormatUint(je.Seq, 10)] {
			if missing++; missing <= 5 {
				t.Errorf("entry %d (%s %s) was never acknowledged", je.Seq, je.Kind, je.Decision.Reason)
			}
		}
	}
	if missing > 0 {
		t.Errorf("%d entries never acknowledged", missing)
	}
	return dups
}

func admissionsOnly(je *gate.JournalEntry) bool {
	return je.Kind == gate.KindAnnulment || je.Kind == gate.KindDecision && je.Decision.Admit
}
