package codes

import (
	"crypto/hmac"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/admitgate/admit/gate"
)

// RotatingDigits is the length of each one-time code of a rotating code.
const RotatingDigits = 6

// DefaultStep is the TOTP step of rotating codes: they change every 15 s.
const DefaultStep = 15 * time.Second

// maxTimeDigits bounds the time field: Unix seconds have 10 digits until 2286.
const maxTimeDigits = 12

// RotatingCode is a parsed rotating code, token::otp1::otp2::unixSeconds.
type RotatingCode struct {
	Text  string // as scanned
	Token string // names the ticket; stable while the code rotates
	OTP1  string // 6 digits, from the event key
	OTP2  string // 6 digits, from the customer key
	At    int64  // when it was drawn, Unix seconds
}

func rotatingError(problem, detail string) *ParseError {
	return &ParseError{Scheme: "rotating", Problem: problem, Detail: detail}
}

// ParseRotating reads token::otp1::otp2::unixSeconds. It refuses, with a
// *ParseError: a text longer than MaxCodeLen; not exactly four fields
// separated by "::"; a token that is empty, holds ':' or is not a barcode;
// codes that are not 6 ASCII digits; a time that is not 1 to 12 ASCII digits
// without a leading zero (the form every issuer writes, so one drawing has
// one text).
func ParseRotating(text string) (*RotatingCode, error) {
	if len(text) > MaxCodeLen {
		return nil, rotatingError("too_long", "longer than "+strconv.Itoa(MaxCodeLen)+" bytes")
	}
	token, rest, ok1 := strings.Cut(text, "::")
	otp1, rest, ok2 := strings.Cut(rest, "::")
	otp2, at, ok3 := strings.Cut(rest, "::")
	if !ok1 || !ok2 || !ok3 {
		return nil, rotatingError("shape", "not token::otp1::otp2::unixSeconds")
	}
	if err := checkToken(token); err != nil {
		return nil, err
	}
	if !digits(otp1, RotatingDigits, RotatingDigits) || !digits(otp2, RotatingDigits, RotatingDigits) {
		return nil, rotatingError("otp", "the one-time codes must be 6 digits each")
	}
	if !digits(at, 1, maxTimeDigits) || (len(at) > 1 && at[0] == '0') {
		return nil, rotatingError("time", "the time must be Unix seconds, 1 to 12 digits without a leading zero")
	}
	secs, err := strconv.ParseInt(at, 10, 64)
	if err != nil {
		return nil, rotatingError("time", "the time is out of range")
	}
	return &RotatingCode{Text: text, Token: token, OTP1: otp1, OTP2: otp2, At: secs}, nil
}

func checkToken(token string) error {
	switch {
	case token == "":
		return rotatingError("token", "the token is empty")
	case strings.IndexByte(token, ':') >= 0:
		return rotatingError("token", "the token holds ':'")
	case gate.CheckBarcode(token) != nil:
		return rotatingError("token", "the token holds a control character or is not UTF-8")
	}
	return nil
}

