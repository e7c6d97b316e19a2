package codes_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/admitgate/admit/codes"
	"github.com/admitgate/admit/gate"
)

// RFC 6238 appendix B, SHA-1: 8 digits, a 30-second step, the ASCII key
// "12345678901234567890".
func TestTOTPRFC6238(t *testing.T) {
	key := []byte("12345678901234567890")
	for _, tt := range []struct {
		t    int64
		want string
	}{
		{59, "94287082"},
		{1111111109, "07081804"},
		{1111111111, "14050471"},
		{1234567890, "89005924"},
		{2000000000, "69279037"},
		{20000000000, "65353130"},
	} {
		if got := codes.TOTP(key, tt.t, 30, 8); got != tt.want {
			t.Errorf("T=%d: %s, want %s", tt.t, got, tt.want)
		}
	}
}

// The keys and code published in the reverse engineering of Ticketmaster's
// SafeTix barcodes (conduition.io/coding/ticketmaster, checked there with
// oathtool --totp --time-step-size 15s): hex keys, a 15-second step.
const (
	tmEventKey    = "b3519364e0c7914c1f9d59d35652a04067d2f647"
	tmCustomerKey = "b98432ed23b8f2bda82348216229f4d27ce9d063"
	tmCode        = "TGRLYCqAf2CS/BlH/8yu8YvHhWNyMo1QoBa29Q5jVCxWlApNMnw3JRdyOTpUUYAC::492436::240860::1707074879"
)

func tmKeys(t testing.TB) (ek, ck []byte) {
	ek, err := codes.ParseKey(tmEventKey)
	if err != nil {
		t.Fatal(err)
	}
	ck, err = codes.ParseKey(strings.ToUpper(tmCustomerKey) + "\n")
	if err != nil {
		t.Fatal(err)
	}
	return ek, ck
}

func TestRotatingPublishedCode(t *testing.T) {
	ek, ck := tmKeys(t)
	c, err := codes.ParseRotating(tmCode)
	if err != nil {
		t.Fatal(err)
	}
	if c.Token != "TGRLYCqAf2CS/BlH/8yu8YvHhWNyMo1QoBa29Q5jVCxWlApNMnw3JRdyOTpUUYAC" || c.OTP1 != "492436" || c.OTP2 != "240860" || c.At != 1707074879 {
		t.Errorf("parsed %+v", c)
	}
	r, err := codes.NewRotating(codes.RotatingConfig{EventKey: ek})
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Check(c, ck, time.Unix(1707074879, 0)); got.Reason != 0 || got.Offset != 0 {
		t.Errorf("Check = %+v", got)
	}
	again, err := codes.Rotate(c.Token, ek, ck, time.Unix(1707074879, 999e6), 0)
	if err != nil || again != tmCode {
		t.Errorf("Rotate = %q, %v", again, err)
	}
}

