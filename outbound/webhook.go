package outbound

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/internal/defaults"
)

// SignatureHeader carries a webhook body's signature:
// "t=<unix seconds>,v1=<hex HMAC-SHA256>", the HMAC keyed with the
// webhook's secret over "<t>.<body>" (the scheme of Stripe-Signature, so
// receivers can reuse its verification: recompute, compare in constant
// time, and refuse a t too far from their clock).
const SignatureHeader = "Admit-Signature"

// Sign returns the SignatureHeader value of body sent at unix time t.
func Sign(secret []byte, t int64, body []byte) string {
	ts := strconv.FormatInt(t, 10)
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(ts))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}

// Defaults of a Webhook.
const (
	DefaultBatchSize  = 100
	MaxBatchSize      = 1000
	DefaultTimeout    = 10 * time.Second
	DefaultPoll       = 500 * time.Millisecond
	DefaultBackoffMin = time.Second
	DefaultBackoffMax = 5 * time.Minute
	DefaultMaxLag     = 15 * time.Minute
)

// Webhook is a URL that receives the decisions as they are journaled, in
// signed JSON batches, at least once.
type Webhook struct {
	// Name identifies the webhook (its state file, its status); letters,
	// digits, '_' and '-'; required.
	Name string
	// URL receives the POSTs: http or https; required.
	URL string
	// Secret keys the HMAC-SHA256 signature; required, at least 16 bytes.
	Secret []byte
	// AdmissionsOnly keeps admissions (ok, reentry, exit) and annulments,
	// and leaves refusals out.
	AdmissionsOnly bool
	// Provider and Event, when set, keep only the decisions about that
	// provider's tickets or that event.
	Provider, Event string
	// BatchSize is the most decisions in one POST. Default 100, at most 1000.
	BatchSize int
	// Timeout bounds one POST, from connecting to reading the answer.
	// Default 10s.
	Timeout time.Duration
	// Poll is how often the journal is read for new decisions. Default 500ms.
	Poll time.Duration
	// BackoffMin and BackoffMax bound the wait before a failed POST is
	// tried again: it doubles from BackoffMin up to BackoffMax, with
	// jitter. Defaults 1s and 5m.
	BackoffMin, BackoffMax time.Duration
	// MaxLag and MaxLagEntries bound how far the webhook may be behind the
	// journal before the lag alert. Defaults 15m and 100,000.
	MaxLag        time.Duration
	MaxLagEntries uint64
}

func (w Webhook) withDefaults() Webhook {
	defaults.Set(&w.BatchSize, DefaultBatchSize)
	defaults.Set(&w.Timeout, DefaultTimeout)
	defaults.Set(&w.Poll, DefaultPoll)
	defaults.Set(&w.BackoffMin, DefaultBackoffMin)
	defaults.Set(&w.BackoffMax, max(DefaultBackoffMax, w.BackoffMin))
	defaults.Set(&w.MaxLag, DefaultMaxLag)
	defaults.Set(&w.MaxLagEntries, DefaultMaxLagEntries)
	return w
}

func (w Webhook) validate() error {
	if err := checkName("name", w.Name); err != nil {
		return err
	}
	if err := checkURL(w.URL); err != nil {
		return err
	}
	if len(w.Secret) < 16 {
		return errors.New("the secret must be at least 16 bytes")
	}
	if w.BatchSize > MaxBatchSize {
		return fmt.Errorf("batch_size must be at most %d", MaxBatchSize)
	}
	if w.BackoffMax < w.BackoffMin {
		return errors.New("backoff_max must not be below backoff_min")
	}
	return checkFilters(w.Provider, w.Event)
}

// checkURL accepts an absolute http or https URL with a host.
func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("url must be an http:// or https:// URL with a host")
	}
	return nil
}

// redactURL is the URL without user information, query or fragment, which
// may hold credentials: what logs and the status show.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable url)"
	}
	r := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}
	return r.String()
}

// Batch is the JSON body of a webhook POST.
type Batch struct {
	// Appliance is the appliance that decided; Webhook the configured name.
	Appliance string `json:"appliance"`
	Webhook   string `json:"webhook"`
	// Decisions are in journal order, at most BatchSize of them.
	Decisions []Item `json:"decisions"`
}