func digits(s string, lo, hi int) bool {
	if len(s) < lo || len(s) > hi {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// RotatingConfig is what a rotating provider is configured with.
type RotatingConfig struct {
	// EventKey is the event's TOTP key (ParseKey reads it from hex).
	EventKey []byte
	// Step is the TOTP step, whole seconds. Default DefaultStep.
	Step time.Duration
	// Skew is how far a code's time may lie from the appliance's clock,
	// either way, whole seconds. Default one step: a code is accepted
	// through the step after the one it was drawn in, and a phone's clock
	// may run that much ahead.
	Skew time.Duration
}

// Rotating verifies a rotating provider's codes. Safe for concurrent use;
// it touches no disk and keeps no state.
type Rotating struct {
	eventKey   []byte
	step, skew int64 // seconds
}

// NewRotating checks cfg and returns the verifier.
func NewRotating(cfg RotatingConfig) (*Rotating, error) {
	if len(cfg.EventKey) < MinKeyLen || len(cfg.EventKey) > MaxKeyLen {
		return nil, gate.Errorf(gate.EINVALID, "the event key must be %d to %d bytes", MinKeyLen, MaxKeyLen)
	}
	if cfg.Step == 0 {
		cfg.Step = DefaultStep
	}
	if cfg.Skew == 0 {
		cfg.Skew = cfg.Step
	}
	if cfg.Step%time.Second != 0 || cfg.Step < time.Second || cfg.Step > 5*time.Minute {
		return nil, gate.Errorf(gate.EINVALID, "the step must be whole seconds from 1s to 5m, not %s", cfg.Step)
	}
	if cfg.Skew%time.Second != 0 || cfg.Skew < time.Second || cfg.Skew > 10*time.Minute {
		return nil, gate.Errorf(gate.EINVALID, "the clock skew must be whole seconds from 1s to 10m, not %s", cfg.Skew)
	}
	return &Rotating{eventKey: slices.Clone(cfg.EventKey), step: int64(cfg.Step / time.Second), skew: int64(cfg.Skew / time.Second)}, nil
}

// Step returns the TOTP step.
func (r *Rotating) Step() time.Duration { return time.Duration(r.step) * time.Second }

// Skew returns the clock skew allowed.
func (r *Rotating) Skew() time.Duration { return time.Duration(r.skew) * time.Second }

// RotatingVerdict is what a rotating code tells by itself.
type RotatingVerdict struct {
	Reason gate.Reason // 0: good so far; stale_code
	Detail string      // for people; no key, no code
	// Offset is how far the appliance's clock is ahead of the code's time
	// (negative: behind), whole seconds.
	Offset time.Duration
	// Drawn reports whether the event's code matches the code's own time:
	// the event key drew it, however old it is. Feed the Offset of drawn
	// codes to a SkewWindow: a wrong appliance clock shows there even while
	// it refuses every code.
	Drawn bool
}

// CheckClock decides what needs no ticket: the code's time against the
// appliance's clock now, and the event's one-time code against that time.
// Either failing is stale_code. Call it before looking the token up, so a
// screenshot costs no disk read.
func (r *Rotating) CheckClock(c *RotatingCode, now time.Time) RotatingVerdict {
	off := now.Unix() - c.At
	v := RotatingVerdict{Offset: time.Duration(off) * time.Second, Drawn: r.match(r.eventKey, c.At, c.OTP1)}
	switch {
	case off > r.skew || off < -r.skew:
		v.Reason = gate.ReasonStaleCode
		dir := "before"
		if off < 0 {
			off, dir = -off, "after"
		}
		v.Detail = fmt.Sprintf("the code was drawn %ds %s the appliance's clock (%ds allowed): a screenshot, or a clock that is wrong", off, dir, r.skew)
	case !v.Drawn:
		v.Reason, v.Detail = gate.ReasonStaleCode, "the event's one-time code does not match the code's time"
	}
	return v
}

// CheckCustomer checks the ticket holder's one-time code with the customer
// key that came with the imported ticket: stale_code when it does not match
// the code's time.
func (r *Rotating) CheckCustomer(c *RotatingCode, customerKey []byte) RotatingVerdict {
	if len(customerKey) < MinKeyLen || !r.match(customerKey, c.At, c.OTP2) {
		return RotatingVerdict{Reason: gate.ReasonStaleCode, Detail: "the ticket holder's one-time code does not match the code's time"}
	}
	return RotatingVerdict{}
}

// Check runs CheckClock, then CheckCustomer.
func (r *Rotating) Check(c *RotatingCode, customerKey []byte, now time.Time) RotatingVerdict {
	v := r.CheckClock(c, now)
	if v.Reason != 0 {
		return v
	}
	cv := r.CheckCustomer(c, customerKey)
	cv.Offset, cv.Drawn = v.Offset, v.Drawn
	return cv
}

// match compares the expected code in constant time.
func (r *Rotating) match(key []byte, at int64, got string) bool {
	var want [RotatingDigits]byte
	hotp(want[:], key, uint64(at/r.step))
	var g [RotatingDigits]byte
	copy(g[:], got)
	return hmac.Equal(want[:], g[:]) && len(got) == RotatingDigits
}

// Rotate draws the rotating code of token at time at:
// token::TOTP(eventKey)::TOTP(customerKey)::unixSeconds, with a step of step
// (0: DefaultStep).
func Rotate(token string, eventKey, customerKey []byte, at time.Time, step time.Duration) (string, error) {
	if err := checkToken(token); err != nil {
		return "", errors.New("codes: rotate: " + err.(*ParseError).Detail)
	}
	for _, k := range [][]byte{eventKey, customerKey} {
		if len(k) < MinKeyLen || len(k) > MaxKeyLen {
			return "", fmt.Errorf("codes: rotate: a key must be %d to %d bytes", MinKeyLen, MaxKeyLen)
		}
	}
	if step == 0 {
		step = DefaultStep
	}
	if step%time.Second != 0 || step < time.Second {
		return "", fmt.Errorf("codes: rotate: the step must be whole seconds")
	}
	secs := at.Unix()
	if secs < 0 {
		return "", fmt.Errorf("codes: rotate: a time before 1970")
	}
	s := int64(step / time.Second)
	code := token + "::" + totp(eventKey, secs, s, RotatingDigits) + "::" + totp(customerKey, secs, s, RotatingDigits) + "::" + strconv.FormatInt(secs, 10)
	if len(code) > MaxCodeLen {
		return "", fmt.Errorf("codes: rotate: the code would be %d bytes, longer than a barcode's %d: shorten the token", len(code), MaxCodeLen)
	}
	return code, nil
}

// SkewWindow keeps the offsets of the latest drawn rotating codes
// (RotatingVerdict Offset where Drawn) to show how far the phones' clocks,
// on the whole, run from the appliance's: a median far from zero means the appliance's clock is wrong
// (check NTP) before it means anything about a guest. Safe for concurrent
// use; the zero value is ready.
type SkewWindow struct {
	mu   sync.Mutex
	ring [64]int64 // seconds
	n    int       // codes observed, all time
}

// Observe records one code's offset.
func (w *SkewWindow) Observe(offset time.Duration) {
	w.mu.Lock()
	w.ring[w.n%len(w.ring)] = int64(offset / time.Second)
	w.n++
	w.mu.Unlock()
}

// Median returns the median offset of the latest 64 codes (or fewer) and
// how many codes were observed in all; 0, 0 before the first.
func (w *SkewWindow) Median() (time.Duration, int) {
	w.mu.Lock()
	k := min(w.n, len(w.ring))
	vals := make([]int64, k)
	copy(vals, w.ring[:k])
	n := w.n
	w.mu.Unlock()
	if k == 0 {
		return 0, 0
	}
	slices.Sort(vals)
	return time.Duration(vals[k/2]) * time.Second, n
}