// A code is accepted within its step and the configured skew either way,
// to the second, and refused beyond; a code from one step beyond the skew
// is a screenshot.
func TestRotatingClock(t *testing.T) {
	ek, ck := tmKeys(t)
	drawn := time.Unix(1780000007, 0) // 2 s into its step, [1780000005, 1780000020)
	code, err := codes.Rotate("tok", ek, ck, drawn, 0)
	if err != nil {
		t.Fatal(err)
	}
	c, err := codes.ParseRotating(code)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		skew time.Duration
		now  time.Duration // after drawn
		want gate.Reason
	}{
		{0, 0, 0},
		{0, 12 * time.Second, 0}, // still its own step
		{0, 15 * time.Second, 0}, // one step of skew
		{0, 15*time.Second + 999*time.Millisecond, 0},
		{0, 16 * time.Second, gate.ReasonStaleCode},
		{0, 30 * time.Second, gate.ReasonStaleCode}, // one step beyond
		{0, -15 * time.Second, 0},                   // the phone's clock ahead
		{0, -16 * time.Second, gate.ReasonStaleCode},
		{0, time.Hour, gate.ReasonStaleCode},
		{45 * time.Second, 45 * time.Second, 0},
		{45 * time.Second, 46 * time.Second, gate.ReasonStaleCode},
		{45 * time.Second, 60 * time.Second, gate.ReasonStaleCode},
		{5 * time.Second, 5 * time.Second, 0},
		{5 * time.Second, 6 * time.Second, gate.ReasonStaleCode},
	} {
		r, err := codes.NewRotating(codes.RotatingConfig{EventKey: ek, Skew: tt.skew})
		if err != nil {
			t.Fatal(err)
		}
		got := r.Check(c, ck, drawn.Add(tt.now))
		if got.Reason != tt.want || got.Offset != tt.now.Truncate(time.Second) {
			t.Errorf("skew %s, now %s after: %s %q offset %s, want %s", tt.skew, tt.now, got.Reason, got.Detail, got.Offset, tt.want)
		}
		if cc := r.CheckClock(c, drawn.Add(tt.now)); cc.Reason != tt.want || !cc.Drawn {
			t.Errorf("skew %s, now %s after: CheckClock %+v", tt.skew, tt.now, cc)
		}
	}
	r, _ := codes.NewRotating(codes.RotatingConfig{EventKey: ek})
	if got := r.Check(c, ck, drawn.Add(time.Minute)); got.Detail != "the code was drawn 60s before the appliance's clock (15s allowed): a screenshot, or a clock that is wrong" {
		t.Errorf("detail %q", got.Detail)
	}
}

// Codes that do not match their time: stale_code whichever key is wrong.
func TestRotatingCodesMustMatch(t *testing.T) {
	ek, ck := tmKeys(t)
	other, _ := codes.ParseKey(strings.Repeat("ab", 20))
	r, _ := codes.NewRotating(codes.RotatingConfig{EventKey: ek})
	at := time.Unix(1780000007, 0)
	good, _ := codes.Rotate("tok", ek, ck, at, 0)
	wrongEvent, _ := codes.Rotate("tok", other, ck, at, 0)
	wrongCustomer, _ := codes.Rotate("tok", ek, other, at, 0)
	parts := strings.Split(good, "::")
	swapped := strings.Join([]string{parts[0], parts[2], parts[1], parts[3]}, "::")
	// Its step is [1780000005, 1780000020). Moved to the next step, the
	// codes no longer match the time; moved within it, they still do.
	moved := strings.Join([]string{parts[0], parts[1], parts[2], "1780000020"}, "::")
	within := strings.Join([]string{parts[0], parts[1], parts[2], "1780000019"}, "::")
	for _, tt := range []struct {
		name, code string
		want       gate.Reason
		detail     string
	}{
		{"good", good, 0, ""},
		{"within its step", within, 0, ""},
		{"wrong event key", wrongEvent, gate.ReasonStaleCode, "event's one-time code"},
		{"wrong customer key", wrongCustomer, gate.ReasonStaleCode, "holder's one-time code"},
		{"swapped", swapped, gate.ReasonStaleCode, "event's"},
		{"moved to the next step", moved, gate.ReasonStaleCode, "event's"},
	} {
		c, err := codes.ParseRotating(tt.code)
		if err != nil {
			t.Fatal(err)
		}
		got := r.Check(c, ck, at)
		if got.Reason != tt.want || !strings.Contains(got.Detail, tt.detail) || got.Drawn != !strings.Contains(tt.detail, "event's") {
			t.Errorf("%s: %+v", tt.name, got)
		}
	}
	c, _ := codes.ParseRotating(good)
	if got := r.CheckCustomer(c, nil); got.Reason != gate.ReasonStaleCode {
		t.Errorf("no customer key: %+v", got)
	}
	if got := r.CheckClock(c, at); got.Reason != 0 {
		t.Errorf("CheckClock needs no customer key: %+v", got)
	}
}