// Item is one journal entry in a Batch. A receiver keeps the IDs it has
// processed: a batch that was delivered but not acknowledged (a timeout, a
// crash) comes again with the same IDs and the same content.
type Item struct {
	// ID is "<appliance>:<seq>", unique and stable.
	ID  string `json:"id"`
	Seq uint64 `json:"seq"`
	// Kind is "decision" (a scan's decision), "annulment" (an admission
	// undone) or "lost" (a refusal the appliance lost in a crash).
	Kind gate.EntryKind `json:"kind"`
	// Decision is the decision; for an annulment, the admission it undoes.
	Decision gate.Decision `json:"decision"`
	// Annuls is, for an annulment, the ID of the admission it undoes.
	Annuls string `json:"annuls,omitempty"`
	// By is who annulled (a token's name, or "lane:<id>").
	By string `json:"by,omitempty"`
	// Source is where the scan came from ("http:door-3", "usb:…").
	Source string `json:"source,omitempty"`
}

// Hook runs one Webhook. Its methods are safe for concurrent use.
type Hook struct {
	s      *Service
	cfg    Webhook
	target string // the URL, redacted
	state  positions
	log    zerolog.Logger
	t      tracker
	client *http.Client

	mu        sync.Mutex // the position, between Run and Status
	after     uint64
	savedAt   time.Time // when the position was last saved
	savedPos  uint64
	readLimit int // journal entries read at a time
}

func newHook(s *Service, cfg Webhook) *Hook {
	target := redactURL(cfg.URL)
	h := &Hook{s: s, cfg: cfg, target: target, readLimit: 1000,
		state: stateFile{path: filepath.Join(s.opts.StateDir, "webhook-"+cfg.Name+".json")}}
	h.log = s.log.With().Str("webhook", cfg.Name).Str("url", target).Logger()
	h.t = tracker{s: s, log: h.log, maxLag: cfg.MaxLag, maxLagEntries: cfg.MaxLagEntries,
		st: gate.DeliveryStatus{Kind: "webhook", Name: cfg.Name, Target: target, Format: "json"}}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.ResponseHeaderTimeout = cfg.Timeout
	h.client = &http.Client{
		Transport: transport,
		Timeout:   cfg.Timeout,
		// A redirect is not an acknowledgement: the batch is tried again.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return h
}

// Config returns the webhook's configuration, defaults applied.
func (h *Hook) Config() Webhook { return h.cfg }

// Status returns the webhook's state.
func (h *Hook) Status() gate.DeliveryStatus { return h.t.status() }

// Run posts the journal's decisions beyond the position, batch by batch,
// until ctx ends. A batch is posted until the receiver answers 2xx, with
// backoff between tries; only then does the position move past it (and is
// saved), so a crash or a stop posts it again: at least once.
func (h *Hook) Run(ctx context.Context) {
	defer h.closeIdle()
	failures := 0
	for ctx.Err() == nil {
		st, err := h.state.load()
		if err == nil {
			h.mu.Lock()
			h.after, h.savedPos = st.After, st.After
			h.mu.Unlock()
			h.t.setPosition(st.After)
			break
		}
		failures++
		d := backoff(failures-1, h.cfg.BackoffMin, h.cfg.BackoffMax)
		h.t.failed(err, h.s.opts.Now().Add(d))
		if !sleep(ctx, d) {
			return
		}
	}
	for ctx.Err() == nil {
		if !h.s.active() {
			h.t.observe(ctx)
			sleep(ctx, h.cfg.Poll)
			continue
		}
		more, err := h.deliverNext(ctx)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			failures++
			d := backoff(failures-1, h.cfg.BackoffMin, h.cfg.BackoffMax)
			h.t.failed(err, h.s.opts.Now().Add(d))
			h.t.observe(ctx)
			sleep(ctx, d)
			continue
		}
		failures = 0
		h.t.observe(ctx)
		if !more {
			sleep(ctx, h.cfg.Poll)
		}
	}
	h.saveNow()
}