func TestParseRotatingRefuses(t *testing.T) {
	for _, tt := range []struct {
		text, problem string
	}{
		{"", "shape"},
		{"tok::123456::123456", "shape"},
		{"tok:123456:123456:1780000000", "shape"},
		{"::123456::123456::1780000000", "token"},
		{"t:k::123456::123456::1780000000", "token"},
		{"tok::123456::123456::1780000000::x", "time"},
		{"tok::123456::123456:::1780000000", "time"},
		{"t\x01k::123456::123456::1780000000", "token"},
		{"tok::12345::123456::1780000000", "otp"},
		{"tok::1234567::123456::1780000000", "otp"},
		{"tok::12345a::123456::1780000000", "otp"},
		{"tok::123456::１２３４５６::1780000000", "otp"},
		{"tok::123456::123456::", "time"},
		{"tok::123456::123456::01780000000", "time"},
		{"tok::123456::123456::-1780000000", "time"},
		{"tok::123456::123456::+1780000000", "time"},
		{"tok::123456::123456::1780000000.5", "time"},
		{"tok::123456::123456::1234567890123", "time"},
		{strings.Repeat("t", codes.MaxCodeLen) + "::123456::123456::1", "too_long"},
	} {
		_, err := codes.ParseRotating(tt.text)
		var pe *codes.ParseError
		if !errors.As(err, &pe) || pe.Problem != tt.problem || pe.Scheme != "rotating" {
			t.Errorf("%q: %v, want %s", tt.text, err, tt.problem)
		}
	}
	if c, err := codes.ParseRotating("t::000000::999999::0"); err != nil || c.At != 0 || c.OTP1 != "000000" {
		t.Errorf("the smallest code: %+v, %v", c, err)
	}
}

func TestNewRotatingRefuses(t *testing.T) {
	ek, _ := tmKeys(t)
	for _, cfg := range []codes.RotatingConfig{
		{},
		{EventKey: ek[:15]},
		{EventKey: ek, Step: 1500 * time.Millisecond},
		{EventKey: ek, Step: time.Hour},
		{EventKey: ek, Skew: -time.Second},
		{EventKey: ek, Skew: time.Hour},
	} {
		if _, err := codes.NewRotating(cfg); gate.ErrorCode(err) != gate.EINVALID {
			t.Errorf("%+v: %v", cfg, err)
		}
	}
	r, err := codes.NewRotating(codes.RotatingConfig{EventKey: ek, Step: 30 * time.Second})
	if err != nil || r.Step() != 30*time.Second || r.Skew() != 30*time.Second {
		t.Errorf("defaults: %v", err)
	}
}

func TestRotateRefuses(t *testing.T) {
	ek, ck := tmKeys(t)
	for _, tt := range []struct {
		token  string
		ek, ck []byte
		at     time.Time
	}{
		{"", ek, ck, time.Unix(1, 0)},
		{"a::b", ek, ck, time.Unix(1, 0)},
		{"tok", ek[:8], ck, time.Unix(1, 0)},
		{"tok", ek, nil, time.Unix(1, 0)},
		{"tok", ek, ck, time.Unix(-1, 0)},
		{strings.Repeat("t", 240), ek, ck, time.Unix(1, 0)},
	} {
		if code, err := codes.Rotate(tt.token, tt.ek, tt.ck, tt.at, 0); err == nil {
			t.Errorf("Rotate(%q) = %q", tt.token, code)
		}
	}
}

func TestSkewWindow(t *testing.T) {
	var w codes.SkewWindow
	if d, n := w.Median(); d != 0 || n != 0 {
		t.Errorf("empty: %s %d", d, n)
	}
	for _, s := range []int{3, -1, 4, 4, 2} {
		w.Observe(time.Duration(s) * time.Second)
	}
	if d, n := w.Median(); d != 3*time.Second || n != 5 {
		t.Errorf("median %s of %d", d, n)
	}
	for range 100 {
		w.Observe(-2 * time.Second)
	}
	if d, n := w.Median(); d != -2*time.Second || n != 105 {
		t.Errorf("after 100 more: median %s of %d", d, n)
	}
}