// deliverNext posts the next batch (once) and moves the position past it
// when acknowledged; it moves the position over entries no filter keeps.
// more reports that the journal holds more beyond.
func (h *Hook) deliverNext(ctx context.Context) (more bool, err error) {
	h.mu.Lock()
	after := h.after
	h.mu.Unlock()
	es, err := h.s.opts.Journal.Entries(ctx, after, h.readLimit)
	if err != nil {
		return false, fmt.Errorf("outbound: read the journal after %d: %w", after, err)
	}
	more = len(es) == h.readLimit
	end := after
	var items []Item
	for i := range es {
		je := &es[i]
		if je.Seq != end+1 {
			return false, fmt.Errorf("outbound: the journal skipped from %d to %d", end, je.Seq)
		}
		if h.wanted(je) {
			if len(items) == h.cfg.BatchSize {
				more = true
				break
			}
			items = append(items, h.item(je))
		}
		end = je.Seq
	}
	if len(items) == 0 {
		h.moved(end, 0)
		return more, nil
	}
	body, err := json.Marshal(Batch{Appliance: h.s.opts.Appliance, Webhook: h.cfg.Name, Decisions: items})
	if err != nil {
		return false, fmt.Errorf("outbound: encode batch: %w", err)
	}
	if err := h.post(ctx, body); err != nil {
		return false, err
	}
	h.s.hook("webhook:acked")
	h.moved(end, len(items))
	return more, nil
}

// moved advances the position to end after n decisions were acknowledged.
// The position is saved at once after a delivery (so few are posted again
// after a crash) and at most every 5 seconds when only entries no filter
// keeps were passed over.
func (h *Hook) moved(end uint64, n int) {
	h.mu.Lock()
	if end > h.after {
		h.after = end
	}
	h.mu.Unlock()
	if n > 0 {
		h.t.delivered(end, n, "")
	} else {
		h.t.setPosition(end)
	}
	if n > 0 || h.s.opts.Now().Sub(h.savedAt) >= 5*time.Second {
		h.saveNow()
	}
}

// saveNow saves the position if it moved since it was last saved. A
// failure is logged and shown; the next delivery saves again (what the
// receiver acknowledged may then come again after a crash).
func (h *Hook) saveNow() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.after == h.savedPos {
		return
	}
	if err := h.state.save(state{After: h.after, At: h.s.opts.Now()}); err != nil {
		h.t.failed(err, time.Time{})
		return
	}
	h.savedPos, h.savedAt = h.after, h.s.opts.Now()
}

// wanted applies the webhook's filters. Annulments undo admissions, so
// AdmissionsOnly keeps them; entries lost in a crash carry no ticket, so
// any filter leaves them out.
func (h *Hook) wanted(je *gate.JournalEntry) bool {
	d := &je.Decision
	switch je.Kind {
	case gate.KindDecision:
		if h.cfg.AdmissionsOnly && !d.Admit {
			return false
		}
	case gate.KindAnnulment:
	default:
		if h.cfg.AdmissionsOnly || h.cfg.Provider != "" || h.cfg.Event != "" {
			return false
		}
	}
	if h.cfg.Provider != "" && (d.Ticket == nil || d.Ticket.Provider != h.cfg.Provider) {
		return false
	}
	return h.cfg.Event == "" || d.Event == h.cfg.Event
}

func (h *Hook) item(je *gate.JournalEntry) Item {
	it := Item{ID: h.s.id(je.Seq), Seq: je.Seq, Kind: je.Kind, Decision: je.Decision, By: je.By, Source: je.Source}
	if je.Kind == gate.KindAnnulment {
		it.Annuls = h.s.id(je.Decision.Seq)
	}
	return it
}

// post sends one batch, signed now, and returns nil when the receiver
// answered 2xx within the timeout.
func (h *Hook) post(ctx context.Context, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, h.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("outbound: POST %s: %w", h.target, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "admit-outbound/1")
	req.Header.Set(SignatureHeader, Sign(h.cfg.Secret, h.s.opts.Now().Unix(), body))
	resp, err := h.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its text repeats the URL, which may hold credentials
		}
		return fmt.Errorf("outbound: POST %s: %w", h.target, err)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // let the connection be reused
	if resp.StatusCode/100 == 2 {
		return nil
	}
	msg := strings.Join(strings.Fields(strings.ToValidUTF8(string(snippet), "?")), " ")
	if msg != "" {
		msg = ": " + msg
	}
	return fmt.Errorf("outbound: POST %s: the receiver answered %s%s", h.target, resp.Status, msg)
}

func (h *Hook) closeIdle() { h.client.CloseIdleConnections() }

// backoff is the wait before retry n (0 for the first): lo doubled n
// times, at most hi, and then between half of that and all of it, so
// appliances that failed together do not retry together.
func backoff(n int, lo, hi time.Duration) time.Duration {
	d := hi
	if n < 32 {
		if v := lo << n; v > 0 && v < hi {
			d = v
		}
	}
	half := d / 2
	return half + rand.N(d-half+1)
}
